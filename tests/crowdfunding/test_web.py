"""Server-rendered crowdfunding pages: the SME's campaign form, browsing, the campaign page with its
pledge form, My pledges, the SME's dashboard, backers and their CSV export."""

import datetime
import html
import io
import re
import zoneinfo
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from crowdfunding import services
from crowdfunding.models import Campaign, CampaignStatus, CampaignUpdate, Pledge, PledgeStatus, RewardTier
from platform_core.ledger import services as ledger
from tests.factories import OrganisationFactory, SmeUserFactory, StaffUserFactory, UserFactory

from .factories import force_deadline, live_campaign

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
TIERS = [
    {"title": "A tin of tea", "minimum_amount": "50.00", "quantity_limit": 100, "estimated_delivery": "2027-03"},
    {"title": "A tasting day", "minimum_amount": "500.00", "quantity_limit": 1, "estimated_delivery": "2027-04"},
]


# --- helpers ----------------------------------------------------------------------------------


def _errors(response, name):
    """The error messages rendered beside the field `name` ("__all__": at the top of the form)."""
    page = response.content.decode()
    return [html.unescape(e) for e in re.findall(rf'class="error" data-for="{re.escape(name)}">(.*?)</', page, flags=re.S)]


def _hidden_key(response):
    match = re.search(r'name="idempotency_key" value="([^"]+)"', response.content.decode())
    assert match, "no hidden idempotency key on the page"
    return match.group(1)


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response):
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def _pledge_row(response, pledge):
    """The row of `pledge` on My pledges."""
    return re.search(rf'<tr data-pledge="{pledge.pk}">(.*?)</tr>', response.content.decode(), flags=re.S).group(1)


def _claimed():
    return list(RewardTier.objects.order_by("pk").values_list("claimed", flat=True))


def _png(name="cover.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 18), (11, 92, 173)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _campaign_post(deadline_local: str, tiers=TIERS, **overrides) -> dict:
    data = {
        "kind": "reward",
        "title": "Green tea for everyone",
        "summary": "Organic tea from Anhui.",
        "story": "Our family grows tea.",
        "category": "food",
        "target_amount": "20000.00",
        "maximum_amount": "",
        "funding_model": "all_or_nothing",
        "currency": "CNY",
        "time_zone": "Asia/Shanghai",
        "deadline": deadline_local,
        "tiers-TOTAL_FORMS": str(len(tiers)),
        "tiers-INITIAL_FORMS": "0",
        "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "1000",
    }
    for i, tier in enumerate(tiers):
        for name, value in tier.items():
            data[f"tiers-{i}-{name}"] = "" if value is None else str(value)
    data.update(overrides)
    return data


def _local_deadline(days=20, hour=18) -> datetime.datetime:
    """A wall-clock time in Shanghai `days` from now (naive, as typed in the form)."""
    day = (timezone.now().astimezone(SHANGHAI) + datetime.timedelta(days=days)).date()
    return datetime.datetime(day.year, day.month, day.day, hour, 0)


def _reward_campaign(**kwargs):
    return live_campaign(tiers=[dict(t) for t in TIERS], **kwargs)


def _pledge_form(client, campaign, amount, tier=None):
    key = _hidden_key(client.get(f"/campaigns/{campaign.pk}/"))
    data = {"amount": amount, "idempotency_key": key}
    if tier is not None:
        data["tier"] = str(tier.pk)
    return data


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# --- the SME: create, preview, submit, approval -----------------------------------------------


def test_sme_creates_a_campaign_with_two_tiers_previews_and_submits_it(client, media):
    sme = SmeUserFactory()
    operator = StaffUserFactory(role="operator")
    client.force_login(sme)
    assert client.get("/campaigns/new/").status_code == 200
    deadline = _local_deadline()

    response = client.post("/campaigns/new/", {**_campaign_post(deadline.strftime("%Y-%m-%dT%H:%M")), "cover_image": _png()})

    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.pk}/preview/"
    assert campaign.status == CampaignStatus.DRAFT and campaign.organisation == sme.organisation
    assert campaign.target_amount == Decimal("20000.00")
    # typed 18:00 in Shanghai: the instant is 10:00 UTC
    assert campaign.deadline == deadline.replace(tzinfo=SHANGHAI)
    assert campaign.deadline.astimezone(datetime.UTC).hour == 10
    assert campaign.cover_image.name.startswith("campaign_covers/")
    assert (media / campaign.cover_image.name).exists()
    assert [(t.title, t.minimum_amount, t.quantity_limit, t.estimated_delivery) for t in campaign.tiers.all()] == [
        ("A tin of tea", Decimal("50.00"), 100, datetime.date(2027, 3, 1)),
        ("A tasting day", Decimal("500.00"), 1, datetime.date(2027, 4, 1)),
    ]

    preview = client.get(response["Location"])
    assert preview.status_code == 200
    text = _text(preview)
    assert "Preview." in text and "Green tea for everyone" in text and "Our family grows tea." in text
    assert "A tin of tea" in text and "100 left of 100" in text and "A tasting day" in text
    assert f"{deadline:%Y-%m-%d} 18:00 (Asia/Shanghai)" in text
    assert f'<time datetime="{deadline:%Y-%m-%d}T10:00:00Z" data-local>' in preview.content.decode()
    assert campaign.cover_image.url in preview.content.decode()

    submitted = client.post(f"/campaigns/{campaign.pk}/submit/")
    assert submitted.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.IN_REVIEW

    services.campaign_approve(actor=operator, campaign_id=campaign.pk)
    client.logout()
    listing = client.get("/campaigns/")
    assert "Green tea for everyone" in _text(listing)
    page = client.get(f"/campaigns/{campaign.pk}/")
    assert page.status_code == 200
    assert "Log in to pledge" in _text(page)


