"""PostgreSQL itself refuses unbalanced transactions (at commit) and rewrites of posted legs."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from platform_core.ledger import services as ledger
from platform_core.ledger.models import AccountPurpose, Leg, Transaction

pytestmark = pytest.mark.django_db(transaction=True)


def _insert_transaction(cursor, kind="raw"):
    cursor.execute("INSERT INTO ledger_transaction (kind, memo, created_at) VALUES (%s, '', now()) RETURNING id", [kind])
    return cursor.fetchone()[0]


def test_unbalanced_legs_inserted_with_raw_sql_fail_at_commit(investor, fund):
    wallet = fund(investor, "100.00")
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    before = Transaction.objects.count()
    with pytest.raises(IntegrityError, match="unbalanced"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                txn_id = _insert_transaction(cursor)
                cursor.execute(
                    "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency) VALUES (%s, %s, 10.00, 'CNY'), (%s, %s, -9.99, 'CNY')",
                    [txn_id, custody.pk, txn_id, wallet.pk],
                )
            # the statement itself succeeds: the check is deferred to commit
    assert Transaction.objects.count() == before


def test_single_leg_transaction_fails_at_commit(investor, fund):
    wallet = fund(investor, "100.00")
    with pytest.raises(IntegrityError, match="at least 2"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                txn_id = _insert_transaction(cursor)
                cursor.execute(
                    "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency) VALUES (%s, %s, 5.00, 'CNY')",
                    [txn_id, wallet.pk],
                )


def test_balanced_raw_sql_commits(investor, fund):
    wallet = fund(investor, "100.00")
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    with transaction.atomic():
        with connection.cursor() as cursor:
            txn_id = _insert_transaction(cursor)
            cursor.execute(
                "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency) VALUES (%s, %s, 1.00, 'CNY'), (%s, %s, -1.00, 'CNY')",
                [txn_id, custody.pk, txn_id, wallet.pk],
            )
    assert Leg.objects.filter(transaction_id=txn_id).count() == 2


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_leg SET amount = amount * 2",
        "DELETE FROM ledger_leg",
        "UPDATE ledger_transaction SET memo = 'rewritten'",
        "DELETE FROM ledger_transaction",
    ],
)
def test_posted_rows_cannot_be_updated_or_deleted(investor, fund, sql):
    wallet = fund(investor, "100.00")
    with pytest.raises(IntegrityError, match="not allowed"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql)
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("100.00")
    assert Leg.objects.filter(account=wallet).get().amount == Decimal("-100.00")


def test_legs_added_after_an_immediate_check_are_checked_again(investor, fund):
    wallet = fund(investor, "100.00")
    custody = ledger.system_account(AccountPurpose.CUSTODY)
    with pytest.raises(IntegrityError, match="unbalanced"):
        with transaction.atomic():
            with connection.cursor() as cursor:
                txn_id = _insert_transaction(cursor)
                cursor.execute(
                    "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency) VALUES (%s, %s, 1.00, 'CNY'), (%s, %s, -1.00, 'CNY')",
                    [txn_id, custody.pk, txn_id, wallet.pk],
                )
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the balanced pair is checked now
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                cursor.execute(
                    "INSERT INTO ledger_leg (transaction_id, account_id, amount, currency) VALUES (%s, %s, -50.00, 'CNY')",
                    [txn_id, wallet.pk],
                )
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("100.00")
