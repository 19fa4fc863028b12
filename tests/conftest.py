import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from platform_core.ledger import services as ledger

from .factories import SmeUserFactory, StaffUserFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # real Redis: throttling counters must not leak between tests
    yield


@pytest.fixture(params=["one_statement", "in_steps"])
def posting_path(request, monkeypatch):
    """Run a test through each way the ledger posts: in one statement (PostgreSQL) and in steps (the
    portable path, e.g. the SQLite demo), both on the test database."""
    if request.param == "in_steps":
        monkeypatch.setattr(ledger, "_posting_method", lambda: ledger._post_in_steps)
    return request.param


@pytest.fixture
def investor(db):
    return UserFactory()


@pytest.fixture
def sme_user(db):
    return SmeUserFactory()


@pytest.fixture
def regulator(db):
    return StaffUserFactory(role="regulator")


@pytest.fixture
def operator(db):
    return StaffUserFactory(role="operator")


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def api_as():
    def login(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return login


@pytest.fixture
def fund():
    """Deposit `amount` into the wallet of `user`'s party through the sandbox gateway."""

    def deposit(user, amount):
        ledger.deposit_create(user=user, amount=amount)
        return ledger.wallet_of_user(user)

    return deposit
