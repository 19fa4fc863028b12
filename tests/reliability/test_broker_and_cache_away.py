"""In-process checks of what keeps the API answering while Redis is away (the end-to-end outage is
in test_redis_outage.py): the cache falls back to process memory and the throttle still limits; a
commit whose task cannot be enqueued answers normally and the resume job finds the work."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from p2p import services as p2p
from p2p.models import Loan, LoanStatus
from platform_core.celery import app
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from tests.factories import UserFactory
from tests.p2p.factories import listed_loan

from .processes import free_port

DEAD_REDIS = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


@pytest.fixture
def cache_away(monkeypatch):
    # the rates are read once, into a class attribute, when DRF's throttling module is imported
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": "3/minute", "auth": "3/minute"})
    with override_settings(CACHES={"default": {"BACKEND": "platform_core.cache.FailoverRedisCache", "LOCATION": DEAD_REDIS}}):
        yield


@pytest.mark.django_db
def test_cache_away_the_api_answers_and_the_throttle_still_limits(cache_away, api_as):
    client = api_as(UserFactory())
    cache.set("k", 1)
    assert cache.get("k") == 1  # from the in-process fallback
    assert [client.get("/api/v1/me/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get("/api/v1/me/").json()["error"]["code"] == "throttled"


@pytest.fixture
def broker_away():
    """The Celery app's broker points where nothing listens."""
    saved = app.conf.broker_write_url
    app.conf.broker_write_url = DEAD_REDIS
    app._pool = None
    app.amqp._producer_pool = None
    yield
    app.conf.broker_write_url = saved
    app._pool = None
    app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_broker_away_an_investment_that_fills_a_loan_answers_201_and_is_resumed(broker_away, api_as):
    loan = listed_loan(amount="1000.00", term_months=3, rate_percent="20", grade="D")
    investor = UserFactory()
    ledger.deposit_create(user=investor, amount="1000.00")
    response = api_as(investor).post(
        f"/api/v1/loans/{loan.pk}/investments/", {"amount": "1000.00"}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code == 201, response.content
    loan.refresh_from_db()
    assert loan.status == LoanStatus.FUNDED  # committed, though its disbursement could not be enqueued
    assert ledger.wallet_of_user(investor).balance == Decimal("0.00")
    assert p2p.loans_awaiting_disbursement() == []  # not yet stalled
    later = timezone.now() + datetime.timedelta(minutes=1)
    assert p2p.loans_awaiting_disbursement(now=later) == [loan.pk]  # the resume job finds it
    p2p.loan_disburse(loan_id=loan.pk)  # as the resumed task does
    assert Loan.objects.get(pk=loan.pk).status == LoanStatus.ACTIVE
    assert ledger_problems() == []