def test_a_service_error_lands_beside_its_field_and_nothing_is_saved(client):
    client.force_login(SmeUserFactory())
    too_late = _local_deadline(days=90)  # reward campaigns run at most 60 days

    response = client.post("/campaigns/new/", _campaign_post(too_late.strftime("%Y-%m-%dT%H:%M")))

    assert response.status_code == 400
    assert _errors(response, "deadline") == [response.context["form"].errors["deadline"][0]]
    assert _errors(response, "deadline")[0].startswith("A reward campaign runs 1 to 60 days; this deadline is ")
    assert _errors(response, "title") == []
    assert Campaign.objects.count() == 0


def test_a_tier_error_is_shown_above_the_tiers(client):
    client.force_login(SmeUserFactory())
    tiers = [dict(TIERS[0]), {**TIERS[1], "quantity_limit": 0}]

    response = client.post("/campaigns/new/", _campaign_post(_local_deadline().strftime("%Y-%m-%dT%H:%M"), tiers=tiers))

    assert response.status_code == 400
    assert _errors(response, "tiers") == ["A tier's quantity limit is 1 to 1,000,000 (leave it empty for unlimited)."]
    assert Campaign.objects.count() == 0


def test_equity_offering_needs_its_terms(client):
    client.force_login(SmeUserFactory())
    data = _campaign_post(_local_deadline(days=30).strftime("%Y-%m-%dT%H:%M"), tiers=[], kind="equity", maximum_amount="40000.00")

    missing = client.post("/campaigns/new/", data)
    assert missing.status_code == 400
    assert _errors(missing, "__all__") == ["An equity offering needs its terms."]

    terms = {"price_per_share": "10.00", "minimum_investment": "100.00", "pre_money_valuation": "5000000"}
    bad_price = client.post("/campaigns/new/", {**data, **terms, "price_per_share": "ten"})
    assert bad_price.status_code == 400
    assert _errors(bad_price, "price_per_share") == ['Enter a valid amount, e.g. "100.00".']
    assert Campaign.objects.count() == 0

    ok = client.post("/campaigns/new/", {**data, **terms})
    assert ok.status_code == 302
    campaign = Campaign.objects.get()
    assert campaign.is_equity and campaign.equity_terms.price_per_share == Decimal("10.00")
    assert campaign.maximum_amount == Decimal("40000.00")


