"""Decimal helpers: one precision for the whole platform, explicit rounding at the edges.

Amounts are `Decimal` built from strings, stored as DecimalField(max_digits=20, decimal_places=2)
beside a currency code. Rounding is HALF_EVEN unless a rule says otherwise (DOMAIN.md section 6).
"""

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.conf import settings

from platform_core.errors import ApplicationError

MAX_DIGITS = 20
DECIMAL_PLACES = 2
ZERO = Decimal("0.00")


def currencies() -> dict[str, int]:
    return settings.PLATFORM["CURRENCIES"]


def default_currency() -> str:
    return settings.PLATFORM["DEFAULT_CURRENCY"]


def currency_check(currency: str) -> str:
    if currency not in currencies():
        raise ApplicationError(
            "unknown_currency",
            f"Unknown currency {currency!r}; supported: {', '.join(sorted(currencies()))}.",
            field="currency",
        )
    return currency


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currencies()[currency_check(currency)])


def quantize(amount: Decimal, currency: str | None = None, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """Round to the currency's minor unit (HALF_EVEN by default)."""
    return amount.quantize(minor_unit(currency or default_currency()), rounding=rounding)


def parse_amount(raw, *, currency: str | None = None, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """Turn user input into a positive Decimal in the currency's minor unit, or raise ApplicationError.

    Refuses floats (binary fractions), non-numbers, NaN/Infinity, more decimals than the currency has,
    zero/negative amounts and anything above the platform's sanity ceiling.
    """
    currency = currency_check(currency or default_currency())
    if isinstance(raw, float) or isinstance(raw, bool):
        raise ApplicationError("invalid_amount", 'Send amounts as decimal strings, e.g. "100.00".', field=field)
    try:
        amount = raw if isinstance(raw, Decimal) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ApplicationError("invalid_amount", 'Enter a valid amount, e.g. "100.00".', field=field) from None
    if not amount.is_finite():
        raise ApplicationError("invalid_amount", 'Enter a valid amount, e.g. "100.00".', field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ApplicationError("amount_not_positive", "The amount must be greater than zero.", field=field)
    # Before quantizing: a huge amount (e.g. "1e30") has more digits than the decimal context holds.
    if amount > settings.PLATFORM["MAX_AMOUNT"]:
        raise ApplicationError("amount_too_large", f"The amount may not exceed {settings.PLATFORM['MAX_AMOUNT']}.", field=field)
    if amount != quantize(amount, currency, rounding="ROUND_DOWN"):
        places = currencies()[currency]
        raise ApplicationError("amount_too_precise", f"{currency} amounts have at most {places} decimal places.", field=field)
    return quantize(amount, currency)


def money_field(**kwargs):
    """The one shape of a stored amount: DecimalField(max_digits=20, decimal_places=2)."""
    from django.db import models

    return models.DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES, **kwargs)


def sums_to(left, right):
    """A CheckConstraint condition "left == right" for amounts built by arithmetic. Exact on
    PostgreSQL (numeric); on SQLite, which computes with binary floats, equal to the half cent."""
    from django.db.models import Value
    from django.db.models.functions import Abs
    from django.db.models.lookups import LessThan

    return LessThan(Abs(left - right), Value(Decimal("0.005")))
