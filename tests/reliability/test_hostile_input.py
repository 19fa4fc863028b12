"""Input that answered 500 before: each class of it is refused in one place, with a stable code."""

import io
import json
import struct
import uuid
import zlib

import pytest

from crowdfunding.models import Campaign
from p2p.models import Loan
from tests.factories import SmeUserFactory, StaffUserFactory, UserFactory

from ..crowdfunding.factories import live_campaign
from ..crowdfunding.test_api import _campaign_body

pytestmark = pytest.mark.django_db

HOSTILE_TEXT = ["%00", "a%00b", "%01", "%7F", "%C2%85"]  # NUL, other control characters (C0, DEL, C1)


@pytest.mark.parametrize("raw", HOSTILE_TEXT)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/campaigns/?status={}",
        "/api/v1/campaigns/?q={}",
        "/api/v1/campaigns/?kind={}&category={}",
        "/api/v1/loans/?status={}",
        "/api/v1/loans/?grade={}",
        "/api/v1/campaigns/?{}=1",
    ],
)
def test_control_characters_in_an_api_filter_are_a_400_with_a_stable_code(api_as, path, raw):
    live_campaign()
    response = api_as(UserFactory()).get(path.replace("{}", raw))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_query"


@pytest.mark.parametrize(
    "path",
    [
        "/admin/crowdfunding/campaign/?status__exact=%00",
        "/admin/crowdfunding/campaign/?q=%00",
        "/admin/p2p/loan/?status__exact=%00",
        "/admin/p2p/loan/?q=te%00a",
        "/admin/accounts/user/?q=%00",
        "/admin/ledger/transaction/?q=%00",
        "/campaigns/?q=%00",
        "/loans/?status=%00",
    ],
)
def test_control_characters_in_an_admin_filter_or_a_page_search_are_a_400(client, path):
    live_campaign()
    client.force_login(StaffUserFactory(role="operator"))
    response = client.get(path)
    assert response.status_code == 400
    assert "control characters" in response.content.decode()


def test_ordinary_text_in_a_filter_still_filters(api_as):
    live_campaign(title="Dragon Well tea")
    client = api_as(UserFactory())
    assert [c["title"] for c in client.get("/api/v1/campaigns/?q=Dragon%09Well").json()["results"]] == []
    assert [c["title"] for c in client.get("/api/v1/campaigns/?q=%E9%BE%99").json()["results"]] == []
    assert [c["title"] for c in client.get("/api/v1/campaigns/?q=Dragon").json()["results"]] == ["Dragon Well tea"]


