"""Thin Celery tasks of crowdfunding: ids in, one service call, safe to run twice or concurrently."""

from celery import shared_task

from platform_core.jobs import job_run

from . import services


@shared_task(name="crowdfunding.tasks.campaigns_close_due")
def campaigns_close_due():
    """Every minute: close live campaigns past their deadline (each closed one is handed to settlement)."""
    with job_run("crowdfunding.campaigns_close_due") as run:
        closed = [c for c in (services.campaign_close(campaign_id=pk) for pk in services.campaigns_due()) if c]
        run["summary"] = f"{len(closed)} closed"


@shared_task(name="crowdfunding.tasks.work_resume")
def work_resume():
    """Every RESUME_EVERY: enqueue again settlements and outcome notifications left without progress
    (a message lost by the broker or never sent, a worker killed)."""
    with job_run("crowdfunding.work_resume") as run:
        settle, notify = services.campaigns_to_resume()
        for pk in settle:
            campaign_settle_task.delay(pk)
        for pk in notify:
            campaign_outcome_notify_task.delay(pk)
        run["summary"] = f"{len(settle)} settlement(s) and {len(notify)} notification run(s) resumed"


@shared_task(name="crowdfunding.tasks.campaign_settle", acks_late=True)
def campaign_settle_task(campaign_id: int):
    services.campaign_settle(campaign_id=campaign_id)


@shared_task(name="crowdfunding.tasks.campaign_outcome_notify")
def campaign_outcome_notify_task(campaign_id: int):
    services.campaign_outcome_notify(campaign_id=campaign_id)


@shared_task(name="crowdfunding.tasks.pledges_expire_unconfirmed")
def pledges_expire_unconfirmed():
    with job_run("crowdfunding.pledges_expire_unconfirmed") as run:
        run["summary"] = f"{services.pledges_expire_unconfirmed()} commitment(s) cancelled"
