"""The crowdfunding API as its users call it."""

import datetime
import io
import uuid
import zoneinfo
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from crowdfunding.models import Campaign, Pledge, PledgeStatus
from platform_core.ledger import services as ledger
from tests.factories import SmeUserFactory, StaffUserFactory, UserFactory

from .factories import live_campaign

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _key():
    return {"HTTP_IDEMPOTENCY_KEY": uuid.uuid4().hex}


def _campaign_body(**overrides):
    deadline = (timezone.now() + datetime.timedelta(days=30)).replace(microsecond=0)
    body = {
        "kind": "reward",
        "title": "Dragon Well tea",
        "summary": "First-flush tea from our hills.",
        "category": "food",
        "target_amount": "20000.00",
        "funding_model": "all_or_nothing",
        "deadline": deadline.isoformat(),
        "tiers": [
            {"title": "One tin", "minimum_amount": "80.00", "quantity_limit": 100, "estimated_delivery": "2027-04"},
            {"title": "A year of tea", "minimum_amount": "900.00", "estimated_delivery": "2027-04"},
        ],
    }
    body.update(overrides)
    return body


def _error(response):
    return response.status_code, response.json()["error"]["code"]


def test_sme_takes_a_campaign_from_draft_to_live(api_as):
    sme, operator = SmeUserFactory(), StaffUserFactory(role="operator")
    response = api_as(sme).post("/api/v1/campaigns/", _campaign_body(), format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["status"] == "draft" and [t["title"] for t in created["tiers"]] == ["One tin", "A year of tea"]
    campaign_id = created["id"]
    assert (
        api_as(sme).patch(f"/api/v1/campaigns/{campaign_id}/", {"title": "Dragon Well green tea"}, format="json").json()["title"]
        == "Dragon Well green tea"
    )
    assert api_as(sme).post(f"/api/v1/campaigns/{campaign_id}/submit/").json()["status"] == "in_review"
    assert _error(api_as(sme).patch(f"/api/v1/campaigns/{campaign_id}/", {"title": "x"}, format="json")) == (409, "not_editable")
    assert _error(api_as(sme).post(f"/api/v1/campaigns/{campaign_id}/approve/")) == (403, "permission_denied")
    assert _error(api_as(StaffUserFactory(role="regulator")).post(f"/api/v1/campaigns/{campaign_id}/approve/")) == (
        403,
        "permission_denied",
    )
    live = api_as(operator).post(f"/api/v1/campaigns/{campaign_id}/approve/").json()
    assert live["status"] == "live" and live["launched_at"]


def test_naive_deadline_is_read_in_the_campaigns_time_zone(api_as):
    local = (timezone.now() + datetime.timedelta(days=20)).astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    naive = local.replace(tzinfo=None, microsecond=0, second=0)
    body = _campaign_body(deadline=naive.isoformat(), time_zone="Asia/Shanghai")
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 201
    stored = Campaign.objects.get(pk=response.json()["id"]).deadline
    assert stored == naive.replace(tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"target_amount": "-5"}, "amount_not_positive", "target_amount"),
        ({"target_amount": "100.001"}, "amount_too_precise", "target_amount"),
        ({"category": "weapons"}, "invalid_category", "category"),
        ({"time_zone": "Mars/Olympus"}, "invalid_time_zone", "time_zone"),
        ({"deadline": "next tuesday"}, "invalid_deadline", "deadline"),
        ({"deadline": (timezone.now() + datetime.timedelta(days=90)).isoformat()}, "invalid_duration", "deadline"),
        ({"kind": "equity", "maximum_amount": None}, "maximum_required", "maximum_amount"),
        ({"maximum_amount": "10.00"}, "invalid_maximum", "maximum_amount"),
        ({"tiers": [{"title": "", "minimum_amount": "1.00", "estimated_delivery": "2027-01"}]}, "invalid_tier", "tiers"),
        ({"currency": "XYZ"}, "unknown_currency", "currency"),
    ],
)
def test_bad_campaign_input_is_refused_with_a_stable_code(api_as, overrides, code, field):
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _campaign_body(**overrides), format="json")
    assert _error(response) == (400, code)
    assert field in response.json()["error"]["fields"]
    assert Campaign.objects.count() == 0


