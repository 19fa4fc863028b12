"""Whole lives of loans, checked against an independent model.

Hypothesis builds random loans (1-25 investors with awkward amounts, every repayment method, terms
of 1-36 months, start dates across month ends and leap years) through the services and takes each
through a random sequence of on-time, partial, late, extra and early payments, auto-debit,
guarantor payments and overdue sweeps on random days, to the end. After every step the loan is
compared with `Book`, a model of the rules written here from the rule pack alone (allocation
order, exact penalty accrual, the late fee, 30/360 payoff interest); after every repayment each
note's cumulative receipts are compared with its exact pro-rata share of what the loan received.
At the end: the loan is repaid, every note got back exactly its principal, the borrower's and
guarantor's payments equal what the holders received plus the service fees, and the books balance.

The number of loans: LIFECYCLE_EXAMPLES (200 in `make test`; `make soak` runs more).
"""

import datetime
import os
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pytest
from django.conf import settings
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from p2p import services
from p2p.models import Installment, Loan, LoanStatus, Note, Repayment, RepaymentSource
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import AccountPurpose
from tests.factories import OrganisationFactory, SmeUserFactory, UserFactory

from .factories import listed_loan

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
EXAMPLES = int(os.environ.get("LIFECYCLE_EXAMPLES", "200"))
ZONE = zoneinfo.ZoneInfo(settings.PLATFORM_DEFAULT_TIME_ZONE)
MAX_DAYS_LATE = 100  # written off after 120: every loan here can still be repaid


def noon(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), tzinfo=ZONE)


def cents_down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_DOWN)


def days_30_360(start: datetime.date, end: datetime.date) -> int:
    """The bond basis, written out: each month 30 days; a 31st counts as the 30th, and an end on the
    31st counts as the 30th only when the start is on the 30th or 31st."""
    start_day = 30 if start.day == 31 else start.day
    end_day = 30 if end.day == 31 and start_day == 30 else end.day
    return (end.year - start.year) * 360 + (end.month - start.month) * 30 + end_day - start_day


@dataclass
class Due:
    number: int
    due_date: datetime.date
    principal: Decimal
    interest: Decimal
    fee: Decimal = Decimal("0.00")
    penalty: Decimal = Decimal("0.00")
    penalty_exact: Decimal = Decimal(0)
    penalty_through: datetime.date | None = None
    late_fee_charged: bool = False
    principal_paid: Decimal = Decimal("0.00")
    interest_paid: Decimal = Decimal("0.00")
    fee_paid: Decimal = Decimal("0.00")
    penalty_paid: Decimal = Decimal("0.00")

    @property
    def unpaid_principal_and_interest(self) -> Decimal:
        return self.principal + self.interest - self.principal_paid - self.interest_paid

    @property
    def outstanding(self) -> Decimal:
        return self.unpaid_principal_and_interest + self.fee + self.penalty - self.fee_paid - self.penalty_paid

    def as_row(self):
        return (self.penalty, self.fee, self.principal_paid, self.interest_paid, self.fee_paid, self.penalty_paid)


class Book:
    """One loan's installments under the rules of settings.P2P, independent of p2p/services.py."""

    def __init__(self, loan: Loan):
        self.rules = settings.P2P
        self.annual_rate = loan.annual_rate
        self.disbursed_on = loan.disbursed_at.astimezone(ZONE).date()
        self.dues = [Due(i.number, i.due_date, i.principal_due, i.interest_due) for i in loan.installments.order_by("number")]

    def accrue(self, today: datetime.date) -> None:
        for due in self.dues:
            if due.outstanding == 0 or due.due_date >= today:
                continue
            if due.penalty_through is None or due.penalty_through < today:
                days = (today - (due.penalty_through or due.due_date)).days
                due.penalty_exact += due.unpaid_principal_and_interest * self.rules["PENALTY_DAILY_RATE"] * days
                due.penalty = cents_down(due.penalty_exact)
                due.penalty_through = today
            late_after = datetime.timedelta(days=self.rules["LATE_FEE_AFTER_DAYS"])
            if not due.late_fee_charged and due.unpaid_principal_and_interest > 0 and due.due_date + late_after <= today:
                rate, minimum = self.rules["LATE_FEE_RATE"], self.rules["LATE_FEE_MINIMUM"]
                if rate or minimum:
                    due.fee += max(cents_down(due.unpaid_principal_and_interest * rate), minimum)
                    due.late_fee_charged = True

    def due_now(self, today: datetime.date) -> Decimal:
        return sum((d.outstanding for d in self.dues if d.due_date <= today), Decimal("0.00"))

    def outstanding(self) -> Decimal:
        return sum((d.outstanding for d in self.dues), Decimal("0.00"))

    def oldest_unpaid(self) -> Due | None:
        return next((d for d in self.dues if d.outstanding > 0), None)

    def pay(self, amount: Decimal) -> dict[str, Decimal]:
        """Oldest installment first; within it penalty, fee, interest, principal."""
        parts = dict.fromkeys(("penalty", "fee", "interest", "principal"), Decimal("0.00"))
        left = amount
        for due in self.dues:
            for part in parts:
                take = min(getattr(due, part) - getattr(due, f"{part}_paid"), left)
                setattr(due, f"{part}_paid", getattr(due, f"{part}_paid") + take)
                parts[part] += take
                left -= take
        assert left == 0, "the model was asked to take more than is outstanding"
        return parts

    def payoff(self, today: datetime.date) -> Decimal:
        """Re-cut the schedule for full early repayment; returns the amount to pay."""
        future = [d for d in self.dues if d.outstanding > 0 and d.due_date > today]
        if future:
            current = future[0]
            previous = next((d.due_date for d in self.dues if d.number == current.number - 1), self.disbursed_on)
            days = days_30_360(previous, today) if today > previous else 0
            remaining = sum((d.principal - d.principal_paid for d in future), Decimal("0.00"))
            interest = (remaining * self.annual_rate * days / 360).quantize(CENT, rounding=ROUND_HALF_EVEN)
            interest = min(interest, current.interest - current.interest_paid)
            current.principal, current.interest = current.principal_paid + remaining, current.interest_paid + interest
            for later in future[1:]:
                later.principal, later.interest = later.principal_paid, later.interest_paid
        return self.outstanding()


