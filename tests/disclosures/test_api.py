"""The disclosures API and the public page: regulators and operators read every item, everyone else
the public ones; alerts are for regulators and operators, acknowledged by regulators only; lists
ask the same number of queries for one snapshot as for many."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from platform_core.disclosures.models import Alert, AlertStatus
from platform_core.disclosures.services import snapshot_file

from .book import at, january_book

pytestmark = pytest.mark.django_db

JANUARY = datetime.date(2026, 1, 1)
LATER = at(2026, 2, 3)


@pytest.fixture
def january(entity, default_thresholds):
    january_book(entity)
    snapshot_file(entity=entity, period=datetime.date(2025, 12, 1), now=LATER)
    return snapshot_file(entity=entity, period=JANUARY, now=LATER)[0]


@pytest.mark.parametrize("role", ["regulator", "operator"])
def test_staff_read_every_item(api_as, request, january, role):
    body = api_as(request.getfixturevalue(role)).get(f"/api/v1/disclosures/{january.pk}/").json()
    assert body["items"]["fund_security.custody_mismatches"]["value"] == 0
    assert body["items"]["p2p.overdue_amount"] == {
        "value": "4390.00",
        "label": "Overdue amount",
        "definition": january.items["p2p.overdue_amount"]["definition"],
        "public": True,
    }
    assert body["sha256"] == january.sha256 and body["period"] == "2026-01"


def test_investors_read_only_the_public_items(api_as, investor, january):
    body = api_as(investor).get(f"/api/v1/disclosures/{january.pk}/").json()
    assert body["items"]["p2p.top10_borrower_share"]["value"] == "1.0000"
    assert not [key for key in body["items"] if key.startswith("fund_security.")]


def test_as_of_snapshots_are_staffs(api_as, investor, regulator, entity, january):
    as_of, _ = snapshot_file(entity=entity, as_of=at(2026, 2, 2), now=LATER)
    assert api_as(investor).get(f"/api/v1/disclosures/{as_of.pk}/").status_code == 404
    assert api_as(regulator).get(f"/api/v1/disclosures/{as_of.pk}/").status_code == 200
    listed = [row["id"] for row in api_as(investor).get("/api/v1/disclosures/").json()["results"]]
    assert as_of.pk not in listed and january.pk in listed


def test_list_filters_and_bad_input(api_as, investor, entity, january):
    client = api_as(investor)
    rows = client.get(f"/api/v1/disclosures/?entity={entity.pk}&period=2026-01").json()["results"]
    assert [r["id"] for r in rows] == [january.pk]
    for query, code in [
        ("period=2026-13", "invalid_period"),
        ("period=x%00", "invalid_query"),  # a control character in any query parameter
        ("entity=abc", "invalid_entity"),
    ]:
        response = client.get(f"/api/v1/disclosures/?{query}")
        assert (response.status_code, response.json()["error"]["code"]) == (400, code)


def test_the_list_asks_the_same_queries_for_many_snapshots(api_as, regulator, entity, default_thresholds):
    client = api_as(regulator)
    snapshot_file(entity=entity, period=datetime.date(2025, 1, 1), now=LATER)
    with CaptureQueriesContext(connection) as one:
        assert len(client.get("/api/v1/disclosures/").json()["results"]) == 1
    for month in range(2, 13):
        snapshot_file(entity=entity, period=datetime.date(2025, month, 1), now=LATER)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/disclosures/").json()["results"]) == 12
    assert len(many) == len(one)


def test_anonymous_callers_get_only_the_public_endpoint(api, january):
    assert api.get("/api/v1/disclosures/").status_code in (401, 403)
    public = api.get("/api/v1/disclosures/public/").json()["results"]
    assert [row["id"] for row in public] == [january.pk]
    assert "fund_security.custody_balance" not in public[0]["items"]
    assert public[0]["items"]["p2p.overdue_90_amount"]["value"] == "1040.00"


def test_the_public_page(client, january):
    page = client.get("/disclosures/").content.decode()
    assert "West Lake Lending" in page and "2026-01" in page and "4390.00" in page
    assert "exactly 90 days" in page and "Custody balance" not in page


def test_alerts_for_regulators_and_operators_only(api_as, regulator, operator, investor, sme_user, january):
    rows = api_as(regulator).get("/api/v1/alerts/?status=open").json()["results"]
    assert sorted((r["snapshot"], r["item"]) for r in rows if r["snapshot"] == january.pk) == [
        (january.pk, "p2p.amount_overdue_rate"),
        (january.pk, "p2p.top10_borrower_share"),
    ]
    assert len(rows) == 4  # December's filing breached the same two
    assert len(api_as(operator).get("/api/v1/alerts/").json()["results"]) == 4
    for outsider in (investor, sme_user):
        response = api_as(outsider).get("/api/v1/alerts/")
        assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")


def test_a_regulator_acknowledges_through_the_api(api_as, regulator, operator, january):
    alert = Alert.objects.order_by("pk").first()
    refused = api_as(operator).post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "seen"}, format="json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    empty = api_as(regulator).post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": ""}, format="json")
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "note_required")
    missing = api_as(regulator).post("/api/v1/alerts/999999/acknowledge/", {"note": "seen"}, format="json")
    assert missing.status_code == 404
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN

    done = api_as(regulator).post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "Called the platform."}, format="json")

    assert done.status_code == 200
    assert (done.json()["status"], done.json()["acknowledgement_note"]) == ("acknowledged", "Called the platform.")
    again = api_as(regulator).post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {"note": "again"}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "alert_already_acknowledged")


def test_no_write_reaches_a_snapshot_through_the_api(api_as, regulator, operator, january):
    for user in (regulator, operator):
        for method in ("put", "patch", "delete", "post"):
            response = getattr(api_as(user), method)(f"/api/v1/disclosures/{january.pk}/", {"items_json": "{}"}, format="json")
            assert response.status_code == 405
    january.refresh_from_db()
    assert january.items["p2p.overdue_amount"]["value"] == "4390.00"