def test_cover_image_type_and_size_are_checked(api_as):
    sme = SmeUserFactory()
    import json

    body = {k: (json.dumps(v) if isinstance(v, list) else v) for k, v in _campaign_body().items()}
    fake = io.BytesIO(b"%PDF-1.4 not a picture")
    fake.name = "cover.png"
    response = api_as(sme).post("/api/v1/campaigns/", {**body, "cover_image": fake}, format="multipart")
    assert response.status_code == 400 and "cover_image" in response.json()["error"]["fields"]
    picture = io.BytesIO()
    Image.new("RGB", (64, 40), "green").save(picture, "PNG")
    picture.seek(0)
    picture.name = "cover.png"
    response = api_as(sme).post("/api/v1/campaigns/", {**body, "cover_image": picture}, format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["cover_image"].endswith(".png")
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    gif.seek(0)
    gif.name = "cover.gif"
    response = api_as(sme).post("/api/v1/campaigns/", {**body, "cover_image": gif}, format="multipart")
    assert _error(response) == (400, "cover_image_type")


def test_another_sme_cannot_see_or_edit_a_draft(api_as):
    owner, other = SmeUserFactory(), SmeUserFactory()
    campaign_id = api_as(owner).post("/api/v1/campaigns/", _campaign_body(), format="json").json()["id"]
    assert _error(api_as(other).get(f"/api/v1/campaigns/{campaign_id}/")) == (404, "not_found")
    assert _error(api_as(other).patch(f"/api/v1/campaigns/{campaign_id}/", {"title": "Mine now"}, format="json")) == (
        404,
        "not_found",
    )
    assert _error(api_as(other).post(f"/api/v1/campaigns/{campaign_id}/submit/")) == (404, "not_found")
    assert Campaign.objects.get(pk=campaign_id).title == "Dragon Well tea"
    assert campaign_id not in [c["id"] for c in api_as(other).get("/api/v1/campaigns/").json()["results"]]


def test_pledge_replay_and_own_pledges_only(api_as, fund):
    campaign = live_campaign(target="5000.00")
    investor, other = UserFactory(), UserFactory()
    fund(investor, "1000.00")
    fund(other, "1000.00")
    headers = _key()
    first = api_as(investor).post(f"/api/v1/campaigns/{campaign.pk}/pledges/", {"amount": "300.00"}, format="json", **headers)
    again = api_as(investor).post(f"/api/v1/campaigns/{campaign.pk}/pledges/", {"amount": "300.00"}, format="json", **headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ledger.wallet_of_user(investor).balance == Decimal("700.00")
    pledge_id = first.json()["id"]
    assert [p["id"] for p in api_as(investor).get("/api/v1/pledges/").json()["results"]] == [pledge_id]
    assert api_as(other).get("/api/v1/pledges/").json()["results"] == []
    assert _error(api_as(other).post(f"/api/v1/pledges/{pledge_id}/cancel/", **_key())) == (404, "not_found")
    cancelled = api_as(investor).post(f"/api/v1/pledges/{pledge_id}/cancel/", **_key())
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert ledger.wallet_of_user(investor).balance == Decimal("1000.00")
    campaign.refresh_from_db()
    assert (campaign.raised_amount, campaign.pledge_count, campaign.investor_count) == (Decimal("0.00"), 0, 0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"amount": "abc"}, (400, "invalid_amount")),
        ({"amount": "0"}, (400, "amount_not_positive")),
        ({"amount": "10.005"}, (400, "amount_too_precise")),
        ({"amount": "5000.00"}, (400, "insufficient_funds")),
        ({"amount": "50.00", "tier": "tier"}, (400, "invalid")),
    ],
)
def test_bad_pledges_change_nothing(api_as, fund, body, expected):
    campaign = live_campaign(target="50000.00")
    investor = UserFactory()
    fund(investor, "1000.00")
    response = api_as(investor).post(f"/api/v1/campaigns/{campaign.pk}/pledges/", body, format="json", **_key())
    assert _error(response) == expected
    assert Pledge.objects.count() == 0 and ledger.wallet_of_user(investor).balance == Decimal("1000.00")
    campaign.refresh_from_db()
    assert campaign.raised_amount == 0


