"""PostgreSQL refuses UPDATE and DELETE of filed disclosure snapshots, refuses DELETE of alerts and
lets an alert change only from open to acknowledged (its finding unchanged) or be stamped as e-mailed.
Elsewhere (the SQLite demo) the model and its queryset refuse the same."""

from decimal import Decimal

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION disclosures_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'disclosures: % of a filed snapshot is not allowed; recompute the period instead', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER disclosures_snapshot_append_only BEFORE UPDATE OR DELETE ON disclosures_snapshot
    FOR EACH ROW EXECUTE FUNCTION disclosures_refuse_change();

CREATE OR REPLACE FUNCTION disclosures_alert_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'disclosures: an alert is acknowledged, never deleted' USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.snapshot_id, NEW.entity_id, NEW.item_key, NEW.value, NEW.comparison, NEW.limit, NEW.created_at)
        IS DISTINCT FROM (OLD.snapshot_id, OLD.entity_id, OLD.item_key, OLD.value, OLD.comparison, OLD.limit, OLD.created_at)
       OR (OLD.status = 'acknowledged' AND (NEW.status, NEW.acknowledged_by_id, NEW.acknowledged_at, NEW.acknowledgement_note)
            IS DISTINCT FROM (OLD.status, OLD.acknowledged_by_id, OLD.acknowledged_at, OLD.acknowledgement_note))
       OR (OLD.notified_at IS NOT NULL AND NEW.notified_at IS DISTINCT FROM OLD.notified_at) THEN
        RAISE EXCEPTION 'disclosures: an alert''s finding and acknowledgement cannot be rewritten'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER disclosures_alert_guard BEFORE UPDATE OR DELETE ON disclosures_alert
    FOR EACH ROW EXECUTE FUNCTION disclosures_alert_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS disclosures_alert_guard ON disclosures_alert;
DROP FUNCTION IF EXISTS disclosures_alert_guard();
DROP TRIGGER IF EXISTS disclosures_snapshot_append_only ON disclosures_snapshot;
DROP FUNCTION IF EXISTS disclosures_refuse_change();
"""

#: The issue's defaults; operators edit them in the admin.
DEFAULT_THRESHOLDS = [
    ("p2p.top10_borrower_share", "above", Decimal("0.5")),
    ("p2p.amount_overdue_rate", "above", Decimal("0.05")),
    ("fund_security.custody_mismatches", "above", Decimal("0")),
]


def _run_on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the % signs are PL/pgSQL's

    return run


def thresholds_create(apps, schema_editor):
    AlertThreshold = apps.get_model("disclosures", "AlertThreshold")
    for key, comparison, limit in DEFAULT_THRESHOLDS:
        AlertThreshold.objects.get_or_create(item_key=key, defaults={"comparison": comparison, "limit": limit})


class Migration(migrations.Migration):
    dependencies = [("disclosures", "0001_initial")]
    operations = [
        migrations.RunPython(_run_on_postgresql(FORWARD), _run_on_postgresql(BACKWARD)),
        migrations.RunPython(thresholds_create, migrations.RunPython.noop),
    ]
