"""The supply-chain items against the hand-computed book of scf_book.py (its docstring works every
figure out)."""

import datetime
from decimal import Decimal

import pytest

from platform_core.accounts.models import OrganisationKind
from platform_core.disclosures.admin import ThresholdForm
from platform_core.disclosures.items import period_as_of, registry, scf_figures
from platform_core.disclosures.models import Alert, AlertThreshold
from platform_core.disclosures.services import snapshot_file
from supplychain.models import FunderProfile
from tests.factories import OrganisationFactory

from .scf_book import at, financing_make, invoice_make, january_scf_book, programme_make

pytestmark = pytest.mark.django_db

JANUARY = datetime.date(2026, 1, 1)
DECEMBER = datetime.date(2025, 12, 1)
A1, A2 = "Anchor A1 (91330000ANCHORA101)", "Anchor A2 (91330000ANCHORA201)"
F = "Funder F (91330000FUNDERF001)"


def test_scf_items_of_january(entity):
    january_scf_book(entity)

    items = scf_figures(entity.pk, period_as_of(JANUARY))

    assert items == {
        "scf.confirmed_amount": "480000.00",  # A1: 100,000 + 50,000 + 18,000 + 7,000; A2: 300,000 + 5,000
        "scf.financed_amount": "455000.00",  # advances funded by the instant: 100,000 + 40,000 + 10,000 + 300,000 + 5,000
        "scf.outstanding_amount": "445000.00",  # I5 was paid at maturity, I7 is February's
        "scf.overdue_amount": "145000.00",
        "scf.overdue_1_30_amount": "100000.00",  # I1, exactly 30 days
        "scf.overdue_31_90_amount": "40000.00",  # I2, 31 days: its 80% advance
        "scf.overdue_over_90_amount": "5000.00",  # I6, 93 days
        "scf.financed_count": 5,
        "scf.outstanding_count": 4,
        "scf.overdue_count": 3,
        "scf.top10_anchor_share": "1.0000",
        "scf.anchor_confirmed": {A1: "175000.00", A2: "305000.00"},
        "scf.anchor_financed": {A1: "150000.00", A2: "305000.00"},
        "scf.anchor_outstanding": {A1: "140000.00", A2: "305000.00"},
        "scf.anchor_overdue": {A1: "140000.00", A2: "5000.00"},
        "scf.anchor_overdue_1_30": {A1: "100000.00", A2: "0.00"},
        "scf.anchor_overdue_31_90": {A1: "40000.00", A2: "0.00"},
        "scf.anchor_overdue_over_90": {A1: "0.00", A2: "5000.00"},
        # the face financed and unpaid, as the limits count it; caps 50% and (related) 40% of 700,000
        "scf.funder_exposure": {f"{F} / {A1}": "150000.00", f"{F} / {A2}": "305000.00"},
        "scf.funder_cap": {f"{F} / {A1}": "350000.00", f"{F} / {A2}": "280000.00"},
        "scf.funder_cap_usage": {f"{F} / {A1}": "0.4286", f"{F} / {A2}": "1.0893"},
        "scf.max_cap_usage": "1.0893",
        "scf.anchors_above_cap": 1,
        "scf.inventory_loans": "not offered on this platform",
        "scf.margin_calls": "not offered on this platform",
    }
    assert set(items) == {key for key in registry() if key.startswith("scf.")}


def test_a_past_month_does_not_change_with_later_events(entity):
    """December, computed after everything of January happened: I5 still outstanding (paid Jan 20),
    I1 and I2 not yet overdue (due Jan 2 and Jan 1, the business date is Jan 1), I6 62 days late, I3's
    dilutions and I4 not there yet."""
    january_scf_book(entity)

    items = scf_figures(entity.pk, period_as_of(DECEMBER))

    assert items["scf.anchor_confirmed"] == {A1: "160000.00", A2: "5000.00"}
    assert items["scf.anchor_outstanding"] == {A1: "150000.00", A2: "5000.00"}
    assert (items["scf.financed_amount"], items["scf.outstanding_count"]) == ("155000.00", 4)
    assert items["scf.anchor_overdue"] == {A1: "0.00", A2: "5000.00"}
    assert (items["scf.overdue_1_30_amount"], items["scf.overdue_31_90_amount"], items["scf.overdue_over_90_amount"]) == (
        "0.00",
        "5000.00",
        "0.00",
    )
    assert items["scf.funder_exposure"] == {f"{F} / {A1}": "160000.00", f"{F} / {A2}": "5000.00"}
    assert items["scf.anchors_above_cap"] == 0


