"""Regulators in the admin: every item with its definition, change since last month and trend; CSV
and JSON export; Fig. 1 side by side, Fig. 2, custody; alerts acknowledged with a note (their one
write). Nobody changes a snapshot; SMEs and investors do not get in; operators edit thresholds."""

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from platform_core.accounts.models import PlatformEntity
from platform_core.disclosures.models import Alert, AlertStatus, AlertThreshold, Snapshot
from platform_core.disclosures.services import snapshot_file

from .book import at, january_book

pytestmark = pytest.mark.django_db

MONTHS = [datetime.date(2025, 10, 1), datetime.date(2025, 11, 1), datetime.date(2025, 12, 1), datetime.date(2026, 1, 1)]
LATER = at(2026, 2, 3)


@pytest.fixture
def filed(entity, default_thresholds):
    january_book(entity)
    snapshots = [snapshot_file(entity=entity, period=month, now=LATER)[0] for month in MONTHS]
    return snapshots


def test_a_regulator_reads_a_snapshot_with_definitions_changes_and_trends(client, regulator, filed):
    client.force_login(regulator)
    response = client.get(f"/admin/disclosures/snapshot/{filed[-1].pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Overdue amount" in page and "were not received by the as-of instant" in page
    assert "4390.00" in page
    row = next(r for s in response.context["sections"] for r in s["rows"] if r["key"] == "p2p.cumulative_loan_count")
    assert (row["value"], row["change"]) == (7, 1)  # December had 6: L6 came on January 31
    assert row["trend"]["points"].count(",") == 4  # October to January
    assert page.count("<svg") >= 10
    assert "Custody balance" in page  # regulators see the items that are not public too


def test_the_snapshot_page_asks_the_same_queries_for_a_long_history(client, regulator, entity, default_thresholds):
    january_book(entity)
    client.force_login(regulator)
    first = snapshot_file(entity=entity, period=datetime.date(2025, 12, 1), now=LATER)[0]
    with CaptureQueriesContext(connection) as short:
        client.get(f"/admin/disclosures/snapshot/{first.pk}/change/")
    for month in [datetime.date(2025, m, 1) for m in range(1, 12)] + [datetime.date(2026, 1, 1)]:
        snapshot_file(entity=entity, period=month, now=LATER)
    last = Snapshot.objects.get(period=datetime.date(2026, 1, 1))
    with CaptureQueriesContext(connection) as long:
        response = client.get(f"/admin/disclosures/snapshot/{last.pk}/change/")
    assert len(response.context["history"]) == 12
    assert len(long) == len(short)


def test_exports(client, regulator, filed):
    client.force_login(regulator)
    snapshot = filed[-1]
    rows = list(csv.DictReader(io.StringIO(client.get(f"/admin/disclosures/snapshot/{snapshot.pk}/export.csv").content.decode())))
    by_item = {r["item"]: r for r in rows}
    assert by_item["p2p.overdue_90_amount"]["value"] == "1040.00"
    assert "exactly 90 days" in by_item["p2p.overdue_90_amount"]["definition"]
    assert by_item["fund_security.custody_balance"]["value"] == '{"CNY": "0.00"}'
    document = client.get(f"/admin/disclosures/snapshot/{snapshot.pk}/export.json").json()
    assert (document["sha256"], document["previous_sha256"]) == (snapshot.sha256, filed[-2].sha256)
    assert document["items"]["p2p.amount_overdue_rate"]["value"] == "0.5539"


def test_fig1_fig2_and_custody_pages(client, regulator, filed):
    other = PlatformEntity.objects.create(name="Jingdong", properties=["commodity_crowdfunding"], licence_status="licensed")
    snapshot_file(entity=other, period=MONTHS[-1], now=LATER)
    client.force_login(regulator)

    fig1 = client.get("/admin/disclosures/snapshot/fig1/?period=2026-01")
    fig2 = client.get("/admin/disclosures/snapshot/fig2/")
    custody = client.get("/admin/disclosures/snapshot/custody/")

    assert fig1.status_code == fig2.status_code == custody.status_code == 200
    assert fig1.context["period"] == MONTHS[-1] and fig1.context["rows"] == []  # nobody ran a campaign
    series = fig2.context["series"]
    assert [(r["period"], str(r["p2p"]), str(r["share"])) for r in series][-2:] == [
        (MONTHS[-2], "9000.00", "1.0000"),  # L1 2,000, L2 1,000, L3 2,000, L4 4,000 (its guarantor paid on Jan 5)
        (MONTHS[-1], "7800.00", "1.0000"),
    ]
    assert "Custody balance" in custody.content.decode()


@pytest.mark.parametrize("role", ["regulator", "operator"])
def test_nobody_changes_or_deletes_a_snapshot(client, request, filed, role):
    client.force_login(request.getfixturevalue(role))
    snapshot = filed[-1]
    assert client.get("/admin/disclosures/snapshot/add/").status_code == 403
    assert client.post(f"/admin/disclosures/snapshot/{snapshot.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(f"/admin/disclosures/snapshot/{snapshot.pk}/change/", {"items_json": "{}"})
    assert Snapshot.objects.get(pk=snapshot.pk).items_json == snapshot.items_json


@pytest.mark.parametrize("who", ["investor", "sme_user"])
def test_smes_and_investors_do_not_reach_the_admin(client, request, filed, who):
    client.force_login(request.getfixturevalue(who))
    for path in ["/admin/", f"/admin/disclosures/snapshot/{filed[-1].pk}/change/", "/admin/disclosures/snapshot/fig1/"]:
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_regulator_acknowledges_an_alert_in_the_admin(client, regulator, filed):
    alert = Alert.objects.filter(status=AlertStatus.OPEN).first()
    client.force_login(regulator)
    assert "Acknowledge" in client.get(f"/admin/disclosures/alert/{alert.pk}/change/").content.decode()

    empty = client.post(f"/admin/disclosures/alert/{alert.pk}/acknowledge/", {"note": "  "})
    assert empty.status_code == 200 and empty.context["form"].errors
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN

    done = client.post(f"/admin/disclosures/alert/{alert.pk}/acknowledge/", {"note": "Platform asked for a plan."})
    assert done.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledgement_note, alert.acknowledged_by) == (
        "acknowledged",
        "Platform asked for a plan.",
        regulator,
    )
    assert client.post(f"/admin/disclosures/alert/{alert.pk}/delete/", {"post": "yes"}).status_code == 403


def test_operators_do_not_acknowledge_but_edit_thresholds(client, operator, regulator, filed):
    alert = Alert.objects.first()
    client.force_login(operator)
    assert client.post(f"/admin/disclosures/alert/{alert.pk}/acknowledge/", {"note": "x"}).status_code == 404
    threshold = AlertThreshold.objects.get(item_key="p2p.amount_overdue_rate")
    response = client.post(
        f"/admin/disclosures/alertthreshold/{threshold.pk}/change/",
        {"item_key": "p2p.amount_overdue_rate", "comparison": "above", "limit": "0.08", "enabled": "on"},
    )
    assert response.status_code == 302
    assert str(AlertThreshold.objects.get(pk=threshold.pk).limit) == "0.080000"
    client.force_login(regulator)
    refused = client.post(
        f"/admin/disclosures/alertthreshold/{threshold.pk}/change/",
        {"item_key": "p2p.amount_overdue_rate", "comparison": "above", "limit": "0.50", "enabled": "on"},
    )
    assert refused.status_code == 403
    assert str(AlertThreshold.objects.get(pk=threshold.pk).limit) == "0.080000"


def test_regulators_read_the_beat_schedule_operators_edit_it(client, regulator):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every = IntervalSchedule.objects.create(every=5, period="minutes")
    task = PeriodicTask.objects.create(
        name="disclosures-test", task="platform_core.disclosures.tasks.disclosures_file_last_month", interval=every
    )
    client.force_login(regulator)
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    assert client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/").status_code == 200
    assert client.post(f"/admin/django_celery_beat/periodictask/{task.pk}/change/", {"enabled": ""}).status_code == 403
