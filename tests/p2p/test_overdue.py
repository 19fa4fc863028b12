"""Unpaid loans age through the buckets to default and write-off (days past due counted from the
business date, the sweep moving the statuses), penalty interest accrues once per day, and month
ends and leap years come out right."""

import datetime
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from p2p import services
from p2p.models import Installment, InstallmentStatus, LoanStatus
from platform_core.audit import audit_trail

from .factories import business_day, funded_investors, listed_loan

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]


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
        with business_day(today):
            services.overdue_sweep()
            loan.refresh_from_db()
            assert (loan.days_past_due, loan.delinquency_bucket, loan.status) == (days, bucket, status), today
    moves = [(e.from_value, e.to_value) for e in audit_trail(loan).filter(action="status_changed").order_by("pk")]
    assert moves[-2:] == [("active", "defaulted"), ("defaulted", "written_off")]


def test_leap_year_february(fund):
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2024, 1, 31))
    assert loan.installments.get(number=2).due_date == datetime.date(2024, 2, 29)
    with business_day(datetime.date(2024, 3, 1)):
        services.overdue_sweep()
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
    # accrued exactly, charged rounded down: 3,151.49 x 0.0005 x 4 days = 6.30298 -> 6.30 (not 1.57 + 4.72)
    assert first.penalty_due == Decimal("6.30")
    assert first.penalty_through == datetime.date(2025, 1, 14)


def test_repaying_arrears_clears_the_bucket(fund):
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2025, 1, 10))
    first = loan.installments.get(number=1)
    with business_day(datetime.date(2025, 1, 20)):
        services.overdue_sweep()
        loan.refresh_from_db()
        assert (loan.days_past_due, loan.delinquency_bucket) == (10, "1-30")
        first.refresh_from_db()
        services.repayment_make(user=loan.created_by, loan_id=loan.pk, amount=str(first.outstanding))
        loan.refresh_from_db()
        assert (loan.days_past_due, loan.delinquency_bucket) == (0, "")  # at once, not at the next sweep
    with business_day(datetime.date(2025, 1, 21)):
        services.overdue_sweep()
        loan.refresh_from_db()
        assert (loan.days_past_due, loan.delinquency_bucket) == (0, "")
    assert Installment.objects.get(pk=first.pk).status == InstallmentStatus.PAID


def test_days_past_due_are_counted_from_the_business_date_not_from_the_last_sweep(fund):
    """The sweep ran on the 20th and not since: on the 25th the loan is 15 days late all the same."""
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2025, 1, 10))
    with business_day(datetime.date(2025, 1, 20)):
        services.overdue_sweep()
    with business_day(datetime.date(2025, 1, 25)):
        loan.refresh_from_db()
        assert (loan.days_past_due, loan.delinquency_bucket) == (15, "1-30")


def test_api_shows_days_past_due_on_loans_and_notes(fund, api_as):
    loan = _active_loan(fund)
    _set_schedule(loan, datetime.date(2025, 1, 10))
    holder = loan.notes.get().holder
    with business_day(datetime.date(2025, 2, 19)):
        services.overdue_sweep()
        detail = api_as(holder).get(f"/api/v1/loans/{loan.pk}/").json()
        notes = api_as(holder).get("/api/v1/notes/").json()["results"]
    assert (detail["days_past_due"], detail["delinquency_bucket"]) == (40, "31-60")
    assert [(n["loan"], n["days_past_due"]) for n in notes] == [(loan.pk, 40)]


def _loan_changelist(client, query=""):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/admin/p2p/loan/{query}")
    assert response.status_code == 200
    return len(queries), [int(pk) for pk in re.findall(r'href="/admin/p2p/loan/(\d+)/change/', response.content.decode())]


def test_admin_filters_loans_by_bucket_with_the_same_queries_for_one_and_three_loans(fund, client, regulator):
    """Regulators see days past due and buckets in the loan list; the list asks as many queries for
    three loans as for one (the arrears are a subquery of the list, not a query per row)."""
    forty, ten, on_time = (_active_loan(fund) for _ in range(3))
    _set_schedule(forty, datetime.date(2025, 1, 10))
    _set_schedule(ten, datetime.date(2025, 2, 9))
    _set_schedule(on_time, datetime.date(2025, 3, 1))
    with business_day(datetime.date(2025, 2, 19)):
        client.force_login(regulator)
        three_queries, three = _loan_changelist(client)
        one_queries, one = _loan_changelist(client, "?bucket=31-60")
        _, late = _loan_changelist(client, "?bucket=1-30")
        page = client.get(f"/admin/p2p/loan/{forty.pk}/change/").content.decode()
    assert sorted(three) == sorted([forty.pk, ten.pk, on_time.pk])
    assert (one, late) == ([forty.pk], [ten.pk])
    assert one_queries == three_queries
    assert re.search(r"Days past due:</label>\s*<div[^>]*>40<", page)
    assert re.search(r"Delinquency bucket:</label>\s*<div[^>]*>31-60<", page)


def test_defaults_come_in_bounded_batches_and_the_sweep_says_when_more_remain(fund, settings):
    settings.P2P = {**settings.P2P, "SWEEP_BATCH": 2}
    loans = [_active_loan(fund) for _ in range(3)]
    for loan in loans:
        _set_schedule(loan, datetime.date(2025, 1, 10))
    with business_day(datetime.date(2025, 4, 20)):  # 100 days past due: all three default
        first = services.overdue_sweep()
        second = services.overdue_sweep()
        third = services.overdue_sweep()
    assert (first["defaulted"], first["more"], services.overdue_sweep_unfinished(first)) == (2, True, True)
    assert (second["defaulted"], second["more"]) == (1, False)
    assert (third["defaulted"], third["more"]) == (0, False)
    assert {loan.status for loan in type(loans[0]).objects.filter(pk__in=[x.pk for x in loans])} == {LoanStatus.DEFAULTED}
