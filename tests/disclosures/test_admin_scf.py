"""Regulators read the supply-chain items in the admin: definitions, the change since last month
(per anchor and funder too) and trends, and find them in the CSV and JSON exports."""

import csv
import datetime
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from platform_core.accounts.models import OrganisationKind
from platform_core.disclosures.models import Snapshot
from platform_core.disclosures.services import snapshot_file
from tests.factories import OrganisationFactory

from .scf_book import at, financing_make, invoice_make, january_scf_book, programme_make

pytestmark = pytest.mark.django_db

LATER = at(2026, 2, 3)
A1, A2 = "Anchor A1 (91330000ANCHORA101)", "Anchor A2 (91330000ANCHORA201)"


MONTHS = [datetime.date(2025, 11, 1), datetime.date(2025, 12, 1), datetime.date(2026, 1, 1)]


@pytest.fixture
def filed(entity, default_thresholds):
    january_scf_book(entity)
    return [snapshot_file(entity=entity, period=month, now=LATER)[0] for month in MONTHS]


def _row(response, key):
    return next(r for s in response.context["sections"] for r in s["rows"] if r["key"] == key)


def test_a_regulator_reads_the_supply_chain_items_with_changes_and_trends(client, regulator, filed):
    client.force_login(regulator)

    response = client.get(f"/admin/disclosures/snapshot/{filed[-1].pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Supply-chain finance" in page and "Top-10 anchors&#x27; share" in page
    assert "exactly 90 days is in this band" in page  # the definition beside the item
    outstanding = _row(response, "scf.outstanding_amount")
    assert (outstanding["value"], outstanding["change"]) == ("445000.00", 290000)  # December: 155,000
    assert outstanding["trend"]["points"].count(",") == 3  # November to January
    per_anchor = _row(response, "scf.anchor_outstanding")
    assert per_anchor["change"] == {A1: -10000, A2: 300000}  # I5 paid, I4 funded
    assert f"{A2}: +300000.00" in page
    assert "not offered on this platform" in page
    assert "scf.anchors_above_cap = 1" in page  # the month's alert


def test_the_snapshot_page_asks_as_many_queries_with_more_anchors(client, regulator, entity, default_thresholds):
    client.force_login(regulator)
    few = snapshot_file(entity=entity, period=datetime.date(2026, 1, 1), now=LATER)[0]
    with CaptureQueriesContext(connection) as short:
        client.get(f"/admin/disclosures/snapshot/{few.pk}/change/")
    book = january_scf_book(entity)
    funder = book["funder"]
    for n in range(1, 8):  # seven more anchors, each with a financing
        anchor = OrganisationFactory(kind=OrganisationKind.CORE_ENTERPRISE)
        invoice = invoice_make(book["a1"], anchor, f"{n}00.00", due=datetime.date(2026, 3, 1), confirmed_at=at(2026, 1, 2))
        financing_make(programme_make(entity, funder, anchor), invoice, funded_at=at(2026, 1, 3))
    many = snapshot_file(entity=entity, period=datetime.date(2026, 1, 1), recompute=True, reason="more", now=LATER)[0]
    with CaptureQueriesContext(connection) as long:
        client.get(f"/admin/disclosures/snapshot/{many.pk}/change/")
    assert len(long) == len(short)


def test_exports_carry_the_supply_chain_items(client, regulator, filed):
    client.force_login(regulator)
    snapshot = filed[-1]

    rows = list(csv.DictReader(io.StringIO(client.get(f"/admin/disclosures/snapshot/{snapshot.pk}/export.csv").content.decode())))
    document = client.get(f"/admin/disclosures/snapshot/{snapshot.pk}/export.json").json()

    by_item = {r["item"]: r for r in rows}
    assert by_item["scf.overdue_1_30_amount"]["value"] == "100000.00"
    assert json.loads(by_item["scf.anchor_overdue_31_90"]["value"]) == {A1: "40000.00", A2: "0.00"}
    assert "related party" in by_item["scf.funder_cap"]["definition"]
    assert document["items"]["scf.anchors_above_cap"]["value"] == 1
    assert document["items"]["scf.inventory_loans"]["value"] == "not offered on this platform"
    assert Snapshot.objects.filter(pk=snapshot.pk).exists()
