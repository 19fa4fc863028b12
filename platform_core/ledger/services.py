"""Every movement of money: `transaction_post` and the services built on it.

Rules (see models.py for the account model):
- A posting is one database transaction: lock the accounts (SELECT ... FOR UPDATE ordered by pk, so
  concurrent postings cannot deadlock), refuse to overdraw, insert the transaction and its legs,
  update the cached balances. Legs sum to zero per currency or nothing is written.
- A `reference` makes a posting idempotent: a second post with the same reference returns the first
  transaction and moves nothing (how Celery tasks that run twice keep one effect).
- Deposits and withdrawals pass through the payment gateway; the KYC status of the party whose money
  moves is checked first.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from platform_core.accounts.models import Organisation, User
from platform_core.accounts.services import kyc_require_verified, party_of, party_require_money_rights
from platform_core.audit import audit_record
from platform_core.db import rows_update
from platform_core.errors import ApplicationError
from platform_core.money import ZERO, currency_check, default_currency, parse_amount, quantize
from platform_core.state import transition

from .gateway import payment_gateway
from .models import (
    CLIENT_MONEY,
    PAYMENT_TRANSITIONS,
    Account,
    AccountPurpose,
    Leg,
    Payment,
    PaymentDirection,
    PaymentStatus,
    Transaction,
    side_of,
)

# --- accounts ---------------------------------------------------------------------------------


def _account_get_or_create(*, key: str, name: str, purpose: str, currency: str, **owner) -> Account:
    account = Account.objects.filter(key=key).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(key=key, name=name, purpose=purpose, currency=currency, balance=ZERO, **owner)
    except IntegrityError:  # created concurrently
        return Account.objects.get(key=key)


def system_account(purpose: str, currency: str | None = None) -> Account:
    """The platform's single custody / fee income / own bank / payouts-in-flight account per currency."""
    currency = currency_check(currency or default_currency())
    return _account_get_or_create(
        key=f"{purpose}:{currency}", name=AccountPurpose(purpose).label, purpose=purpose, currency=currency
    )


def wallet_for(party: User | Organisation, currency: str | None = None) -> Account:
    currency = currency_check(currency or default_currency())
    owner = {"owner_organisation": party} if isinstance(party, Organisation) else {"owner_user": party}
    return _account_get_or_create(
        key=_wallet_key(party, currency), name=f"Wallet of {party}", purpose=AccountPurpose.WALLET, currency=currency, **owner
    )


def _wallet_key(party: User | Organisation, currency: str) -> str:
    label = f"organisation:{party.pk}" if isinstance(party, Organisation) else f"user:{party.pk}"
    return f"wallet:{label}:{currency}"


def _escrow_key(subject, currency: str) -> str:
    return f"escrow:{subject._meta.label_lower}:{subject.pk}:{currency}"


def wallet_and_escrow(party: User | Organisation, subject, currency: str) -> tuple[Account, Account]:
    """The party's wallet and the subject's escrow in one query (created if missing)."""
    keys = {_wallet_key(party, currency): "wallet", _escrow_key(subject, currency): "escrow"}
    found = {keys[a.key]: a for a in Account.objects.filter(key__in=keys)}
    return found.get("wallet") or wallet_for(party, currency), found.get("escrow") or escrow_for(subject, currency)


def escrow_for(subject, currency: str | None = None) -> Account:
    """The escrow account holding investors' money for one campaign, listing or financing."""
    currency = currency_check(currency or default_currency())
    return _account_get_or_create(
        key=_escrow_key(subject, currency),
        name=f"Escrow of {subject._meta.verbose_name} {subject.pk}",
        purpose=AccountPurpose.ESCROW,
        currency=currency,
    )


# --- posting ----------------------------------------------------------------------------------


