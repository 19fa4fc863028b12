"""Idempotency keys on money-moving POSTs (Stripe's semantics, DOMAIN.md section 6): a retry replays
the first answer and moves nothing; a reused key with other parameters is refused; a key in use by a
running request gets 409; keys are per user and kept for the TTL."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from platform_core.accounts.models import User
from platform_core.ledger import services as ledger
from platform_core.ledger import tasks
from platform_core.ledger.gateway import SandboxPaymentGateway
from platform_core.ledger.idempotency import _advisory_lock_id, idempotency_keys_purge
from platform_core.ledger.models import IdempotencyKey, Payment
from platform_core.models import JobRun

from ..factories import UserFactory
from .api_helpers import assert_error

pytestmark = pytest.mark.django_db

DEPOSITS = "/api/v1/wallet/deposits/"
WITHDRAWALS = "/api/v1/wallet/withdrawals/"


def _post(client, path, body, key=None):
    headers = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, body, format="json", **headers)


def _wallet_balance(user):
    return ledger.wallet_of_user(user).balance


def test_replay_returns_the_first_response_and_moves_money_once(api_as, investor):
    client = api_as(investor)

    first = _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")
    second = _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")

    assert first.status_code == 201
    assert first.json()["status"] == "succeeded"
    assert first.json()["amount"] == "25.00"
    assert "Idempotent-Replayed" not in first.headers
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert IdempotencyKey.objects.filter(user=investor).count() == 1
    assert _wallet_balance(investor) == Decimal("25.00")


def test_same_key_with_a_different_amount_is_refused(api_as, investor):
    client = api_as(investor)
    _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")

    response = _post(client, DEPOSITS, {"amount": "26.00"}, key="deposit-1")

    assert_error(response, 422, "idempotency_key_reused")
    assert Payment.objects.count() == 1
    assert _wallet_balance(investor) == Decimal("25.00")


def test_same_key_on_another_endpoint_is_refused(api_as, investor, fund):
    fund(investor, "100.00")
    client = api_as(investor)
    _post(client, DEPOSITS, {"amount": "25.00"}, key="op-1")

    response = _post(client, WITHDRAWALS, {"amount": "25.00"}, key="op-1")

    assert_error(response, 422, "idempotency_key_reused")
    assert _wallet_balance(investor) == Decimal("125.00")


@pytest.mark.parametrize("key", [None, "", "   "])
def test_missing_key_is_refused(api_as, investor, key):
    response = _post(api_as(investor), DEPOSITS, {"amount": "25.00"}, key=key)
    assert_error(response, 400, "idempotency_key_required")
    assert Payment.objects.count() == 0
    assert IdempotencyKey.objects.count() == 0


def test_overlong_key_is_refused(api_as, investor):
    response = _post(api_as(investor), DEPOSITS, {"amount": "25.00"}, key="k" * 256)
    assert_error(response, 400, "idempotency_key_invalid")
    assert Payment.objects.count() == 0


def test_a_refused_request_is_replayed_too(api_as, investor):
    client = api_as(investor)
    first = _post(client, WITHDRAWALS, {"amount": "10.00"}, key="w-1")
    assert_error(first, 400, "insufficient_funds", field="amount")

    second = _post(client, WITHDRAWALS, {"amount": "10.00"}, key="w-1")

    assert second.status_code == 400
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 0


def test_keys_of_different_users_do_not_collide(api_as, investor):
    other = UserFactory()

    mine = _post(api_as(investor), DEPOSITS, {"amount": "10.00"}, key="shared-key")
    theirs = _post(api_as(other), DEPOSITS, {"amount": "10.00"}, key="shared-key")

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert _wallet_balance(investor) == Decimal("10.00")
    assert _wallet_balance(other) == Decimal("10.00")
    assert _advisory_lock_id(investor.pk, "shared-key") != _advisory_lock_id(other.pk, "shared-key")


def test_key_in_use_gets_409_and_the_retry_after_release_succeeds_once(api_as, investor):
    client = api_as(investor)
    lock_id = _advisory_lock_id(investor.pk, "deposit-1")
    holder = connections.create_connection("default")  # another session: the "first" request still running
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])

        busy = _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")

        assert_error(busy, 409, "idempotency_key_in_use")
        assert Payment.objects.count() == 0
        assert IdempotencyKey.objects.count() == 0  # a 409 is not stored: the retry must run
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
            assert cursor.fetchone()[0] is True
    finally:
        holder.close()

    retry = _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")
    again = _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")

    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry.headers
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert Payment.objects.count() == 1
    assert _wallet_balance(investor) == Decimal("25.00")


def test_lock_on_another_key_does_not_block(api_as, investor):
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_advisory_lock_id(investor.pk, "other-key")])
        response = _post(api_as(investor), DEPOSITS, {"amount": "25.00"}, key="deposit-1")
        assert response.status_code == 201
    finally:
        holder.close()  # the session lock goes with the connection


class SlowGateway(SandboxPaymentGateway):
    def collect(self, payment):
        time.sleep(0.5)
        return super().collect(payment)


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_requests_with_one_key_move_money_once(settings, investor):
    settings.PLATFORM = {**settings.PLATFORM, "PAYMENT_GATEWAY": f"{__name__}.SlowGateway"}
    barrier = threading.Barrier(2)
    responses = [None, None]

    def post(i):
        try:
            client = APIClient()
            client.force_authenticate(User.objects.get(pk=investor.pk))
            barrier.wait(timeout=10)
            responses[i] = _post(client, DEPOSITS, {"amount": "25.00"}, key="double-click")
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert_error(next(r for r in responses if r.status_code == 409), 409, "idempotency_key_in_use")
    assert Payment.objects.count() == 1
    assert _wallet_balance(investor) == Decimal("25.00")


def _key_aged(user, key, hours):
    row = IdempotencyKey.objects.create(user=user, key=key, fingerprint="f" * 64, response_status=201, response_body={})
    IdempotencyKey.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    return row


def test_purge_removes_only_keys_older_than_the_ttl(settings, investor):
    assert settings.PLATFORM["IDEMPOTENCY_KEY_TTL_HOURS"] >= 24  # DOMAIN.md: keys kept at least 24 h
    ttl = settings.PLATFORM["IDEMPOTENCY_KEY_TTL_HOURS"]
    _key_aged(investor, "expired", ttl + 1)
    _key_aged(investor, "young", ttl - 1)
    _key_aged(investor, "fresh", 0)

    assert idempotency_keys_purge() == 1

    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"young", "fresh"}
    # judged against the clock it is given
    assert idempotency_keys_purge(now=timezone.now() + timedelta(hours=2)) == 1
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"fresh"}


def test_after_purge_the_key_can_be_used_again(api_as, investor):
    client = api_as(investor)
    _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(days=30))
    idempotency_keys_purge()

    response = _post(client, DEPOSITS, {"amount": "25.00"}, key="deposit-1")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert Payment.objects.count() == 2


def test_scheduled_purge_records_its_run(settings, investor):
    _key_aged(investor, "expired", settings.PLATFORM["IDEMPOTENCY_KEY_TTL_HOURS"] + 1)
    _key_aged(investor, "fresh", 0)

    tasks.idempotency_keys_purge()

    run = JobRun.objects.get(name="idempotency_keys_purge")
    assert run.last_ok is True
    assert run.runs == 1
    assert run.last_summary == "1 expired key(s) deleted"
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
