"""The crowdfunding items (Fig. 1 per property, reused from crowdfunding.stats, plus success rate
and refunds) and fund security (custody against client money, fee income apart), as of an instant."""

import datetime
from decimal import Decimal

import pytest

from crowdfunding.models import Campaign, CampaignStatus, Pledge, PledgeStatus
from platform_core.disclosures.items import crowdfunding_figures, fund_security_figures, period_as_of
from platform_core.ledger import services as ledger
from platform_core.ledger.models import AccountPurpose, Transaction
from tests.factories import SmeUserFactory, UserFactory

from .book import at

pytestmark = pytest.mark.django_db

JANUARY = datetime.date(2026, 1, 1)


def _campaign(entity, sme, *, kind, outcome, raised, pledges, deadline, refunded="0.00"):
    target = Decimal(raised) if outcome == "succeeded" else Decimal("50000.00")
    return Campaign.objects.create(
        entity=entity,
        organisation=sme.organisation,
        created_by=sme,
        kind=kind,
        title=f"{kind} {outcome}",
        summary="-",
        category="other",
        target_amount=target,
        maximum_amount=target if kind == "equity" else None,
        deadline=deadline,
        launched_at=deadline - datetime.timedelta(days=30),
        status=CampaignStatus.SETTLED if outcome == "succeeded" else CampaignStatus.FAILED,
        outcome=outcome,
        raised_amount=Decimal(raised),
        refunded_amount=Decimal(refunded),
        pledge_count=pledges,
    )


def _pledge(campaign, amount):
    """A pledge of a failed campaign, not yet refunded."""
    backer = UserFactory()
    pledge = Pledge.objects.create(
        campaign=campaign, backer=backer, wallet=ledger.wallet_for(backer), amount=Decimal(amount), currency="CNY"
    )
    Pledge.objects.filter(pk=pledge.pk).update(created_at=campaign.deadline - datetime.timedelta(days=5))
    return pledge


def test_fig_1_columns_success_rate_and_refunds(entity):
    sme = SmeUserFactory()
    in_jan = at(2026, 1, 10)
    _campaign(entity, sme, kind="reward", outcome="succeeded", raised="30000.00", pledges=3, deadline=in_jan)
    _campaign(entity, sme, kind="reward", outcome="succeeded", raised="15000.00", pledges=4, deadline=in_jan)
    failed = _campaign(entity, sme, kind="reward", outcome="failed", raised="700.00", pledges=2, deadline=in_jan)
    _pledge(failed, "300.00")
    _pledge(failed, "400.00")
    _campaign(entity, sme, kind="equity", outcome="succeeded", raised="250000.00", pledges=5, deadline=in_jan)
    _campaign(entity, sme, kind="reward", outcome="succeeded", raised="9000.00", pledges=9, deadline=at(2026, 2, 1, 0, 30))

    items = crowdfunding_figures(entity, period_as_of(JANUARY))

    assert {
        k.removeprefix("crowdfunding.commodity."): v for k, v in items.items() if k.startswith("crowdfunding.commodity.")
    } == {
        "successful_projects": 2,
        "successful_funding_10k": "4",  # 45,000 / 10,000 = 4.5 -> 4 (HALF_EVEN)
        "supporters": 7,
        "supporters_per_project": 4,  # 3.5 -> 4
        "financing_per_project_10k": "2.25",
        "total_projects": 3,  # February's campaign (deadline Feb 1 00:30 Shanghai) is not in January's
        "success_rate": "0.6667",
        "amount_refunded": "0.00",
        "refunds_pending": "700.00",  # the failed campaign's two pledges, not yet refunded
    }
    assert items["crowdfunding.equity.successful_projects"] == 1
    assert items["crowdfunding.equity.financing_per_project_10k"] == "25.00"
    assert items["crowdfunding.equity.success_rate"] == "1.0000"


def test_refunded_pledges_leave_refunds_pending(entity, fund):
    sme = SmeUserFactory()
    failed = _campaign(entity, sme, kind="reward", outcome="failed", raised="300.00", pledges=1, deadline=at(2026, 1, 10))
    backer = UserFactory()
    fund(backer, "300.00")
    escrow = ledger.escrow_for(failed)
    ledger.transaction_post(
        kind="test_pledge", changes=[(ledger.wallet_of_user(backer), Decimal("-300.00")), (escrow, Decimal("300.00"))]
    )
    refund = ledger.transaction_post(
        kind="test_refund", changes=[(escrow, Decimal("-300.00")), (ledger.wallet_of_user(backer), Decimal("300.00"))]
    )
    Pledge.objects.create(
        campaign=failed,
        backer=backer,
        wallet=ledger.wallet_of_user(backer),
        amount=Decimal("300.00"),
        currency="CNY",
        status=PledgeStatus.REFUNDED,
        refund_transaction=refund,
    )
    now = refund.created_at + datetime.timedelta(seconds=1)

    items = crowdfunding_figures(entity, now)

    assert (items["crowdfunding.commodity.amount_refunded"], items["crowdfunding.commodity.refunds_pending"]) == (
        "300.00",
        "0.00",
    )
    before = crowdfunding_figures(entity, refund.created_at)  # an instant before the refund: still pending
    assert before["crowdfunding.commodity.amount_refunded"] == "0.00"


def test_custody_equals_client_money_and_fees_apart(fund):
    investor = UserFactory()
    fund(investor, "1000.00")
    fee_source = ledger.wallet_of_user(investor)
    ledger.transaction_post(kind="test_fee", changes=ledger.fee_changes(source=fee_source, amount=Decimal("10.00")))
    later = Transaction.objects.order_by("-created_at").first().created_at + datetime.timedelta(seconds=1)

    items = fund_security_figures(later)

    assert items == {
        "fund_security.custody_balance": {"CNY": "990.00"},
        "fund_security.client_money": {"CNY": "990.00"},
        "fund_security.custody_difference": {"CNY": "0.00"},
        "fund_security.custody_mismatches": 0,
        "fund_security.fee_income": {"CNY": "10.00"},
    }


def test_a_custody_mismatch_is_counted(fund):
    investor = UserFactory()
    fund(investor, "1000.00")
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    bank = ledger.system_account(AccountPurpose.PLATFORM_BANK)
    # money taken out of custody without any client's balance going down: the books balance, custody does not
    ledger.transaction_post(kind="test_misappropriation", changes=[(custody, Decimal("-0.01")), (bank, Decimal("0.01"))])
    later = Transaction.objects.order_by("-created_at").first().created_at + datetime.timedelta(seconds=1)

    items = fund_security_figures(later)

    assert items["fund_security.custody_difference"] == {"CNY": "-0.01"}
    assert items["fund_security.custody_mismatches"] == 1
