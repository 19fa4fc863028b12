"""Fifty withdrawals race for one wallet, and transfers cross between two wallets: real threads, real
PostgreSQL, each in its own connection. The row locks in transaction_post must let exactly as many
through as the balance covers, and never deadlock. Both ways of posting are raced."""

import threading
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from platform_core.accounts.models import User
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import AccountPurpose, Leg, Payment, PaymentDirection, PaymentStatus

from ..factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("posting_path")]

THREADS = 50
AMOUNT = Decimal("30.00")
FUNDED = Decimal("1000.00")
EXPECTED_OK = int(FUNDED // AMOUNT)  # 33
EXPECTED_LEFT = FUNDED - EXPECTED_OK * AMOUNT  # 10.00


def _race(worker):
    """Run `worker(i)` in THREADS threads released together; return their outcomes."""
    barrier = threading.Barrier(THREADS)
    outcomes = [None] * THREADS

    def run(i):
        try:
            barrier.wait(timeout=30)
            outcomes[i] = worker(i)
        except Exception as exc:  # recorded, asserted on below
            outcomes[i] = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a withdrawal thread hung (deadlock?)"
    return outcomes


def _assert_books(wallet):
    wallet.refresh_from_db()
    assert wallet.balance == EXPECTED_LEFT
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    assert custody.balance == EXPECTED_LEFT
    assert ledger.system_account(AccountPurpose.PAYOUTS_PENDING).balance == Decimal("0.00")
    withdrawals = Payment.objects.filter(direction=PaymentDirection.WITHDRAWAL)
    assert withdrawals.count() == EXPECTED_OK  # refused ones leave no payment behind
    assert set(withdrawals.values_list("status", flat=True)) == {PaymentStatus.SUCCEEDED}
    # never negative at any point: replay the wallet's legs in the order they were written
    running = Decimal("0.00")
    for change in Leg.objects.filter(account=wallet).order_by("id").values_list("amount", flat=True):
        running += change * wallet.side
        assert running >= 0
    assert running == EXPECTED_LEFT
    assert ledger_problems() == []


def test_concurrent_withdrawals_never_overdraw(investor, fund):
    wallet = fund(investor, FUNDED)

    def withdraw(i):
        user = User.objects.get(pk=investor.pk)
        try:
            ledger.withdrawal_create(user=user, amount=str(AMOUNT))
        except ApplicationError as exc:
            return exc.code
        return "ok"

    outcomes = Counter(_race(withdraw))

    assert outcomes == {"ok": EXPECTED_OK, "insufficient_funds": THREADS - EXPECTED_OK}
    _assert_books(wallet)


def test_concurrent_withdrawals_through_the_api(investor, fund):
    wallet = fund(investor, FUNDED)

    def withdraw(i):
        client = APIClient()
        client.force_authenticate(User.objects.get(pk=investor.pk))
        response = client.post(
            "/api/v1/wallet/withdrawals/", {"amount": str(AMOUNT)}, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        if response.status_code == 201:
            assert response.json()["status"] == "succeeded"
            return 201
        return (response.status_code, response.json()["error"]["code"])

    outcomes = Counter(_race(withdraw))

    assert outcomes == {201: EXPECTED_OK, (400, "insufficient_funds"): THREADS - EXPECTED_OK}
    _assert_books(wallet)


def test_transfers_crossing_between_two_wallets_never_deadlock(investor, fund):
    """Half the threads move money A -> B, half B -> A, each posting locking both wallets: locks
    taken in account order let every transfer through, with no deadlock error, and the money adds up."""
    other = UserFactory()
    wallet_a, wallet_b = fund(investor, FUNDED), fund(other, FUNDED)
    step = Decimal("7.00")

    def move(i):
        source, destination = (wallet_a, wallet_b) if i % 2 else (wallet_b, wallet_a)
        ledger.transfer(source=source, destination=destination, amount=step * (i % 3 + 1), kind="test_transfer")
        return "ok"

    outcomes = Counter(_race(move))

    assert outcomes == {"ok": THREADS}
    moved_to_b = sum(step * (i % 3 + 1) * (1 if i % 2 else -1) for i in range(THREADS))
    wallet_a.refresh_from_db()
    wallet_b.refresh_from_db()
    assert (wallet_a.balance, wallet_b.balance) == (FUNDED - moved_to_b, FUNDED + moved_to_b)
    assert ledger_problems() == []


def test_money_arriving_while_a_payment_waits_for_the_wallet_is_counted(investor, fund):
    """A transfer into an empty wallet holds its lock; a payment out of that wallet starts, waits for
    the lock, and must see the money once the transfer commits (not the balance as of its own start)."""
    import time

    from django.db import transaction

    sender = fund(UserFactory(), Decimal("100.00"))
    wallet = ledger.wallet_for(investor)
    credited, outcome = threading.Event(), {}

    def credit():
        try:
            with transaction.atomic():
                ledger.transfer(source=sender, destination=wallet, amount=Decimal("100.00"), kind="test_transfer")
                credited.set()
                time.sleep(0.5)  # the payment below starts meanwhile and waits for the wallet
        finally:
            connection.close()

    def pay():
        try:
            credited.wait(timeout=10)
            started = time.monotonic()
            ledger.transfer(source=wallet, destination=sender, amount=Decimal("60.00"), kind="test_transfer")
            outcome["pay"] = "ok"
            outcome["waited"] = time.monotonic() - started > 0.2  # it did wait for the transfer in flight
        except ApplicationError as exc:
            outcome["pay"] = exc.code
        finally:
            connection.close()

    threads = [threading.Thread(target=credit), threading.Thread(target=pay)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcome == {"pay": "ok", "waited": True}
    wallet.refresh_from_db()
    sender.refresh_from_db()
    assert (wallet.balance, sender.balance) == (Decimal("40.00"), Decimal("60.00"))
    assert ledger_problems() == []