def transaction_post(
    *,
    kind: str,
    changes: Iterable[tuple[Account | int, Decimal]],
    memo: str = "",
    actor: User | None = None,
    reference: str | None = None,
    reference_is_new: bool = False,
    savepoint: bool = True,
) -> Transaction:
    """Post one balanced transaction. `changes` are (account or account id, change of its natural
    balance). A `reference` makes the posting idempotent (a second posting returns the first);
    `reference_is_new` says the reference names a row created in this same transaction, so no
    earlier posting can carry it (the unique constraint still stands guard). `savepoint=False`, as
    in Django's atomic(), for a caller whose own transaction rolls back on any error anyway.

    Raises ApplicationError("insufficient_funds") when an account would go below zero, and
    ValueError for a programming error (unbalanced, zero or unrounded amounts).

    The amounts are checked here; the database then locks the accounts in primary-key order (so
    concurrent postings cannot deadlock), refuses to overdraw, inserts the transaction and its legs
    and updates the balances: in ONE statement on PostgreSQL (`_post_in_one_statement`), in a
    handful elsewhere (`_post_in_steps`). An error rolls back everything written here (a savepoint
    inside a caller's transaction), so a caller may go on.
    """
    changes = [(account if isinstance(account, int) else account.pk, account, Decimal(delta)) for account, delta in changes]
    if len(changes) < 2:
        raise ValueError("A transaction has at least two legs.")
    ids = sorted({pk for pk, _, _ in changes})
    guarded = bool(reference) and not reference_is_new
    with transaction.atomic(savepoint=savepoint):
        if guarded:
            existing = Transaction.objects.filter(reference=reference).first()
            if existing is not None:
                return existing
        accounts = {pk: account for pk, account, _ in changes if not isinstance(account, int)}
        missing = [pk for pk in ids if pk not in accounts]
        if missing:
            accounts.update({a.pk: a for a in Account.objects.filter(pk__in=missing).only("pk", "purpose", "currency")})
        totals: dict[str, Decimal] = defaultdict(Decimal)
        net: dict[int, Decimal] = defaultdict(Decimal)
        legs = []
        for pk, _, delta in changes:
            account = accounts[pk]
            if delta == 0 or delta != quantize(delta, account.currency):
                raise ValueError(f"Leg amount {delta} is zero or not rounded to the minor unit of {account.currency}.")
            totals[account.currency] += delta * account.side
            net[pk] += delta
            legs.append((pk, delta * account.side, account.currency))
        if any(total != 0 for total in totals.values()):
            raise ValueError(f"Unbalanced transaction: {dict(totals)}")
        txn = Transaction(kind=kind, memo=memo[:300], reference=reference or None, created_by=actor, created_at=timezone.now())
        post = _posting_method()
        if guarded:
            try:
                with transaction.atomic():
                    new_balances = post(txn, legs, net)
            except IntegrityError:  # posted concurrently under the same reference: one effect
                return Transaction.objects.get(reference=reference)
        else:
            new_balances = post(txn, legs, net)
    for pk, account, _ in changes:  # keep callers' instances current
        if not isinstance(account, int):
            account.balance = new_balances[pk]
    return txn


def _posting_method():
    return _post_in_one_statement if connection.vendor == "postgresql" else _post_in_steps


