"""The ledger's invariants, checked from the legs up (used by `manage.py ledger_check` and a
periodic task). Each check is one aggregate query, so the cost grows with the rows, not in queries."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, F, Q, Sum

from platform_core.money import quantize

from .models import CLIENT_MONEY, DEBIT_NORMAL, Account, AccountPurpose, Leg, Transaction


class LedgerInconsistent(Exception):
    pass


def ledger_problems(limit: int = 20) -> list[str]:
    problems: list[str] = []

    unbalanced = (
        Leg.objects.values("transaction_id", "currency").annotate(total=Sum("amount")).exclude(total=0).order_by("transaction_id")
    )
    for row in unbalanced[:limit]:
        problems.append(f"transaction {row['transaction_id']}: {row['currency']} legs sum to {row['total']}, not 0")

    for txn in Transaction.objects.annotate(n=Count("legs")).filter(n__lt=2).order_by("pk")[:limit]:
        problems.append(f"transaction {txn.pk}: has {txn.n} leg(s), needs at least 2")

    for leg in Leg.objects.exclude(currency=F("account__currency")).order_by("pk")[:limit]:
        problems.append(f"leg {leg.pk}: currency {leg.currency} differs from its account's")

    sums = dict(Leg.objects.values_list("account_id").annotate(s=Sum("amount")).order_by())
    client_total: dict[str, Decimal] = defaultdict(Decimal)
    custody: dict[str, Decimal] = defaultdict(Decimal)
    for account in Account.objects.order_by("pk").iterator():
        side = 1 if account.purpose in DEBIT_NORMAL else -1
        derived = side * (sums.get(account.pk) or Decimal("0"))
        if derived != account.balance:
            problems.append(f"account {account.key}: balance {account.balance} but its legs give {derived}")
        if derived < 0 and not account.allow_negative:
            problems.append(f"account {account.key}: negative balance {derived}")
        if account.purpose in CLIENT_MONEY:
            client_total[account.currency] += derived
        elif account.purpose == AccountPurpose.CUSTODY:
            custody[account.currency] += derived
    for currency in sorted(set(client_total) | set(custody)):
        if client_total[currency] != custody[currency]:
            problems.append(
                f"custody {currency}: custody account holds {custody[currency]} but clients are owed {client_total[currency]}"
            )
    return problems


def ledger_summary() -> dict:
    return {
        "transactions": Transaction.objects.count(),
        "legs": Leg.objects.count(),
        "accounts": Account.objects.count(),
        "client_money": {
            row["currency"]: quantize(row["s"], row["currency"])
            for row in Account.objects.filter(Q(purpose__in=CLIENT_MONEY))
            .values("currency")
            .annotate(s=Sum("balance"))
            .order_by()
        },
    }
