"""Snapshots: one per period unless recomputed (then a new version with a diff), append-only in the
ORM and in PostgreSQL, and a hash chain that `disclosures_verify` checks link by link."""

import datetime
import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from platform_core.disclosures.items import period_as_of
from platform_core.disclosures.models import AppendOnly, RelatedParty, Snapshot, SnapshotKind
from platform_core.disclosures.services import chain_problems, snapshot_document, snapshot_file
from platform_core.errors import ApplicationError

from .book import at, january_book

pytestmark = pytest.mark.django_db

NOVEMBER, DECEMBER, JANUARY = datetime.date(2025, 11, 1), datetime.date(2025, 12, 1), datetime.date(2026, 1, 1)
LATER = at(2026, 2, 3)


def _three_months(entity):
    return [snapshot_file(entity=entity, period=month, now=LATER)[0] for month in (NOVEMBER, DECEMBER, JANUARY)]


def test_a_period_is_filed_once_and_chained(entity):
    book = january_book(entity)
    nov, dec, jan = _three_months(entity)

    again, filed = snapshot_file(entity=entity, period=JANUARY, now=LATER)

    assert (again.pk, filed) == (jan.pk, False)
    assert Snapshot.objects.filter(entity=entity).count() == 3
    assert [s.sequence for s in (nov, dec, jan)] == [1, 2, 3]
    assert (nov.previous_sha256, dec.previous_sha256, jan.previous_sha256) == ("", nov.sha256, dec.sha256)
    assert jan.sha256 == hashlib.sha256(snapshot_document(jan).encode()).hexdigest()
    assert jan.as_of == period_as_of(JANUARY) and jan.kind == SnapshotKind.MONTHLY and jan.version == 1
    assert jan.items["p2p.overdue_amount"]["value"] == "4390.00"
    assert "principal and interest" in jan.items["p2p.overdue_amount"]["definition"].lower()
    assert dec.items["p2p.cumulative_loan_count"]["value"] == 6  # L6 (Jan 31) is not yet in December's
    assert nov.items["p2p.cumulative_loan_count"]["value"] == 4  # nor L2 (Dec 20) and L4 (Dec 1) in November's
    assert book["l4"].disbursed_at > period_as_of(NOVEMBER)
    assert chain_problems() == []


def test_recomputing_files_a_new_version_with_its_diff(entity, operator):
    book = january_book(entity)
    first, _ = snapshot_file(entity=entity, period=JANUARY, now=LATER)
    RelatedParty.objects.create(entity=entity, organisation=book["borrowers"][0], relation="a director's company")

    second, filed = snapshot_file(
        entity=entity, period=JANUARY, recompute=True, actor=operator, reason="B1 declared related", now=LATER
    )

    assert filed and second.version == 2 and second.sequence == 2 and second.previous_sha256 == first.sha256
    assert second.diff == {
        "p2p.related_party_balance": {"from": "0.00", "to": "2800.00"},
        "p2p.related_party_count": {"from": 0, "to": 2},
    }
    assert second.computed_by == operator and second.reason == "B1 declared related"
    assert Snapshot.objects.get(pk=first.pk).items_json == first.items_json  # the first stays as filed


def test_an_as_of_snapshot_joins_the_chain(entity):
    jan, _ = snapshot_file(entity=entity, period=JANUARY, now=LATER)
    instant = at(2026, 2, 2, 9)

    snapshot, filed = snapshot_file(entity=entity, as_of=instant, now=LATER)

    assert filed and snapshot.kind == SnapshotKind.AS_OF and snapshot.period is None
    assert (snapshot.sequence, snapshot.previous_sha256, snapshot.as_of) == (2, jan.sha256, instant)


def test_a_month_not_over_cannot_be_filed(entity):
    with pytest.raises(ApplicationError) as exc:
        snapshot_file(entity=entity, period=datetime.date(2026, 2, 1), now=at(2026, 2, 28, 23, 59))
    assert exc.value.code == "period_not_over"
    assert not Snapshot.objects.exists()


def test_the_orm_refuses_to_change_a_snapshot(entity):
    snapshot, _ = snapshot_file(entity=entity, period=JANUARY, now=LATER)
    snapshot.items_json = "{}"
    with pytest.raises(AppendOnly):
        snapshot.save()
    with pytest.raises(AppendOnly):
        snapshot.delete()
    with pytest.raises(AppendOnly):
        Snapshot.objects.filter(pk=snapshot.pk).update(items_json="{}")
    with pytest.raises(AppendOnly):
        Snapshot.objects.filter(pk=snapshot.pk).delete()
    assert Snapshot.objects.get(pk=snapshot.pk).sha256 == snapshot.sha256


@pytest.mark.parametrize(
    "statement",
    ["UPDATE disclosures_snapshot SET items_json = '{}' WHERE id = %s", "DELETE FROM disclosures_snapshot WHERE id = %s"],
)
def test_postgresql_refuses_to_change_a_snapshot(entity, statement):
    snapshot, _ = snapshot_file(entity=entity, period=JANUARY, now=LATER)
    with pytest.raises(DatabaseError, match="filed snapshot is not allowed"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [snapshot.pk])
    assert Snapshot.objects.get(pk=snapshot.pk).items_json == snapshot.items_json


def _tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # every trigger off, as a superuser could
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("SET session_replication_role = origin")


def test_verify_finds_a_row_altered_with_the_triggers_disabled(entity):
    january_book(entity)
    nov, dec, jan = _three_months(entity)
    call_command("disclosures_verify", stdout=StringIO())  # intact: passes
    overdue = dec.items["p2p.overdue_amount"]["value"]
    forged = dec.items_json.replace(f'"value":"{overdue}"', '"value":"0.00"')
    assert forged != dec.items_json  # December's overdue amount made to vanish

    _tamper("UPDATE disclosures_snapshot SET items_json = %s WHERE id = %s", [forged, dec.pk])

    assert chain_problems() == [f"entity {entity.pk}, snapshot {dec.pk} (position 2): its content does not match its hash"]
    err = StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("disclosures_verify", stdout=StringIO(), stderr=err)
    assert f"snapshot {dec.pk} (position 2)" in err.getvalue()


def test_verify_finds_a_forged_hash_at_the_next_link_and_a_deleted_row(entity):
    nov, dec, jan = _three_months(entity)
    forged = Snapshot.objects.get(pk=dec.pk)
    forged.items_json = forged.items_json.replace('"p2p.cumulative_loan_count":{', '"p2p.cumulative_loan_count":{"x":1,')
    new_hash = hashlib.sha256(snapshot_document(forged).encode()).hexdigest()
    _tamper("UPDATE disclosures_snapshot SET items_json = %s, sha256 = %s WHERE id = %s", [forged.items_json, new_hash, dec.pk])

    assert chain_problems() == [
        f"entity {entity.pk}, snapshot {jan.pk} (position 3): links to a previous hash that is not the previous snapshot's"
    ]

    _tamper("DELETE FROM disclosures_snapshot WHERE id = %s", [dec.pk])
    assert chain_problems() == [
        f"entity {entity.pk}, snapshot {jan.pk} (position 3): position 2 is missing",
        f"entity {entity.pk}, snapshot {jan.pk} (position 3): links to a previous hash that is not the previous snapshot's",
    ]
