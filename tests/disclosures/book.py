"""A small P2P book built row by row, so every figure can be worked out by hand (the times are set
exactly: instants in the platform's time zone, Asia/Shanghai)."""

import datetime
import zoneinfo
from decimal import Decimal

from p2p.models import Installment, InstallmentStatus, Investment, InvestmentStatus, Loan, LoanStatus, Note, Repayment
from platform_core.ledger.models import Account, AccountPurpose, Transaction
from tests.factories import OrganisationFactory, SmeUserFactory, UserFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=12, minute=0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def _wallet(owner_key: str) -> Account:
    account, _ = Account.objects.get_or_create(
        key=f"test-wallet:{owner_key}", defaults={"name": owner_key, "purpose": AccountPurpose.WALLET, "currency": "CNY"}
    )
    return account


def loan_make(
    entity, borrower, *, disbursed_at, installments, lenders, status=LoanStatus.ACTIVE, closed_at=None, written_off_at=None
):
    """`installments`: [(due date, principal, interest)]; `lenders`: [(user, organisation or None, principal)]."""
    amount = sum(Decimal(p) for _, p, _ in installments)
    creator = SmeUserFactory(organisation=borrower)
    loan = Loan.objects.create(
        entity=entity,
        borrower=borrower,
        created_by=creator,
        amount=amount,
        term_months=len(installments),
        annual_rate=Decimal("0.12"),
        method="equal_principal",
        purpose="test book",
        grade="B",
        status=status,
        funded_amount=amount,
        disbursed_at=disbursed_at,
        principal_outstanding=amount,
        closed_at=closed_at,
        written_off_at=written_off_at,
    )
    for n, (due, principal, interest) in enumerate(installments, start=1):
        Installment.objects.create(loan=loan, number=n, due_date=due, principal_due=principal, interest_due=interest)
    for user, organisation, principal in lenders:
        wallet = _wallet(f"{user.pk}:{getattr(organisation, 'pk', '')}")
        investment = Investment.objects.create(
            loan=loan,
            investor=user,
            investor_organisation=organisation,
            wallet=wallet,
            amount=principal,
            status=InvestmentStatus.ISSUED,
        )
        Note.objects.create(
            loan=loan,
            investment=investment,
            holder=user,
            holder_organisation=organisation,
            wallet=wallet,
            principal=principal,
            principal_outstanding=principal,
        )
    return loan


def repayment_make(loan, *, on, principal="0", interest="0", compensatory=False):
    principal, interest = Decimal(principal), Decimal(interest)
    repayment = Repayment.objects.create(
        loan=loan,
        source="guarantor" if compensatory else "borrower",
        payer_wallet=_wallet(f"payer:{loan.borrower_id}"),
        amount=principal + interest,
        principal_part=principal,
        interest_part=interest,
        is_compensatory=compensatory,
        transaction=Transaction.objects.create(kind="test_repayment"),
    )
    Repayment.objects.filter(pk=repayment.pk).update(created_at=on)
    # the installments' paid parts as the service would leave them (oldest first)
    left_p, left_i = principal, interest
    for inst in loan.installments.order_by("number"):
        pay_i = min(left_i, inst.interest_due - inst.interest_paid)
        pay_p = min(left_p, inst.principal_due - inst.principal_paid)
        left_i -= pay_i
        left_p -= pay_p
        inst.interest_paid += pay_i
        inst.principal_paid += pay_p
        if inst.principal_paid == inst.principal_due and inst.interest_paid == inst.interest_due:
            inst.status, inst.paid_at = InstallmentStatus.PAID, on
        inst.save()
    return repayment


def d(year, month, day) -> datetime.date:
    return datetime.date(year, month, day)


def january_book(entity):
    """The book of the items test (figures as of 2026-02-01 00:00 Shanghai). See test_items.py."""
    b1, b2, b3, b4, b5, b6 = (OrganisationFactory() for _ in range(6))
    u1, u2, u3, u4, u5 = (UserFactory() for _ in range(5))
    fund = OrganisationFactory(kind="institutional_investor")
    fund_a, fund_b = UserFactory(), UserFactory()  # two members of one organisation lend for it
    book = {"borrowers": (b1, b2, b3, b4, b5, b6)}
    book["l1"] = loan_make(
        entity,
        b1,
        disbursed_at=at(2025, 10, 15),
        installments=[(d(2025, 11, 1), "1000", "30"), (d(2025, 12, 1), "1000", "20"), (d(2026, 1, 1), "1000", "10")],
        lenders=[(u1, None, "1500"), (fund_a, fund, "1500")],
    )
    repayment_make(book["l1"], on=at(2025, 11, 1), principal="1000", interest="30")
    book["l2"] = loan_make(
        entity,
        b1,
        disbursed_at=at(2025, 12, 20),
        installments=[(d(2026, 1, 20), "500", "10"), (d(2026, 2, 20), "500", "5")],
        lenders=[(fund_b, fund, "600"), (u2, None, "400")],
    )
    repayment_make(book["l2"], on=at(2026, 1, 25), principal="200", interest="10")  # partial
    book["l3"] = loan_make(
        entity,
        b2,
        disbursed_at=at(2025, 9, 1),
        installments=[(d(2025, 10, 1), "1000", "40"), (d(2025, 11, 3), "1000", "20")],
        lenders=[(u1, None, "2000")],
        status=LoanStatus.DEFAULTED,
    )
    book["l4"] = loan_make(
        entity,
        b3,
        disbursed_at=at(2025, 12, 1),
        installments=[(d(2026, 1, 1), "2000", "40"), (d(2026, 2, 1), "2000", "20")],
        lenders=[(u3, None, "4000")],
    )
    repayment_make(book["l4"], on=at(2026, 1, 5), principal="2000", interest="40", compensatory=True)
    book["l5"] = loan_make(
        entity,
        b2,
        disbursed_at=at(2025, 6, 1),
        installments=[(d(2025, 7, 1), "500", "5")],
        lenders=[(u4, None, "500")],
        status=LoanStatus.REPAID,
        closed_at=at(2025, 7, 1),
    )
    repayment_make(book["l5"], on=at(2025, 7, 1), principal="500", interest="5")
    book["l6"] = loan_make(
        entity,
        b4,
        disbursed_at=at(2026, 1, 31, 23, 30),  # 15:30 UTC on the 31st: January in Shanghai
        installments=[(d(2026, 2, 28), "1000", "10")],
        lenders=[(u1, None, "1000")],
    )
    book["l7"] = loan_make(
        entity,
        b5,
        disbursed_at=at(2026, 2, 1, 0, 30),  # still January 31 in UTC: February in Shanghai
        installments=[(d(2026, 3, 1), "7000", "70")],
        lenders=[(u2, None, "7000")],
    )
    book["l8"] = loan_make(
        entity,
        b6,
        disbursed_at=at(2025, 3, 1),
        installments=[(d(2025, 4, 1), "1000", "10")],
        lenders=[(u5, None, "1000")],
        status=LoanStatus.WRITTEN_OFF,
        written_off_at=at(2025, 8, 1),
    )
    return book
