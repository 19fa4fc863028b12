"""p2p.schedules.schedule_generate: Fineract's reference schedules to the cent, then properties.

Reference schedules A, B, C are DOMAIN.md section 3 (taken from Fineract's own tests). The property tests
check the invariants a borrower or an accountant would check on any schedule, with oracles computed here
independently (Decimal at high precision, not the module's Fraction arithmetic).
"""

import calendar
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from p2p.schedules import Installment, schedule_generate


def column(schedule: list[Installment], name: str) -> list[Decimal]:
    return [getattr(installment, name) for installment in schedule]


def amounts(*values: str) -> list[Decimal]:
    return [Decimal(value) for value in values]


# --- Reference schedules -------------------------------------------------------------------------


def test_reference_schedule_a_equal_installments_residue_in_last():
    schedule = schedule_generate(
        principal=Decimal("12000.00"),
        period_rate=Decimal("0.02"),
        periods=4,
        method="equal_installments",
        start_date=date(2024, 1, 15),
    )

    assert column(schedule, "principal") == amounts("2911.49", "2969.72", "3029.11", "3089.68")
    assert column(schedule, "interest") == amounts("240.00", "181.77", "122.38", "61.79")
    assert column(schedule, "total") == amounts("3151.49", "3151.49", "3151.49", "3151.47")
    assert column(schedule, "balance_after") == amounts("9088.51", "6118.79", "3089.68", "0.00")
    assert column(schedule, "number") == [1, 2, 3, 4]
    assert column(schedule, "due_date") == [date(2024, 2, 15), date(2024, 3, 15), date(2024, 4, 15), date(2024, 5, 15)]


def test_reference_schedule_b_annual_rate_30_360():
    schedule = schedule_generate(
        principal=Decimal("100.00"),
        annual_rate=Decimal("0.094822"),
        day_count="30/360",
        periods=6,
        method="equal_installments",
        start_date=date(2024, 1, 1),
    )

    assert column(schedule, "interest") == amounts("0.79", "0.66", "0.53", "0.40", "0.27", "0.13")
    assert column(schedule, "principal") == amounts("16.34", "16.47", "16.60", "16.73", "16.86", "17.00")
    # EMI 17.13; the rounded interests leave exactly 17.00 for the last principal, so no residue here.
    assert column(schedule, "total") == amounts("17.13", "17.13", "17.13", "17.13", "17.13", "17.13")
    assert column(schedule, "balance_after") == amounts("83.66", "67.19", "50.59", "33.86", "17.00", "0.00")


def test_reference_schedule_c_equal_principal_in_multiples_of_100():
    schedule = schedule_generate(
        principal=Decimal("10000000"),
        period_rate=Decimal("0.02"),
        periods=24,
        method="equal_principal",
        start_date=date(2024, 1, 1),
        minor_unit=Decimal("1"),
        multiple_of=Decimal("100"),
    )

    assert column(schedule, "principal") == [Decimal("416700")] * 23 + [Decimal("415900")]
    # 9,583,300 * 2 % = 191,666 -> 191,700: interest is rounded to the multiple too.
    assert column(schedule, "interest")[:4] == amounts("200000", "191700", "183300", "175000")
    assert column(schedule, "total")[:4] == amounts("616700", "608400", "600000", "591700")
    assert column(schedule, "balance_after")[:4] == amounts("9583300", "9166600", "8749900", "8333200")
    # Last period: 415,900 * 2 % = 8,318 -> 8,300.
    assert [schedule[-1].interest, schedule[-1].total, schedule[-1].balance_after] == amounts("8300", "424200", "0")
    assert all(amount % 100 == 0 for amount in column(schedule, "interest"))


# --- Rounding rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "expected_interest"),
    [("1.00", "0.00"), ("3.00", "0.02"), ("5.00", "0.02")],  # 0.005, 0.015, 0.025: ties go to the even cent
)
def test_interest_ties_round_half_even_to_the_minor_unit(principal, expected_interest):
    schedule = schedule_generate(
        principal=Decimal(principal), period_rate=Decimal("0.005"), periods=2, method="interest_only", start_date=date(2024, 1, 1)
    )

    assert column(schedule, "interest") == [Decimal(expected_interest)] * 2