def test_an_entity_without_supply_chain_finance_shows_zeros(entity):
    items = scf_figures(entity.pk, period_as_of(JANUARY))

    assert items["scf.outstanding_amount"] == "0.00"
    assert items["scf.anchor_outstanding"] == {}
    assert items["scf.top10_anchor_share"] is None
    assert items["scf.max_cap_usage"] is None


def test_an_anchor_above_its_cap_raises_an_alert_when_the_month_is_filed(entity, default_thresholds):
    january_scf_book(entity)

    snapshot, _ = snapshot_file(entity=entity, period=JANUARY, now=at(2026, 2, 3))

    alerts = list(Alert.objects.filter(snapshot=snapshot).values_list("item_key", "value", "limit", "status"))
    assert alerts == [("scf.anchors_above_cap", "1", Decimal("0"), "open")]
    items = snapshot.items
    assert items["credit.scf_outstanding"]["value"] == "445000.00"
    assert items["credit.total_outstanding"]["value"] == "445000.00"
    assert items["scf.anchors_above_cap"]["public"] is False
    assert "40%" in items["scf.funder_cap"]["definition"]


def test_an_operator_may_raise_the_anchor_cap_threshold(entity, default_thresholds):
    january_scf_book(entity)
    AlertThreshold.objects.filter(item_key="scf.anchors_above_cap").update(limit=Decimal("1"))

    snapshot, _ = snapshot_file(entity=entity, period=JANUARY, now=at(2026, 2, 3))

    assert not Alert.objects.filter(snapshot=snapshot).exists()
    offered = dict(ThresholdForm().fields["item_key"].choices)
    assert "scf.anchors_above_cap" in offered and "scf.overdue_over_90_amount" in offered
    assert "scf.anchor_outstanding" not in offered  # a map per anchor has no one value to compare


def test_the_default_threshold_is_installed_by_the_migration():
    threshold = AlertThreshold.objects.get(item_key="scf.anchors_above_cap")
    assert (threshold.comparison, threshold.limit, threshold.enabled) == ("above", Decimal("0"), True)


def test_the_top_ten_anchors_share_leaves_out_the_eleventh(entity):
    """Eleven anchors owing 1,000 to 11,000: the ten largest hold 65,000 of 66,000."""
    funder = OrganisationFactory(kind=OrganisationKind.FUNDER)
    FunderProfile.objects.create(organisation=funder, risk_assets=Decimal("1000000.00"))
    supplier = OrganisationFactory(kind=OrganisationKind.SME)
    for n in range(1, 12):
        anchor = OrganisationFactory(kind=OrganisationKind.CORE_ENTERPRISE)
        invoice = invoice_make(supplier, anchor, f"{n * 1000}.00", due=datetime.date(2026, 3, 1), confirmed_at=at(2026, 1, 2))
        financing_make(programme_make(entity, funder, anchor), invoice, funded_at=at(2026, 1, 3))

    items = scf_figures(entity.pk, period_as_of(JANUARY))

    assert items["scf.outstanding_amount"] == "66000.00"
    assert items["scf.top10_anchor_share"] == "0.9848"  # 65,000 / 66,000


def test_the_public_sees_the_totals_not_who_owes_what(api, entity, default_thresholds):
    january_scf_book(entity)
    snapshot_file(entity=entity, period=JANUARY, now=at(2026, 2, 3))

    public = api.get("/api/v1/disclosures/public/").json()["results"][0]["items"]

    assert public["scf.outstanding_amount"]["value"] == "445000.00"
    assert public["scf.overdue_over_90_amount"]["value"] == "5000.00"
    assert public["scf.inventory_loans"]["value"] == "not offered on this platform"
    hidden = {"scf.anchor_outstanding", "scf.funder_exposure", "scf.funder_cap", "scf.anchors_above_cap"}
    assert hidden & set(public) == set()
