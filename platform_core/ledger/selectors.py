"""Reads of the ledger."""

from django.db.models import DecimalField, ExpressionWrapper, F, QuerySet

from .models import Account, Leg, Payment


def wallet_entries(*, wallet: Account, limit: int = 20) -> QuerySet[Leg]:
    """The latest legs of an account, each with `change`: what it did to the account's balance."""
    change = ExpressionWrapper(F("amount") * wallet.side, output_field=DecimalField(max_digits=20, decimal_places=2))
    return Leg.objects.filter(account=wallet).select_related("transaction").annotate(change=change).order_by("-id")[:limit]


def payment_list(*, wallet: Account) -> QuerySet[Payment]:
    return Payment.objects.filter(wallet=wallet).order_by("-created_at", "-id")
