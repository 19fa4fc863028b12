"""Check each ledger transaction once per insert statement, not once per leg.

The first version ran the deferred zero-sum check for every inserted leg, each summing all the legs
of its transaction: quadratic in the legs of one transaction (a settlement batch posts 1,001 legs,
i.e. a million row reads). Now a statement-level trigger queues each inserted transaction id once
(`ledger_pending_check`), and a deferred constraint trigger on that queue runs the check at commit.
A later insert into the same transaction queues it again, so `SET CONSTRAINTS ... IMMEDIATE` cannot
be used to slip legs past the check."""
from django.db import migrations

FORWARD = r"""
DROP TRIGGER IF EXISTS ledger_leg_balanced ON ledger_leg;

CREATE TABLE IF NOT EXISTS ledger_pending_check (transaction_id bigint NOT NULL);

CREATE OR REPLACE FUNCTION ledger_queue_check() RETURNS trigger AS $$
BEGIN
    INSERT INTO ledger_pending_check (transaction_id) SELECT DISTINCT transaction_id FROM new_legs;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_leg_queue_check AFTER INSERT ON ledger_leg
    REFERENCING NEW TABLE AS new_legs FOR EACH STATEMENT EXECUTE FUNCTION ledger_queue_check();

CREATE OR REPLACE FUNCTION ledger_pending_verify() RETURNS trigger AS $$
DECLARE
    bad record;
    leg_count integer;
BEGIN
    SELECT count(*) INTO leg_count FROM ledger_leg WHERE transaction_id = NEW.transaction_id;
    IF leg_count < 2 THEN
        RAISE EXCEPTION 'ledger: transaction % has % leg(s); at least 2 required', NEW.transaction_id, leg_count
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT currency, sum(amount) AS total INTO bad FROM ledger_leg
        WHERE transaction_id = NEW.transaction_id GROUP BY currency HAVING sum(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transaction % is unbalanced in %: legs sum to %', NEW.transaction_id, bad.currency, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM 1 FROM ledger_leg l JOIN ledger_account a ON a.id = l.account_id
        WHERE l.transaction_id = NEW.transaction_id AND l.currency <> a.currency;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: transaction % has a leg in another currency than its account', NEW.transaction_id
            USING ERRCODE = 'check_violation';
    END IF;
    DELETE FROM ledger_pending_check WHERE transaction_id = NEW.transaction_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_pending_balanced
    AFTER INSERT ON ledger_pending_check DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_pending_verify();

DROP FUNCTION IF EXISTS ledger_transaction_balanced();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_pending_balanced ON ledger_pending_check;
DROP TRIGGER IF EXISTS ledger_leg_queue_check ON ledger_leg;
DROP FUNCTION IF EXISTS ledger_pending_verify();
DROP FUNCTION IF EXISTS ledger_queue_check();
DROP TABLE IF EXISTS ledger_pending_check;
"""


def _run_on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_ledger_triggers")]
    operations = [migrations.RunPython(_run_on_postgresql(FORWARD), _run_on_postgresql(BACKWARD))]
