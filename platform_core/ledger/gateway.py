"""The payment-gateway interface and its sandbox, so a bank adapter can slot in later.

`collect(payment)` pulls a deposit from the payer's bank into the custody account; `payout(payment)`
pays a withdrawal from custody to the payee's bank; `status(payment)` asks again about one that is
still pending. A real adapter that answers asynchronously returns `succeeded=None` and its webhook
calls `platform_core.ledger.services.payment_settle`.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class GatewayResult:
    succeeded: bool | None  # None: not known yet
    reference: str = ""
    reason: str = ""


class PaymentGateway:
    name = "abstract"

    def collect(self, payment) -> GatewayResult:  # pragma: no cover - interface
        raise NotImplementedError

    def payout(self, payment) -> GatewayResult:  # pragma: no cover - interface
        raise NotImplementedError

    def status(self, payment) -> GatewayResult:  # pragma: no cover - interface
        raise NotImplementedError


class SandboxPaymentGateway(PaymentGateway):
    """Answers at once: every collection and payout succeeds."""

    name = "sandbox"

    def collect(self, payment):
        return GatewayResult(True, f"sandbox-in-{uuid.uuid4()}")

    def payout(self, payment):
        return GatewayResult(True, f"sandbox-out-{uuid.uuid4()}")

    def status(self, payment):
        return GatewayResult(True, payment.gateway_reference or f"sandbox-{uuid.uuid4()}")


def payment_gateway() -> PaymentGateway:
    return import_string(settings.PLATFORM["PAYMENT_GATEWAY"])()
