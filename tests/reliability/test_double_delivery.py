"""Every money-moving task delivered twice and run concurrently with itself, on a real worker with
two processes: settlement (failed and successful campaigns), disbursement, the auto-debit (with its
share-out to the notes), the overdue sweep (penalty interest) and the outcome notification. Each has
one effect; the books balance."""

import time

import pytest
from celery import Celery

from crowdfunding.models import Campaign, CampaignStatus
from platform_core.models import JobRun

from .processes import celery_worker, process_env, wait_for, worker_ready
from .scenario import Book

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]  # real worker, server or beat processes


def test_every_money_task_delivered_twice_at_once_has_one_effect(private_redis, processes):
    book = Book()
    env = process_env(private_redis.url, RESUME_EVERY_SECONDS=3600)  # no beat here: only what is sent
    processes.append(celery_worker(env, concurrency=2, name="twice"))
    assert wait_for(lambda: worker_ready(private_redis.url, "twice"), timeout=60) is not None
    client = Celery(broker=private_redis.url)

    def twice(name, *args):
        for _ in range(2):
            client.send_task(name, args=list(args))

    try:
        twice("crowdfunding.tasks.campaigns_close_due")
        twice("p2p.tasks.loan_disburse", book.funded.pk)
        twice("p2p.tasks.repayments_collect_due")
        twice("p2p.tasks.overdue_sweep")
        campaigns = Campaign.objects.filter(pk__in=[book.failed.pk, book.succeeded.pk])
        assert wait_for(lambda: not campaigns.filter(status=CampaignStatus.LIVE).exists(), timeout=60) is not None
        for campaign in (book.failed, book.succeeded):
            twice("crowdfunding.tasks.campaign_settle", campaign.pk)
        assert wait_for(book.all_done, timeout=90) is not None
        for campaign in (book.failed, book.succeeded):
            twice("crowdfunding.tasks.campaign_outcome_notify", campaign.pk)
        assert wait_for(lambda: not campaigns.filter(outcome_notified_at__isnull=True).exists(), timeout=60) is not None
        # and once more, everything, after the fact: nothing moves
        twice("crowdfunding.tasks.campaign_settle", book.failed.pk)
        twice("p2p.tasks.loan_disburse", book.funded.pk)
        twice("p2p.tasks.repayments_collect_due")
        twice("p2p.tasks.overdue_sweep")
        client.send_task("platform_core.ledger.tasks.ledger_verify")
        assert wait_for(lambda: JobRun.objects.filter(name="ledger_verify", runs__gte=1).exists(), timeout=60) is not None
        time.sleep(2)  # the last duplicates finish
    finally:
        client.close()
    assert JobRun.objects.get(name="ledger_verify").last_ok
    book.assert_each_done_once()