def test_sme_edits_a_draft_and_its_tiers_are_replaced(client):
    sme = SmeUserFactory()
    deadline = _local_deadline()
    campaign = services.campaign_create(
        user=sme,
        kind="reward",
        title="Tea",
        summary="Tea.",
        category="food",
        target_amount="5000.00",
        deadline=deadline,
        tiers=[dict(t) for t in TIERS],
    )
    client.force_login(sme)
    form_page = client.get(f"/campaigns/{campaign.pk}/edit/")
    assert form_page.status_code == 200
    assert f'value="{deadline:%Y-%m-%dT%H:%M}"' in form_page.content.decode()  # shown in the campaign's zone
    assert 'value="A tasting day"' in form_page.content.decode()

    two_tins = {**TIERS[0], "title": "Two tins", "minimum_amount": "90.00"}
    data = _campaign_post(deadline.strftime("%Y-%m-%dT%H:%M"), tiers=[two_tins])
    del data["kind"]
    response = client.post(f"/campaigns/{campaign.pk}/edit/", data)

    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.title == "Green tea for everyone"
    assert campaign.deadline == deadline.replace(tzinfo=SHANGHAI)
    assert list(campaign.tiers.values_list("title", "minimum_amount")) == [("Two tins", Decimal("90.00"))]


def test_rejected_campaign_shows_the_reason_and_goes_back_to_draft(client):
    sme = SmeUserFactory()
    operator = StaffUserFactory(role="operator")
    campaign = services.campaign_create(
        user=sme,
        kind="reward",
        title="Tea",
        summary="Tea.",
        category="food",
        target_amount="5000.00",
        deadline=_local_deadline(),
    )
    services.campaign_submit(user=sme, campaign_id=campaign.pk)
    services.campaign_reject(actor=operator, campaign_id=campaign.pk, reason="Add a delivery plan.")
    client.force_login(sme)

    page = client.get(f"/campaigns/{campaign.pk}/")
    assert "Why it was rejected: Add a delivery plan." in _text(page)
    assert "Back to draft" in _text(page)

    response = client.post(f"/campaigns/{campaign.pk}/redraft/")
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/edit/"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_another_sme_cannot_see_or_change_a_draft(client):
    owner = SmeUserFactory()
    campaign = services.campaign_create(
        user=owner,
        kind="reward",
        title="Secret tea",
        summary="Tea.",
        category="food",
        target_amount="5000.00",
        deadline=_local_deadline(),
        tiers=[dict(TIERS[0])],
    )
    client.force_login(SmeUserFactory())

    for path in ("", "preview/", "edit/", "backers/", "backers.csv"):
        assert client.get(f"/campaigns/{campaign.pk}/{path}").status_code == 404, path
    takeover = _campaign_post(_local_deadline().strftime("%Y-%m-%dT%H:%M"), title="Mine now")
    edit = client.post(f"/campaigns/{campaign.pk}/edit/", takeover)
    submit = client.post(f"/campaigns/{campaign.pk}/submit/")

    assert edit.status_code == 404 and submit.status_code == 404
    campaign.refresh_from_db()
    assert campaign.title == "Secret tea" and campaign.status == CampaignStatus.DRAFT
    assert "Secret tea" not in _text(client.get("/campaigns/"))
    assert "Secret tea" not in _text(client.get("/campaigns/mine/"))
    client.logout()
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404