@pytest.mark.parametrize(("principal", "expected_interest"), [("12500", "300"), ("17500", "400"), ("12400", "200")])
def test_multiple_of_ties_round_up_like_fineract(principal, expected_interest):
    # 12,500 * 2 % = 250 and 17,500 * 2 % = 350: Fineract's Money.roundToMultiplesOf takes the ceiling on a tie.
    schedule = schedule_generate(
        principal=Decimal(principal),
        period_rate=Decimal("0.02"),
        periods=3,
        method="interest_only",
        start_date=date(2024, 1, 1),
        minor_unit=Decimal("1"),
        multiple_of=Decimal("100"),
    )

    assert column(schedule, "interest") == [Decimal(expected_interest)] * 3
    assert column(schedule, "principal") == amounts("0", "0", principal)
    assert column(schedule, "balance_after") == amounts(principal, principal, "0")


def test_equal_installments_pmt_rounded_to_the_multiple():
    # pmt = 1,000,000 * 2 % / (1 - 1.02^-12) = 94,559.60 -> 94,600; interest 20,000. Last: 92,200 left,
    # interest 92,200 * 2 % = 1,844 -> 1,800, total 94,000.
    schedule = schedule_generate(
        principal=Decimal("1000000"),
        period_rate=Decimal("0.02"),
        periods=12,
        method="equal_installments",
        start_date=date(2024, 1, 1),
        minor_unit=Decimal("1"),
        multiple_of=Decimal("100"),
    )

    assert column(schedule, "total")[:11] == [Decimal("94600")] * 11
    assert [schedule[0].interest, schedule[0].principal] == amounts("20000", "74600")
    assert [schedule[1].interest, schedule[1].principal] == amounts("18500", "76100")  # 925,400 * 2 % = 18,508
    assert [schedule[-1].principal, schedule[-1].interest, schedule[-1].total] == amounts("92200", "1800", "94000")
    assert sum(column(schedule, "principal")) == Decimal("1000000")


def test_zero_rate_equal_installments_is_principal_over_n():
    schedule = schedule_generate(
        principal=Decimal("100.00"), period_rate=Decimal("0"), periods=3, method="equal_installments", start_date=date(2024, 1, 1)
    )

    assert column(schedule, "principal") == amounts("33.33", "33.33", "33.34")
    assert column(schedule, "interest") == amounts("0.00", "0.00", "0.00")
    assert column(schedule, "total") == amounts("33.33", "33.33", "33.34")


def test_zero_annual_rate_equal_principal():
    schedule = schedule_generate(
        principal=Decimal("12000.00"), annual_rate=Decimal("0"), periods=4, method="equal_principal", start_date=date(2024, 1, 1)
    )

    assert column(schedule, "total") == amounts("3000.00", "3000.00", "3000.00", "3000.00")
    assert column(schedule, "balance_after") == amounts("9000.00", "6000.00", "3000.00", "0.00")


def test_interest_only_pays_all_principal_with_the_last():
    schedule = schedule_generate(
        principal=Decimal("5000.00"), annual_rate=Decimal("0.12"), periods=3, method="interest_only", start_date=date(2024, 1, 1)
    )

    assert column(schedule, "principal") == amounts("0.00", "0.00", "5000.00")
    assert column(schedule, "interest") == amounts("50.00", "50.00", "50.00")
    assert column(schedule, "total") == amounts("50.00", "50.00", "5050.00")
    assert column(schedule, "balance_after") == amounts("5000.00", "5000.00", "0.00")


def test_single_period_loan():
    schedule = schedule_generate(
        principal=Decimal("1000.00"),
        period_rate=Decimal("0.015"),
        periods=1,
        method="equal_installments",
        start_date=date(2024, 1, 1),
    )

    assert schedule == [
        Installment(
            number=1,
            due_date=date(2024, 2, 1),
            principal=Decimal("1000.00"),
            interest=Decimal("15.00"),
            total=Decimal("1015.00"),
            balance_after=Decimal("0.00"),
        )
    ]


def test_residue_can_exceed_one_minor_unit_per_period_at_high_rates():
    # Found by search: pmt 403,247.3251... -> .33 over-pays by ~0.5 cent a month and the excess compounds
    # at 3 %/month, so the last installment is 41 cents below the others over 35 periods: more than one
    # cent per period. The provable bound is one unit per period compounded, sum((1+r)^j, j < n) = 60.46
    # cents here, which is what the property test checks.
    schedule = schedule_generate(
        principal=Decimal("8664674.56"),
        annual_rate=Decimal("0.359999"),
        periods=35,
        method="equal_installments",
        start_date=date(2024, 1, 1),
    )

    assert schedule[0].total == Decimal("403247.33")
    assert schedule[-1].total == Decimal("403246.92")
    assert abs(schedule[-1].total - schedule[0].total) > Decimal("0.01") * 35
    assert sum(column(schedule, "principal")) == Decimal("8664674.56")


