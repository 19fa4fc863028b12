"""platform_core.ledger.services: deposits, withdrawals, postings and fees keep the books balanced,
client money equal to custody, and refuse what a party may not do without changing anything."""

from decimal import Decimal

import pytest

from platform_core.accounts.models import KycStatus
from platform_core.audit import audit_trail
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.gateway import GatewayResult, SandboxPaymentGateway
from platform_core.ledger.models import (
    Account,
    AccountPurpose,
    Leg,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Transaction,
)
from platform_core.ledger.selectors import wallet_entries
from platform_core.models import AuditEvent

from ..factories import SmeUserFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("posting_path")]


class PendingGateway(SandboxPaymentGateway):
    """A gateway that answers later (its webhook calls payment_settle)."""

    name = "pending"

    def collect(self, payment):
        return GatewayResult(None)

    def payout(self, payment):
        return GatewayResult(None)


class DecliningGateway(SandboxPaymentGateway):
    name = "declining"

    def collect(self, payment):
        return GatewayResult(False, "declined-in", "Card declined.")

    def payout(self, payment):
        return GatewayResult(False, "declined-out", "Payee bank account closed.")


def _use_gateway(settings, gateway_class):
    settings.PLATFORM = {**settings.PLATFORM, "PAYMENT_GATEWAY": f"{__name__}.{gateway_class.__name__}"}


def _custody():
    return ledger.system_account(AccountPurpose.CUSTODY)


def _balance(account):
    account.refresh_from_db()
    return account.balance


def _snapshot():
    """What a user or auditor could count: rows of every money table and every account balance."""
    return {
        "transactions": Transaction.objects.count(),
        "legs": Leg.objects.count(),
        "payments": Payment.objects.count(),
        "audit_events": AuditEvent.objects.count(),
        "balances": dict(Account.objects.values_list("key", "balance")),
    }


def _trail(payment):
    return [(e.action, e.from_value, e.to_value) for e in audit_trail(payment).order_by("id")]


def test_deposit_then_withdrawal(investor):
    deposit = ledger.deposit_create(user=investor, amount="100.00")

    wallet = ledger.wallet_of_user(investor)
    assert deposit.direction == PaymentDirection.DEPOSIT
    assert deposit.status == PaymentStatus.SUCCEEDED
    assert deposit.amount == Decimal("100.00")
    assert deposit.wallet == wallet
    assert deposit.gateway == "sandbox"
    assert deposit.gateway_reference.startswith("sandbox-in-")
    assert wallet.balance == Decimal("100.00")
    assert wallet.owner_user == investor
    assert _balance(_custody()) == Decimal("100.00")
    assert ledger.client_money_total("CNY") == Decimal("100.00")
    assert _trail(deposit) == [("created", "", "pending"), ("status_changed", "pending", "succeeded")]

    withdrawal = ledger.withdrawal_create(user=investor, amount="30.00")

    withdrawal.refresh_from_db()
    assert withdrawal.direction == PaymentDirection.WITHDRAWAL
    assert withdrawal.status == PaymentStatus.SUCCEEDED
    assert withdrawal.gateway_reference.startswith("sandbox-out-")
    assert _balance(wallet) == Decimal("70.00")
    assert _balance(_custody()) == Decimal("70.00")
    assert _balance(ledger.system_account(AccountPurpose.PAYOUTS_PENDING)) == Decimal("0.00")
    assert ledger.client_money_total("CNY") == Decimal("70.00")
    assert _trail(withdrawal) == [("created", "", "pending"), ("status_changed", "pending", "succeeded")]
    assert audit_trail(withdrawal).filter(action="created").get().actor == investor

    assert list(Transaction.objects.order_by("id").values_list("kind", "reference")) == [
        ("deposit", f"payment:{deposit.pk}:settle"),
        ("withdrawal_reserve", f"payment:{withdrawal.pk}:reserve"),
        ("withdrawal", f"payment:{withdrawal.pk}:settle"),
    ]
    assert [(leg.transaction.kind, leg.change) for leg in wallet_entries(wallet=wallet)] == [
        ("withdrawal_reserve", Decimal("-30.00")),
        ("deposit", Decimal("100.00")),
    ]
    assert ledger_problems() == []


def test_sme_money_moves_in_the_organisation_wallet(sme_org, sme_finance):
    owner = SmeUserFactory(organisation=sme_org)
    ledger.deposit_create(user=owner, amount="500.00")
    ledger.withdrawal_create(user=sme_finance, amount="120.00")

    wallet = ledger.wallet_of_user(sme_finance)
    assert wallet == ledger.wallet_of_user(owner)
    assert wallet.owner_organisation == sme_org
    assert wallet.owner_user is None
    assert _balance(wallet) == Decimal("380.00")
    assert _balance(_custody()) == Decimal("380.00")


