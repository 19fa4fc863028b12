"""Loan repayment schedules: pure arithmetic, no models, no database.

What it owns: turning (principal, rate, periods, method, start date, rounding unit) into a list of
`Installment`s. Services store and show them; nothing here touches Django.

Rules (DOMAIN.md section 3, after Apache Fineract's loan schedule generator):

- Monthly periods. The period rate r is `period_rate`, or `annual_rate / 12` under 30/360 (Fineract's
  "interest calculation period = same as repayment period" with 30-day months and 360-day years).
  Rates are fractions: Decimal("0.094822") is 9.4822 % a year.
- Methods:
  * "equal_installments": pmt = P*r / (1 - (1+r)^-n) (P/n when r = 0), rounded once. Each period
    interest = round(balance * r), principal = pmt - interest.
  * "equal_principal": principal = round(P/n) each period, interest = round(balance * r).
  * "interest_only": interest = round(balance * r) each period, all principal with the last one.
- The rounding residue goes into the LAST installment's principal (Fineract): its principal is whatever
  balance is left, so the principal parts sum exactly to P and the final balance is exactly 0. The last
  installment's total therefore differs from the others (schedule A: 3151.49 x 3, then 3151.47).
- Intermediate values are exact: rates and pmt are rational numbers (`fractions.Fraction`), so the only
  rounding is the one the rule asks for, and a tie is a real tie, never an artefact of precision.
  Interest and the instalment amount are rounded HALF_EVEN to the minor unit (Fineract's default
  MoneyHelper rounding mode).
- `multiple_of` (Fineract's currency "in multiples of", e.g. 100 for a 0-decimal currency): Fineract's
  `Money` constructor rounds EVERY money amount of such a currency to the multiple, so pmt, the per-period
  principal and the interest are all rounded to it. Schedule C needs this for the interest too:
  (10,000,000 - 416,700) * 2 % = 191,666 -> 191,700. Fineract's `Money.roundToMultiplesOf(double, int)`
  picks the nearer multiple and, on a tie, the CEILING (`ceilDiff > floorDiff ? floor : ceiling`), so
  here a multiple_of tie rounds half-up (12,500 * 2 % = 250 -> 300), not half-even.
- Due dates: start_date + k months, the day clamped to the month's length (Jan 31 -> Feb 28/29 ->
  Mar 31), always counted from start_date so a short month does not drag later dates back.

How the reference schedules come out (DOMAIN.md section 3, from Fineract's tests):
- A (12,000, 2 %/month, 4, equal installments): pmt 3151.4850... -> 3151.49, residue -0.02 in the last.
- B (100, 9.4822 %/year 30/360, 6, equal installments): pmt 17.1306... -> 17.13; the rounded interests
  happen to leave exactly 17.00 for the last principal, so every installment, the last included, is 17.13.
- C (10,000,000, 2 %/month, 24, equal principal, multiples of 100): 416,666.67 -> 416,700 x 23, last
  415,900; interest rounded to 100 as above.

Invariants of every schedule returned: exactly `periods` installments; principal parts sum to P; no
negative part or balance; every amount a multiple of the rounding unit; balance_after of the last is 0.

Deliberate divergence from Fineract: when the rounded per-period amount is so large against a tiny
principal that the loan would be repaid before the last period (1.00 over 36 months at 0 %: 0.03 a month
repays it in period 34), Fineract's generator loops "while outstanding balance != 0" and silently ends the
schedule early. Here the loan contract says `periods` installments, so that raises ValueError instead.

Validation (ValueError): principal > 0 and a multiple of the rounding unit, 1 <= periods <= 360, exactly
one of annual_rate / period_rate, rates >= 0, a known method, day_count "30/360" (the only one
implemented), minor_unit a power of ten, multiple_of a positive multiple of minor_unit.

Sources: Apache Fineract `LoanApplicationTerms` (pmt, equal principal), `AbstractCumulativeLoanScheduleGenerator`
(last-installment adjustment, loop until balance 0), `organisation/monetary/domain/Money.java`
(in-multiples-of rounding).
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

EQUAL_INSTALLMENTS = "equal_installments"
EQUAL_PRINCIPAL = "equal_principal"
INTEREST_ONLY = "interest_only"
METHODS = (EQUAL_INSTALLMENTS, EQUAL_PRINCIPAL, INTEREST_ONLY)
DAY_COUNTS = ("30/360",)
MAX_PERIODS = 360
MONTHS_PER_YEAR = 12


@dataclass(frozen=True)
class Installment:
    number: int  # 1-based
    due_date: date
    principal: Decimal
    interest: Decimal
    total: Decimal  # principal + interest
    balance_after: Decimal  # outstanding principal after this installment


def schedule_generate(
    *,
    principal: Decimal,
    annual_rate: Decimal | None = None,
    period_rate: Decimal | None = None,
    periods: int,
    method: str,
    start_date: date,
    minor_unit: Decimal = Decimal("0.01"),
    multiple_of: Decimal | None = None,
    day_count: str = "30/360",
) -> list[Installment]:
    """Return the `periods` installments of a loan of `principal` disbursed on `start_date` (rules above)."""
    rate = _period_rate(annual_rate=annual_rate, period_rate=period_rate, day_count=day_count)
    unit = _rounding_unit(minor_unit=minor_unit, multiple_of=multiple_of)
    _validate(principal=principal, periods=periods, method=method, start_date=start_date, unit=unit)

    def rounded(value: Fraction) -> Decimal:
        return _round(value, unit=unit, minor_unit=minor_unit, half_up=multiple_of is not None)

    amount = Fraction(principal)
    if method == EQUAL_INSTALLMENTS:
        level = rounded(_pmt(amount, rate, periods))  # the installment total
    elif method == EQUAL_PRINCIPAL:
        level = rounded(amount / periods)  # the principal part
    else:
        level = _as_amount(Decimal(0), minor_unit)  # interest only: no principal until the last period

    installments = []
    balance = _as_amount(principal, minor_unit)
    for number in range(1, periods + 1):
        interest = rounded(Fraction(balance) * rate)
        if number == periods:
            principal_part = balance  # the rounding residue lands here
        elif method == EQUAL_INSTALLMENTS:
            principal_part = level - interest
        else:
            principal_part = level
        balance_after = balance - principal_part
        if number < periods and balance_after <= 0:
            raise ValueError(
                f"A principal of {principal} is too small to spread over {periods} periods in units of {unit}: "
                f"the rounded installment repays it by period {number}. Use fewer periods."
            )
        installments.append(
            Installment(
                number=number,
                due_date=_add_months(start_date, number),
                principal=principal_part,
                interest=interest,
                total=principal_part + interest,
                balance_after=balance_after,
            )
        )
        balance = balance_after
    return installments


def _period_rate(*, annual_rate: Decimal | None, period_rate: Decimal | None, day_count: str) -> Fraction:
    if (annual_rate is None) == (period_rate is None):
        raise ValueError("Give exactly one of annual_rate or period_rate.")
    if day_count not in DAY_COUNTS:
        raise ValueError(f"Unknown day count {day_count!r}; supported: {', '.join(DAY_COUNTS)}.")
    name, rate = ("annual_rate", annual_rate) if annual_rate is not None else ("period_rate", period_rate)
    _check_decimal(name, rate)
    if rate < 0:
        raise ValueError(f"{name} must be >= 0, got {rate}.")
    # 30/360: every month is 30/360 of a year, so the monthly rate is annual / 12 exactly.
    return Fraction(rate) / MONTHS_PER_YEAR if annual_rate is not None else Fraction(rate)


def _rounding_unit(*, minor_unit: Decimal, multiple_of: Decimal | None) -> Decimal:
    _check_decimal("minor_unit", minor_unit)
    if minor_unit <= 0 or minor_unit.normalize().as_tuple().digits != (1,):
        raise ValueError(f"minor_unit must be a positive power of ten such as 0.01 or 1, got {minor_unit}.")
    if multiple_of is None:
        return minor_unit
    _check_decimal("multiple_of", multiple_of)
    if multiple_of <= 0 or multiple_of % minor_unit != 0:
        raise ValueError(f"multiple_of must be a positive multiple of the minor unit {minor_unit}, got {multiple_of}.")
    return multiple_of


def _validate(*, principal: Decimal, periods: int, method: str, start_date: date, unit: Decimal) -> None:
    _check_decimal("principal", principal)
    if principal <= 0:
        raise ValueError(f"principal must be greater than zero, got {principal}.")
    if principal % unit != 0:
        raise ValueError(f"principal {principal} is not a multiple of the rounding unit {unit}.")
    if isinstance(periods, bool) or not isinstance(periods, int):
        raise ValueError(f"periods must be an integer, got {periods!r}.")
    if not 1 <= periods <= MAX_PERIODS:
        raise ValueError(f"periods must be between 1 and {MAX_PERIODS}, got {periods}.")
    if method not in METHODS:
        raise ValueError(f"Unknown method {method!r}; choose one of {', '.join(METHODS)}.")
    if not isinstance(start_date, date):
        raise ValueError(f"start_date must be a date, got {start_date!r}.")


def _check_decimal(name: str, value) -> None:
    if not isinstance(value, Decimal):  # a float would carry a binary fraction into the money
        raise ValueError(f"{name} must be a Decimal built from a string, got {type(value).__name__} {value!r}.")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}.")


def _pmt(amount: Fraction, rate: Fraction, periods: int) -> Fraction:
    """Exact annuity payment P*r / (1 - (1+r)^-n); P/n when the rate is 0."""
    if rate == 0:
        return amount / periods
    return amount * rate / (1 - (1 + rate) ** -periods)


def _round(value: Fraction, *, unit: Decimal, minor_unit: Decimal, half_up: bool) -> Decimal:
    """Round an exact non-negative value to a whole number of `unit`s.

    HALF_EVEN to the minor unit; half-up (Fineract's tie-to-ceiling) to an "in multiples of" unit.
    """
    units = value / Fraction(unit)
    count = math.floor(units + Fraction(1, 2)) if half_up else round(units)  # round(Fraction) is half-even
    return _as_amount(Decimal(count) * unit, minor_unit)


def _as_amount(value: Decimal, minor_unit: Decimal) -> Decimal:
    """Show an amount with exactly the currency's decimal places (0 -> 0.00)."""
    return value.quantize(minor_unit)


def _add_months(start: date, months: int) -> date:
    """start + months, the day clamped to the target month's last day (Jan 31 + 1 -> Feb 28/29)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def days_30_360(start: date, end: date) -> int:
    """Days from `start` to `end` by the 30/360 bond basis (30/360 US without the February rule,
    ISDA "30/360"): a day 31 counts as 30, and an end day 31 counts as 30 only when the start day
    is 30 or 31. Jan 15 -> Feb 15 is 30 days; Jan 31 -> Feb 28 is 28; Mar 31 -> Apr 30 is 30."""
    d1 = min(start.day, 30)
    d2 = min(end.day, 30) if d1 == 30 else end.day
    return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
