"""An organisation's viewer sees its campaigns and loans but is offered no button that can only
refuse it: no edit, submit, cancel, withdraw or repayment form; its owner is offered them."""

import pytest

from crowdfunding import services as crowdfunding_services
from p2p import services as p2p_services
from platform_core.accounts.models import MemberRole
from tests.crowdfunding.factories import live_campaign
from tests.factories import SmeUserFactory
from tests.p2p.factories import listed_loan

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_and_viewer():
    owner = SmeUserFactory()
    viewer = SmeUserFactory(organisation=owner.organisation, member_role=MemberRole.VIEWER)
    return owner, viewer


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_a_viewer_is_offered_no_campaign_action(client, owner_and_viewer):
    owner, viewer = owner_and_viewer
    live = live_campaign(sme=owner)
    draft = crowdfunding_services.campaign_create(
        user=owner,
        kind="reward",
        title="Draft",
        summary="s",
        category="food",
        target_amount="5000.00",
        deadline=live.deadline,
    )
    for campaign, actions in ((draft, ["/edit/", "/submit/"]), (live, ["/cancel/", "/updates/"])):
        url = f"/campaigns/{campaign.pk}/"
        owner_page = _page(client, owner, url)
        viewer_page = _page(client, viewer, url)
        for action in actions:
            assert f"/campaigns/{campaign.pk}{action}" in owner_page, action
            assert f"/campaigns/{campaign.pk}{action}" not in viewer_page, action
    preview = _page(client, viewer, f"/campaigns/{draft.pk}/preview/")
    assert f"/campaigns/{draft.pk}/edit/" not in preview and f"/campaigns/{draft.pk}/submit/" not in preview


def test_a_viewer_is_offered_no_loan_action(client, owner_and_viewer):
    owner, viewer = owner_and_viewer
    listed = listed_loan(sme=owner)
    draft = p2p_services.loan_create(
        user=owner, amount="2000.00", term_months=3, annual_rate_percent="24", method="equal_installments", purpose="Stock"
    )
    for loan, actions in ((draft, ["/edit/", "/submit/"]), (listed, ["/withdraw/"])):
        url = f"/loans/{loan.pk}/"
        owner_page = _page(client, owner, url)
        viewer_page = _page(client, viewer, url)
        for action in actions:
            assert f"/loans/{loan.pk}{action}" in owner_page, action
            assert f"/loans/{loan.pk}{action}" not in viewer_page, action