def test_sme_cancels_a_live_campaign_after_confirming(client):
    campaign = _reward_campaign()
    sme = campaign.created_by
    client.force_login(sme)
    assert "Cancel campaign" in _text(client.get(f"/campaigns/{campaign.pk}/"))

    confirm = client.get(f"/campaigns/{campaign.pk}/cancel/")
    assert confirm.status_code == 200 and "This cannot be undone." in _text(confirm)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.LIVE  # looking at the confirmation changes nothing

    response = client.post(f"/campaigns/{campaign.pk}/cancel/", {"reason": "Supplier went bust."})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED and campaign.outcome == "cancelled"


def test_backers_only_updates_are_shown_to_backers_only(client, fund):
    campaign = _reward_campaign()
    backer, stranger = UserFactory(), UserFactory()
    fund(backer, "100.00")
    services.pledge_create(user=backer, campaign_id=campaign.pk, amount="50.00")
    client.force_login(campaign.created_by)

    update = {"title": "Harvest done", "body": "Picked and dried.", "backers_only": "on"}
    response = client.post(f"/campaigns/{campaign.pk}/updates/", update)

    assert response.status_code == 302
    assert CampaignUpdate.objects.get().backers_only is True
    client.force_login(backer)
    assert "Harvest done" in _text(client.get(f"/campaigns/{campaign.pk}/"))
    client.force_login(stranger)
    assert "Harvest done" not in _text(client.get(f"/campaigns/{campaign.pk}/"))
    client.logout()
    assert "Harvest done" not in _text(client.get(f"/campaigns/{campaign.pk}/"))


def test_an_empty_update_shows_the_error_beside_the_field(client):
    campaign = _reward_campaign()
    client.force_login(campaign.created_by)

    response = client.post(f"/campaigns/{campaign.pk}/updates/", {"title": "Harvest", "body": ""})

    assert response.status_code == 400
    assert _errors(response, "body") == ["This field is required."]
    assert CampaignUpdate.objects.count() == 0


# --- the investor: pledge, My pledges, cancel --------------------------------------------------


def test_investor_pledges_sees_it_in_my_pledges_and_cancels_it(client, fund):
    campaign = _reward_campaign()
    tin = campaign.tiers.get(title="A tin of tea")
    investor = UserFactory()
    wallet = fund(investor, "1000.00")
    client.force_login(investor)
    page = client.get(f"/campaigns/{campaign.pk}/")
    assert "A tin of tea: 50.00 CNY or more · 100 left" in _text(page)

    response = client.post(f"/campaigns/{campaign.pk}/pledge/", _pledge_form(client, campaign, "80.00", tin))

    assert response.status_code == 302 and _receipt_path(response) == "/campaigns/pledges/"
    assert _messages(response) == ["Your pledge of 80.00 CNY to Green tea for everyone is recorded."]
    pledge = Pledge.objects.get()
    assert (pledge.backer, pledge.tier, pledge.amount, pledge.status) == (investor, tin, Decimal("80.00"), PledgeStatus.ACTIVE)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("920.00")
    my_pledges = client.get("/campaigns/pledges/")
    row = _pledge_row(my_pledges, pledge)
    assert "Green tea for everyone" in row and "A tin of tea" in row and "80.00 CNY" in row and "Active" in row
    assert f'action="/campaigns/pledges/{pledge.pk}/cancel/"' in row

    cancelled = client.post(f"/campaigns/pledges/{pledge.pk}/cancel/")

    assert cancelled.status_code == 302
    pledge.refresh_from_db()
    wallet.refresh_from_db()
    campaign.refresh_from_db()
    tin.refresh_from_db()
    assert pledge.status == PledgeStatus.CANCELLED
    assert wallet.balance == Decimal("1000.00")
    assert (campaign.raised_amount, campaign.pledge_count, tin.claimed) == (Decimal("0.00"), 0, 0)
    row = _pledge_row(client.get("/campaigns/pledges/"), pledge)
    assert "Cancelled and refunded" in row and "/cancel/" not in row


def _sold_out(campaign):
    tier = campaign.tiers.get(title="A tasting day")
    first = UserFactory()
    ledger.deposit_create(user=first, amount="500.00")
    services.pledge_create(user=first, campaign_id=campaign.pk, amount="500.00", tier_id=tier.pk)
    return tier


