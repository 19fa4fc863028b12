"""Concurrent investments and submissions on real PostgreSQL."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from p2p import services
from p2p.models import Investment, Loan, LoanStatus
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from tests.factories import SmeUserFactory, UserFactory
from tests.p2p.factories import listed_loan

pytestmark = pytest.mark.django_db(transaction=True)


def _concurrently(calls, workers=20):
    def run(call):
        try:
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, calls))


def test_100_concurrent_investments_never_over_fund(fund):
    loan = listed_loan(amount="5000.00", term_months=6, rate_percent="20", grade="D")
    investors = [UserFactory() for _ in range(100)]
    for investor in investors:
        fund(investor, "500.00")

    def invest(investor):
        def call():
            client = APIClient()
            client.force_authenticate(investor)
            response = client.post(
                f"/api/v1/loans/{loan.pk}/investments/",
                {"amount": "100.00"},
                format="json",
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            )
            return response.status_code, (response.json().get("error") or {}).get("code")

        return call

    results = Counter(_concurrently([invest(i) for i in investors]))
    assert results == {(201, None): 50, (409, "loan_not_listed"): 50}  # once fully funded the listing closes
    loan.refresh_from_db()
    assert loan.funded_amount == Decimal("5000.00") and loan.status in (LoanStatus.FUNDED, LoanStatus.ACTIVE)
    assert Investment.objects.filter(loan=loan).count() == 50
    assert ledger_problems() == []


def test_concurrent_submissions_stay_within_the_borrowing_cap():
    sme = SmeUserFactory()
    loans = [
        services.loan_create(
            user=sme,
            amount="300000.00",
            term_months=12,
            annual_rate_percent="10",
            method="equal_installments",
            purpose="Expansion",
        )
        for _ in range(6)
    ]

    def submit(loan):
        def call():
            try:
                services.loan_submit(user=sme, loan_id=loan.pk)
                return "ok"
            except ApplicationError as exc:
                return exc.code

        return call

    results = Counter(_concurrently([submit(loan) for loan in loans], workers=6))
    assert results == {"ok": 3, "borrowing_cap_exceeded": 3}  # 3 x 300,000 <= 1,000,000 < 4 x 300,000
    assert Loan.objects.filter(status=LoanStatus.IN_REVIEW).count() == 3


def test_the_repayment_task_run_concurrently_has_one_effect(fund):
    import datetime

    from django.utils import timezone

    loan = listed_loan()
    investor = UserFactory()
    fund(investor, "12000.00")
    services.investment_create(user=investor, loan_id=loan.pk, amount="12000.00")
    services.loan_disburse(loan_id=loan.pk)
    due = loan.installments.get(number=1).due_date
    at = timezone.make_aware(datetime.datetime.combine(due, datetime.time(10)))
    results = _concurrently([lambda: services.repayments_collect_due(now=at) for _ in range(4)], workers=4)
    assert sorted(results) == [0, 0, 0, 1]
    assert loan.repayments.count() == 1
    assert ledger.wallet_for(loan.borrower).balance == Decimal("11760.00") - Decimal("3151.49")
    assert ledger_problems() == []
