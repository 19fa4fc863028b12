"""P2P demo data: a listing being funded, an active loan with its schedule, and a draft.
Idempotent: loans are looked up by purpose."""

from platform_core.accounts.models import User

from . import services
from .models import Loan


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
    _loan(
        "New packaging line (draft)", sme, amount="150000.00", term_months=12, annual_rate_percent="9", method="equal_principal"
    )
    return [("(loans)", "", "/loans/ - browse and invest; sme: /loans/mine/; investors: /loans/portfolio/")]
