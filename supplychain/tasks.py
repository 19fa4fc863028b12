"""Thin Celery tasks of supply-chain finance: one service call each, safe to run twice or
concurrently (rows locked, statuses re-checked, reminders recorded once). Sweeps handle a bounded
batch and enqueue themselves again while more remain."""

from celery import shared_task

from platform_core.jobs import job_run

from . import services


@shared_task(name="supplychain.tasks.maturity_reminders")
def maturity_reminders():
    with job_run("supplychain.maturity_reminders") as run:
        run["summary"] = f"{services.maturity_reminders_send()} reminder(s) sent"


@shared_task(name="supplychain.tasks.maturities_settle", acks_late=True)
def maturities_settle():
    with job_run("supplychain.maturities_settle") as run:
        result = services.maturities_settle()
        run["summary"] = ", ".join(f"{k}: {v}" for k, v in result.items())
    if result["more"]:
        maturities_settle.delay()


@shared_task(name="supplychain.tasks.overdue_sweep", acks_late=True)
def overdue_sweep(after_invoice: int = 0, after_certificate: int = 0):
    with job_run("supplychain.overdue_sweep") as run:
        result = services.overdue_sweep(after_invoice=after_invoice, after_certificate=after_certificate)
        run["summary"] = ", ".join(f"{k}: {v}" for k, v in result.items())
    if result["next"]:
        overdue_sweep.delay(*result["next"])


@shared_task(name="supplychain.tasks.financings_expire", acks_late=True)
def financings_expire():
    with job_run("supplychain.financings_expire") as run:
        moved, more = services.financings_expire()
        run["summary"] = f"{moved} request(s) expired"
    if more:
        financings_expire.delay()
