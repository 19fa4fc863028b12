"""Two beat processes at once (a deployment mistake django-celery-beat cannot prevent): every
scheduled job is sent twice, every 2 seconds, for the whole test, to a worker with two processes.
The jobs are idempotent: each campaign is settled once, the loan disbursed once, each loan debited
once a day, penalty interest accrued once a day; the books balance."""

import time

import pytest

from platform_core.models import JobRun

from .processes import celery_beat, celery_worker, process_env, wait_for, worker_ready
from .scenario import Book

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]  # real worker, server or beat processes


def test_two_beats_at_once_do_nothing_twice(private_redis, processes):
    book = Book()
    env = process_env(private_redis.url, FAULT_BEAT_EVERY_SECONDS=2, RESUME_STALLED_AFTER_SECONDS=1)
    processes.append(celery_worker(env, concurrency=2, name="beats"))
    assert wait_for(lambda: worker_ready(private_redis.url, "beats"), timeout=60) is not None
    processes.append(celery_beat(env, name="beat-a"))
    processes.append(celery_beat(env, name="beat-b"))
    assert wait_for(book.all_done, timeout=90) is not None
    runs_when_done = JobRun.objects.get(name="p2p.repayments_collect_due").runs
    time.sleep(10)  # both beats keep sending everything
    runs = dict(JobRun.objects.values_list("name", "runs"))
    assert runs["p2p.repayments_collect_due"] >= runs_when_done + 4, runs  # the jobs really ran again, from both beats
    assert runs["p2p.overdue_sweep"] >= 4 and runs["crowdfunding.campaigns_close_due"] >= 4
    for group in processes:
        group.kill()
    book.assert_each_done_once()