@pytest.mark.parametrize("depth", [33, 5_000, 100_000])
@pytest.mark.parametrize("path", ["/api/v1/campaigns/", "/api/v1/wallet/deposits/", "/api/v1/auth/signup/"])
def test_json_nested_too_deep_is_a_400_on_any_post(api_as, path, depth):
    body = '{"a":' * depth + "1" + "}" * depth
    response = api_as(SmeUserFactory()).post(path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "json_too_deep"
    assert Campaign.objects.count() == 0


def test_json_nested_within_the_limit_is_parsed(api_as):
    body = _campaign_body()
    body["story"] = "x"
    response = api_as(SmeUserFactory()).post(
        "/api/v1/campaigns/", json.dumps({**body, "extra": [[[[[[1]]]]]]}), content_type="application/json"
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("zone", ["America", "Asia", "..", "../etc/passwd", "Not/AZone", "UTC\x00", "a" * 300])
def test_a_time_zone_that_is_not_a_zone_is_a_field_error(api_as, zone):
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _campaign_body(time_zone=zone), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] in ("invalid_time_zone", "invalid")
    assert "time_zone" in error["fields"]
    assert Campaign.objects.count() == 0


def test_a_directory_of_the_zone_database_is_refused_on_the_web_form_too(client):
    client.force_login(SmeUserFactory())
    response = client.post("/campaigns/new/", {"kind": "reward", "title": "T", "time_zone": "America"})
    assert response.status_code == 400
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize("value", ["1e400", "1e3", "1.5", "1_000", "１００", "0x10", [], {}, True, "9" * 5000])
def test_non_integers_in_integer_fields_of_tiers_and_terms_are_field_errors(api_as, value):
    sme = SmeUserFactory()
    tiers = _campaign_body()["tiers"]
    tiers[0]["quantity_limit"] = value
    raw = json.dumps(_campaign_body(tiers=tiers)).replace(json.dumps(value), value) if value == "1e400" else None
    client = api_as(sme)
    if raw is not None:  # a JSON number too large for a float: Python parses it as infinity
        response = client.post("/api/v1/campaigns/", raw, content_type="application/json")
    else:
        response = client.post("/api/v1/campaigns/", _campaign_body(tiers=tiers), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_tier"
    assert "tiers" in response.json()["error"]["fields"]

    body = _campaign_body(kind="equity", maximum_amount="30000.00", tiers=[])
    body["equity_terms"] = {
        "price_per_share": "10.00",
        "minimum_investment": "100.00",
        "pre_money_valuation": "1000000.00",
        "max_investors": value,
    }
    raw = json.dumps(body).replace(json.dumps(value), value) if value == "1e400" else None
    if raw is not None:
        response = client.post("/api/v1/campaigns/", raw, content_type="application/json")
    else:
        response = client.post("/api/v1/campaigns/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("invalid_equity_terms", "invalid")
    assert Campaign.objects.count() == 0


@pytest.mark.parametrize("value", ["1e400", "1.5", "1_2", "１２"])
def test_a_loan_term_that_is_not_a_whole_number_is_a_field_error(api_as, value):
    body = {"amount": "50000.00", "term_months": "12", "annual_rate_percent": "10", "method": "equal_installments"}
    body["purpose"] = "Machines"
    raw = json.dumps(body).replace('"12"', value if value == "1e400" else json.dumps(value))
    response = api_as(SmeUserFactory()).post("/api/v1/loans/", raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_term"
    assert "term_months" in response.json()["error"]["fields"]
    assert Loan.objects.count() == 0


def _png_bomb(width: int, height: int) -> bytes:
    """A valid PNG of width x height black pixels (1 bit each), small on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _multipart_campaign(picture: bytes, name: str):
    body = {k: (json.dumps(v) if isinstance(v, list) else v) for k, v in _campaign_body().items()}
    upload = io.BytesIO(picture)
    upload.name = name
    return {**body, "cover_image": upload}


def test_a_cover_image_that_decompresses_to_400_megapixels_is_refused_before_decoding(api_as, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    bomb = _png_bomb(20_000, 20_000)
    assert len(bomb) < 200_000  # small on disk
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _multipart_campaign(bomb, "cover.png"), format="multipart")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "cover_image_too_many_pixels"
    assert "cover_image" in response.json()["error"]["fields"]
    assert Campaign.objects.count() == 0
    assert list(tmp_path.rglob("*")) == []


def test_a_cover_image_is_typed_by_its_bytes_and_stored_under_a_generated_name(api_as, settings, tmp_path):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    picture = io.BytesIO()
    Image.new("RGB", (64, 40), "green").save(picture, "PNG")
    client = api_as(SmeUserFactory())
    response = client.post(
        "/api/v1/campaigns/", _multipart_campaign(picture.getvalue(), "../../evil.php.jpg"), format="multipart"
    )
    assert response.status_code == 201, response.json()
    stored = Campaign.objects.get().cover_image.name
    assert stored.startswith("campaign_covers/") and stored.endswith(".png") and "evil" not in stored
    assert len(stored.rsplit("/", 1)[1]) == len(uuid.uuid4().hex) + len(".png")
    too_big = _multipart_campaign(b"\x89PNG" + b"\x00" * (settings.CROWDFUNDING["COVER_IMAGE_MAX_BYTES"] + 1), "c.png")
    assert client.post("/api/v1/campaigns/", too_big, format="multipart").json()["error"]["code"] == "cover_image_too_large"
    truncated = _multipart_campaign(picture.getvalue()[:60], "c.png")
    assert client.post("/api/v1/campaigns/", truncated, format="multipart").json()["error"]["code"] == "cover_image_invalid"
    assert Campaign.objects.count() == 1


def test_a_picture_above_the_platforms_pixel_limit_but_below_pillows_is_refused(api_as, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.CROWDFUNDING = {**settings.CROWDFUNDING, "COVER_IMAGE_MAX_PIXELS": 1_000_000}
    picture = _png_bomb(1_001, 1_000)
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _multipart_campaign(picture, "c.png"), format="multipart")
    assert response.json()["error"]["code"] == "cover_image_too_many_pixels"
    within = _png_bomb(1_000, 1_000)
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _multipart_campaign(within, "c.png"), format="multipart")
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize("name", ["title", "description"])
def test_a_nul_in_a_tier_text_nested_in_json_is_a_field_error(api_as, name):
    tiers = _campaign_body()["tiers"]
    tiers[0][name] = "One\x00tin"
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _campaign_body(tiers=tiers), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_tier"
    assert Campaign.objects.count() == 0


def test_a_nul_in_any_text_field_of_a_post_is_a_field_error(api_as):
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", _campaign_body(title="Tea\x00"), format="json")
    assert response.status_code == 400 and "title" in response.json()["error"]["fields"]
    response = api_as(SmeUserFactory()).post("/api/v1/loans/", {"amount": "50000.00", "purpose": "x\x00"}, format="json")
    assert response.status_code == 400
    assert Campaign.objects.count() == Loan.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "deadline__year=99999999999999999999",
        "deadline__year=2026&deadline__month=99999999999999999999",
        "deadline__year=2026&deadline__month=2&deadline__day=30",
        "deadline__year=1e400",
    ],
)
def test_numbers_out_of_range_in_the_admin_date_hierarchy_reload_the_list(client, query):
    live_campaign()
    client.force_login(StaffUserFactory(role="operator"))
    response = client.get(f"/admin/crowdfunding/campaign/?{query}")
    assert response.status_code == 302 and response["Location"].endswith("?e=1")


ODD_VALUES = ["1e400", "-1", "99999999999999999999", "'", "%25", "a" * 3000, "[]", "2026-02-30", "%F0%9F%92%B0"]


@pytest.mark.parametrize("value", ODD_VALUES)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/campaigns/?status={v}&kind={v}&category={v}&sort={v}&mine={v}&page={v}&page_size={v}",
        "/api/v1/loans/?status={v}&grade={v}&page={v}&page_size={v}",
        "/api/v1/pledges/?page={v}",
        "/campaigns/?q={v}&kind={v}&status={v}&sort={v}&page={v}",
        "/loans/?status={v}&grade={v}&page={v}",
        "/admin/crowdfunding/campaign/?status__exact={v}&q={v}&o={v}&p={v}",
        "/admin/p2p/loan/?bucket={v}&status__exact={v}&o={v}",
        "/admin/ledger/transaction/?created_at__gte={v}&q={v}",
    ],
)
def test_odd_filter_values_never_answer_500(client, path, value):
    live_campaign()
    client.force_login(StaffUserFactory(role="operator"))
    assert client.get(path.replace("{v}", value)).status_code < 500


def test_an_upload_larger_than_the_limit_is_refused_before_it_is_read(api_as, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PLATFORM = {**settings.PLATFORM, "UPLOAD_MAX_BYTES": 1024 * 1024}
    big = _multipart_campaign(b"\x89PNG" + b"\x00" * (2 * 1024 * 1024), "c.png")
    response = api_as(SmeUserFactory()).post("/api/v1/campaigns/", big, format="multipart")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    client.force_login(SmeUserFactory())
    page = client.post("/campaigns/new/", {"title": "T", "cover_image": io.BytesIO(b"\x00" * (2 * 1024 * 1024))})
    assert page.status_code == 413
    assert Campaign.objects.count() == 0 and list(tmp_path.rglob("*")) == []
