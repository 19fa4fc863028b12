"""Idempotency keys for money-moving requests (Stripe's semantics, DOMAIN.md section 6).

- A retry with the same key and the same request returns the first response (and moves nothing).
- The same key with a different request is refused: 422 `idempotency_key_reused`.
- A request whose key is in use by a request still running gets 409 `idempotency_key_in_use`.
- A request that the database picks to break a lock cycle (deadlock) is run again, up to three
  times, then answered 409 `busy` with nothing stored, so the same key may be sent again.
- Keys are kept at least 24 hours (`PLATFORM["IDEMPOTENCY_KEY_TTL_HOURS"]`, purged hourly).

How: one database transaction holds a PostgreSQL advisory lock on (user, key), looks the key up,
runs the request and stores its response. The response row commits with the money it moved, or
neither does; a worker killed halfway leaves neither, and the lock goes with its connection.
"""

import hashlib
import json
import random
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from platform_core.db import is_transient
from platform_core.errors import ApplicationError

from .models import IdempotencyKey

MAX_KEY_LENGTH = 255


def request_fingerprint(method: str, path: str, payload) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), cls=JSONEncoder, default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def key_check(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise ApplicationError(
            "idempotency_key_required", "Send an Idempotency-Key header (a unique value per operation) with this request."
        )
    if len(key) > MAX_KEY_LENGTH:
        raise ApplicationError("idempotency_key_invalid", f"An Idempotency-Key has at most {MAX_KEY_LENGTH} characters.")
    return key


def _advisory_lock_id(user_id: int, key: str) -> int:
    digest = hashlib.sha256(f"idempotency:{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def idempotent_run(*, user, key: str, fingerprint: str, run: Callable[[], tuple[int, dict]]) -> tuple[int, dict, bool]:
    """Run `run()` (returning status and JSON body) once per (user, key). Returns (status, body, replayed).

    An ApplicationError raised by `run` is stored as its 4xx response, like any other answer.
    """
    key = key_check(key)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_advisory_lock_id(user.pk, key)])
                if not cursor.fetchone()[0]:
                    raise ApplicationError(
                        "idempotency_key_in_use", "A request with this Idempotency-Key is still being processed; retry shortly."
                    )
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is not None:
            if existing.fingerprint != fingerprint:
                raise ApplicationError(
                    "idempotency_key_reused", "This Idempotency-Key was used for a different request; use a new key."
                )
            return existing.response_status, existing.response_body, True
        status, body = _run_retrying(run)
        body = json.loads(json.dumps(body, cls=JSONEncoder))
        IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint, response_status=status, response_body=body)
    return status, body, False


#: How often a request that lost a lock cycle to another is run again before it answers 409 `busy`.
TRANSIENT_RETRIES = 3


def _run_retrying(run: Callable[[], tuple[int, dict]]) -> tuple[int, dict]:
    """`run()` in a savepoint; an ApplicationError becomes its error response. A deadlock rolls the
    savepoint back (releasing its locks) and runs it again; after
    TRANSIENT_RETRIES it raises ApplicationError("busy") and nothing is stored under the key, so the
    client may send the same request with the same key again."""
    from platform_core.api.errors import error_body

    for attempt in range(TRANSIENT_RETRIES + 1):
        try:
            with transaction.atomic():
                return run()
        except ApplicationError as exc:
            return exc.status, error_body(exc.code, exc.message, {exc.field: [exc.message]} if exc.field else {})
        except OperationalError as exc:
            if not is_transient(exc):
                raise
            if attempt == TRANSIENT_RETRIES:
                raise ApplicationError(
                    "busy", "Others were changing the same records at this moment; nothing was done. Try again.", status=409
                ) from exc
            time.sleep(random.uniform(0.02, 0.1) * (attempt + 1))  # let the winner finish before trying again
    raise AssertionError("unreachable")


def idempotency_keys_purge(*, now=None) -> int:
    cutoff = (now or timezone.now()) - timedelta(hours=settings.PLATFORM["IDEMPOTENCY_KEY_TTL_HOURS"])
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