# --- Due dates -----------------------------------------------------------------------------------


def test_due_dates_clamp_to_month_end_in_a_leap_year_without_drifting():
    schedule = schedule_generate(
        principal=Decimal("1200.00"),
        period_rate=Decimal("0.01"),
        periods=5,
        method="equal_principal",
        start_date=date(2024, 1, 31),
    )

    assert column(schedule, "due_date") == [
        date(2024, 2, 29),
        date(2024, 3, 31),  # counted from Jan 31, not from Feb 29
        date(2024, 4, 30),
        date(2024, 5, 31),
        date(2024, 6, 30),
    ]


def test_due_dates_clamp_in_a_common_year_and_cross_the_year():
    schedule = schedule_generate(
        principal=Decimal("1200.00"),
        period_rate=Decimal("0.01"),
        periods=13,
        method="equal_principal",
        start_date=date(2023, 1, 31),
    )

    dates = column(schedule, "due_date")
    assert dates[:3] == [date(2023, 2, 28), date(2023, 3, 31), date(2023, 4, 30)]
    assert dates[10:] == [date(2023, 12, 31), date(2024, 1, 31), date(2024, 2, 29)]


# --- Validation ----------------------------------------------------------------------------------

VALID = {
    "principal": Decimal("1000.00"),
    "period_rate": Decimal("0.01"),
    "periods": 12,
    "method": "equal_installments",
    "start_date": date(2024, 1, 1),
}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"principal": Decimal("0")}, "principal must be greater than zero"),
        ({"principal": Decimal("-5.00")}, "principal must be greater than zero"),
        ({"principal": Decimal("10.005")}, "not a multiple of the rounding unit 0.01"),
        ({"principal": 1000.0}, "principal must be a Decimal"),
        ({"principal": Decimal("NaN")}, "principal must be a finite number"),
        ({"periods": 0}, "periods must be between 1 and 360"),
        ({"periods": 361}, "periods must be between 1 and 360"),
        ({"periods": True}, "periods must be an integer"),
        ({"periods": 12.0}, "periods must be an integer"),
        ({"period_rate": Decimal("-0.01")}, "period_rate must be >= 0"),
        ({"period_rate": None, "annual_rate": Decimal("-0.12")}, "annual_rate must be >= 0"),
        ({"annual_rate": Decimal("0.12")}, "exactly one of annual_rate or period_rate"),
        ({"period_rate": None}, "exactly one of annual_rate or period_rate"),
        ({"method": "balloon"}, "Unknown method 'balloon'"),
        ({"day_count": "actual/365"}, "Unknown day count 'actual/365'"),
        ({"minor_unit": Decimal("0.05")}, "minor_unit must be a positive power of ten"),
        ({"minor_unit": Decimal("0")}, "minor_unit must be a positive power of ten"),
        ({"multiple_of": Decimal("0.005")}, "multiple_of must be a positive multiple of the minor unit"),
        ({"principal": Decimal("1050.00"), "multiple_of": Decimal("100")}, "not a multiple of the rounding unit 100"),
        ({"start_date": "2024-01-01"}, "start_date must be a date"),
    ],
)
def test_invalid_input_raises_value_error(change, message):
    with pytest.raises(ValueError, match=message):
        schedule_generate(**{**VALID, **change})


@pytest.mark.parametrize("method", ["equal_installments", "equal_principal"])
@pytest.mark.parametrize(
    ("principal", "periods"),
    [
        ("1.00", 36),  # 0.03 a month repays 1.00 in period 34
        ("1.00", 21),  # 0.05 a month repays it exactly in period 20, leaving a 0.00 last installment
    ],
)
def test_principal_too_small_for_the_term_raises(method, principal, periods):
    with pytest.raises(ValueError, match=f"too small to spread over {periods} periods"):
        schedule_generate(
            principal=Decimal(principal), period_rate=Decimal("0"), periods=periods, method=method, start_date=date(2024, 1, 1)
        )


# --- Properties ----------------------------------------------------------------------------------