def _assert_book(loan: Loan, book: Book) -> None:
    rows = list(
        loan.installments.order_by("number").values_list(
            "penalty_due", "fee_due", "principal_paid", "interest_paid", "fee_paid", "penalty_paid"
        )
    )
    assert rows == [d.as_row() for d in book.dues]


def _assert_shares_pro_rata(loan: Loan) -> None:
    """Each note's cumulative receipts are within a cent of its exact share of what the loan received."""
    received = Repayment.objects.filter(loan=loan)
    principal = sum((r.principal_part for r in received), Decimal(0))
    income = sum((r.interest_part + r.fee_part + r.penalty_part for r in received), Decimal(0))
    notes = list(Note.objects.filter(loan=loan))
    whole = sum(n.principal for n in notes)
    for note in notes:
        assert abs(note.received_principal - principal * note.principal / whole) < CENT
        assert abs(note.received_interest - income * note.principal / whole) < CENT
        assert note.principal_outstanding == note.principal - note.received_principal >= 0


amounts = st.decimals(min_value=Decimal("100.00"), max_value=Decimal("40000.00"), places=2)
awkward = st.sampled_from([Decimal("100.00"), Decimal("100.01"), Decimal("333.33"), Decimal("1234.57"), Decimal("999.99")])
GRADES = sorted(settings.P2P["GRADE_RATE_BANDS"])


@st.composite
def loans(draw):
    holdings = draw(st.lists(st.one_of(amounts, awkward), min_size=1, max_size=25))
    if sum(holdings) < settings.P2P["MIN_AMOUNT"]:
        holdings[0] += settings.P2P["MIN_AMOUNT"] - sum(holdings)
    grade = draw(st.sampled_from(GRADES))
    low, high = settings.P2P["GRADE_RATE_BANDS"][grade]
    rate = draw(st.integers(int(low * 10000), int(high * 10000))) / Decimal(100)
    return {
        "holdings": holdings,
        "grade": grade,
        "rate_percent": rate,
        "term_months": draw(st.integers(1, 36)),
        "method": draw(st.sampled_from(settings.P2P["METHODS"])),
        "start": datetime.date(2026, 1, 1) + datetime.timedelta(days=draw(st.integers(0, 1100))),
    }


ACTIONS = ("on_time", "late", "partial", "extra", "auto_debit", "guarantor", "payoff")


@hypothesis_settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(terms=loans(), data=st.data())
def test_every_loan_is_repaid_to_the_cent_and_every_investor_gets_exactly_its_due(terms, data, fund):
    with transaction.atomic():
        _live_one_loan(terms, data, fund)
        transaction.set_rollback(True)  # each loan on a clean book


