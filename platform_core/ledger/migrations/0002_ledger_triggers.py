"""PostgreSQL guards of the books: a deferred constraint trigger checks at commit that each
transaction's legs sum to zero per currency (at least two legs, currencies matching their
accounts); other triggers refuse UPDATE and DELETE of posted legs and transactions. Elsewhere
(SQLite, the embedded demo database) the service-level checks and `ledger_check` stand alone."""
from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION ledger_transaction_balanced() RETURNS trigger AS $$
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
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_leg_balanced
    AFTER INSERT ON ledger_leg DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transaction_balanced();

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % of a posted % is not allowed; post a reversing transaction instead', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_leg_append_only BEFORE UPDATE OR DELETE ON ledger_leg
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_transaction_append_only BEFORE UPDATE OR DELETE ON ledger_transaction
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS ledger_transaction_append_only ON ledger_transaction;
DROP TRIGGER IF EXISTS ledger_leg_append_only ON ledger_leg;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_leg_balanced ON ledger_leg;
DROP FUNCTION IF EXISTS ledger_transaction_balanced();
"""


def _run_on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)  # no parameters: the % signs are PL/pgSQL's

    return run


forward = _run_on_postgresql(FORWARD)
backward = _run_on_postgresql(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
