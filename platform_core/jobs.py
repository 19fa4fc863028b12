"""`job_run` wraps the body of a scheduled task so its last run is visible in the admin."""

import contextlib

from django.db.models import F
from django.utils import timezone

from platform_core.models import JobRun


@contextlib.contextmanager
def job_run(name: str):
    JobRun.objects.update_or_create(name=name, defaults={"last_started_at": timezone.now()})
    outcome = {"summary": ""}
    try:
        yield outcome
    except Exception as exc:
        JobRun.objects.filter(name=name).update(
            last_finished_at=timezone.now(), last_ok=False, last_summary=f"{type(exc).__name__}: {exc}"[:2000], runs=F("runs") + 1
        )
        raise
    JobRun.objects.filter(name=name).update(
        last_finished_at=timezone.now(), last_ok=True, last_summary=str(outcome["summary"])[:2000], runs=F("runs") + 1
    )