def test_pledge_refusals(api_as, fund):
    campaign = live_campaign(
        target="50000.00", tiers=[{"title": "Tin", "minimum_amount": "80.00", "estimated_delivery": "2027-04"}]
    )
    other_campaign = live_campaign(
        target="1000.00", tiers=[{"title": "Other", "minimum_amount": "1.00", "estimated_delivery": "2027-04"}]
    )
    investor = UserFactory()
    fund(investor, "1000.00")
    url = f"/api/v1/campaigns/{campaign.pk}/pledges/"
    tier = campaign.tiers.get()
    assert _error(api_as(investor).post(url, {"amount": "50.00", "tier": tier.pk}, format="json", **_key())) == (
        400,
        "below_tier_minimum",
    )
    assert _error(
        api_as(investor).post(url, {"amount": "90.00", "tier": other_campaign.tiers.get().pk}, format="json", **_key())
    ) == (400, "invalid_tier")
    unverified = UserFactory(kyc_status="pending")
    assert _error(api_as(unverified).post(url, {"amount": "90.00"}, format="json", **_key())) == (403, "kyc_not_verified")
    sme_member = SmeUserFactory(organisation=campaign.organisation)
    fund(sme_member, "1000.00")
    assert _error(api_as(sme_member).post(url, {"amount": "90.00"}, format="json", **_key())) == (400, "own_campaign")
    regulator = StaffUserFactory(role="regulator")
    assert _error(api_as(regulator).post(url, {"amount": "90.00"}, format="json", **_key())) == (403, "permission_denied")
    assert _error(api_as(investor).post("/api/v1/campaigns/999999/pledges/", {"amount": "90.00"}, format="json", **_key())) == (
        404,
        "not_found",
    )
    assert Pledge.objects.count() == 0


def test_equity_rules(api_as, fund):
    campaign = live_campaign(kind="equity", target="10000.00", maximum="20000.00")
    investor = UserFactory()
    fund(investor, "5000.00")
    url = f"/api/v1/campaigns/{campaign.pk}/pledges/"
    assert _error(api_as(investor).post(url, {"amount": "50.00"}, format="json", **_key())) == (400, "below_minimum_investment")
    assert _error(api_as(investor).post(url, {"amount": "105.00"}, format="json", **_key())) == (400, "not_whole_shares")
    ok = api_as(investor).post(url, {"amount": "1000.00"}, format="json", **_key())
    assert ok.status_code == 201 and ok.json()["shares"] == 100
    # 48 hours before the deadline an equity commitment becomes final
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() + datetime.timedelta(hours=47))
    assert _error(api_as(investor).post(f"/api/v1/pledges/{ok.json()['id']}/cancel/", **_key())) == (
        409,
        "cancellation_window_closed",
    )


def _business_days_between(start: datetime.datetime, end: datetime.datetime) -> int:
    """Mondays to Fridays after `start`'s day up to and including `end`'s, on Shanghai's calendar."""
    first, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    days = (first + datetime.timedelta(days=n) for n in range(1, (last - first).days + 1))
    return sum(1 for day in days if day.weekday() < 5)


