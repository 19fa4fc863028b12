"""Concurrent pledges through the HTTP API on real PostgreSQL: limits hold, nothing is a 500."""

import datetime
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from crowdfunding.models import Campaign, Pledge, PledgeStatus, RewardTier
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from tests.crowdfunding.factories import live_campaign
from tests.factories import InvestorProfileFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _pledge_all(jobs, workers=24):
    """jobs: (user, campaign_id, body). Returns [(status, code)] from real concurrent requests."""

    def one(job):
        user, campaign_id, body = job
        try:
            client = APIClient()
            client.force_authenticate(user)
            response = client.post(
                f"/api/v1/campaigns/{campaign_id}/pledges/", body, format="json", HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex
            )
            code = response.json()["error"]["code"] if response.status_code >= 400 else None
            return response.status_code, code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, jobs))


def _investors(fund, n, amount="1000.00"):
    users = [UserFactory() for _ in range(n)]
    for user in users:
        fund(user, amount)
    return users


def test_200_concurrent_pledges_on_a_tier_of_50(fund):
    campaign = live_campaign(
        target="100000.00",
        tiers=[{"title": "Limited tin", "minimum_amount": "100.00", "quantity_limit": 50, "estimated_delivery": "2027-05"}],
    )
    tier = campaign.tiers.get()
    users = _investors(fund, 200)
    results = _pledge_all([(u, campaign.pk, {"amount": "100.00", "tier": tier.pk}) for u in users])
    outcome = Counter(results)
    assert outcome == {(201, None): 50, (409, "tier_sold_out"): 150}
    tier.refresh_from_db()
    campaign.refresh_from_db()
    assert tier.claimed == 50
    assert Pledge.objects.filter(campaign=campaign, status=PledgeStatus.ACTIVE).count() == 50
    assert campaign.raised_amount == Decimal("5000.00") and campaign.pledge_count == 50
    assert ledger.escrow_for(campaign).balance == Decimal("5000.00")
    assert sorted(ledger.wallet_of_user(u).balance for u in users) == [Decimal("900.00")] * 50 + [Decimal("1000.00")] * 150
    assert ledger_problems() == []


def test_concurrent_pledges_never_exceed_the_equity_maximum(fund):
    campaign = live_campaign(kind="equity", target="3000.00", maximum="5000.00")
    users = _investors(fund, 40)
    results = _pledge_all([(u, campaign.pk, {"amount": "300.00"}) for u in users])
    ok = sum(1 for status, _ in results if status == 201)
    assert ok == 16  # 16 x 300 = 4,800; a 17th would make 5,100 > 5,000
    assert Counter(code for _, code in results if code) == {"maximum_exceeded": 24}
    campaign.refresh_from_db()
    assert campaign.raised_amount == Decimal("4800.00") == ledger.escrow_for(campaign).balance
    assert ledger_problems() == []


def test_concurrent_pledges_respect_the_investor_cap(fund):
    campaign = live_campaign(kind="equity", target="1000.00", maximum="100000.00")
    campaign.equity_terms.max_investors = 10
    campaign.equity_terms.save()
    users = _investors(fund, 30)
    results = _pledge_all([(u, campaign.pk, {"amount": "100.00"}) for u in users])
    assert Counter(results) == {(201, None): 10, (409, "max_investors_reached"): 20}
    campaign.refresh_from_db()
    assert campaign.investor_count == 10


def test_backers_pledging_again_concurrently_count_once_against_the_investor_cap(fund):
    """Three investors pledge twelve times each, all at once, to an offering capped at two investors:
    a backer already in counts once and is never refused for the cap, so each investor holds all
    twelve pledges or none."""
    campaign = live_campaign(kind="equity", target="1000.00", maximum="100000.00")
    campaign.equity_terms.max_investors = 2
    campaign.equity_terms.save()
    users = _investors(fund, 3, amount="2000.00")
    results = _pledge_all([(u, campaign.pk, {"amount": "100.00"}) for _ in range(12) for u in users])
    assert Counter(results) == {(201, None): 24, (409, "max_investors_reached"): 12}
    held = Counter(Pledge.objects.filter(campaign=campaign, status=PledgeStatus.ACTIVE).values_list("backer_id", flat=True))
    assert sorted(held.values()) == [12, 12]
    campaign.refresh_from_db()
    assert (campaign.investor_count, campaign.pledge_count, campaign.raised_amount) == (2, 24, Decimal("2400.00"))
    assert ledger_problems() == []


