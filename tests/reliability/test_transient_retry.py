"""A money-moving request that loses a lock cycle to another (PostgreSQL picks it to break the
deadlock) is run again inside its idempotency transaction: both requests succeed, each once."""

import threading
import uuid
from collections import Counter

import pytest
from django.db import connection

from platform_core.errors import ApplicationError
from platform_core.ledger import idempotency
from platform_core.ledger.idempotency import idempotent_run
from platform_core.ledger.models import Account, IdempotencyKey

from ..factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _opposite_lockers(first_id, second_id):
    """Two runs locking the same two rows in opposite orders, each waiting for the other to hold
    its first row: a deadlock on the first attempt."""
    both_hold_first = threading.Barrier(2, timeout=10)
    attempts = Counter()

    def locker(name, order):
        def run():
            attempts[name] += 1
            list(Account.objects.select_for_update().filter(pk=order[0]).values_list("pk"))
            if attempts[name] == 1:
                both_hold_first.wait()
            list(Account.objects.select_for_update().filter(pk=order[1]).values_list("pk"))
            return 200, {"locked": name}

        return run

    return attempts, locker("a", (first_id, second_id)), locker("b", (second_id, first_id))


def _race(user, runs):
    outcomes = {}

    def call(name, run):
        try:
            outcomes[name] = idempotent_run(user=user, key=str(uuid.uuid4()), fingerprint="f", run=run)[:2]
        except ApplicationError as exc:
            outcomes[name] = exc.code
        except Exception as exc:  # shown by the assertion
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=item) for item in runs.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_the_request_chosen_to_break_a_deadlock_is_run_again_and_both_succeed(fund):
    user = UserFactory()
    one, two = fund(user, "10.00"), fund(UserFactory(), "10.00")
    attempts, run_a, run_b = _opposite_lockers(one.pk, two.pk)

    outcomes = _race(user, {"a": run_a, "b": run_b})

    assert outcomes == {"a": (200, {"locked": "a"}), "b": (200, {"locked": "b"})}, (outcomes, attempts)
    # one ran once; the one that lost the cycle ran again (a second time too, now and then: retrying at
    # once, it can take its first row back before the winner wakes up, and lose the cycle again)
    winner, loser = sorted(attempts.values())
    assert winner == 1 and 2 <= loser <= 1 + idempotency.TRANSIENT_RETRIES, attempts
    assert IdempotencyKey.objects.filter(user=user).count() == 2


def test_a_request_that_keeps_losing_answers_busy_and_stores_nothing(fund, monkeypatch):
    monkeypatch.setattr(idempotency, "TRANSIENT_RETRIES", 0)
    user = UserFactory()
    one, two = fund(user, "10.00"), fund(UserFactory(), "10.00")
    _, run_a, run_b = _opposite_lockers(one.pk, two.pk)

    outcomes = _race(user, {"a": run_a, "b": run_b})

    assert sorted(str(o[0]) if isinstance(o, tuple) else o for o in outcomes.values()) == ["200", "busy"]
    assert IdempotencyKey.objects.filter(user=user).count() == 1
