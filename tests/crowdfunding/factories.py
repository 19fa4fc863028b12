"""Factories for campaigns: built through the services where the state matters, so a live
campaign really went through review and approval."""

import datetime
from decimal import Decimal

from django.utils import timezone

from crowdfunding import services
from crowdfunding.models import Campaign
from tests.factories import SmeUserFactory, StaffUserFactory


def live_campaign(
    *,
    sme=None,
    kind="reward",
    target="10000.00",
    maximum=None,
    days=30,
    funding_model="all_or_nothing",
    tiers=None,
    equity_terms=None,
    **extra,
) -> Campaign:
    sme = sme or SmeUserFactory()
    operator = StaffUserFactory(role="operator")
    if kind == "equity":
        maximum = maximum or str(Decimal(target) * 2)
        equity_terms = equity_terms or {
            "price_per_share": "10.00",
            "minimum_investment": "100.00",
            "pre_money_valuation": "5000000.00",
        }
        days = max(days, 21)
    campaign = services.campaign_create(
        user=sme,
        kind=kind,
        title=extra.pop("title", "Green tea for everyone"),
        summary="A summary.",
        category=extra.pop("category", "food"),
        target_amount=target,
        maximum_amount=maximum,
        funding_model=funding_model,
        deadline=timezone.now() + datetime.timedelta(days=days),
        tiers=tiers,
        equity_terms=equity_terms,
        **extra,
    )
    services.campaign_submit(user=sme, campaign_id=campaign.pk)
    services.campaign_approve(actor=operator, campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def force_deadline(campaign: Campaign, when: datetime.datetime) -> None:
    """Move the deadline (the clock cannot be moved for the database): as if time had passed."""
    Campaign.objects.filter(pk=campaign.pk).update(deadline=when)
    campaign.refresh_from_db()