def test_one_investors_concurrent_pledges_stay_within_the_12_month_limit(fund):
    """Income 50,000, net worth 40,000: limit max(2,500, 5% of 50,000) = 2,500 across offerings."""
    investor = UserFactory(profile=None)
    InvestorProfileFactory(user=investor, annual_income="50000.00", net_worth="40000.00")
    fund(investor, "10000.00")
    first = live_campaign(kind="equity", target="1000.00", maximum="100000.00")
    second = live_campaign(kind="equity", target="1000.00", maximum="100000.00")
    jobs = [(investor, c.pk, {"amount": "500.00"}) for c in (first, second) for _ in range(6)]
    results = _pledge_all(jobs, workers=12)
    assert Counter(results) == {(201, None): 5, (400, "investor_limit_exceeded"): 7}
    assert ledger.wallet_of_user(investor).balance == Decimal("7500.00")
    assert ledger_problems() == []


def test_a_pledge_one_second_after_the_deadline_is_refused(fund):
    campaign = live_campaign(target="1000.00")
    investor = _investors(fund, 1)[0]
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    [(status, code)] = _pledge_all([(investor, campaign.pk, {"amount": "100.00"})], workers=1)
    assert (status, code) == (409, "campaign_closed")
    assert ledger.wallet_of_user(investor).balance == Decimal("1000.00")
    assert not Pledge.objects.filter(campaign=campaign).exists()


def test_sold_out_tier_stays_sold_out_after_races(fund):
    campaign = live_campaign(
        target="100000.00",
        tiers=[{"title": "One of a kind", "minimum_amount": "10.00", "quantity_limit": 1, "estimated_delivery": "2027-05"}],
    )
    tier = campaign.tiers.get()
    users = _investors(fund, 12)
    results = _pledge_all([(u, campaign.pk, {"amount": "10.00", "tier": tier.pk}) for u in users], workers=12)
    assert Counter(results) == {(201, None): 1, (409, "tier_sold_out"): 11}
    assert RewardTier.objects.get(pk=tier.pk).claimed == 1


def test_a_backer_cancelling_while_another_pledges_closes_no_lock_cycle(fund, monkeypatch):
    """Another backer's pledge holds the escrow and waits before it counts itself into the campaign;
    a cancellation from the web page starts meanwhile. Both take the accounts before the campaign
    row, so the cancel waits its turn: both succeed, no deadlock, no 500."""
    import threading
    import time

    from django.test import Client

    from crowdfunding import services as cf

    campaign = live_campaign(target="100000.00")
    leaving, joining = _investors(fund, 2)
    pledge = cf.pledge_create(user=leaving, campaign_id=campaign.pk, amount="100.00")
    holding = threading.Event()
    count_in = cf._pledge_count_in

    def count_in_slowly(*args, **kwargs):  # the new pledge holds wallet and escrow here
        holding.set()
        time.sleep(0.5)  # the cancel starts meanwhile; with the old order it then held the campaign row
        return count_in(*args, **kwargs)

    monkeypatch.setattr(cf, "_pledge_count_in", count_in_slowly)
    outcomes = {}

    def cancel():
        try:
            holding.wait(timeout=10)
            client = Client(raise_request_exception=False)
            client.force_login(leaving)
            outcomes["cancel"] = client.post(f"/campaigns/pledges/{pledge.pk}/cancel/").status_code
        finally:
            connection.close()

    canceller = threading.Thread(target=cancel)
    canceller.start()
    outcomes["pledge"] = _pledge_all([(joining, campaign.pk, {"amount": "250.00"})], workers=1)[0]
    canceller.join(timeout=30)

    assert outcomes == {"pledge": (201, None), "cancel": 302}
    campaign.refresh_from_db()
    assert (campaign.raised_amount, campaign.pledge_count, campaign.investor_count) == (Decimal("250.00"), 1, 1)
    assert ledger.escrow_for(campaign).balance == Decimal("250.00")
    assert ledger.wallet_of_user(leaving).balance == Decimal("1000.00")
    assert ledger_problems() == []