# Lock the accounts in pk order; from the locked rows (which FOR UPDATE returns in their latest
# committed version, whatever the statement's snapshot says) decide whether none goes below zero,
# and set each balance to the locked balance + its change (the lock keeps it still until commit);
# insert the transaction and its legs. `moved` lists the accounts whose balance changed: none means
# an overdraft, and the caller rolls the whole statement back. (`balance = balance + delta`, or a
# WHERE on the UPDATE, would start from the row as of the statement's snapshot: money committed
# while we waited for the lock would be missed, or the CHECK constraint would judge that stale sum.)
POST_SQL = """
WITH locked AS MATERIALIZED (
    SELECT id, balance, allow_negative FROM ledger_account WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE
), changes AS MATERIALIZED (
    SELECT * FROM unnest(%(ids)s::bigint[], %(deltas)s::numeric[]) AS v(id, delta)
), covered AS (
    SELECT bool_and(l.allow_negative OR l.balance + c.delta >= 0) AS ok FROM locked AS l JOIN changes AS c ON c.id = l.id
), moved AS (
    UPDATE ledger_account AS a SET balance = l.balance + c.delta
      FROM locked AS l JOIN changes AS c ON c.id = l.id, covered
     WHERE a.id = l.id AND covered.ok
    RETURNING a.id, a.balance
), txn AS (
    INSERT INTO ledger_transaction (kind, memo, reference, created_by_id, created_at)
    VALUES (%(kind)s, %(memo)s, %(reference)s, %(actor)s, %(created_at)s) RETURNING id
), legs AS (
    INSERT INTO ledger_leg (transaction_id, account_id, amount, currency)
    SELECT txn.id, l.account, l.amount, l.currency
      FROM txn, unnest(%(leg_accounts)s::bigint[], %(leg_amounts)s::numeric[], %(leg_currencies)s::varchar[])
           WITH ORDINALITY AS l(account, amount, currency, n)
     ORDER BY l.n
)
SELECT txn.id, array_agg(moved.id), array_agg(moved.balance) FROM txn LEFT JOIN moved ON true GROUP BY txn.id
"""


def _post_in_one_statement(txn: Transaction, legs: list, net: dict[int, Decimal]) -> dict[int, Decimal]:
    ids = list(net)
    params = {
        "ids": ids,
        "deltas": [net[pk] for pk in ids],
        "kind": txn.kind,
        "memo": txn.memo,
        "reference": txn.reference,
        "actor": txn.created_by_id,
        "created_at": txn.created_at,
        "leg_accounts": [pk for pk, _, _ in legs],
        "leg_amounts": [amount for _, amount, _ in legs],
        "leg_currencies": [currency for _, _, currency in legs],
    }
    with connection.cursor() as cursor:
        cursor.execute(POST_SQL, params)
        txn.pk, moved_ids, moved_balances = cursor.fetchone()
    txn._state.adding, txn._state.db = False, connection.alias
    new_balances = dict(zip(moved_ids, moved_balances, strict=True)) if moved_ids != [None] else {}
    if len(new_balances) != len(ids):
        _raise_insufficient_funds(ids, net)
    return new_balances


def _post_in_steps(txn: Transaction, legs: list, net: dict[int, Decimal]) -> dict[int, Decimal]:
    txn.save(force_insert=True)
    Leg.objects.bulk_create(
        [Leg(transaction=txn, account_id=pk, amount=amount, currency=currency) for pk, amount, currency in legs],
        batch_size=5000,
    )
    locked = Account.objects.select_for_update().filter(pk__in=net).order_by("pk")
    balances = {
        pk: (balance, allow_negative) for pk, balance, allow_negative in locked.values_list("pk", "balance", "allow_negative")
    }
    new_balances = {}
    for pk, delta in net.items():
        balance, allow_negative = balances[pk]
        if not allow_negative and balance + delta < 0:
            _raise_insufficient_funds([pk], net)
        new_balances[pk] = balance + delta
    rows_update(Account, "balance", new_balances)
    return new_balances


def _raise_insufficient_funds(ids: list[int], net: dict[int, Decimal]):
    """Name the first of these (locked) accounts that the posting would overdraw."""
    for account in Account.objects.filter(pk__in=ids).order_by("pk").only("name", "balance", "currency", "allow_negative"):
        if not account.allow_negative and account.balance + net[account.pk] < 0:
            raise ApplicationError(
                "insufficient_funds",
                f"Insufficient funds: {account.name} holds {account.balance} {account.currency}.",
                field="amount",
            )
    raise RuntimeError("The posting moved fewer accounts than asked, yet none lacks the money.")


def accounts_lock(ids) -> None:
    """Lock these accounts in primary-key order, as every posting does: for a caller that must hold
    them before another row it locks (crowdfunding's pledge release: accounts before the campaign)."""
    list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk"))


