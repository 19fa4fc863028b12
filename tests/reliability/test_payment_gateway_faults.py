"""The bank is never asked twice: a payment is recorded and committed before the gateway is
called, and a retry after a crash only asks the gateway for the payment's status."""

import uuid
from decimal import Decimal

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.gateway import GatewayResult, SandboxPaymentGateway
from platform_core.ledger.models import Payment

pytestmark = pytest.mark.django_db(transaction=True)
CALLS: list[tuple[str, int]] = []


class CountingGateway(SandboxPaymentGateway):
    def collect(self, payment):
        CALLS.append(("collect", payment.pk))
        return super().collect(payment)

    def payout(self, payment):
        CALLS.append(("payout", payment.pk))
        return super().payout(payment)

    def status(self, payment):
        CALLS.append(("status", payment.pk))
        return super().status(payment)


class LateGateway(CountingGateway):
    """Answers 'not known yet' when asked to pay; the status query later says it succeeded."""

    def payout(self, payment):
        CALLS.append(("payout", payment.pk))
        return GatewayResult(None, "bank-late")


@pytest.fixture
def gateway(settings):
    CALLS.clear()

    def use(name):
        settings.PLATFORM = {**settings.PLATFORM, "PAYMENT_GATEWAY": f"{__name__}.{name}"}

    return use


def test_a_crash_after_the_bank_paid_out_never_pays_twice(investor, fund, gateway, monkeypatch):
    fund(investor, "500.00")
    gateway("CountingGateway")
    real_settle = ledger.payment_settle
    crashes = []

    def settle_crashing_once(**kwargs):
        if not crashes:
            crashes.append(1)
            raise OperationalError("connection to the database lost")
        return real_settle(**kwargs)

    monkeypatch.setattr(ledger, "payment_settle", settle_crashing_once)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(investor)
    headers = {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}
    first = client.post("/api/v1/wallet/withdrawals/", {"amount": "100.00"}, format="json", **headers)
    assert first.status_code == 500
    retry = client.post("/api/v1/wallet/withdrawals/", {"amount": "100.00"}, format="json", **headers)
    assert retry.status_code == 201 and retry.json()["status"] == "succeeded"
    payment = Payment.objects.get(direction="withdrawal")
    assert [call for call in CALLS if call[1] == payment.pk] == [("payout", payment.pk), ("status", payment.pk)]
    assert ledger.wallet_of_user(investor).balance == Decimal("400.00")
    assert ledger_problems() == []


def test_a_late_answer_is_settled_by_reconciliation(investor, fund, gateway):
    fund(investor, "500.00")
    gateway("LateGateway")
    payment = ledger.withdrawal_create(user=investor, amount="80.00")
    assert payment.status == "pending"
    assert ledger.wallet_of_user(investor).balance == Decimal("420.00")  # reserved meanwhile
    assert ledger.payments_reconcile(stale_after=__import__("datetime").timedelta(0)) == 1
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert CALLS == [("payout", payment.pk), ("status", payment.pk)]
    assert ledger_problems() == []
