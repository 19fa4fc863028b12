"""P2P demo data: a listing being funded, an active loan with its schedule, a loan whose
repayments are late (in the 31-60 days bucket), and a draft. Idempotent: loans are looked up by purpose."""

import datetime

from platform_core.accounts.models import User
from platform_core.ledger import services as ledger

from . import services
from .models import Loan
from .schedules import _add_months

#: The late loan was disbursed so long ago that its first installment fell due this many days back.
LATE_DAYS = 40


def _loan(purpose, sme, *, grade=None, **fields):
    existing = Loan.objects.filter(purpose=purpose).first()
    if existing:
        return existing, False
    loan = services.loan_create(user=sme, purpose=purpose, **fields)
    if grade:
        services.loan_submit(user=sme, loan_id=loan.pk)
        services.loan_approve(actor=User.objects.get(username="operator"), loan_id=loan.pk, grade=grade)
    loan.refresh_from_db()
    return loan, True


def seed():
    sme, sme2 = User.objects.get(username="sme"), User.objects.get(username="sme2")
    investor, investor2, angel, fund = (User.objects.get(username=u) for u in ("investor", "investor2", "angel", "fund"))
    listing, created = _loan(
        "Two refrigerated delivery vans",
        sme2,
        grade="C",
        amount="200000.00",
        term_months=24,
        annual_rate_percent="13.5",
        method="equal_installments",
    )
    if created:
        services.investment_create(user=investor, loan_id=listing.pk, amount="5000.00")
        services.investment_create(user=fund, loan_id=listing.pk, amount="80000.00")
    active, created = _loan(
        "Spring harvest working capital",
        sme,
        grade="E",
        amount="12000.00",
        term_months=4,
        annual_rate_percent="24",
        method="equal_installments",
    )
    if created:
        services.investment_create(user=investor, loan_id=active.pk, amount="6000.00")
        services.investment_create(user=investor2, loan_id=active.pk, amount="4000.00")
        services.investment_create(user=angel, loan_id=active.pk, amount="2000.00")
        services.loan_disburse(loan_id=active.pk)  # the demo does not wait for the worker
    late, created = _loan(
        "Cafe refit (repayments late)",
        sme2,
        grade="D",
        amount="30000.00",
        term_months=6,
        annual_rate_percent="18",
        method="equal_principal",
    )
    if created:
        services.investment_create(user=investor, loan_id=late.pk, amount="20000.00")
        services.investment_create(user=angel, loan_id=late.pk, amount="10000.00")
        services.loan_disburse(loan_id=late.pk)
        ledger.withdrawal_create(user=sme2, amount="25000.00")  # spent on the refit: too little left for auto-debit
        _backdate(late, first_due=services.business_date() - datetime.timedelta(days=LATE_DAYS))
        services.overdue_sweep()  # what the daily job would have done: mark and accrue penalty interest
    _loan(
        "New packaging line (draft)", sme, amount="150000.00", term_months=12, annual_rate_percent="9", method="equal_principal"
    )
    return [("(loans)", "", "/loans/ - browse and invest; sme: /loans/mine/; investors: /loans/portfolio/")]


def _backdate(loan: Loan, *, first_due: datetime.date) -> None:
    """Move a just-disbursed loan into the past, as if disbursed a month before `first_due`."""
    loan.refresh_from_db()
    shift = first_due - loan.installments.get(number=1).due_date
    Loan.objects.filter(pk=loan.pk).update(disbursed_at=loan.disbursed_at + shift, first_due_date=first_due)
    for installment in loan.installments.all():
        installment.due_date = _add_months(first_due, installment.number - 1)
        installment.save(update_fields=["due_date"])