@pytest.mark.parametrize(
    ("amount", "tier_title", "field", "message"),
    [
        ("abc", None, "amount", 'Enter a valid amount, e.g. "100.00".'),
        ("-5", None, "amount", "The amount must be greater than zero."),
        ("10.001", None, "amount", "CNY amounts have at most 2 decimal places."),
        ("20.00", "A tin of tea", "amount", "This reward needs a pledge of at least 50.00."),
        ("600.00", "A tasting day", "tier", 'The reward "A tasting day" is sold out.'),
        ("5000.00", None, "amount", "Insufficient funds: Wallet of {investor} holds 1000.00 CNY."),
    ],
)
def test_a_refused_pledge_shows_the_error_beside_the_field_and_changes_nothing(client, fund, amount, tier_title, field, message):
    campaign = _reward_campaign()
    _sold_out(campaign)
    investor = UserFactory()
    wallet = fund(investor, "1000.00")
    campaign.refresh_from_db()
    before = (campaign.raised_amount, campaign.pledge_count, _claimed())
    client.force_login(investor)
    tier = campaign.tiers.get(title=tier_title) if tier_title else None

    form = _pledge_form(client, campaign, amount, tier)

    response = client.post(f"/campaigns/{campaign.pk}/pledge/", form)

    assert response.status_code == 400
    assert _errors(response, field) == [message.format(investor=investor)]
    assert _errors(response, "__all__") == []
    wallet.refresh_from_db()
    campaign.refresh_from_db()
    assert wallet.balance == Decimal("1000.00")
    assert Pledge.objects.filter(backer=investor).count() == 0
    assert (campaign.raised_amount, campaign.pledge_count, _claimed()) == before
    # the refusal is kept under the old key: the corrected form carries a new one
    assert _hidden_key(response) != form["idempotency_key"]
    corrected = client.post(f"/campaigns/{campaign.pk}/pledge/", {"amount": "50.00", "idempotency_key": _hidden_key(response)})
    assert corrected.status_code == 302
    assert Pledge.objects.filter(backer=investor).count() == 1


def test_a_malformed_pledge_form_is_refused_beside_the_field(client, fund):
    campaign = _reward_campaign()
    elsewhere = _reward_campaign().tiers.first()
    investor = UserFactory()
    fund(investor, "1000.00")
    client.force_login(investor)

    for tier in ("abc", str(elsewhere.pk)):
        response = client.post(f"/campaigns/{campaign.pk}/pledge/", {"amount": "100.00", "tier": tier, "idempotency_key": "k-2"})
        assert response.status_code == 400
        assert _errors(response, "tier") == [f"Select a valid choice. {tier} is not one of the available choices."]
    no_key = client.post(f"/campaigns/{campaign.pk}/pledge/", {"amount": "100.00"})
    assert no_key.status_code == 400
    assert _errors(no_key, "__all__") == [
        "The form is incomplete (idempotency_key: This field is required.); reload the page and try again."
    ]
    assert Pledge.objects.count() == 0


def test_a_sold_out_tier_is_marked_and_its_radio_disabled(client):
    campaign = _reward_campaign()
    tier = _sold_out(campaign)
    client.force_login(UserFactory())

    page = client.get(f"/campaigns/{campaign.pk}/")

    text = _text(page)
    assert "A tasting day Sold out" in text
    assert "A tasting day: 500.00 CNY or more · Sold out" in text
    assert re.search(rf'<input type="radio" name="tier" value="{tier.pk}"[^>]*disabled', page.content.decode())