@pytest.mark.calendar
def test_material_change_holds_commitments_until_reconfirmed(api_as, fund, calendar_day):
    campaign = live_campaign(kind="equity", target="10000.00", maximum="20000.00")
    sme = campaign.created_by
    investor = UserFactory()
    fund(investor, "5000.00")
    pledge_id = (
        api_as(investor)
        .post(f"/api/v1/campaigns/{campaign.pk}/pledges/", {"amount": "1000.00"}, format="json", **_key())
        .json()["id"]
    )
    response = api_as(sme).post(
        f"/api/v1/campaigns/{campaign.pk}/updates/",
        {"title": "New valuation", "body": "We revised the valuation.", "material_change": True},
        format="json",
    )
    assert response.status_code == 201
    pledge = Pledge.objects.get(pk=pledge_id)
    assert pledge.status == PledgeStatus.ON_HOLD and pledge.reconfirm_by is not None
    # five business days, weekends skipped, counted from the moment of the update (whatever the day)
    posted = pledge.campaign.updates.get().created_at
    assert _business_days_between(posted, pledge.reconfirm_by) == 5
    assert pledge.reconfirm_by.astimezone(SHANGHAI).weekday() < 5
    gap = pledge.reconfirm_by - posted  # whole days: the same time of day
    assert abs(gap - datetime.timedelta(days=round(gap.total_seconds() / 86400))) < datetime.timedelta(seconds=1)
    assert posted.astimezone(SHANGHAI).date() >= calendar_day.date()
    assert api_as(investor).post(f"/api/v1/pledges/{pledge_id}/reconfirm/", **_key()).json()["status"] == "active"


@pytest.mark.calendar
def test_unconfirmed_commitments_are_cancelled_and_refunded(api_as, fund):
    from crowdfunding import services

    campaign = live_campaign(kind="equity", target="10000.00", maximum="20000.00")
    investor = UserFactory()
    fund(investor, "5000.00")
    services.pledge_create(user=investor, campaign_id=campaign.pk, amount="1000.00")
    services.campaign_update_post(
        user=campaign.created_by, campaign_id=campaign.pk, title="Change", body="Changed.", material_change=True
    )
    assert services.pledges_expire_unconfirmed(now=timezone.now() + datetime.timedelta(days=8)) == 1
    assert ledger.wallet_of_user(investor).balance == Decimal("5000.00")
    campaign.refresh_from_db()
    assert campaign.raised_amount == 0 and campaign.investor_count == 0


def test_backers_only_updates(api_as, fund):
    campaign = live_campaign(target="5000.00")
    sme = campaign.created_by
    api_as(sme).post(f"/api/v1/campaigns/{campaign.pk}/updates/", {"title": "Hello all", "body": "Public."}, format="json")
    api_as(sme).post(
        f"/api/v1/campaigns/{campaign.pk}/updates/", {"title": "Backers", "body": "Secret.", "backers_only": True}, format="json"
    )
    backer, stranger = UserFactory(), UserFactory()
    fund(backer, "100.00")
    api_as(backer).post(f"/api/v1/campaigns/{campaign.pk}/pledges/", {"amount": "10.00"}, format="json", **_key())
    assert [u["title"] for u in api_as(stranger).get(f"/api/v1/campaigns/{campaign.pk}/updates/").json()] == ["Hello all"]
    assert {u["title"] for u in api_as(backer).get(f"/api/v1/campaigns/{campaign.pk}/updates/").json()} == {
        "Hello all",
        "Backers",
    }
    assert _error(
        api_as(stranger).post(f"/api/v1/campaigns/{campaign.pk}/updates/", {"title": "x", "body": "y"}, format="json")
    ) == (404, "not_found")


