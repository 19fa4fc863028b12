"""Enqueueing work after a commit without letting the broker's health decide the answer.

A service hands work to Celery only once its transaction has committed (`enqueue_on_commit`). The
broker may be unreachable at that moment, or may lose the message later (a Redis restarted without
persistence, a worker killed with the message unacknowledged). Neither may undo or fail what was
committed, so:

- the publish runs as a *robust* on-commit callback with a short retry: if the broker is away it is
  logged and the request still answers with what was committed (never a 500 after money moved);
- the database is the outbox: every piece of work that a task carries out is visible as a row in a
  state that says work remains (a campaign closed but not settled, a settled campaign whose backers
  are not all told, a funded loan not yet disbursed). Beat's resume jobs (`*_resume`, every
  `RESUME_EVERY`) find such rows that made no progress for `RESUME_STALLED_AFTER` and enqueue them
  again. Tasks are idempotent and safe to run concurrently, so a message delivered twice, or a
  resume racing the original, has one effect.
"""

import logging
from functools import partial

from django.db import transaction

logger = logging.getLogger(__name__)

#: One quick retry: a broker that is away costs the request well under a second.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def publish(task, *args) -> bool:
    """Send `task(*args)` to the broker now. False (logged) when the broker cannot take it: the
    resume job will find the work."""
    try:
        task.apply_async(args=args, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except Exception:  # kombu/redis connection errors have no common base worth naming here
        logger.warning("broker unreachable: %s%r left to the resume job", task.name, args, exc_info=True)
        return False
    return True


def enqueue_on_commit(task, *args) -> None:
    """After the current transaction commits, send `task(*args)`; a broker error never reaches the caller."""
    transaction.on_commit(partial(publish, task, *args), robust=True)