# (minor unit, multiple_of): a 2-decimal currency, a 0-decimal one, and a 0-decimal one in multiples of 100.
UNITS = [(Decimal("0.01"), None), (Decimal("1"), None), (Decimal("1"), Decimal("100"))]
MAX_AMOUNT = Decimal("10000000.00")


@st.composite
def loans(draw):
    minor_unit, multiple_of = draw(st.sampled_from(UNITS))
    unit = multiple_of or minor_unit
    smallest = max(unit, Decimal("1.00"))
    principal = unit * draw(st.integers(int(smallest / unit), int(MAX_AMOUNT / unit)))
    # Up to 36 %/year (3 %/month), 0 included, as a yearly rate under 30/360 or as a monthly rate.
    if draw(st.booleans()):
        rates = {"annual_rate": Decimal(draw(st.integers(0, 360_000))) / Decimal("1000000")}
    else:
        rates = {"period_rate": Decimal(draw(st.integers(0, 30_000))) / Decimal("1000000")}
    return {
        "principal": principal,
        **rates,
        "periods": draw(st.integers(1, 36)),
        "method": draw(st.sampled_from(["equal_installments", "equal_principal", "interest_only"])),
        "start_date": draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))),
        "minor_unit": minor_unit,
        "multiple_of": multiple_of,
    }


# The oracle works in Decimal with enough digits that every product is exact and the one division comes
# last, so an exact tie stays a tie (annual / 12 is not a finite decimal: 18.00 * 1 % / 12 = 0.015 exactly,
# but 18.00 * (0.01 / 12) at 60 digits is 0.01499...). The @examples below pin two such ties.
ORACLE_DIGITS = 1000


def rate_parts(loan) -> tuple[Decimal, Decimal]:
    """The monthly rate as numerator / denominator."""
    return (loan["period_rate"], Decimal(1)) if "period_rate" in loan else (loan["annual_rate"], Decimal(12))


def monthly_rate(loan) -> Decimal:
    numerator, denominator = rate_parts(loan)
    with localcontext(prec=60):  # only for the inequality bounds below
        return numerator / denominator


def round_to(value: Decimal, loan) -> Decimal:
    """The oracle's rounding: HALF_EVEN to the minor unit, half-up to a multiple (Fineract), in Decimal."""
    unit = loan["multiple_of"] or loan["minor_unit"]
    mode = ROUND_HALF_UP if loan["multiple_of"] else ROUND_HALF_EVEN
    with localcontext(prec=ORACLE_DIGITS):
        return ((value / unit).quantize(Decimal(1), rounding=mode) * unit).quantize(loan["minor_unit"])


def interest_oracle(balance: Decimal, loan) -> Decimal:
    numerator, denominator = rate_parts(loan)
    with localcontext(prec=ORACLE_DIGITS):
        return round_to(balance * numerator / denominator, loan)


def pmt_oracle(loan) -> Decimal:
    """round(P*r / (1 - (1+r)^-n)) with r = a/d, written as P*a*(d+a)^n / (d*((d+a)^n - d^n))."""
    principal, periods = loan["principal"], loan["periods"]
    a, d = rate_parts(loan)
    with localcontext(prec=ORACLE_DIGITS):
        if a == 0:
            return round_to(principal / periods, loan)
        return round_to(principal * a * (d + a) ** periods / (d * ((d + a) ** periods - d**periods)), loan)


def compounded_residue_bound(loan) -> Decimal:
    """|last total - pmt| <= unit * sum((1+r)^j for j < n): each period's two roundings are off by at most
    one unit together, and an error in the balance grows by (1+r) a period. n units when r = 0."""
    unit, rate, periods = loan["multiple_of"] or loan["minor_unit"], monthly_rate(loan), loan["periods"]
    with localcontext(prec=60):
        return unit * sum((1 + rate) ** j for j in range(periods))


