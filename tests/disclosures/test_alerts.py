"""Thresholds breached by a filed period become alerts; regulators are e-mailed after commit (a real
worker on Redis); a regulator acknowledges with a note; nobody deletes or rewrites an alert."""

import datetime
import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import DatabaseError, connection, transaction

from platform_core.celery import app
from platform_core.disclosures.models import Alert, AlertStatus, AlertThreshold, AppendOnly
from platform_core.disclosures.services import alert_acknowledge, snapshot_file
from platform_core.disclosures.tasks import alert_notify
from platform_core.errors import ApplicationError
from platform_core.models import AuditEvent
from tests.factories import StaffUserFactory

from .book import at, january_book

JANUARY = datetime.date(2026, 1, 1)
LATER = at(2026, 2, 3)


def _alerts_of_january(entity):
    january_book(entity)
    snapshot, _ = snapshot_file(entity=entity, period=JANUARY, now=LATER)
    return snapshot, list(Alert.objects.filter(snapshot=snapshot).order_by("item_key"))


@pytest.mark.django_db
def test_breached_thresholds_become_alerts(entity, default_thresholds):
    snapshot, alerts = _alerts_of_january(entity)

    assert [(a.item_key, a.value, a.limit, a.status) for a in alerts] == [
        ("p2p.amount_overdue_rate", "0.5539", Decimal("0.05"), AlertStatus.OPEN),
        ("p2p.top10_borrower_share", "1.0000", Decimal("0.5"), AlertStatus.OPEN),
    ]  # custody matches: no alert
    assert all(a.entity_id == entity.pk for a in alerts)


@pytest.mark.django_db
def test_an_operator_raises_a_limit_and_a_disabled_threshold_is_silent(entity, default_thresholds):
    AlertThreshold.objects.filter(item_key="p2p.amount_overdue_rate").update(limit=Decimal("0.60"))
    AlertThreshold.objects.filter(item_key="p2p.top10_borrower_share").update(enabled=False)

    _snapshot, alerts = _alerts_of_january(entity)

    assert alerts == []


@pytest.mark.django_db
def test_recomputing_raises_the_alerts_of_the_new_version_again(entity, default_thresholds):
    _alerts_of_january(entity)
    second, _ = snapshot_file(entity=entity, period=JANUARY, recompute=True, reason="check", now=LATER)
    assert Alert.objects.filter(snapshot=second).count() == 2


@pytest.mark.django_db
def test_the_email_goes_to_every_regulator_once(entity, default_thresholds):
    StaffUserFactory(role="regulator", email="reg-a@example.com")
    StaffUserFactory(role="regulator", email="reg-b@example.com")
    StaffUserFactory(role="operator", email="ops@example.com")
    _snapshot, alerts = _alerts_of_january(entity)

    assert alert_notify.apply(args=[alerts[0].pk]).get() == 2
    assert alert_notify.apply(args=[alerts[0].pk]).get() == 0  # again: nothing more

    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == ["reg-a@example.com", "reg-b@example.com"]
    assert "p2p.amount_overdue_rate" in mail.outbox[0].subject and "0.5539" in mail.outbox[0].body


@pytest.mark.django_db(transaction=True)
def test_a_worker_emails_the_alerts_after_the_filing_commits(entity, default_thresholds):
    StaffUserFactory(role="regulator", email="reg@example.com")
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30):
        _snapshot, alerts = _alerts_of_january(entity)
        end = time.monotonic() + 30
        while len(mail.outbox) < 2 and time.monotonic() < end:
            time.sleep(0.2)
    assert sorted(m.subject for m in mail.outbox) == [
        f"Disclosure alert: {entity}, p2p.amount_overdue_rate",
        f"Disclosure alert: {entity}, p2p.top10_borrower_share",
    ]
    assert Alert.objects.filter(notified_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_a_regulator_acknowledges_with_a_note(entity, default_thresholds, regulator):
    _snapshot, alerts = _alerts_of_january(entity)

    alert = alert_acknowledge(user=regulator, alert_id=alerts[0].pk, note="Asked the platform for its collection plan.")

    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.acknowledgement_note) == (
        AlertStatus.ACKNOWLEDGED,
        regulator,
        "Asked the platform for its collection plan.",
    )
    event = AuditEvent.objects.get(action="alert_acknowledged")
    assert (event.object_id, event.actor, event.to_value) == (str(alert.pk), regulator, "acknowledged")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "note", "code"),
    [
        ("regulator", "   ", "note_required"),
        ("regulator", "x\x00", "invalid_note"),
        ("operator", "seen", "permission_denied"),
        ("investor", "seen", "permission_denied"),
    ],
)
def test_acknowledging_refused(entity, default_thresholds, request, who, note, code):
    _snapshot, alerts = _alerts_of_january(entity)
    with pytest.raises(ApplicationError) as exc:
        alert_acknowledge(user=request.getfixturevalue(who), alert_id=alerts[0].pk, note=note)
    assert exc.value.code == code
    assert Alert.objects.get(pk=alerts[0].pk).status == AlertStatus.OPEN


@pytest.mark.django_db
def test_an_alert_is_acknowledged_once(entity, default_thresholds, regulator):
    _snapshot, alerts = _alerts_of_january(entity)
    alert_acknowledge(user=regulator, alert_id=alerts[0].pk, note="first")
    with pytest.raises(ApplicationError) as exc:
        alert_acknowledge(user=regulator, alert_id=alerts[0].pk, note="second")
    assert (exc.value.code, exc.value.status) == ("alert_already_acknowledged", 409)
    assert Alert.objects.get(pk=alerts[0].pk).acknowledgement_note == "first"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM disclosures_alert WHERE id = %s",
        "UPDATE disclosures_alert SET value = '0.0100' WHERE id = %s",
        "UPDATE disclosures_alert SET status = 'acknowledged', acknowledged_at = now(), acknowledgement_note = 'x' WHERE id = %s",
    ],
)
def test_postgresql_keeps_alerts_and_their_findings(entity, default_thresholds, regulator, statement):
    _snapshot, alerts = _alerts_of_january(entity)
    alert_acknowledge(user=regulator, alert_id=alerts[0].pk, note="seen")
    with pytest.raises(DatabaseError, match="alert"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [alerts[0].pk])
    with pytest.raises(AppendOnly):
        Alert.objects.get(pk=alerts[1].pk).delete()
    with pytest.raises(AppendOnly):
        Alert.objects.filter(pk=alerts[1].pk).delete()
    assert Alert.objects.filter(entity=entity).count() == 2