def _live_one_loan(terms, data, fund):
    sme = SmeUserFactory()
    loan = listed_loan(
        sme=sme,
        amount=str(sum(terms["holdings"])),
        term_months=terms["term_months"],
        rate_percent=str(terms["rate_percent"]),
        method=terms["method"],
        grade=terms["grade"],
    )
    investors = []
    for holding in terms["holdings"]:
        investor = UserFactory()
        fund(investor, holding)
        services.investment_create(user=investor, loan_id=loan.pk, amount=holding)
        investors.append(investor)
    services.loan_disburse(loan_id=loan.pk, now=noon(terms["start"]))
    loan.refresh_from_db()
    assert loan.status == LoanStatus.ACTIVE
    fund(sme, loan.amount * 3)  # the proceeds and more: the borrower can always pay
    guarantor = SmeUserFactory(organisation=OrganisationFactory(kind="funder"), role="funder")
    fund(guarantor, loan.amount * 3)
    borrower_wallet, guarantor_wallet = ledger.wallet_for(loan.borrower), ledger.wallet_of_user(guarantor)
    paid_in = {"borrower": borrower_wallet.balance, "guarantor": guarantor_wallet.balance}
    fee_income = ledger.system_account(AccountPurpose.FEE_INCOME).balance

    book = Book(loan)
    assert sum(d.principal for d in book.dues) == loan.amount
    today, debited_on = terms["start"], set()
    for step in range(3 * terms["term_months"] + 10):
        oldest = book.oldest_unpaid()
        if oldest is None:
            break
        last_step = step == 3 * terms["term_months"] + 9
        action = "extra" if last_step else data.draw(st.sampled_from(ACTIONS), label="action")
        latest = oldest.due_date + datetime.timedelta(days=MAX_DAYS_LATE)
        if action in ("on_time", "auto_debit"):
            day = oldest.due_date
        elif action in ("late", "partial", "guarantor"):
            day = oldest.due_date + datetime.timedelta(days=data.draw(st.integers(0, MAX_DAYS_LATE), label="days late"))
        else:  # extra or payoff: early, on time or late
            day = oldest.due_date + datetime.timedelta(days=data.draw(st.integers(-40, 30), label="days from due"))
        day = min(max(day, today), max(latest, today))
        for _ in range(data.draw(st.integers(0, 2), label="sweeps")):  # sweeps on random days in between
            sweep_day = today + datetime.timedelta(days=data.draw(st.integers(0, max((day - today).days, 0)), label="sweep"))
            services.overdue_sweep(today=sweep_day)
            book.accrue(sweep_day)
            today = sweep_day
            _assert_book(loan, book)
        today = day
        book.accrue(today)
        due_now, outstanding = book.due_now(today), book.outstanding()
        before = Repayment.objects.filter(loan=loan).count()
        if action == "on_time" and due_now:
            services.repayment_make(user=sme, loan_id=loan.pk, now=noon(today))
            expected = book.pay(due_now)
        elif action == "late" and due_now:
            services.repayment_make(user=sme, loan_id=loan.pk, amount=str(due_now), now=noon(today))
            expected = book.pay(due_now)
        elif action == "partial" and due_now > CENT:
            amount = data.draw(st.decimals(min_value=CENT, max_value=due_now - CENT, places=2), label="part")
            services.repayment_make(user=sme, loan_id=loan.pk, amount=str(amount), now=noon(today))
            expected = book.pay(amount)
        elif action == "extra":
            extra = outstanding - due_now
            if not last_step and extra > CENT:
                extra = data.draw(st.decimals(min_value=CENT, max_value=extra, places=2), label="extra")
            if due_now + extra == 0:
                continue
            services.repayment_make(user=sme, loan_id=loan.pk, amount=str(due_now + extra), now=noon(today))
            expected = book.pay(due_now + extra)
        elif action == "auto_debit" and due_now and today not in debited_on:
            assert services.repayments_collect_due(now=noon(today)) == 1
            debited_on.add(today)
            expected = book.pay(due_now)
        elif action == "guarantor" and due_now:
            services.guarantor_pay(user=guarantor, loan_id=loan.pk, now=noon(today))
            expected = book.pay(due_now)
        elif action == "payoff":
            total = book.payoff(today)
            services.loan_repay_in_full(user=sme, loan_id=loan.pk, now=noon(today))
            expected = book.pay(total)
        else:
            continue
        assert Repayment.objects.filter(loan=loan).count() == before + 1
        repayment = Repayment.objects.filter(loan=loan).latest("id")
        assert {
            "penalty": repayment.penalty_part,
            "fee": repayment.fee_part,
            "interest": repayment.interest_part,
            "principal": repayment.principal_part,
        } == expected
        _assert_book(loan, book)
        _assert_shares_pro_rata(loan)

    loan.refresh_from_db()
    assert book.oldest_unpaid() is None
    assert (loan.status, loan.principal_outstanding) == (LoanStatus.REPAID, Decimal("0.00"))
    notes = list(Note.objects.filter(loan=loan).select_related("wallet"))
    for note in notes:
        assert (note.received_principal, note.principal_outstanding) == (note.principal, Decimal("0.00"))
        # the holder's wallet (emptied by the investment) holds exactly what its note was paid
        assert note.wallet.balance == note.received_principal + note.received_interest - note.fees_paid
    borrower_wallet.refresh_from_db()
    guarantor_wallet.refresh_from_db()
    paid = paid_in["borrower"] - borrower_wallet.balance + paid_in["guarantor"] - guarantor_wallet.balance
    service_fees = ledger.system_account(AccountPurpose.FEE_INCOME).balance - fee_income
    assert paid == sum(r.amount for r in Repayment.objects.filter(loan=loan))
    assert paid == sum(n.wallet.balance for n in notes) + service_fees
    assert service_fees == sum(n.fees_paid for n in notes)
    guarantor_paid = sum(r.amount for r in Repayment.objects.filter(loan=loan, source=RepaymentSource.GUARANTOR))
    assert paid_in["guarantor"] - guarantor_wallet.balance == guarantor_paid
    assert ledger_problems() == []
    assert not Installment.objects.filter(loan=loan).exclude(status="paid").exists()
