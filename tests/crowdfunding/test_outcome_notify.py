"""The outcome e-mails: each backer and the SME told once, however often and however concurrently
the notification runs, and a run cut short is resumed by the resume job with the rest."""

import datetime
import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat
from django.utils import timezone

from crowdfunding import services
from crowdfunding.models import Campaign, Pledge
from platform_core.accounts.models import User
from tests.crowdfunding.bulk import campaign_with_pledges

pytestmark = pytest.mark.django_db(transaction=True)


def _settled_failed_campaign(n):
    campaign = campaign_with_pledges(n, amount="10.00")
    User.objects.filter(pk__in=campaign.pledges.values("backer_id")).update(email=Concat("username", Value("@backers.test")))
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    services.campaign_close(campaign_id=campaign.pk)
    assert services.campaign_settle(campaign_id=campaign.pk) is True
    mail.outbox.clear()
    return campaign


def _told(campaign):
    told = Counter(address for message in mail.outbox for address in message.to)
    backers = set(campaign.pledges.values_list("backer__email", flat=True))
    owners = set(campaign.organisation.members.values_list("email", flat=True))
    return told, backers, owners


def test_concurrent_runs_tell_each_backer_and_the_sme_once():
    campaign = _settled_failed_campaign(300)

    def notify():
        try:
            services.campaign_outcome_notify(campaign_id=campaign.pk, batch_size=20)
        finally:
            connection.close()

    threads = [threading.Thread(target=notify) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    told, backers, owners = _told(campaign)
    assert set(told) == backers | owners and set(told.values()) == {1}
    assert Campaign.objects.get(pk=campaign.pk).outcome_notified_at is not None
    assert services.campaign_outcome_notify(campaign_id=campaign.pk) == 0  # and never again


def test_a_run_cut_short_is_found_by_the_resume_job_and_finishes_with_the_rest():
    campaign = _settled_failed_campaign(50)
    first = list(campaign.pledges.order_by("pk")[:20])
    Pledge.objects.filter(pk__in=[p.pk for p in first]).update(notified_at=timezone.now())  # as a killed run left it
    settle, notify = services.campaigns_to_resume(now=timezone.now() + datetime.timedelta(minutes=1))
    assert (settle, notify) == ([], [campaign.pk])
    assert services.campaigns_to_resume() == ([], [])  # not before it has stalled
    assert services.campaign_outcome_notify(campaign_id=campaign.pk) == 31  # the 30 untold backers and the SME
    told, backers, owners = _told(campaign)
    assert set(told) == (backers - {p.backer.email for p in first}) | owners and set(told.values()) == {1}
    assert services.campaigns_to_resume(now=timezone.now() + datetime.timedelta(minutes=1)) == ([], [])
