"""platform_core.money: every amount a user types passes parse_amount, which answers with a stable code."""

from decimal import Decimal

import pytest
from django.conf import settings

from platform_core.errors import ApplicationError
from platform_core.money import parse_amount, quantize


@pytest.mark.parametrize(
    "raw, code",
    [
        ("-5", "amount_not_positive"),
        ("-0.01", "amount_not_positive"),
        ("0", "amount_not_positive"),
        ("0.00", "amount_not_positive"),
        ("-0", "amount_not_positive"),
        ("0.001", "amount_too_precise"),
        ("12.345", "amount_too_precise"),
        ("100.005", "amount_too_precise"),
        ("abc", "invalid_amount"),
        ("", "invalid_amount"),
        ("   ", "invalid_amount"),
        (None, "invalid_amount"),
        ("1,000.00", "invalid_amount"),
        ("12.50 CNY", "invalid_amount"),
        ("NaN", "invalid_amount"),
        ("sNaN", "invalid_amount"),
        ("Infinity", "invalid_amount"),
        ("-Infinity", "invalid_amount"),
        (12.5, "invalid_amount"),  # a float is a binary fraction: refused even when it looks exact
        (0.1, "invalid_amount"),
        (True, "invalid_amount"),
        ("1000000000.01", "amount_too_large"),
        ("1e30", "invalid_amount"),
        ("9" * 40, "amount_too_large"),
        ("1E+999999", "invalid_amount"),
    ],
)
def test_bad_amount_raises_its_stable_code(raw, code):
    with pytest.raises(ApplicationError) as excinfo:
        parse_amount(raw)
    assert excinfo.value.code == code
    assert excinfo.value.field == "amount"
    assert excinfo.value.status == 400
    assert excinfo.value.message


def test_unknown_currency_is_refused_on_the_currency_field():
    with pytest.raises(ApplicationError) as excinfo:
        parse_amount("10.00", currency="XYZ")
    assert excinfo.value.code == "unknown_currency"
    assert excinfo.value.field == "currency"
    assert "CNY" in excinfo.value.message  # says what is supported


def test_error_names_the_field_it_was_given():
    with pytest.raises(ApplicationError) as excinfo:
        parse_amount("abc", field="target")
    assert excinfo.value.field == "target"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("100", "100.00"),
        ("100.5", "100.50"),
        ("0.01", "0.01"),
        (" 7.10 ", "7.10"),
        ("1000000000.00", "1000000000.00"),  # exactly the ceiling is allowed
        (Decimal("3.2"), "3.20"),
        (10, "10.00"),
    ],
)
def test_good_amount_round_trips(raw, expected):
    amount = parse_amount(raw)
    assert isinstance(amount, Decimal)
    assert str(amount) == expected
    assert amount.as_tuple().exponent == -2
    assert parse_amount(str(amount)) == amount


def test_zero_is_allowed_only_when_asked():
    assert parse_amount("0", allow_zero=True) == Decimal("0.00")
    with pytest.raises(ApplicationError) as excinfo:
        parse_amount("-0.01", allow_zero=True)
    assert excinfo.value.code == "amount_not_positive"


def test_ceiling_comes_from_the_platform_settings(settings):
    settings.PLATFORM = {**settings.PLATFORM, "MAX_AMOUNT": Decimal("500.00")}
    assert parse_amount("500.00") == Decimal("500.00")
    with pytest.raises(ApplicationError) as excinfo:
        parse_amount("500.01")
    assert excinfo.value.code == "amount_too_large"
    assert "500.00" in excinfo.value.message


def test_default_ceiling_is_one_billion():
    assert settings.PLATFORM["MAX_AMOUNT"] == Decimal("1000000000.00")


@pytest.mark.parametrize(
    "raw, expected",
    [("0.125", "0.12"), ("0.135", "0.14"), ("2.675", "2.68"), ("-0.125", "-0.12"), ("10", "10.00")],
)
def test_quantize_rounds_half_even_to_the_minor_unit(raw, expected):
    assert str(quantize(Decimal(raw))) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "1e9",  # exponent
        "1E3",
        "1e-2",
        "1_000",  # Python's digit separator
        "1_0_0",
        "１００",  # full-width digits
        "١٠٠",  # Arabic-Indic digits
        "१००",  # Devanagari digits
        "100.",
        ".50",
        "+100",
        "0x10",
        "1,000",  # grouping is the web forms' business (ungroup_amount), never the API's
        "10\x00",
        "1" + "0" * 70,
    ],
)
def test_amounts_are_ascii_digits_only(raw):
    with pytest.raises(ApplicationError) as excinfo:
        parse_amount(raw)
    assert excinfo.value.code in ("invalid_amount", "amount_too_large")
    assert excinfo.value.code == ("amount_too_large" if raw.isascii() and raw.isdigit() else "invalid_amount")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("1,000", "1000"),
        ("12,345.60", "12345.60"),
        ("1,000,000.00", "1000000.00"),
        (" 1,000 ", "1000"),
        ("1,00", "1,00"),  # not groups of three: left for parse_amount to refuse
        ("1,0000", "1,0000"),
        (",100", ",100"),
        ("1000", "1000"),
        ("１,０００", "１,０００"),
    ],
)
def test_web_forms_take_thousands_separators_where_they_belong(raw, expected):
    from platform_core.money import ungroup_amount

    assert ungroup_amount(raw) == expected
