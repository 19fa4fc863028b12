"""Loans built through the services, so a listed loan really went through review and approval."""

import contextlib
import datetime
import zoneinfo

import time_machine
from django.conf import settings

from p2p import services
from p2p.models import Loan
from tests.factories import SmeUserFactory, StaffUserFactory, UserFactory


def listed_loan(*, sme=None, amount="12000.00", term_months=4, rate_percent="24", method="equal_installments", grade="E") -> Loan:
    sme = sme or SmeUserFactory()
    operator = StaffUserFactory(role="operator")
    loan = services.loan_create(
        user=sme,
        amount=amount,
        term_months=term_months,
        annual_rate_percent=rate_percent,
        method=method,
        purpose="Working capital for the spring harvest",
    )
    services.loan_submit(user=sme, loan_id=loan.pk)
    services.loan_approve(actor=operator, loan_id=loan.pk, grade=grade)
    loan.refresh_from_db()
    return loan


def funded_investors(fund, loan, amounts):
    """One funded, verified investor per amount, each having invested it."""
    investors = []
    for amount in amounts:
        investor = UserFactory()
        fund(investor, amount)
        services.investment_create(user=investor, loan_id=loan.pk, amount=amount)
        investors.append(investor)
    return investors


@contextlib.contextmanager
def business_day(day: datetime.date):
    """Live on `day` (noon, the platform's time zone): days past due are counted from the business date."""
    noon = datetime.datetime.combine(day, datetime.time(12), tzinfo=zoneinfo.ZoneInfo(settings.PLATFORM_DEFAULT_TIME_ZONE))
    with time_machine.travel(noon, tick=False):
        yield
