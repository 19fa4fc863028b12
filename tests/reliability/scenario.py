"""One book of work for the background jobs, and the checks that each piece was done exactly once:
a failed campaign and a successful one past their deadline, a fully funded loan awaiting
disbursement, loans with an installment due today (auto-debit), a loan ten days late whose borrower
cannot pay (penalty interest). Used by the fault tests that deliver every task twice or run two beats."""

import datetime
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from crowdfunding.models import Campaign, CampaignStatus, PledgeStatus
from p2p import services as p2p
from p2p.models import Installment, InstallmentStatus, Loan, LoanStatus, Repayment, RepaymentShare, business_date
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import Account, Leg
from tests.crowdfunding.bulk import campaign_with_pledges
from tests.factories import UserFactory
from tests.p2p.factories import listed_loan


def funded_loan(holders: int = 10):
    loan = listed_loan(amount=str(Decimal("100.00") * holders), term_months=6, rate_percent="20", grade="D")
    for _ in range(holders):
        investor = UserFactory()
        ledger.deposit_create(user=investor, amount="100.00")
        p2p.investment_create(user=investor, loan_id=loan.pk, amount="100.00")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.FUNDED
    return loan


def active_loan(holders: int = 10):
    loan = funded_loan(holders)
    p2p.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    return loan


def first_due(loan) -> Decimal:
    principal, interest = Installment.objects.filter(loan=loan, number=1).values_list("principal_due", "interest_due").get()
    return principal + interest


def loans_due_today(count: int, holders: int):
    """Active loans whose first installment is due today; the borrower holds what is due (the
    disbursement's proceeds)."""
    loans = []
    for _ in range(count):
        loan = active_loan(holders)
        Installment.objects.filter(loan=loan, number=1).update(due_date=business_date())
        loans.append(loan)
    return loans


class Book:
    def __init__(self):
        self.failed = campaign_with_pledges(120, amount="10.00")  # target 2,400: fails
        self.succeeded = campaign_with_pledges(60, amount="10.00", target="500.00")
        Campaign.objects.filter(pk__in=[self.failed.pk, self.succeeded.pk]).update(
            deadline=timezone.now() - datetime.timedelta(seconds=1)
        )
        self.funded = funded_loan(10)
        self.due = loans_due_today(2, 10)
        self.due_wallets = {loan.pk: ledger.wallet_for(loan.borrower).balance for loan in self.due}
        self.late = active_loan(10)
        late_by = 10
        Installment.objects.filter(loan=self.late, number=1).update(due_date=business_date() - datetime.timedelta(days=late_by))
        borrower = self.late.borrower.members.first()
        ledger.withdrawal_create(user=borrower, amount=ledger.wallet_for(self.late.borrower).balance)  # cannot pay
        unpaid = first_due(self.late)
        rate = settings.P2P["PENALTY_DAILY_RATE"]
        self.late_penalty = (unpaid * late_by * rate).quantize(Decimal("0.01"), rounding=ROUND_DOWN)

    def all_done(self) -> bool:
        return (
            set(Campaign.objects.filter(pk__in=[self.failed.pk, self.succeeded.pk]).values_list("status", flat=True))
            == {CampaignStatus.SETTLED}
            and Loan.objects.get(pk=self.funded.pk).status == LoanStatus.ACTIVE
            and Repayment.objects.filter(loan__in=self.due).count() == len(self.due)
            and Installment.objects.filter(loan=self.late, number=1, penalty_through=business_date()).exists()
        )

    def assert_each_done_once(self):
        failed, succeeded = (Campaign.objects.get(pk=c.pk) for c in (self.failed, self.succeeded))
        assert (failed.outcome, failed.refunded_count, failed.refunded_amount) == ("failed", 120, Decimal("1200.00"))
        assert set(failed.pledges.values_list("status", flat=True)) == {PledgeStatus.REFUNDED}
        wallets = Account.objects.filter(pk__in=failed.pledges.values("wallet_id"))
        assert set(wallets.values_list("balance", flat=True)) == {Decimal("10.00")}
        refunds = Leg.objects.filter(account__in=wallets, transaction__kind="crowdfunding_refund").values("account")
        assert {row["n"] for row in refunds.annotate(n=Count("pk"))} == {1}
        assert (succeeded.outcome, succeeded.payout_amount, succeeded.fee_amount) == (
            "succeeded",
            Decimal("570.00"),
            Decimal("30.00"),
        )
        assert ledger.wallet_for(succeeded.organisation).balance == Decimal("570.00")
        for campaign in (failed, succeeded):
            assert ledger.escrow_for(campaign).balance == Decimal("0.00")

        funded = Loan.objects.get(pk=self.funded.pk)
        assert funded.status == LoanStatus.ACTIVE and funded.notes.count() == 10
        assert Installment.objects.filter(loan=funded).count() == 6
        fee = (Decimal("1000.00") * settings.P2P["ORIGINATION_FEE_RATE"]).quantize(Decimal("0.01"))
        assert ledger.wallet_for(funded.borrower).balance == Decimal("1000.00") - fee
        assert ledger.escrow_for(funded).balance == Decimal("0.00")

        for loan in self.due:
            repayments = Repayment.objects.filter(loan=loan)
            assert repayments.count() == 1 and repayments.get().amount == first_due(loan)
            assert ledger.wallet_for(loan.borrower).balance == self.due_wallets[loan.pk] - first_due(loan)
            shares = RepaymentShare.objects.filter(repayment__loan=loan)
            assert shares.count() == shares.values("note").distinct().count() == 10

        late = Installment.objects.get(loan=self.late, number=1)
        assert late.status == InstallmentStatus.OVERDUE and late.penalty_through == business_date()
        assert late.penalty_due == self.late_penalty > 0
        assert not Repayment.objects.filter(loan=self.late).exists()
        assert ledger_problems() == []
