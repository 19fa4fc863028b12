"""Thin Celery tasks of P2P lending: ids in, one service call, safe to run twice or concurrently."""

from celery import shared_task

from platform_core.jobs import job_run

from . import services


@shared_task(name="p2p.tasks.listings_close_due")
def listings_close_due():
    with job_run("p2p.listings_close_due") as run:
        run["summary"] = f"{services.listings_close_due()} listing(s) closed"


@shared_task(name="p2p.tasks.work_resume")
def work_resume():
    """Every RESUME_EVERY: enqueue again disbursements left without progress (a message lost by the
    broker or never sent, a worker killed)."""
    with job_run("p2p.work_resume") as run:
        stalled = services.loans_awaiting_disbursement()
        for loan_id in stalled:
            loan_disburse_task.delay(loan_id)
        run["summary"] = f"{len(stalled)} disbursement(s) resumed"


@shared_task(name="p2p.tasks.loan_disburse", acks_late=True)
def loan_disburse_task(loan_id: int):
    services.loan_disburse(loan_id=loan_id)


@shared_task(name="p2p.tasks.repayments_collect_due")
def repayments_collect_due():
    with job_run("p2p.repayments_collect_due") as run:
        run["summary"] = f"{services.repayments_collect_due()} loan(s) debited"


@shared_task(name="p2p.tasks.overdue_sweep")
def overdue_sweep():
    with job_run("p2p.overdue_sweep") as run:
        result = services.overdue_sweep()
        run["summary"] = ", ".join(f"{k}: {v}" for k, v in result.items())
    if services.overdue_sweep_unfinished(result):
        overdue_sweep.delay()  # more loans to default or write off than one batch
