"""PostgreSQL connections killed under a running gunicorn (persistent connections, CONN_MAX_AGE 60)
and a running Celery worker (`pg_terminate_backend`, as a failover or a restart does): the next
request on every gunicorn worker answers normally, money endpoints included, and the worker's next
job succeeds. Connection health checks notice the dead connection before it is used."""

import uuid
from decimal import Decimal

import pytest
import requests
from celery import Celery
from django.db import connection

from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.models import JobRun
from tests.crowdfunding.factories import live_campaign
from tests.factories import PASSWORD, UserFactory

from .processes import celery_worker, free_port, gunicorn, http_ready, process_env, wait_for, worker_ready

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]  # real worker, server or beat processes


def _terminate_other_connections() -> int:
    """Kill every connection to this test database but the test's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_killed_database_connections_cost_no_request_and_no_job(private_redis, processes):
    investor = UserFactory()
    ledger.deposit_create(user=investor, amount="1000.00")
    campaign = live_campaign(target="100000.00")
    env = process_env(private_redis.url, CONN_MAX_AGE=60)
    port = free_port()
    processes.append(gunicorn(env, port=port, workers=2))
    processes.append(celery_worker(env, name="db"))
    assert wait_for(lambda: http_ready(port), timeout=60) is not None
    assert wait_for(lambda: worker_ready(private_redis.url, "db"), timeout=60) is not None
    base = f"http://127.0.0.1:{port}"
    token = requests.post(f"{base}/api/v1/auth/token/", json={"username": investor.username, "password": PASSWORD}, timeout=10)
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token.json()['token']}"
    client = Celery(broker=private_redis.url)

    def pledge():
        return session.post(
            f"{base}/api/v1/campaigns/{campaign.pk}/pledges/",
            json={"amount": "10.00"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
            timeout=10,
        ).status_code

    def job_runs():
        return JobRun.objects.filter(name="ledger_verify", last_ok=True).values_list("runs", flat=True).first() or 0

    try:
        # every gunicorn worker and the Celery worker hold a persistent connection
        assert {session.get(f"{base}/api/v1/me/", timeout=10).status_code for _ in range(20)} == {200}
        assert pledge() == 201
        client.send_task("platform_core.ledger.tasks.ledger_verify")
        assert wait_for(lambda: job_runs() == 1, timeout=30) is not None

        for round_ in range(2):
            assert _terminate_other_connections() >= 2
            answers = [session.get(f"{base}/api/v1/me/", timeout=10).status_code for _ in range(20)]
            answers += [pledge() for _ in range(5)]
            assert answers == [200] * 20 + [201] * 5
            client.send_task("platform_core.ledger.tasks.ledger_verify")
            assert wait_for(lambda round_=round_: job_runs() == round_ + 2, timeout=30) is not None
    finally:
        client.close()
    assert ledger.wallet_of_user(investor).balance == Decimal("1000.00") - Decimal("10.00") * 11
    assert ledger_problems() == []
