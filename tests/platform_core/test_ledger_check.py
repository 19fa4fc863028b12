"""`manage.py ledger_check` proves the books from the legs up, and says in plain words what is wrong."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection

from platform_core.ledger import services as ledger
from platform_core.ledger import tasks
from platform_core.ledger.checks import LedgerInconsistent, ledger_problems
from platform_core.ledger.models import Account, AccountPurpose
from platform_core.models import JobRun


def _ledger_check():
    out, err = StringIO(), StringIO()
    try:
        call_command("ledger_check", stdout=out, stderr=err)
    except CommandError as exc:
        return exc, out.getvalue(), err.getvalue()
    return None, out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_passes_on_an_empty_ledger():
    failure, out, err = _ledger_check()
    assert failure is None
    assert "0 transactions, 0 legs" in out
    assert "client money: none" in out
    assert "ledger_check: OK" in out
    assert err == ""


@pytest.mark.django_db
def test_passes_on_a_good_ledger(investor, sme_user, fund):
    fund(investor, "100.00")
    fund(sme_user, "250.00")
    ledger.withdrawal_create(user=investor, amount="30.00")
    wallet = ledger.wallet_of_user(sme_user)
    ledger.transaction_post(kind="fee", changes=ledger.fee_changes(source=wallet, amount=Decimal("5.00")))

    failure, out, err = _ledger_check()

    assert failure is None, err
    assert "5 transactions" in out  # 2 deposits, reserve + payout, fee
    assert "client money: 315.00 CNY" in out
    assert "ledger_check: OK" in out


@pytest.mark.django_db
def test_fails_when_a_cached_balance_is_corrupted(investor, fund):
    wallet = fund(investor, "100.00")
    Account.objects.filter(pk=wallet.pk).update(balance=Decimal("1000100.00"))

    failure, out, err = _ledger_check()

    assert isinstance(failure, CommandError)
    assert str(failure) == "ledger_check: 1 problem(s) found"
    assert f"FAIL account {wallet.key}: balance 1000100.00 but its legs give 100.00" in err
    assert "ledger_check: OK" not in out


@pytest.mark.django_db
def test_fails_when_custody_is_corrupted(investor, fund):
    fund(investor, "100.00")
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    Account.objects.filter(pk=custody.pk).update(balance=Decimal("99.99"))

    failure, _, err = _ledger_check()

    assert isinstance(failure, CommandError)
    assert "FAIL account custody:CNY: balance 99.99 but its legs give 100.00" in err


@pytest.mark.django_db(transaction=True)
def test_fails_when_an_unbalanced_leg_was_slipped_in_with_triggers_disabled(investor, fund):
    wallet = fund(investor, "100.00")
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    assert _ledger_check()[0] is None

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_leg DISABLE TRIGGER USER")
        try:
            cursor.execute("INSERT INTO ledger_transaction (kind, memo, created_at) VALUES ('forged', '', now()) RETURNING id")
            txn_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency) VALUES (%s, %s, 10.00, 'CNY')",
                [txn_id, custody.pk],
            )
        finally:
            cursor.execute("ALTER TABLE ledger_leg ENABLE TRIGGER USER")

    failure, _, err = _ledger_check()

    assert isinstance(failure, CommandError)
    assert f"FAIL transaction {txn_id}: CNY legs sum to 10.00, not 0" in err
    assert f"FAIL transaction {txn_id}: has 1 leg(s), needs at least 2" in err
    assert "FAIL account custody:CNY: balance 100.00 but its legs give 110.00" in err
    assert "FAIL custody CNY: custody account holds 110.00 but clients are owed 100.00" in err
    assert str(failure) == "ledger_check: 4 problem(s) found"
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("100.00")

    # the guard is back: the same forgery now fails at commit
    with pytest.raises(IntegrityError):
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO ledger_transaction (kind, memo, created_at) VALUES ('forged', '', now()) RETURNING id")
            cursor.execute(
                "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency) VALUES (%s, %s, 10.00, 'CNY')",
                [cursor.fetchone()[0], custody.pk],
            )


@pytest.mark.django_db
def test_scheduled_verification_records_a_broken_ledger(investor, fund):
    wallet = fund(investor, "100.00")
    tasks.ledger_verify()
    assert JobRun.objects.get(name="ledger_verify").last_summary == "ledger balanced"

    Account.objects.filter(pk=wallet.pk).update(balance=Decimal("0.00"))
    with pytest.raises(LedgerInconsistent):
        tasks.ledger_verify()

    run = JobRun.objects.get(name="ledger_verify")
    assert run.last_ok is False
    assert run.runs == 2
    assert f"account {wallet.key}: balance 0.00 but its legs give 100.00" in run.last_summary
    assert len(ledger_problems()) == 1