def test_withdrawal_above_balance_is_refused_and_changes_nothing(investor, fund):
    wallet = fund(investor, "50.00")
    before = _snapshot()

    with pytest.raises(ApplicationError) as excinfo:
        ledger.withdrawal_create(user=investor, amount="50.01")

    assert excinfo.value.code == "insufficient_funds"
    assert excinfo.value.field == "amount"
    assert excinfo.value.status == 400
    assert _snapshot() == before
    assert _balance(wallet) == Decimal("50.00")
    assert not Payment.objects.filter(direction=PaymentDirection.WITHDRAWAL).exists()


def test_withdrawing_the_whole_balance_leaves_zero(investor, fund):
    wallet = fund(investor, "50.00")
    ledger.withdrawal_create(user=investor, amount="50.00")
    assert _balance(wallet) == Decimal("0.00")
    assert _balance(_custody()) == Decimal("0.00")
    assert ledger_problems() == []


@pytest.mark.parametrize("service", [ledger.deposit_create, ledger.withdrawal_create])
def test_unverified_investor_moves_no_money(pending_investor, service):
    before = _snapshot()
    with pytest.raises(ApplicationError) as excinfo:
        service(user=pending_investor, amount="10.00")
    assert excinfo.value.code == "kyc_not_verified"
    assert excinfo.value.status == 403
    assert _snapshot() == before


def test_sme_with_unverified_organisation_moves_no_money():
    owner = SmeUserFactory(organisation__kyc_status=KycStatus.PENDING)
    assert owner.kyc_status == KycStatus.PENDING  # the organisation's KYC decides, not the member's
    before = _snapshot()
    with pytest.raises(ApplicationError) as excinfo:
        ledger.deposit_create(user=owner, amount="10.00")
    assert excinfo.value.code == "kyc_not_verified"
    assert "organisation" in excinfo.value.message
    assert _snapshot() == before


@pytest.mark.parametrize("service", [ledger.deposit_create, ledger.withdrawal_create])
def test_sme_viewer_may_not_move_money(sme_user, sme_viewer, service):
    ledger.deposit_create(user=sme_user, amount="100.00")  # the organisation has money
    before = _snapshot()
    with pytest.raises(ApplicationError) as excinfo:
        service(user=sme_viewer, amount="10.00")
    assert excinfo.value.code == "permission_denied"
    assert excinfo.value.status == 403
    assert _snapshot() == before


@pytest.mark.parametrize("role", ["regulator", "operator"])
def test_staff_hold_no_wallet(role, request):
    staff = request.getfixturevalue(role)
    before = _snapshot()
    with pytest.raises(ApplicationError) as excinfo:
        ledger.deposit_create(user=staff, amount="10.00")
    assert excinfo.value.code == "permission_denied"
    assert _snapshot() == before


@pytest.mark.parametrize(
    "amount, code", [("0.001", "amount_too_precise"), ("-1", "amount_not_positive"), ("x", "invalid_amount")]
)
def test_bad_amount_moves_no_money(investor, amount, code):
    before = _snapshot()
    with pytest.raises(ApplicationError) as excinfo:
        ledger.deposit_create(user=investor, amount=amount)
    assert excinfo.value.code == code
    assert _snapshot() == before


def test_posting_the_same_reference_twice_has_one_effect(investor, fund):
    wallet = fund(investor, "100.00")
    escrow = ledger.escrow_for(investor)  # any model instance can own an escrow
    transactions = Transaction.objects.count()

    first = ledger.transfer(source=wallet, destination=escrow, amount=Decimal("40.00"), kind="pledge", reference="pledge:1")
    second = ledger.transfer(source=wallet, destination=escrow, amount=Decimal("40.00"), kind="pledge", reference="pledge:1")

    assert second.pk == first.pk
    assert Transaction.objects.count() == transactions + 1
    assert Leg.objects.filter(transaction=first).count() == 2
    assert _balance(wallet) == Decimal("60.00")
    assert _balance(escrow) == Decimal("40.00")
    assert ledger_problems() == []


def test_fee_keeps_custody_equal_to_client_money_and_pays_the_platform(investor, fund):
    wallet = fund(investor, "100.00")

    ledger.transaction_post(kind="fee", changes=ledger.fee_changes(source=wallet, amount=Decimal("2.50")))

    assert _balance(wallet) == Decimal("97.50")
    assert _balance(ledger.system_account(AccountPurpose.FEE_INCOME)) == Decimal("2.50")
    assert _balance(ledger.system_account(AccountPurpose.PLATFORM_BANK)) == Decimal("2.50")
    assert _balance(_custody()) == Decimal("97.50")
    assert ledger.client_money_total("CNY") == Decimal("97.50")
    assert ledger_problems() == []


