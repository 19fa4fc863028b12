"""Crowdfunding demo data: a live reward campaign with tiers and backers, a live equity offering, a
draft, one in review, and a campaign whose deadline falls three minutes after the first seeding
(watch beat settle it in the demo). Idempotent: campaigns are looked up by title."""

import datetime

from django.utils import timezone

from platform_core.accounts.models import User

from . import services
from .models import Campaign

DELIVERY = (timezone.now().date().replace(day=1) + datetime.timedelta(days=120)).isoformat()[:7]


def _campaign(title, sme, *, submit=True, approve=True, **fields):
    existing = Campaign.objects.filter(title=title).first()
    if existing:
        return existing, False
    campaign = services.campaign_create(user=sme, title=title, **fields)
    if submit:
        services.campaign_submit(user=sme, campaign_id=campaign.pk)
    if submit and approve:
        services.campaign_approve(actor=User.objects.get(username="operator"), campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign, True


def seed():
    now = timezone.now()
    sme, sme2 = User.objects.get(username="sme"), User.objects.get(username="sme2")
    investor, investor2, angel = (User.objects.get(username=u) for u in ("investor", "investor2", "angel"))
    tea, created = _campaign(
        "Spring Dragon Well tea, picked by hand",
        sme,
        kind="reward",
        category="food",
        summary="Pre-order this spring's first-flush Dragon Well from our terraces near West Lake.",
        story="We have grown tea on the same hills for three generations. Your pledge pays for the pickers and the roasting pans.",
        target_amount="30000.00",
        deadline=now + datetime.timedelta(days=25),
        time_zone="Asia/Shanghai",
        tiers=[
            {"title": "One tin (100 g)", "minimum_amount": "88.00", "quantity_limit": 300, "estimated_delivery": DELIVERY},
            {"title": "Family box (4 tins)", "minimum_amount": "320.00", "quantity_limit": 2, "estimated_delivery": DELIVERY},
            {"title": "Adopt a tea bush for a year", "minimum_amount": "1200.00", "estimated_delivery": DELIVERY},
        ],
    )
    if created:
        tiers = list(tea.tiers.order_by("minimum_amount"))
        services.pledge_create(user=investor, campaign_id=tea.pk, amount="320.00", tier_id=tiers[1].pk)
        services.pledge_create(
            user=investor2, campaign_id=tea.pk, amount="320.00", tier_id=tiers[1].pk
        )  # the box is now sold out
        services.pledge_create(user=angel, campaign_id=tea.pk, amount="1200.00", tier_id=tiers[2].pk)
    gears, created = _campaign(
        "Ningbo Precision Parts: growth equity",
        sme2,
        kind="equity",
        category="manufacturing",
        summary="Shares in a supplier of gearbox parts to the region's car makers.",
        story="We are raising to buy a second CNC line. Equity offered to at most 200 investors.",
        target_amount="500000.00",
        maximum_amount="800000.00",
        deadline=now + datetime.timedelta(days=30),
        equity_terms={"price_per_share": "50.00", "minimum_investment": "1000.00", "pre_money_valuation": "12000000.00"},
    )
    if created:
        services.pledge_create(user=angel, campaign_id=gears.pk, amount="100000.00")
        services.pledge_create(user=investor, campaign_id=gears.pk, amount="2500.00")
    soon, created = _campaign(
        "Lantern festival gift boxes (closes in minutes)",
        sme,
        kind="reward",
        category="design",
        summary="A small flexible campaign whose deadline comes soon after the demo starts: watch it settle.",
        target_amount="1000.00",
        funding_model="flexible",
        deadline=now + datetime.timedelta(days=2),
        tiers=[{"title": "A gift box", "minimum_amount": "60.00", "estimated_delivery": DELIVERY}],
    )
    if created:
        services.pledge_create(user=investor2, campaign_id=soon.pk, amount="60.00", tier_id=soon.tiers.get().pk)
        Campaign.objects.filter(pk=soon.pk).update(deadline=now + datetime.timedelta(minutes=3))  # demo only: a short run
    _campaign(
        "Bamboo bicycle frames",
        sme,
        submit=False,
        kind="reward",
        category="design",
        summary="A draft the SME is still writing.",
        target_amount="50000.00",
        deadline=now + datetime.timedelta(days=40),
    )
    _campaign(
        "Organic rice from Jiangxi",
        sme,
        approve=False,
        kind="reward",
        category="agriculture",
        summary="Rice grown without pesticides on terraced fields in Jiangxi, shipped after the autumn harvest.",
        target_amount="20000.00",
        deadline=now + datetime.timedelta(days=30),
        tiers=[{"title": "5 kg of rice", "minimum_amount": "120.00", "estimated_delivery": DELIVERY}],
    )
    return [("", "", ""), ("(campaigns)", "", "/campaigns/ - browse; sme: /campaigns/mine/; investor: /campaigns/pledges/")]