@pytest.mark.parametrize("case", ["kyc", "deadline", "own_campaign"])
def test_a_refusal_about_the_backer_or_the_campaign_is_shown_at_the_top(client, fund, case):
    campaign = _reward_campaign()
    if case == "kyc":
        backer = UserFactory(kyc_status="pending")
        message = "Your identity is not verified (KYC status: pending); money cannot move yet."
    elif case == "own_campaign":
        backer = SmeUserFactory(organisation=campaign.organisation)
        message = "You cannot pledge to your own organisation's campaign."
    else:
        backer = UserFactory()
        message = "The deadline has passed; the campaign takes no more pledges."
    if case != "kyc":
        fund(backer, "1000.00")
    client.force_login(backer)
    data = {"amount": "100.00", "idempotency_key": "k-1"}
    if case == "deadline":
        force_deadline(campaign, timezone.now() - datetime.timedelta(seconds=1))

    response = client.post(f"/campaigns/{campaign.pk}/pledge/", data)

    assert response.status_code == 400
    assert _errors(response, "__all__") == [message]
    assert Pledge.objects.count() == 0
    campaign.refresh_from_db()
    assert campaign.raised_amount == Decimal("0.00")


def test_a_double_submitted_pledge_is_recorded_once(client, fund):
    campaign = _reward_campaign()
    investor = UserFactory()
    wallet = fund(investor, "1000.00")
    client.force_login(investor)
    form = _pledge_form(client, campaign, "100.00")

    first = client.post(f"/campaigns/{campaign.pk}/pledge/", form, follow=True)
    second = client.post(f"/campaigns/{campaign.pk}/pledge/", form)

    assert _receipt_chain(first) == [("/campaigns/pledges/", 302)] and second.status_code == 302
    assert _messages(second) == [
        "Your pledge of 100.00 CNY to Green tea for everyone is recorded (this form was already submitted; it was recorded once)."
    ]
    assert Pledge.objects.filter(backer=investor).count() == 1
    wallet.refresh_from_db()
    campaign.refresh_from_db()
    assert wallet.balance == Decimal("900.00")
    assert (campaign.raised_amount, campaign.pledge_count) == (Decimal("100.00"), 1)


def test_anonymous_visitors_are_asked_to_log_in_to_pledge(client):
    campaign = _reward_campaign()

    page = client.get(f"/campaigns/{campaign.pk}/")

    assert "Log in to pledge" in _text(page)
    assert 'name="idempotency_key"' not in page.content.decode()
    post = client.post(f"/campaigns/{campaign.pk}/pledge/", {"amount": "100.00", "idempotency_key": "k"})
    assert post.status_code == 302 and post["Location"].startswith("/login/")
    assert Pledge.objects.count() == 0


def test_another_investors_pledge_cannot_be_cancelled(client, fund):
    campaign = _reward_campaign()
    owner = UserFactory()
    fund(owner, "100.00")
    pledge = services.pledge_create(user=owner, campaign_id=campaign.pk, amount="100.00")
    client.force_login(UserFactory())

    assert client.post(f"/campaigns/pledges/{pledge.pk}/cancel/").status_code == 404
    assert client.post(f"/campaigns/pledges/{pledge.pk}/reconfirm/").status_code == 404
    assert str(pledge.pk) not in re.findall(r'data-pledge="(\d+)"', client.get("/campaigns/pledges/").content.decode())
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.ACTIVE


def test_an_on_hold_equity_commitment_is_reconfirmed_from_my_pledges(client, fund):
    campaign = live_campaign(kind="equity", target="10000.00")
    investor = UserFactory()
    fund(investor, "1000.00")
    client.force_login(investor)
    invested = client.post(f"/campaigns/{campaign.pk}/pledge/", _pledge_form(client, campaign, "200.00"))
    assert invested.status_code == 302
    pledge = Pledge.objects.get()
    assert pledge.shares == 20
    services.campaign_update_post(
        user=campaign.created_by, campaign_id=campaign.pk, title="New CFO", body="A change.", material_change=True
    )

    row = _pledge_row(client.get("/campaigns/pledges/"), pledge)
    assert "On hold: reconfirm the changed offering" in html.unescape(row)
    assert f'action="/campaigns/pledges/{pledge.pk}/reconfirm/"' in row

    response = client.post(f"/campaigns/pledges/{pledge.pk}/reconfirm/")

    assert response.status_code == 302
    pledge.refresh_from_db()
    assert pledge.status == PledgeStatus.ACTIVE