def test_fee_above_the_balance_is_refused(investor, fund):
    wallet = fund(investor, "1.00")
    changes = ledger.fee_changes(source=wallet, amount=Decimal("1.01"))  # creates the platform's accounts
    before = _snapshot()
    with pytest.raises(ApplicationError) as excinfo:
        ledger.transaction_post(kind="fee", changes=changes)
    assert excinfo.value.code == "insufficient_funds"
    assert _snapshot() == before


@pytest.mark.parametrize(
    "amounts",
    [
        ("-10.00", "9.99"),  # unbalanced
        ("-10.00",),  # one leg
        ("0.00", "0.00"),  # zero legs
        ("-0.005", "0.005"),  # below the minor unit
    ],
)
def test_malformed_changes_are_a_programming_error(investor, fund, amounts):
    wallet = fund(investor, "100.00")
    escrow = ledger.escrow_for(investor)
    accounts = [wallet, escrow]
    before = _snapshot()
    with pytest.raises(ValueError):
        ledger.transaction_post(kind="bad", changes=[(accounts[i], Decimal(a)) for i, a in enumerate(amounts)])
    assert _snapshot() == before


def test_pending_payment_settles_once_however_often_the_answer_arrives(settings, investor):
    _use_gateway(settings, PendingGateway)
    payment = ledger.deposit_create(user=investor, amount="80.00")
    wallet = ledger.wallet_of_user(investor)
    assert payment.status == PaymentStatus.PENDING
    assert payment.gateway == "pending"
    assert _balance(wallet) == Decimal("0.00")

    for _ in range(3):  # the webhook is delivered at least once
        settled = ledger.payment_settle(payment_id=payment.pk, succeeded=True, gateway_reference="bank-123")

    assert settled.status == PaymentStatus.SUCCEEDED
    assert settled.gateway_reference == "bank-123"
    assert _balance(wallet) == Decimal("80.00")
    assert Transaction.objects.filter(kind="deposit").count() == 1
    assert _trail(payment).count(("status_changed", "pending", "succeeded")) == 1

    # a late "failed" answer cannot undo a settled payment
    ledger.payment_settle(payment_id=payment.pk, succeeded=False, reason="late")
    payment.refresh_from_db()
    assert payment.status == PaymentStatus.SUCCEEDED
    assert _balance(wallet) == Decimal("80.00")


def test_declined_deposit_moves_nothing(settings, investor):
    _use_gateway(settings, DecliningGateway)
    payment = ledger.deposit_create(user=investor, amount="80.00")
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == "Card declined."
    assert _balance(ledger.wallet_of_user(investor)) == Decimal("0.00")
    assert not Transaction.objects.exists()
    assert _trail(payment)[-1] == ("status_changed", "pending", "failed")


def test_failed_payout_returns_the_money_to_the_wallet(settings, investor, fund):
    wallet = fund(investor, "100.00")
    _use_gateway(settings, DecliningGateway)

    payment = ledger.withdrawal_create(user=investor, amount="60.00")

    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == "Payee bank account closed."
    assert _balance(wallet) == Decimal("100.00")
    assert _balance(_custody()) == Decimal("100.00")
    assert _balance(ledger.system_account(AccountPurpose.PAYOUTS_PENDING)) == Decimal("0.00")
    postings = Transaction.objects.filter(reference__startswith=f"payment:{payment.pk}:").order_by("id")
    assert list(postings.values_list("kind", flat=True)) == ["withdrawal_reserve", "withdrawal_returned"]
    assert ledger_problems() == []


def test_pending_withdrawal_reserves_the_money(settings, investor, fund):
    wallet = fund(investor, "100.00")
    _use_gateway(settings, PendingGateway)
    payment = ledger.withdrawal_create(user=investor, amount="60.00")

    assert payment.status == PaymentStatus.PENDING
    assert _balance(wallet) == Decimal("40.00")
    assert _balance(ledger.system_account(AccountPurpose.PAYOUTS_PENDING)) == Decimal("60.00")
    assert _balance(_custody()) == Decimal("100.00")  # still at the custodian until paid out
    # the reserved money cannot be withdrawn a second time
    with pytest.raises(ApplicationError) as excinfo:
        ledger.withdrawal_create(user=investor, amount="40.01")
    assert excinfo.value.code == "insufficient_funds"

    ledger.payment_settle(payment_id=payment.pk, succeeded=True)
    assert _balance(_custody()) == Decimal("40.00")
    assert _balance(ledger.system_account(AccountPurpose.PAYOUTS_PENDING)) == Decimal("0.00")
    assert ledger_problems() == []


def test_two_investors_wallets_are_separate(investor):
    other = UserFactory()
    ledger.deposit_create(user=investor, amount="10.00")
    ledger.deposit_create(user=other, amount="20.00")
    assert _balance(ledger.wallet_of_user(investor)) == Decimal("10.00")
    assert _balance(ledger.wallet_of_user(other)) == Decimal("20.00")
    assert _balance(_custody()) == Decimal("30.00")
