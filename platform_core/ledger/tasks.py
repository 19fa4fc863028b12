"""Thin Celery tasks of the ledger: each calls one service and records its run."""

from celery import shared_task

from platform_core.jobs import job_run

from . import checks, idempotency, services


@shared_task(name="platform_core.ledger.tasks.idempotency_keys_purge")
def idempotency_keys_purge():
    with job_run("idempotency_keys_purge") as run:
        run["summary"] = f"{idempotency.idempotency_keys_purge()} expired key(s) deleted"


@shared_task(name="platform_core.ledger.tasks.ledger_verify")
def ledger_verify():
    with job_run("ledger_verify") as run:
        problems = checks.ledger_problems()
        run["summary"] = "ledger balanced" if not problems else "; ".join(problems)[:2000]
        if problems:
            raise checks.LedgerInconsistent("; ".join(problems))


@shared_task(name="platform_core.ledger.tasks.payments_reconcile")
def payments_reconcile():
    with job_run("payments_reconcile") as run:
        run["summary"] = f"{services.payments_reconcile()} stale pending payment(s) asked about again"