# --- browsing ---------------------------------------------------------------------------------


def _browse_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/campaigns/?sort=ending_soon")
    assert response.status_code == 200
    return len(queries), response.content.decode().count('class="card campaign-card"')


def test_the_browse_page_runs_the_same_queries_for_1_and_50_campaigns(client):
    live_campaign(tiers=[dict(TIERS[0])])
    client.force_login(UserFactory())
    one, cards = _browse_queries(client)
    assert cards == 1

    for n in range(49):
        live_campaign(kind="equity" if n % 3 == 0 else "reward", title=f"Campaign {n}")
    fifty, cards = _browse_queries(client)

    assert cards == 12
    assert fifty == one


def test_browse_filters_sort_and_paginate(client):
    tea = live_campaign(title="Green tea for everyone", days=10)
    chip = live_campaign(kind="equity", title="Chip foundry", days=40)
    for n in range(12):
        live_campaign(title=f"Filler {n}", days=50)

    assert _text(client.get("/campaigns/?q=foundry")).count("Chip foundry") == 1
    assert "Green tea" not in _text(client.get("/campaigns/?kind=equity"))
    ending_soon = client.get("/campaigns/?sort=ending_soon").content.decode()
    assert ending_soon.index(f"/campaigns/{tea.pk}/") < ending_soon.index(f"/campaigns/{chip.pk}/")
    first_page = client.get("/campaigns/")
    assert "14 campaigns" in _text(first_page) and "Page 1 of 2" in _text(first_page)
    second_page = client.get("/campaigns/?page=2")
    assert second_page.content.decode().count('class="card campaign-card"') == 2


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=999",
        "sort=bogus",
        "kind=zzz",
        "status=nonsense",
        "category=1%27%3B--",
        "q=" + "x" * 300,
        "page=-1&sort=",
    ],
)
def test_bad_filters_never_break_the_browse_page(client, query):
    live_campaign()
    response = client.get(f"/campaigns/?{query}")
    assert response.status_code == 200
    assert response.content.decode().count('class="card campaign-card"') in (0, 1)


def test_a_card_shows_progress_time_left_and_the_deadline_in_both_zones(client, fund):
    campaign = live_campaign(target="1000.00", time_zone="Asia/Shanghai", days=5)
    backer = UserFactory()
    fund(backer, "500.00")
    services.pledge_create(user=backer, campaign_id=campaign.pk, amount="250.00")

    page = client.get("/campaigns/")

    text, body = _text(page), page.content.decode()
    assert "250.00 of 1,000.00 CNY 25%" in text
    assert 'aria-valuenow="25"' in body and 'style="width: 25%"' in body
    assert re.search(r"4 days, 2\d hours left|5 days left", text)
    local = campaign.deadline.astimezone(SHANGHAI)
    assert f"{local:%Y-%m-%d %H:%M} (Asia/Shanghai)" in text
    assert f'<time datetime="{campaign.deadline.astimezone(datetime.UTC):%Y-%m-%dT%H:%M:%S}Z" data-local>' in body
    assert "Intl.DateTimeFormat" in body


# --- the SME's dashboard, backers, CSV --------------------------------------------------------


def test_sme_dashboard_lists_its_campaigns_with_raised_and_backers(client, fund):
    campaign = _reward_campaign()
    other = live_campaign(title="Someone else's")
    backer = UserFactory()
    fund(backer, "300.00")
    services.pledge_create(user=backer, campaign_id=campaign.pk, amount="300.00")
    client.force_login(campaign.created_by)

    page = client.get("/campaigns/mine/")

    row = re.search(rf'<tr data-campaign="{campaign.pk}">(.*?)</tr>', page.content.decode(), flags=re.S).group(1)
    assert "Live" in row and "300.00 / 10,000.00 CNY" in row and f"/campaigns/{campaign.pk}/backers.csv" in row
    assert f'data-campaign="{other.pk}"' not in page.content.decode()