def test_list_filters_and_sorting(api, fund):
    tea = live_campaign(target="1000.00", title="Green tea", days=5)
    gear = live_campaign(target="1000.00", title="Gear box", days=40, category="manufacturing")
    equity = live_campaign(kind="equity", target="1000.00", title="Shares in a bakery", days=30)
    investor = UserFactory()
    fund(investor, "2000.00")
    from crowdfunding import services

    services.pledge_create(user=investor, campaign_id=gear.pk, amount="900.00")
    ids = lambda **params: [c["id"] for c in api.get("/api/v1/campaigns/", params).json()["results"]]  # noqa: E731
    assert ids(kind="equity") == [equity.pk]
    assert ids(q="tea") == [tea.pk]
    assert ids(category="manufacturing") == [gear.pk]
    assert ids(sort="ending_soon") == [tea.pk, equity.pk, gear.pk]
    assert ids(sort="most_funded")[0] == gear.pk
    # the API reads its filters as documented: an unknown sort is refused, naming it (the web page falls back)
    refused = api.get("/api/v1/campaigns/", {"sort": "nonsense"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_filter"
    assert refused.json()["error"]["fields"] == {"sort": [refused.json()["error"]["message"]]}
    assert len(ids(sort="newest", page_size="2")) == 2
    assert api.get("/api/v1/campaigns/", {"page": "abc"}).status_code == 404


def test_list_queries_do_not_grow_with_campaigns(api):
    live_campaign(target="1000.00", tiers=[{"title": "T", "minimum_amount": "1.00", "estimated_delivery": "2027-01"}])
    with CaptureQueriesContext(connection) as one:
        assert api.get("/api/v1/campaigns/").status_code == 200
    for i in range(49):
        live_campaign(
            target="1000.00",
            kind="equity" if i % 2 else "reward",
            tiers=[{"title": "T", "minimum_amount": "1.00", "estimated_delivery": "2027-01"}] if i % 2 == 0 else None,
        )
    with CaptureQueriesContext(connection) as fifty:
        response = api.get("/api/v1/campaigns/", {"page_size": "50"})
    assert response.json()["count"] == 50
    assert len(fifty) == len(one)


def test_an_organisations_viewer_cannot_cancel_its_pledges(api_as, fund):
    from platform_core.accounts.models import MemberRole
    from tests.factories import OrganisationFactory

    campaign = live_campaign(target="5000.00")
    fund_org = OrganisationFactory(kind="institutional_investor")
    owner = SmeUserFactory(organisation=fund_org, role="institutional_investor")
    viewer = SmeUserFactory(organisation=fund_org, role="institutional_investor", member_role=MemberRole.VIEWER)
    fund(owner, "1000.00")
    pledge_id = (
        api_as(owner)
        .post(f"/api/v1/campaigns/{campaign.pk}/pledges/", {"amount": "300.00"}, format="json", **_key())
        .json()["id"]
    )
    assert [p["id"] for p in api_as(viewer).get("/api/v1/pledges/").json()["results"]] == [pledge_id]  # sees it
    assert _error(api_as(viewer).post(f"/api/v1/pledges/{pledge_id}/cancel/", **_key())) == (403, "permission_denied")
    assert Pledge.objects.get(pk=pledge_id).status == PledgeStatus.ACTIVE
    assert ledger.wallet_for(fund_org).balance == Decimal("700.00")


def test_reconfirming_after_the_campaign_closed_is_refused(api_as, fund):
    from crowdfunding import services

    campaign = live_campaign(kind="equity", target="1000.00", maximum="20000.00")
    investor = UserFactory()
    fund(investor, "5000.00")
    pledge = services.pledge_create(user=investor, campaign_id=campaign.pk, amount="1000.00")
    services.campaign_update_post(
        user=campaign.created_by, campaign_id=campaign.pk, title="Change", body="Changed.", material_change=True
    )
    Campaign.objects.filter(pk=campaign.pk).update(deadline=timezone.now() - datetime.timedelta(seconds=1))
    services.campaign_close(campaign_id=campaign.pk)
    assert _error(api_as(investor).post(f"/api/v1/pledges/{pledge.pk}/reconfirm/", **_key())) == (409, "campaign_closed")
    services.campaign_settle(campaign_id=campaign.pk)
    assert Pledge.objects.get(pk=pledge.pk).status == PledgeStatus.REFUNDED
    assert ledger.wallet_of_user(investor).balance == Decimal("5000.00")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"deadline": "9999-12-31T23:00:00", "time_zone": "America/New_York"}, "invalid_deadline"),
        ({"tiers": [{"title": 5, "minimum_amount": "1.00", "estimated_delivery": "2027-01"}]}, "invalid_tier"),
        (
            {"tiers": [{"title": "T", "minimum_amount": "1.00", "quantity_limit": 10**10, "estimated_delivery": "2027-01"}]},
            "invalid_tier",
        ),
        ({"tiers": [{"title": "T", "minimum_amount": "1.00", "estimated_delivery": 202701}]}, "invalid_tier"),
        ({"tiers": "not a list"}, "invalid"),
    ],
)
def test_malformed_input_is_a_4xx_never_a_500(api_as, overrides, code):
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _campaign_body(**overrides), format="json")
    assert _error(response) == (400, code)
    assert Campaign.objects.count() == 0
