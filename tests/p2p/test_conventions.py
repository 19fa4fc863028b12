"""The P2P money conventions, each with a hand-computed example (README, P2P lending):
the share-out carried over the loan's life, exact penalty accrual whatever the sweep's rhythm, the
late fee, 30/360 interest to date on full early repayment, and auto-debit that one loan cannot stop."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from p2p import services, tasks
from p2p.models import InstallmentStatus, LoanStatus, Note
from p2p.schedules import days_30_360
from p2p.shares import cumulative_split
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.models import JobRun

from .factories import business_day, funded_investors, listed_loan
from .test_overdue import _active_loan, _set_schedule

pytestmark = pytest.mark.django_db
D = Decimal


# --- share-out ----------------------------------------------------------------------------------


def test_cumulative_split_carries_the_odd_cent_to_the_other_note():
    # two notes of 5,000.00: 100.01 of interest is 50.005 each; the older note gets the odd cent ...
    first = cumulative_split(total=D("100.01"), received=[D(0), D(0)], weights=[D(5000), D(5000)], unit=D("0.01"))
    assert first == [D("50.01"), D("50.00")]
    # ... and after 100.01 more (200.02 in all, 100.01 each exactly) the other note gets it
    second = cumulative_split(total=D("200.02"), received=first, weights=[D(5000), D(5000)], unit=D("0.01"))
    assert second == [D("50.00"), D("50.01")]


def test_seven_equal_notes_each_end_within_a_cent_of_their_share():
    # seven notes of 33.33 receiving 6.23 of interest in 0.89 slices: each is owed 0.89 in the end
    received = [D(0)] * 7
    for step in range(1, 8):
        shares = cumulative_split(total=D("0.89") * step, received=received, weights=[D("33.33")] * 7, unit=D("0.01"))
        assert min(shares) >= 0 and sum(shares) == D("0.89")
        received = [r + s for r, s in zip(received, shares, strict=True)]
        assert all(abs(r - D("0.89") * step / 7) < D("0.01") for r in received)
    assert received == [D("0.89")] * 7


def test_two_investors_ten_thousand_at_twelve_percent_repaid_to_the_last_cent(fund):
    """The loan of the issue: 10,000.00 at 12% over 12 months, equal installments, 5,000.00 from each
    of two investors. Shared per repayment, the odd cents piled up on the older note until the last
    principal could not be split; carried over the life, both notes are repaid exactly."""
    with business_day(datetime.date(2026, 1, 15)):
        loan = listed_loan(amount="10000.00", term_months=12, rate_percent="12", grade="C")
        funded_investors(fund, loan, ["5000.00", "5000.00"])
        services.loan_disburse(loan_id=loan.pk)
    loan.refresh_from_db()
    fund(loan.created_by, "2000.00")  # the proceeds less the fee, and the interest
    for installment in loan.installments.order_by("number"):
        with business_day(installment.due_date):
            services.repayment_make(user=loan.created_by, loan_id=loan.pk)
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID
    first, second = Note.objects.filter(loan=loan).order_by("pk")
    interest = sum(i.interest_due for i in loan.installments.all())
    assert (first.received_principal, second.received_principal) == (D("5000.00"), D("5000.00"))
    assert first.received_interest + second.received_interest == interest
    assert abs(first.received_interest - second.received_interest) <= D("0.01")
    assert ledger_problems() == []


# --- penalty interest ---------------------------------------------------------------------------


def _overdue_loan(fund, first_due=datetime.date(2025, 1, 10)):
    loan = _active_loan(fund)  # 12,000.00 at 24% over 4 months: 3,151.49 due each month
    _set_schedule(loan, first_due)
    return loan, loan.installments.get(number=1)


def test_penalty_with_daily_sweeps(fund):
    loan, first = _overdue_loan(fund)
    for day in range(1, 31):
        services.overdue_sweep(today=datetime.date(2025, 1, 10) + datetime.timedelta(days=day))
    first.refresh_from_db()
    # 3,151.49 x 0.05% x 30 days = 47.27235: 47.27 (rounded each day it was 47.10)
    assert first.penalty_due == D("47.27")


def test_penalty_with_one_catch_up_sweep_is_the_same(fund):
    loan, first = _overdue_loan(fund)
    services.overdue_sweep(today=datetime.date(2025, 2, 9))
    services.overdue_sweep(today=datetime.date(2025, 2, 9))  # twice: once
    first.refresh_from_db()
    assert (first.penalty_due, first.penalty_through) == (D("47.27"), datetime.date(2025, 2, 9))


def test_a_small_overdue_amount_accrues_too(fund):
    loan, first = _overdue_loan(fund)
    # 3,131.50 paid on the due date: 19.99 of the installment left unpaid
    with business_day(datetime.date(2025, 1, 10)):
        services.repayment_make(user=loan.created_by, loan_id=loan.pk, amount="3131.50")
    for day in range(1, 31):
        services.overdue_sweep(today=datetime.date(2025, 1, 10) + datetime.timedelta(days=day))
    first.refresh_from_db()
    # 19.99 x 0.05% = 0.009995 a day, nothing when rounded each day; 30 days: 0.29985 -> 0.29
    assert first.penalty_due == D("0.29")


def test_a_repayment_accrues_before_it_is_applied_so_missed_sweeps_change_nothing(fund):
    loan, first = _overdue_loan(fund)
    # no sweep at all: paid 10 days late, the repayment itself charges 10 days on 3,151.49 = 15.757 -> 15.75
    with business_day(datetime.date(2025, 1, 20)):
        repayment = services.repayment_make(user=loan.created_by, loan_id=loan.pk)
    assert (repayment.amount, repayment.penalty_part) == (D("3167.24"), D("15.75"))
    first.refresh_from_db()
    assert first.status == InstallmentStatus.PAID


# --- late fee -----------------------------------------------------------------------------------


def test_late_fee_charged_once_at_fifteen_days(fund):
    loan, first = _overdue_loan(fund)
    services.overdue_sweep(today=datetime.date(2025, 1, 24))  # 14 days past due
    first.refresh_from_db()
    assert first.fee_due == 0
    services.overdue_sweep(today=datetime.date(2025, 1, 25))  # 15: 5% of 3,151.49 = 157.5745 -> 157.57 (> 15.00)
    services.overdue_sweep(today=datetime.date(2025, 2, 20))
    first.refresh_from_db()
    assert (first.fee_due, first.late_fee_charged_on) == (D("157.57"), datetime.date(2025, 1, 25))
    # the repayment takes the penalty first, then the fee, then interest and principal
    penalty = first.penalty_due
    with business_day(datetime.date(2025, 2, 20)):
        repayment = services.repayment_make(user=loan.created_by, loan_id=loan.pk, amount=str(penalty + D("200.00")))
    assert (repayment.penalty_part, repayment.fee_part, repayment.interest_part) == (penalty, D("157.57"), D("42.43"))


def test_late_fee_minimum_on_a_small_payment(fund):
    loan, first = _overdue_loan(fund)
    with business_day(datetime.date(2025, 1, 10)):
        services.repayment_make(user=loan.created_by, loan_id=loan.pk, amount="3131.50")  # 19.99 left
    services.overdue_sweep(today=datetime.date(2025, 1, 25))
    first.refresh_from_db()
    assert first.fee_due == D("15.00")  # 5% of 19.99 is 0.99: the minimum applies


def test_late_fee_off_when_rate_and_minimum_are_zero(fund, settings):
    settings.P2P = {**settings.P2P, "LATE_FEE_RATE": D("0"), "LATE_FEE_MINIMUM": D("0")}
    loan, first = _overdue_loan(fund)
    services.overdue_sweep(today=datetime.date(2025, 2, 20))
    first.refresh_from_db()
    assert (first.fee_due, first.late_fee_charged_on) == (D("0.00"), None)


# --- full early repayment, 30/360 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (datetime.date(2026, 1, 15), datetime.date(2026, 2, 15), 30),
        (datetime.date(2026, 1, 31), datetime.date(2026, 2, 28), 28),
        (datetime.date(2026, 3, 31), datetime.date(2026, 4, 30), 30),
        (datetime.date(2026, 2, 28), datetime.date(2026, 3, 10), 12),  # actual days: 10
        (datetime.date(2026, 1, 30), datetime.date(2026, 1, 31), 0),
        (datetime.date(2027, 12, 20), datetime.date(2028, 1, 5), 15),
    ],
)
def test_days_30_360(start, end, days):
    assert days_30_360(start, end) == days


def test_payoff_interest_to_date_is_30_360(fund):
    loan, first = _overdue_loan(fund, first_due=datetime.date(2026, 2, 28))
    fund(loan.created_by, "1000.00")
    with business_day(datetime.date(2026, 2, 28)):
        services.repayment_make(user=loan.created_by, loan_id=loan.pk)  # installment 1 on time
    with business_day(datetime.date(2026, 3, 10)):
        quote = services.loan_payoff_quote(loan, datetime.date(2026, 3, 10))
        # 30/360 from 28 February to 10 March is 12 days: 9,088.51 x 24% x 12 / 360 = 72.7081 -> 72.71
        assert quote == {"arrears": D("0.00"), "interest_to_date": D("72.71"), "principal": D("9088.51"), "total": D("9161.22")}
        repayment = services.loan_repay_in_full(user=loan.created_by, loan_id=loan.pk)
    assert (repayment.amount, repayment.interest_part) == (D("9161.22"), D("72.71"))
    loan.refresh_from_db()
    assert loan.status == LoanStatus.REPAID


def test_payoff_quote_shows_charges_to_date_and_writes_nothing(fund):
    loan, first = _overdue_loan(fund)
    quote = services.loan_payoff_quote(loan, datetime.date(2025, 1, 20))
    # 10 days on 3,151.49 at 0.05%: 15.75 of penalty in the arrears
    assert quote["arrears"] == D("3151.49") + D("15.75")
    first.refresh_from_db()
    assert (first.penalty_due, first.penalty_through, first.status) == (D("0.00"), None, InstallmentStatus.PENDING)


# --- auto-debit ---------------------------------------------------------------------------------


def test_one_loan_failing_never_stops_auto_debit_of_the_others(fund, caplog):
    broken, _ = _overdue_loan(fund, first_due=datetime.date(2025, 1, 10))
    healthy, _ = _overdue_loan(fund, first_due=datetime.date(2025, 1, 10))
    assert broken.pk < healthy.pk  # the broken loan comes first in the run
    with connection.cursor() as cursor:  # a real database error on the first loan's repayment
        cursor.execute(
            "CREATE FUNCTION test_refuse_repayment() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.loan_id = {broken.pk} THEN RAISE EXCEPTION 'disk full'; END IF; RETURN NEW; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER test_refuse_repayment BEFORE INSERT ON p2p_repayment "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse_repayment()"
        )
    with business_day(datetime.date(2025, 1, 10)), pytest.raises(services.AutoDebitFailures) as failures:
        tasks.repayments_collect_due()
    assert failures.value.loan_ids == [broken.pk] and failures.value.collected == 1
    assert (broken.repayments.count(), healthy.repayments.count()) == (0, 1)
    assert ledger.wallet_for(broken.borrower).balance == D("11760.00")  # nothing moved for the broken loan
    assert f"Auto-debit of loan {broken.pk} failed" in caplog.text
    run = JobRun.objects.get(name="p2p.repayments_collect_due")
    assert not run.last_ok and f"failed for 1 loan(s): {broken.pk}" in run.last_summary
    assert ledger_problems() == []