def test_backers_csv_export(client, fund):
    campaign = _reward_campaign()
    tin = campaign.tiers.get(title="A tin of tea")
    alice, bob = UserFactory(username="alice"), UserFactory(username="-bob")
    institution = OrganisationFactory(kind="institutional_investor", legal_name="=Fund One")
    carol = SmeUserFactory(username="carol", role="institutional_investor", organisation=institution)
    for user in (alice, bob, carol):
        fund(user, "1000.00")
    p1 = services.pledge_create(user=alice, campaign_id=campaign.pk, amount="60.00", tier_id=tin.pk)
    p2 = services.pledge_create(user=bob, campaign_id=campaign.pk, amount="25.50")
    p3 = services.pledge_create(user=carol, campaign_id=campaign.pk, amount="400.00")
    services.pledge_cancel(user=bob, pledge_id=p2.pk)
    client.force_login(campaign.created_by)

    response = client.get(f"/campaigns/{campaign.pk}/backers.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="campaign-{campaign.pk}-backers.csv"'

    def when(p):
        return p.created_at.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert b"".join(response.streaming_content).decode().splitlines() == [
        "pledge_id,date_utc,backer,organisation,tier,amount,currency,status",
        f"{p1.pk},{when(p1)},alice,,A tin of tea,60.00,CNY,active",
        f"{p2.pk},{when(p2)},'-bob,,,25.50,CNY,cancelled",
        f"{p3.pk},{when(p3)},carol,'=Fund One,,400.00,CNY,active",
    ]
    backers_page = client.get(f"/campaigns/{campaign.pk}/backers/")
    assert backers_page.status_code == 200 and "alice" in _text(backers_page) and "A tin of tea" in _text(backers_page)

    client.force_login(SmeUserFactory())
    assert client.get(f"/campaigns/{campaign.pk}/backers.csv").status_code == 404
    assert client.get(f"/campaigns/{campaign.pk}/backers/").status_code == 404
    client.force_login(alice)
    assert client.get(f"/campaigns/{campaign.pk}/backers.csv").status_code == 404


def test_navigation_links_by_role(client):
    assert "Campaigns" in _text(client.get("/"))
    client.force_login(UserFactory())
    investor_nav = _text(client.get("/"))
    assert "My pledges" in investor_nav and "My campaigns" not in investor_nav
    client.force_login(SmeUserFactory())
    sme_nav = _text(client.get("/"))
    assert "My campaigns" in sme_nav and "My pledges" not in sme_nav


def test_a_settled_campaign_page_says_how_it_ended(client, fund):
    import datetime as dt

    from django.utils import timezone as tz

    from crowdfunding import services as cf
    from crowdfunding.models import Campaign as C

    campaign = live_campaign(target="100.00")
    backer = UserFactory()
    fund(backer, "500.00")
    cf.pledge_create(user=backer, campaign_id=campaign.pk, amount="200.00")
    C.objects.filter(pk=campaign.pk).update(deadline=tz.now() - dt.timedelta(seconds=1))
    cf.campaign_close(campaign_id=campaign.pk)
    cf.campaign_settle(campaign_id=campaign.pk)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'data-outcome="succeeded"' in page and "190.00 CNY paid to the SME" in page and "Ended" in page


def _receipt_path(response):
    """Where a money form went: its receipt address (the page's path, with the form's key as receipt)."""
    path, _, query = response["Location"].partition("?")
    assert query.startswith("receipt="), response["Location"]
    return path


def _receipt_chain(response):
    assert all("?receipt=" in url for url, _ in response.redirect_chain), response.redirect_chain
    return [(url.partition("?")[0], status) for url, status in response.redirect_chain]
