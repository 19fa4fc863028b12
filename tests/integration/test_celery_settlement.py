"""The real path: beat's task on a real Celery worker, through the Redis broker, settles campaigns."""

import datetime
import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from crowdfunding import tasks
from crowdfunding.models import Campaign, CampaignStatus
from platform_core.celery import app
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.models import JobRun
from tests.crowdfunding.factories import live_campaign
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]  # a real worker process


@pytest.fixture
def celery_worker_on_redis():
    app.control.purge()  # messages left by earlier test runs
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30) as worker:
        yield worker


def _wait_for(predicate, timeout=45):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_due_campaigns_are_closed_and_settled_by_the_worker(celery_worker_on_redis, fund):
    failing = live_campaign(target="100000.00", title="Too ambitious")
    winning = live_campaign(target="500.00", title="Modest")
    backers = [UserFactory() for _ in range(3)]
    for backer in backers:
        fund(backer, "1000.00")
        from crowdfunding.services import pledge_create

        pledge_create(user=backer, campaign_id=failing.pk, amount="200.00")
        pledge_create(user=backer, campaign_id=winning.pk, amount="200.00")
    Campaign.objects.filter(pk__in=[failing.pk, winning.pk]).update(deadline=timezone.now() - datetime.timedelta(seconds=1))

    tasks.campaigns_close_due.delay()

    assert _wait_for(
        lambda: set(Campaign.objects.filter(pk__in=[failing.pk, winning.pk]).values_list("status", flat=True))
        == {CampaignStatus.SETTLED}
    )
    failing.refresh_from_db()
    winning.refresh_from_db()
    assert (failing.outcome, failing.refunded_amount) == ("failed", Decimal("600.00"))
    assert (winning.outcome, winning.payout_amount, winning.fee_amount) == ("succeeded", Decimal("570.00"), Decimal("30.00"))
    for backer in backers:
        assert ledger.wallet_of_user(backer).balance == Decimal("800.00")  # 200 kept by the winner, 200 refunded
    assert ledger_problems() == []
    run = JobRun.objects.get(name="crowdfunding.campaigns_close_due")
    assert run.last_ok and run.runs == 1 and "2 closed" in run.last_summary
    assert _wait_for(lambda: len(mail.outbox) >= 8, timeout=20)  # 3 backers x 2 campaigns + 2 SMEs