@settings(max_examples=400, deadline=None)
@given(loan=loans())
@example(  # schedule A through the property checks too
    loan={
        "principal": Decimal("12000.00"),
        "period_rate": Decimal("0.02"),
        "periods": 4,
        "method": "equal_installments",
        "start_date": date(2024, 1, 31),
        "minor_unit": Decimal("0.01"),
        "multiple_of": None,
    }
)
@example(  # an exact tie in pmt: 100,000 * (1 + 0.0021 % / 12) = 100,000.175 -> 100,000.18 (half-even)
    loan={
        "principal": Decimal("100000.00"),
        "annual_rate": Decimal("0.000021"),
        "periods": 1,
        "method": "equal_installments",
        "start_date": date(2000, 1, 1),
        "minor_unit": Decimal("0.01"),
        "multiple_of": None,
    }
)
@example(  # an exact tie in interest under annual / 12: 18.00 * 1 % / 12 = 0.015 -> 0.02
    loan={
        "principal": Decimal("18.00"),
        "annual_rate": Decimal("0.01"),
        "periods": 2,
        "method": "interest_only",
        "start_date": date(2000, 1, 1),
        "minor_unit": Decimal("0.01"),
        "multiple_of": None,
    }
)
def test_schedule_properties(loan):
    unit, minor_unit = loan["multiple_of"] or loan["minor_unit"], loan["minor_unit"]
    periods, principal = loan["periods"], loan["principal"]
    rate = monthly_rate(loan)
    try:
        schedule = schedule_generate(**loan)
    except ValueError as error:
        # Only a principal that is tiny for the term may be refused: the loan is repaid before the last
        # period only if the accumulated rounding error reaches the last period's share of the principal.
        assert "too small to spread" in str(error)
        assert loan["method"] != "interest_only"
        with localcontext(prec=60):
            assert principal <= unit * periods * (periods - 1) * (1 + rate) ** periods
        return

    assert [installment.number for installment in schedule] == list(range(1, periods + 1))

    # Money adds up: principal parts sum to the loan, the balance walks down to exactly 0.
    assert sum(column(schedule, "principal")) == principal
    balance = principal
    for installment in schedule:
        # interest on the balance outstanding during the period, rounded by the rule (independent oracle)
        assert installment.interest == interest_oracle(balance, loan)
        balance -= installment.principal
        assert installment.balance_after == balance
        assert installment.total == installment.principal + installment.interest
    assert schedule[-1].balance_after == 0

    # Nothing negative; every amount a whole number of rounding units, shown with the currency's decimals.
    for installment in schedule:
        for amount in (installment.principal, installment.interest, installment.total, installment.balance_after):
            assert amount >= 0
            assert amount % unit == 0
            assert amount.as_tuple().exponent == minor_unit.as_tuple().exponent

    # Method shapes.
    totals, principals, interests = column(schedule, "total"), column(schedule, "principal"), column(schedule, "interest")
    if loan["method"] == "equal_installments":
        assert totals[0] == pmt_oracle(loan)
        assert totals[:-1] == [totals[0]] * (periods - 1)
        assert abs(totals[-1] - totals[0]) <= compounded_residue_bound(loan)
    elif loan["method"] == "equal_principal":
        with localcontext(prec=ORACLE_DIGITS):
            assert principals[:-1] == [round_to(principal / periods, loan)] * (periods - 1)
        assert abs(principals[-1] - principals[0]) * 2 <= unit * periods  # n rounding errors of <= unit/2
    else:
        assert principals == [0 * unit] * (periods - 1) + [principal]
        assert interests == [interest_oracle(principal, loan)] * periods

    # Due dates: start + k months, day clamped to the month's length, strictly increasing.
    start = loan["start_date"]
    for months, installment in enumerate(schedule, start=1):
        due = installment.due_date
        assert (due.year * 12 + due.month) - (start.year * 12 + start.month) == months
        assert due.day == min(start.day, calendar.monthrange(due.year, due.month)[1])
    dates = column(schedule, "due_date")
    assert all(earlier < later for earlier, later in zip(dates, dates[1:], strict=False))


@settings(max_examples=200, deadline=None)
@given(
    principal_cents=st.integers(4_001, 1_000_000_000),
    annual_rate_millionths=st.integers(0, 360_000),
    periods=st.integers(1, 36),
    method=st.sampled_from(["equal_installments", "equal_principal", "interest_only"]),
)
def test_ordinary_loans_are_never_refused(principal_cents, annual_rate_millionths, periods, method):
    # Above unit * n * (n-1) * (1+r)^n (36.5 at 36 months and 36 %/year) no rounding can repay the loan
    # early, so every loan from 40.01 up gets its full schedule.
    principal = Decimal(principal_cents) / 100
    schedule = schedule_generate(
        principal=principal,
        annual_rate=Decimal(annual_rate_millionths) / Decimal("1000000"),
        periods=periods,
        method=method,
        start_date=date(2024, 1, 31),
    )

    assert len(schedule) == periods
    assert all(installment.principal > 0 for installment in schedule[:-1]) or method == "interest_only"
