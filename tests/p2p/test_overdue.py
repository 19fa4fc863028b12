"""The daily sweep ages unpaid loans through the buckets to default and write-off, accrues penalty
interest once per day, and gets month ends and leap years right."""

import datetime
from decimal import Decimal

import pytest

from p2p import services
from p2p.models import Installment, InstallmentStatus, LoanStatus
from platform_core.audit import audit_trail

from .factories import funded_investors, listed_loan

pytestmark = pytest.mark.django_db


def _active_loan(fund, **kwargs):
    loan = listed_loan(**kwargs)
    funded_investors(fund, loan, [str(loan.amount)])
    services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    return loan


def _set_schedule(loan, first_due: datetime.date):
    """Re-date the schedule (as if disbursed a month before `first_due`), month by month, clamped."""
    from p2p.schedules import _add_months

    for inst in loan.installments.order_by("number"):
        inst.due_date = _add_months(first_due, inst.number - 1)
        inst.save(update_fields=["due_date"])


def test_buckets_default_and_write_off(fund):
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2025, 1, 31))
    expected = [
        (datetime.date(2025, 1, 31), 0, "", LoanStatus.ACTIVE),
        (datetime.date(2025, 2, 1), 1, "1-30", LoanStatus.ACTIVE),
        (datetime.date(2025, 3, 2), 30, "1-30", LoanStatus.ACTIVE),  # February 2025 has 28 days
        (datetime.date(2025, 3, 3), 31, "31-60", LoanStatus.ACTIVE),
        (datetime.date(2025, 4, 1), 60, "31-60", LoanStatus.ACTIVE),
        (datetime.date(2025, 4, 2), 61, "61-90", LoanStatus.ACTIVE),
        (datetime.date(2025, 5, 1), 90, "61-90", LoanStatus.ACTIVE),
        (datetime.date(2025, 5, 2), 91, "90+", LoanStatus.DEFAULTED),
        (datetime.date(2025, 6, 1), 121, "90+", LoanStatus.WRITTEN_OFF),
    ]
    for today, days, bucket, status in expected:
        services.overdue_sweep(today=today)
        loan.refresh_from_db()
        assert (loan.days_past_due, loan.delinquency_bucket, loan.status) == (days, bucket, status), today
    moves = [(e.from_value, e.to_value) for e in audit_trail(loan).filter(action="status_changed").order_by("pk")]
    assert moves[-2:] == [("active", "defaulted"), ("defaulted", "written_off")]


def test_leap_year_february(fund):
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2024, 1, 31))
    assert loan.installments.get(number=2).due_date == datetime.date(2024, 2, 29)
    services.overdue_sweep(today=datetime.date(2024, 3, 1))
    loan.refresh_from_db()
    assert loan.days_past_due == 30  # oldest unpaid: Jan 31; 2024 has Feb 29
    assert loan.installments.filter(status=InstallmentStatus.OVERDUE).count() == 2


def test_penalty_accrues_once_per_day_and_catches_up(fund):
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2025, 1, 10))
    first = loan.installments.get(number=1)
    unpaid = first.principal_due + first.interest_due  # 3,151.49
    services.overdue_sweep(today=datetime.date(2025, 1, 11))
    services.overdue_sweep(today=datetime.date(2025, 1, 11))  # twice the same day: once
    first.refresh_from_db()
    assert first.penalty_due == (unpaid * Decimal("0.0005")).quantize(Decimal("0.01"), rounding="ROUND_DOWN") == Decimal("1.57")
    services.overdue_sweep(today=datetime.date(2025, 1, 14))  # three days missed: caught up
    first.refresh_from_db()
    assert first.penalty_due == Decimal("1.57") + Decimal("4.72")  # 3,151.49 x 0.0005 x 3 = 4.727 -> 4.72
    assert first.penalty_through == datetime.date(2025, 1, 14)


def test_repaying_arrears_clears_the_bucket(fund):
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2025, 1, 10))
    services.overdue_sweep(today=datetime.date(2025, 1, 20))
    loan.refresh_from_db()
    assert loan.delinquency_bucket == "1-30"
    first = loan.installments.get(number=1)
    services.repayment_make(user=loan.created_by, loan_id=loan.pk, amount=str(first.outstanding))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.delinquency_bucket) == (0, "")  # at once, not at the next sweep
    services.overdue_sweep(today=datetime.date(2025, 1, 21))
    loan.refresh_from_db()
    assert (loan.days_past_due, loan.delinquency_bucket) == (0, "")
    assert Installment.objects.get(pk=first.pk).status == InstallmentStatus.PAID
