"""From draft to settled: the services' state machine and the money it moves."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from crowdfunding import services
from crowdfunding.models import CampaignStatus, PledgeStatus
from platform_core.audit import audit_trail
from platform_core.errors import ApplicationError
from platform_core.ledger import services as ledger
from platform_core.ledger.checks import ledger_problems
from platform_core.ledger.models import AccountPurpose
from tests.factories import SmeUserFactory, StaffUserFactory, UserFactory

from .factories import force_deadline, live_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.calendar]


def _backers(fund, n, amount="1000.00"):
    users = [UserFactory() for _ in range(n)]
    for user in users:
        fund(user, amount)
    return users


def test_draft_review_live_with_events():
    sme = SmeUserFactory()
    operator = StaffUserFactory(role="operator")
    campaign = services.campaign_create(
        user=sme,
        kind="reward",
        title="Tea",
        summary="Tea.",
        category="food",
        target_amount="5000.00",
        deadline=timezone.now() + datetime.timedelta(days=30),
        tiers=[{"title": "A tin", "minimum_amount": "50.00", "quantity_limit": 10, "estimated_delivery": "2027-03"}],
    )
    assert campaign.status == CampaignStatus.DRAFT
    services.campaign_submit(user=sme, campaign_id=campaign.pk)
    with pytest.raises(ApplicationError) as exc:
        services.campaign_reject(actor=operator, campaign_id=campaign.pk, reason="")
    assert exc.value.code == "reason_required"
    services.campaign_reject(actor=operator, campaign_id=campaign.pk, reason="Add a delivery plan.")
    services.campaign_redraft(user=sme, campaign_id=campaign.pk)
    services.campaign_submit(user=sme, campaign_id=campaign.pk)
    live = services.campaign_approve(actor=operator, campaign_id=campaign.pk)
    assert live.status == CampaignStatus.LIVE and live.launched_at is not None and live.fee_rate == Decimal("0.0500")
    moves = [(e.from_value, e.to_value) for e in audit_trail(campaign).filter(action="status_changed").order_by("pk")]
    assert moves == [
        ("draft", "in_review"),
        ("in_review", "rejected"),
        ("rejected", "draft"),
        ("draft", "in_review"),
        ("in_review", "live"),
    ]
    assert audit_trail(campaign).filter(action="status_changed", to_value="live").get().actor == operator


def test_successful_campaign_pays_out_minus_fee(fund):
    campaign = live_campaign(target="2000.00")
    backers = _backers(fund, 3)
    for backer in backers:
        services.pledge_create(user=backer, campaign_id=campaign.pk, amount="700.00")
    force_deadline(campaign, timezone.now() - datetime.timedelta(seconds=1))
    services.campaign_close(campaign_id=campaign.pk)
    services.campaign_settle(campaign_id=campaign.pk)
    services.campaign_outcome_notify(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SETTLED and campaign.outcome == "succeeded"
    assert campaign.fee_amount == Decimal("105.00") and campaign.payout_amount == Decimal("1995.00")
    assert ledger.wallet_for(campaign.organisation).balance == Decimal("1995.00")
    assert ledger.escrow_for(campaign).balance == Decimal("0.00")
    assert ledger.system_account(AccountPurpose.FEE_INCOME).balance == Decimal("105.00")
    assert set(campaign.pledges.values_list("status", flat=True)) == {PledgeStatus.COLLECTED}
    assert ledger_problems() == []
    assert len(mail.outbox) == 4  # three backers and the SME


def test_failed_campaign_refunds_every_pledge(fund):
    campaign = live_campaign(target="5000.00")
    backers = _backers(fund, 4)
    for backer in backers:
        services.pledge_create(user=backer, campaign_id=campaign.pk, amount="250.00")
    force_deadline(campaign, timezone.now() - datetime.timedelta(seconds=1))
    services.campaign_close(campaign_id=campaign.pk)
    services.campaign_settle(campaign_id=campaign.pk)
    services.campaign_outcome_notify(campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SETTLED and campaign.outcome == "failed"
    assert campaign.refunded_amount == Decimal("1000.00") and campaign.refunded_count == 4
    for backer in backers:
        assert ledger.wallet_of_user(backer).balance == Decimal("1000.00")
    assert ledger.wallet_for(campaign.organisation).balance == Decimal("0.00")
    assert ledger_problems() == []


def test_settlement_twice_has_one_effect(fund):
    campaign = live_campaign(target="5000.00")
    backer = _backers(fund, 1)[0]
    services.pledge_create(user=backer, campaign_id=campaign.pk, amount="300.00")
    force_deadline(campaign, timezone.now() - datetime.timedelta(seconds=1))
    services.campaign_close(campaign_id=campaign.pk)
    assert services.campaign_settle(campaign_id=campaign.pk) is True
    assert services.campaign_settle(campaign_id=campaign.pk) is True
    assert ledger.wallet_of_user(backer).balance == Decimal("1000.00")
    assert ledger_problems() == []


def test_settling_a_vanished_campaign_does_nothing():
    assert services.campaign_settle(campaign_id=987654321) is False


def test_an_investor_without_a_declared_profile_gets_the_floor_limit(fund):
    from crowdfunding.services import equity_investor_limit
    from platform_core.accounts.models import InvestorProfile

    investor = UserFactory()
    InvestorProfile.objects.filter(user=investor).delete()
    assert equity_investor_limit(investor) == Decimal("2500.00")
    fund(investor, "5000.00")
    campaign = live_campaign(kind="equity", target="1000.00", maximum="100000.00")
    with pytest.raises(ApplicationError) as exc:
        services.pledge_create(user=investor, campaign_id=campaign.pk, amount="3000.00")
    assert exc.value.code == "investor_limit_exceeded"
