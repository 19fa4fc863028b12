"""List, fund, disburse, repay to the last installment: what borrower and investors see."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from p2p import services
from p2p.models import Installment, InstallmentStatus, Loan, LoanStatus, Note, RepaymentShare
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import AccountPurpose
from tests.factories import OrganisationFactory, SmeUserFactory, StaffUserFactory, UserFactory

from .factories import business_day, funded_investors, listed_loan

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]

SCHEDULE_A = [  # DOMAIN.md section 3, reference schedule A: 12,000 at 2%/month, 4 months
    (Decimal("2911.49"), Decimal("240.00")),
    (Decimal("2969.72"), Decimal("181.77")),
    (Decimal("3029.11"), Decimal("122.38")),
    (Decimal("3089.68"), Decimal("61.79")),
]


def _disbursed(fund, amounts=("6000.00", "4000.00", "2000.00"), **kwargs):
    loan = listed_loan(**kwargs)
    investors = funded_investors(fund, loan, amounts)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.FUNDED
    services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    return loan, investors


def test_funding_disbursement_and_schedule_a(fund):
    loan, investors = _disbursed(fund)
    assert loan.status == LoanStatus.ACTIVE and loan.origination_fee == Decimal("240.00")
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00")
    assert ledger.escrow_for(loan).balance == Decimal("0.00")
    assert ledger.system_account(AccountPurpose.FEE_INCOME).balance == Decimal("240.00")
    rows = list(loan.installments.order_by("number").values_list("principal_due", "interest_due"))
    assert rows == SCHEDULE_A
    assert [n.principal for n in Note.objects.filter(loan=loan).order_by("pk")] == [
        Decimal("6000.00"),
        Decimal("4000.00"),
        Decimal("2000.00"),
    ]
    from p2p.schedules import _add_months

    start = services.business_date(loan.disbursed_at)
    due_dates = list(loan.installments.order_by("number").values_list("due_date", flat=True))
    assert due_dates == [_add_months(start, k) for k in range(1, 5)]  # monthly from disbursement, clamped
    assert loan.first_due_date == due_dates[0]
    assert ledger_problems() == []


def test_repaying_every_installment_returns_principal_and_interest(fund):
    loan, investors = _disbursed(fund)
    sme = loan.created_by
    fund(sme, "1000.00")  # the borrower needs 12,605.94 in all; it has 11,760 from the loan
    for number in range(1, 5):
        inst = loan.installments.get(number=number)
        repayment = services.repayment_make(user=sme, loan_id=loan.pk, amount=str(inst.principal_due + inst.interest_due))
        shares = list(RepaymentShare.objects.filter(repayment=repayment))
        assert sum(s.gross for s in shares) == repayment.amount  # shares add up to what was received, exactly
        assert sum(s.service_fee for s in shares) == repayment.service_fee
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID and loan.principal_outstanding == 0
    notes = {n.holder_id: n for n in Note.objects.filter(loan=loan)}
    total_interest = sum(i for _, i in SCHEDULE_A)  # 605.94
    for investor, share in zip(investors, (Decimal("0.5"), Decimal("1") / 3, Decimal("1") / 6), strict=True):
        note = notes[investor.pk]
        assert note.received_principal == note.principal and note.principal_outstanding == 0
        assert abs(note.received_interest - total_interest * share) <= Decimal("0.04")
        wallet = ledger.wallet_of_user(investor).balance
        assert wallet == note.principal + note.received_interest - note.fees_paid
    assert sum(n.received_interest for n in notes.values()) == total_interest
    assert ledger.system_account(AccountPurpose.FEE_INCOME).balance == Decimal("240.00") + sum(
        n.fees_paid for n in notes.values()
    )
    assert ledger_problems() == []


def test_allocation_penalty_fee_interest_principal_oldest_first(fund):
    loan, _ = _disbursed(fund)
    sme = loan.created_by
    Installment.objects.filter(loan=loan, number=1).update(penalty_due=Decimal("10.00"), status=InstallmentStatus.OVERDUE)
    repayment = services.repayment_make(user=sme, loan_id=loan.pk, amount="300.00")
    assert (repayment.penalty_part, repayment.interest_part, repayment.principal_part) == (
        Decimal("10.00"),
        Decimal("240.00"),
        Decimal("50.00"),
    )
    first = loan.installments.get(number=1)
    assert (first.penalty_paid, first.interest_paid, first.principal_paid, first.status) == (
        Decimal("10.00"),
        Decimal("240.00"),
        Decimal("50.00"),
        "overdue",
    )


def test_repayment_without_amount_pays_what_is_due(fund):
    loan, _ = _disbursed(fund)
    sme = loan.created_by
    with pytest.raises(ApplicationError) as exc:
        services.repayment_make(user=sme, loan_id=loan.pk)
    assert exc.value.code == "nothing_due"
    due_day = loan.installments.get(number=1).due_date
    later = timezone.make_aware(datetime.datetime.combine(due_day, datetime.time(12)))
    repayment = services.repayment_make(user=sme, loan_id=loan.pk, now=later)
    assert repayment.amount == Decimal("3151.49")
    assert loan.installments.get(number=1).status == InstallmentStatus.PAID


def test_overpayment_refused_and_nothing_changes(fund):
    loan, investors = _disbursed(fund)
    with pytest.raises(ApplicationError) as exc:
        services.repayment_make(user=loan.created_by, loan_id=loan.pk, amount="20000.00")
    assert exc.value.code == "overpayment"
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00")
    assert not loan.repayments.exists()


def test_full_early_repayment_with_interest_to_date(fund):
    with business_day(datetime.date(2026, 3, 2)):  # installment 1 falls due on 2 April
        loan, investors = _disbursed(fund)
    sme = loan.created_by
    fund(sme, "1000.00")
    first_due = loan.installments.get(number=1).due_date
    assert first_due == datetime.date(2026, 4, 2)
    on_time = timezone.make_aware(datetime.datetime.combine(first_due, datetime.time(12)))
    ten_days_in = timezone.make_aware(datetime.datetime.combine(first_due + datetime.timedelta(days=10), datetime.time(12)))
    services.repayment_make(user=sme, loan_id=loan.pk, amount="3151.49", now=on_time)
    quote = services.loan_payoff_quote(loan, services.business_date(ten_days_in))
    # remaining principal 9,088.51; 30/360 from 2 April to 12 April is 10 days: 9,088.51 x 24% x 10 / 360 = 60.59
    assert quote == {
        "arrears": Decimal("0.00"),
        "interest_to_date": Decimal("60.59"),
        "principal": Decimal("9088.51"),
        "total": Decimal("9149.10"),
    }
    repayment = services.loan_repay_in_full(user=sme, loan_id=loan.pk, now=ten_days_in)
    assert repayment.amount == Decimal("9149.10")
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID
    assert sum(n.received_principal for n in loan.notes.all()) == Decimal("12000.00")
    assert ledger_problems() == []


def test_guarantor_payment_is_compensatory(fund):
    loan, _ = _disbursed(fund)
    guarantor = SmeUserFactory(organisation=OrganisationFactory(kind="funder"), role="funder")
    fund(guarantor, "5000.00")
    repayment = services.guarantor_pay(user=guarantor, loan_id=loan.pk, amount="3151.49")
    assert repayment.is_compensatory and repayment.source == "guarantor"
    assert ledger.wallet_of_user(guarantor).balance == Decimal("1848.51")
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00")


def test_auto_debit_runs_once_per_day(fund):
    loan, _ = _disbursed(fund)
    due_day = loan.installments.get(number=1).due_date
    at = timezone.make_aware(datetime.datetime.combine(due_day, datetime.time(9)))
    assert services.repayments_collect_due(now=at) == 1
    assert services.repayments_collect_due(now=at) == 0
    assert loan.repayments.count() == 1 and loan.repayments.get().amount == Decimal("3151.49")
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00") - Decimal("3151.49")


def test_auto_debit_skips_a_wallet_that_cannot_pay(fund):
    loan, _ = _disbursed(fund)
    sme = loan.created_by
    from platform_core.ledger.services import withdrawal_create

    withdrawal_create(user=sme, amount="11000.00")
    due_day = loan.installments.get(number=1).due_date
    assert services.repayments_collect_due(now=timezone.make_aware(datetime.datetime.combine(due_day, datetime.time(9)))) == 0
    assert loan.repayments.count() == 0


def test_listing_rules(fund):
    sme = SmeUserFactory()
    with pytest.raises(ApplicationError) as exc:
        services.loan_create(
            user=sme, amount="5000.00", term_months=40, annual_rate_percent="10", method="equal_installments", purpose="x"
        )
    assert exc.value.code == "invalid_term"
    loan = services.loan_create(
        user=sme, amount="5000.00", term_months=6, annual_rate_percent="30", method="equal_principal", purpose="Stock"
    )
    services.loan_submit(user=sme, loan_id=loan.pk)
    with pytest.raises(ApplicationError) as exc:
        services.loan_approve(actor=StaffUserFactory(role="operator"), loan_id=loan.pk, grade="A")
    assert exc.value.code == "rate_outside_grade_band"
    with pytest.raises(ApplicationError) as exc:
        services.loan_approve(actor=StaffUserFactory(role="regulator"), loan_id=loan.pk, grade="E")
    assert exc.value.code == "permission_denied"


def test_borrowing_cap_at_submission():
    sme = SmeUserFactory()
    first = services.loan_create(
        user=sme, amount="800000.00", term_months=12, annual_rate_percent="10", method="equal_installments", purpose="Plant"
    )
    services.loan_submit(user=sme, loan_id=first.pk)
    second = services.loan_create(
        user=sme, amount="300000.00", term_months=12, annual_rate_percent="10", method="equal_installments", purpose="More"
    )
    with pytest.raises(ApplicationError) as exc:
        services.loan_submit(user=sme, loan_id=second.pk)
    assert exc.value.code == "borrowing_cap_exceeded" and "200000.00" in exc.value.message
    assert Loan.objects.get(pk=second.pk).status == LoanStatus.DRAFT


def test_investment_rules(fund):
    loan = listed_loan(amount="1000.00")
    investor = UserFactory()
    fund(investor, "5000.00")
    for amount, code in (("50.00", "below_minimum_investment"), ("1500.00", "over_funding")):
        with pytest.raises(ApplicationError) as exc:
            services.investment_create(user=investor, loan_id=loan.pk, amount=amount)
        assert exc.value.code == code
    services.investment_create(user=investor, loan_id=loan.pk, amount="950.00")
    other = UserFactory()
    fund(other, "100.00")
    services.investment_create(user=other, loan_id=loan.pk, amount="50.00")  # exactly what is left, below the minimum
    loan.refresh_from_db()
    assert loan.status == LoanStatus.FUNDED and loan.funded_amount == Decimal("1000.00")
    with pytest.raises(ApplicationError) as exc:
        services.investment_create(user=loan.created_by, loan_id=loan.pk, amount="100.00")
    assert exc.value.code == "own_loan"


def test_expired_listing_refunds_every_investment(fund):
    loan = listed_loan(amount="10000.00")
    investors = funded_investors(fund, loan, ["1000.00", "2000.00"])
    Loan.objects.filter(pk=loan.pk).update(funding_deadline=timezone.now() - datetime.timedelta(seconds=1))
    assert services.listings_close_due() == 1
    loan.refresh_from_db()
    assert loan.status == LoanStatus.EXPIRED
    assert [ledger.wallet_of_user(i).balance for i in investors] == [Decimal("1000.00"), Decimal("2000.00")]
    assert ledger.escrow_for(loan).balance == 0
    assert ledger_problems() == []


def test_partial_funding_threshold_issues_the_funded_part(fund, settings):
    settings.P2P = {**settings.P2P, "PARTIAL_FUNDING_THRESHOLD": Decimal("0.70")}
    loan = listed_loan(amount="10000.00")
    funded_investors(fund, loan, ["4000.00", "3500.00"])
    Loan.objects.filter(pk=loan.pk).update(funding_deadline=timezone.now() - datetime.timedelta(seconds=1))
    services.listings_close_due()
    services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE and loan.amount == Decimal("7500.00")
    assert sum(i.principal_due for i in loan.installments.all()) == Decimal("7500.00")


def test_disbursement_twice_has_one_effect(fund):
    loan, _ = _disbursed(fund)
    assert services.loan_disburse(loan_id=loan.pk) is None
    assert loan.installments.count() == 4 and loan.notes.count() == 3
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00")


def test_the_database_refuses_a_share_whose_parts_do_not_add_up(fund):
    from django.db import IntegrityError, transaction

    loan, _ = _disbursed(fund)
    repayment = services.repayment_make(user=loan.created_by, loan_id=loan.pk, amount="1585.19")
    share = repayment.shares.first()
    with pytest.raises(IntegrityError, match="share_net_is_gross_less_fee"):
        with transaction.atomic():
            RepaymentShare.objects.filter(pk=share.pk).update(net=share.net + Decimal("0.01"))
    with pytest.raises(IntegrityError, match="share_parts_add_up"):
        with transaction.atomic():
            RepaymentShare.objects.filter(pk=share.pk).update(principal=share.principal + Decimal("0.01"))


def test_a_loan_that_cannot_pay_does_not_hold_up_the_auto_debit_of_the_others(fund):
    from platform_core.ledger.services import withdrawal_create

    poor, _ = _disbursed(fund)
    withdrawal_create(user=poor.created_by, amount="11000.00")  # can no longer pay its 3,151.49
    rich, _ = _disbursed(fund)
    Installment.objects.filter(loan__in=[poor, rich], number=1).update(due_date=services.business_date())
    assert poor.pk < rich.pk
    assert services.repayments_collect_due(chunk=1) == 1
    assert (poor.repayments.count(), rich.repayments.count()) == (0, 1)
