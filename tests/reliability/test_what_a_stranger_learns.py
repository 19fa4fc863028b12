"""What a caller may learn of what is not theirs: money services look their object up through the
same visibility rule as the reads (crowdfunding.selectors.campaign_visible,
p2p.selectors.loan_visible), so a draft or a campaign in review is "not found" to a stranger, not
"this campaign is a draft"; backers-only updates are for backers whose money is with the campaign;
a third party's overpayment error does not tell the loan's balance."""

import datetime
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from crowdfunding import services as cf_services
from crowdfunding.models import CampaignStatus, Pledge
from p2p import services as p2p_services
from p2p.models import Installment, Investment, LoanStatus, Repayment
from platform_core.ledger import services as ledger
from tests.factories import OrganisationFactory, SmeUserFactory, UserFactory

from ..crowdfunding.factories import live_campaign
from ..p2p.factories import funded_investors, listed_loan

pytestmark = pytest.mark.django_db


def _key():
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def _draft_campaign(sme, *, submitted=False):
    campaign = cf_services.campaign_create(
        user=sme,
        kind="reward",
        title="Secret tea",
        summary="Not yet public.",
        category="food",
        target_amount="10000.00",
        deadline=timezone.now() + datetime.timedelta(days=30),
        tiers=[],
    )
    if submitted:
        cf_services.campaign_submit(user=sme, campaign_id=campaign.pk)
    campaign.refresh_from_db()
    return campaign


def _draft_loan(sme, *, submitted=False):
    loan = p2p_services.loan_create(
        user=sme, amount="12000.00", term_months=4, annual_rate_percent="24", method="equal_installments", purpose="Machines"
    )
    if submitted:
        p2p_services.loan_submit(user=sme, loan_id=loan.pk)
    loan.refresh_from_db()
    return loan


@pytest.mark.parametrize("submitted", [False, True], ids=["draft", "in_review"])
def test_pledging_to_a_campaign_one_cannot_see_is_not_found(api_as, client, fund, submitted):
    campaign = _draft_campaign(SmeUserFactory(), submitted=submitted)
    assert campaign.status == (CampaignStatus.IN_REVIEW if submitted else CampaignStatus.DRAFT)
    stranger = UserFactory()
    fund(stranger, "100.00")
    response = api_as(stranger).post(f"/api/v1/campaigns/{campaign.pk}/pledges/", {"amount": "10.00"}, format="json", **_key())
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "No such campaign.", "fields": {}}
    client.force_login(stranger)
    page = client.post(f"/campaigns/{campaign.pk}/pledge/", {"amount": "10.00", "idempotency_key": "k-1"})
    assert page.status_code == 404
    assert Pledge.objects.count() == 0 and ledger.wallet_of_user(stranger).balance == Decimal("100.00")


@pytest.mark.parametrize("submitted", [False, True], ids=["draft", "in_review"])
def test_investing_in_or_paying_toward_a_loan_one_cannot_see_is_not_found(api_as, client, fund, submitted):
    loan = _draft_loan(SmeUserFactory(), submitted=submitted)
    assert loan.status == (LoanStatus.IN_REVIEW if submitted else LoanStatus.DRAFT)
    stranger = UserFactory()
    fund(stranger, "1000.00")
    funder = SmeUserFactory(organisation=OrganisationFactory(kind="funder"), role="funder")
    fund(funder, "1000.00")
    for user, path in ((stranger, "investments"), (funder, "guarantor-payments")):
        response = api_as(user).post(f"/api/v1/loans/{loan.pk}/{path}/", {"amount": "500.00"}, format="json", **_key())
        assert response.status_code == 404, path
        assert response.json()["error"] == {"code": "not_found", "message": "No such loan.", "fields": {}}
    client.force_login(stranger)
    assert client.post(f"/loans/{loan.pk}/invest/", {"amount": "500.00", "idempotency_key": "k-1"}).status_code == 404
    assert not Investment.objects.exists() and not Repayment.objects.exists()
    assert ledger.wallet_of_user(stranger).balance == ledger.wallet_of_user(funder).balance == Decimal("1000.00")


def test_a_visible_loan_that_takes_no_money_still_says_why(api_as, fund):
    loan = listed_loan()  # public, but not active: nothing to repay yet
    funder = SmeUserFactory(organisation=OrganisationFactory(kind="funder"), role="funder")
    fund(funder, "1000.00")
    response = api_as(funder).post(f"/api/v1/loans/{loan.pk}/guarantor-payments/", {"amount": "5.00"}, format="json", **_key())
    assert (response.status_code, response.json()["error"]["code"]) == (409, "loan_not_active")


def test_a_third_partys_overpayment_does_not_tell_the_loans_balance(api_as, fund):
    loan = listed_loan()
    funded_investors(fund, loan, ["6000.00", "6000.00"])
    p2p_services.loan_disburse(loan_id=loan.pk)
    outstanding = str(sum(i.outstanding for i in Installment.objects.filter(loan=loan)))
    funder = SmeUserFactory(organisation=OrganisationFactory(kind="funder"), role="funder")
    fund(funder, "50000.00")

    third = api_as(funder).post(f"/api/v1/loans/{loan.pk}/guarantor-payments/", {"amount": "40000.00"}, format="json", **_key())
    own = api_as(loan.created_by).post(f"/api/v1/loans/{loan.pk}/repayments/", {"amount": "40000.00"}, format="json", **_key())

    assert third.status_code == own.status_code == 400
    assert third.json()["error"]["code"] == own.json()["error"]["code"] == "overpayment"
    assert outstanding not in str(third.json()) and "outstanding" in third.json()["error"]["message"]
    assert outstanding in own.json()["error"]["message"]  # the borrower may know its own balance
    assert not Repayment.objects.exists() and ledger.wallet_of_user(funder).balance == Decimal("50000.00")


def _backers_only_titles(client, campaign):
    body = client.get(f"/api/v1/campaigns/{campaign.pk}/updates/").json()
    return [u["title"] for u in (body["results"] if isinstance(body, dict) else body) if u["backers_only"]]


def test_a_pledge_cancelled_at_once_unlocks_no_backers_only_update(api_as, client, fund):
    sme = SmeUserFactory()
    campaign = live_campaign(sme=sme)
    cf_services.campaign_update_post(user=sme, campaign_id=campaign.pk, title="For backers", body="Secret", backers_only=True)
    visitor, backer = UserFactory(), UserFactory()
    fund(visitor, "1.00")
    fund(backer, "100.00")
    pledge = cf_services.pledge_create(user=visitor, campaign_id=campaign.pk, amount="0.01")
    cf_services.pledge_cancel(user=visitor, pledge_id=pledge.pk)
    cf_services.pledge_create(user=backer, campaign_id=campaign.pk, amount="50.00")

    assert _backers_only_titles(api_as(visitor), campaign) == []
    assert _backers_only_titles(api_as(backer), campaign) == ["For backers"]
    client.force_login(visitor)
    assert "Secret" not in client.get(f"/campaigns/{campaign.pk}/").content.decode()
    client.force_login(backer)
    assert "Secret" in client.get(f"/campaigns/{campaign.pk}/").content.decode()