def transfer(
    *, source: Account, destination: Account, amount: Decimal, kind: str, memo: str = "", actor=None, reference=None
) -> Transaction:
    """Move `amount` of client money from one client account to another (e.g. wallet -> escrow)."""
    return transaction_post(
        kind=kind, changes=[(source, -amount), (destination, amount)], memo=memo, actor=actor, reference=reference
    )


def fee_changes(*, source: Account, amount: Decimal) -> list[tuple[Account, Decimal]]:
    """The four legs of earning a fee: the client account pays fee income, and the same amount
    leaves custody for the platform's own bank account, so client money stays equal to custody."""
    currency = source.currency
    return [
        (source, -amount),
        (system_account(AccountPurpose.FEE_INCOME, currency), amount),
        (system_account(AccountPurpose.CUSTODY, currency), -amount),
        (system_account(AccountPurpose.PLATFORM_BANK, currency), amount),
    ]


def escrow_refund(
    *, escrow: Account, rows: Iterable[tuple[int, Decimal]], kind: str, memo: str, reference: str
) -> Transaction | None:
    """Pay (wallet account id, amount) rows out of an escrow in ONE balanced transaction: one leg
    per wallet (amounts of the same wallet added up) and one escrow leg. None when there is nothing."""
    per_wallet: dict[int, Decimal] = defaultdict(Decimal)
    for wallet_id, amount in rows:
        per_wallet[wallet_id] += amount
    if not per_wallet:
        return None
    total = sum(per_wallet.values(), ZERO)
    return transaction_post(kind=kind, changes=[(escrow, -total), *per_wallet.items()], memo=memo[:300], reference=reference)


# --- deposits and withdrawals -----------------------------------------------------------------


def _payment_set_status(payment: Payment, status: str, *, actor, reason: str = "") -> None:
    payment.failure_reason = reason[:300]
    transition(
        payment, status, transitions=PAYMENT_TRANSITIONS, actor=actor, note=reason, fields=("failure_reason", "gateway_reference")
    )


def payment_open(*, user: User, amount, currency: str | None = None, direction: str) -> Payment:
    """Check the amount, the user's right to move its party's money and the party's KYC; record the
    pending payment (and, for a withdrawal, reserve the money: wallet -> payouts in flight). No call
    to the gateway here: `payment_process` makes it after this has committed."""
    if direction not in PaymentDirection.values:
        raise ValueError(f"Unknown payment direction {direction!r}")
    currency = currency_check(currency or default_currency())
    amount = parse_amount(amount, currency=currency)
    party = party_require_money_rights(user)
    kyc_require_verified(party)
    wallet = wallet_for(party, currency)
    with transaction.atomic():
        payment = Payment.objects.create(
            direction=direction, wallet=wallet, amount=amount, currency=currency, gateway=payment_gateway().name, created_by=user
        )
        if direction == PaymentDirection.WITHDRAWAL:
            transfer(
                source=wallet,
                destination=system_account(AccountPurpose.PAYOUTS_PENDING, currency),
                amount=amount,
                kind="withdrawal_reserve",
                memo=f"Withdrawal {payment.pk}",
                actor=user,
                reference=f"payment:{payment.pk}:reserve",
            )
        audit_record(payment, action="created", actor=user, to_value=payment.status)
    return payment


