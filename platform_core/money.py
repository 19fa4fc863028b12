"""Decimal helpers: one precision for the whole platform, explicit rounding at the edges.

Amounts are `Decimal` built from strings, stored as DecimalField(max_digits=20, decimal_places=2)
beside a currency code. Rounding is HALF_EVEN unless a rule says otherwise (DOMAIN.md section 6).
"""

import re
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

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


#: The one form of an amount a user may type: ASCII digits, optionally a point and more digits (a
#: leading minus only so that a negative amount gets its own answer). No exponent ("1e9"), no "_"
#: ("1_000"), no full-width or other non-ASCII digits ("１００"), no "NaN"/"Infinity": Python's
#: Decimal() takes all of these, so it is never handed raw input.
AMOUNT_PATTERN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", flags=re.ASCII)
#: Web forms only: thousands grouped by commas ("1,000", "12,345.60"), every group of three.
GROUPED_AMOUNT_PATTERN = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?", flags=re.ASCII)
#: Longer text is not an amount this platform holds (and Decimal need not read it).
MAX_AMOUNT_CHARS = 64


def ungroup_amount(raw: str) -> str:
    """A web form's amount with its thousands separators taken out ("1,000.50" -> "1000.50") when
    they are where they belong; anything else unchanged, for parse_amount to judge."""
    text = raw.strip()
    return text.replace(",", "") if GROUPED_AMOUNT_PATTERN.fullmatch(text) else raw


def parse_amount(raw, *, currency: str | None = None, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """Turn user input into a positive Decimal in the currency's minor unit, or raise ApplicationError.

    Input is text matching AMOUNT_PATTERN (or a Decimal or int from our own code). Refuses floats
    (binary fractions: JSON numbers never reach here as amounts), bools, anything else that is not
    that text (code `invalid_amount`), zero/negative amounts (`amount_not_positive`), more decimals
    than the currency has (`amount_too_precise`) and anything above the platform's sanity ceiling
    (`amount_too_large`). Thousands separators are the web forms' business (`ungroup_amount`).
    """
    currency = currency_check(currency or default_currency())
    invalid = ApplicationError("invalid_amount", _('Enter a valid amount, e.g. "100.00".'), field=field)
    if isinstance(raw, bool) or isinstance(raw, float):
        raise ApplicationError("invalid_amount", _('Send amounts as decimal strings, e.g. "100.00".'), field=field)
    if isinstance(raw, Decimal):
        amount = raw
    elif isinstance(raw, int):
        amount = Decimal(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if len(text) > MAX_AMOUNT_CHARS:
            raise invalid if not text.isascii() or not text.lstrip("-").replace(".", "", 1).isdigit() else _too_large(field)
        if not AMOUNT_PATTERN.fullmatch(text):
            raise invalid
        amount = Decimal(text)
    else:
        raise invalid
    if not amount.is_finite():
        raise invalid
    if amount < 0 or (amount == 0 and not allow_zero):
        message = _("The amount may not be negative.") if allow_zero else _("The amount must be greater than zero.")
        raise ApplicationError("amount_not_positive", message, field=field)
    # Before quantizing: a huge amount has more digits than the decimal context holds.
    if amount > settings.PLATFORM["MAX_AMOUNT"]:
        raise _too_large(field)
    if amount != quantize(amount, currency, rounding="ROUND_DOWN"):
        places = currencies()[currency]
        raise ApplicationError(
            "amount_too_precise",
            _("%(currency)s amounts have at most %(places)s decimal places.") % {"currency": currency, "places": places},
            field=field,
        )
    return quantize(amount, currency)


def _too_large(field: str) -> ApplicationError:
    return ApplicationError(
        "amount_too_large", _("The amount may not exceed %(max)s.") % {"max": settings.PLATFORM["MAX_AMOUNT"]}, field=field
    )


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