def payment_process(*, payment_id: int) -> Payment:
    """Send a pending payment to the gateway once, and apply its answer. Call it outside any
    transaction, after `payment_open` committed: the bank must never act on a payment whose record
    could still roll back. The first call marks the payment submitted (committed) and sends it, with
    the payment's id as the gateway's idempotency key; any later call (a client's retry, the
    reconciliation job after a crash) only asks the gateway for the payment's status, so nothing
    is ever sent twice."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment_id)
        if payment.status != PaymentStatus.PENDING:
            return payment
        first = payment.submitted_at is None
        if first:
            payment.submitted_at = timezone.now()
            payment.save(update_fields=["submitted_at", "updated_at"])
    gateway = payment_gateway()
    if not first:
        result = gateway.status(payment)
    elif payment.direction == PaymentDirection.DEPOSIT:
        result = gateway.collect(payment)
    else:
        result = gateway.payout(payment)
    return payment_settle(
        payment_id=payment.pk, succeeded=result.succeeded, gateway_reference=result.reference, reason=result.reason
    )


def payments_reconcile(*, stale_after: timedelta = timedelta(minutes=5), limit: int = 500) -> int:
    """Pending payments left behind (a worker killed between opening and settling, or a gateway
    that answers later): ask the gateway again. Returns how many were looked at."""
    cutoff = timezone.now() - stale_after
    ids = list(
        Payment.objects.filter(status=PaymentStatus.PENDING, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for payment_id in ids:
        payment_process(payment_id=payment_id)
    return len(ids)


def deposit_create(*, user: User, amount, currency: str | None = None) -> Payment:
    """Collect money through the gateway into the acting party's wallet (open, then process)."""
    payment = payment_open(user=user, amount=amount, currency=currency, direction=PaymentDirection.DEPOSIT)
    return payment_process(payment_id=payment.pk)


def withdrawal_create(*, user: User, amount, currency: str | None = None) -> Payment:
    """Reserve the amount and pay it out through the gateway (open, then process)."""
    payment = payment_open(user=user, amount=amount, currency=currency, direction=PaymentDirection.WITHDRAWAL)
    return payment_process(payment_id=payment.pk)


def payment_settle(
    *, payment_id: int, succeeded: bool | None, gateway_reference: str = "", reason: str = "", actor=None
) -> Payment:
    """Apply the gateway's answer. `succeeded=None` leaves the payment pending (answer comes later,
    e.g. from a webhook that calls this again). Safe to call twice: a settled payment is returned
    unchanged."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("wallet").get(pk=payment_id)
        if payment.status != PaymentStatus.PENDING or succeeded is None:
            return payment
        payment.gateway_reference = gateway_reference[:100]
        custody = system_account(AccountPurpose.CUSTODY, payment.currency)
        if payment.direction == PaymentDirection.DEPOSIT:
            if succeeded:
                transaction_post(
                    kind="deposit",
                    changes=[(custody, payment.amount), (payment.wallet, payment.amount)],
                    memo=f"Deposit {payment.pk}",
                    actor=payment.created_by,
                    reference=f"payment:{payment.pk}:settle",
                )
        else:
            pending = system_account(AccountPurpose.PAYOUTS_PENDING, payment.currency)
            if succeeded:
                changes = [(pending, -payment.amount), (custody, -payment.amount)]
                kind = "withdrawal"
            else:
                changes = [(pending, -payment.amount), (payment.wallet, payment.amount)]
                kind = "withdrawal_returned"
            transaction_post(
                kind=kind,
                changes=changes,
                memo=f"Withdrawal {payment.pk}",
                actor=payment.created_by,
                reference=f"payment:{payment.pk}:settle",
            )
        _payment_set_status(payment, PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED, actor=actor, reason=reason)
    return payment


# --- reading ----------------------------------------------------------------------------------


def wallet_of_user(user: User, currency: str | None = None) -> Account:
    return wallet_for(party_of(user), currency)


def client_money_total(currency: str) -> Decimal:
    return Account.objects.filter(purpose__in=CLIENT_MONEY, currency=currency).aggregate(s=Sum("balance"))["s"] or ZERO


__all__ = [
    "system_account",
    "wallet_for",
    "escrow_for",
    "transaction_post",
    "transfer",
    "fee_changes",
    "escrow_refund",
    "deposit_create",
    "payment_open",
    "payment_process",
    "payments_reconcile",
    "withdrawal_create",
    "payment_settle",
    "wallet_of_user",
    "client_money_total",
    "side_of",
]
