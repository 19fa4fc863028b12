"""Identity numbers: the unified social credit code (GB 32100-2015) and the resident identity
number (GB 11643-1999, ISO 7064 MOD 11-2)."""

import pytest
from django.core.exceptions import ValidationError

from platform_core.accounts.validators import (
    CREDIT_CODE_CHARSET,
    credit_code_check_char,
    credit_code_is_valid,
    resident_id_check_char,
    resident_id_is_valid,
    validate_credit_code,
    validate_resident_id,
)

REAL_CREDIT_CODE = "91350100M000100Y43"
# The worked examples printed in GB 11643-1999.
REAL_RESIDENT_IDS = ["11010519491231002X", "440524188001010014"]


def test_a_real_credit_code_is_valid():
    assert credit_code_is_valid(REAL_CREDIT_CODE)
    assert credit_code_check_char(REAL_CREDIT_CODE[:17]) == "3"
    validate_credit_code(REAL_CREDIT_CODE)  # does not raise


@pytest.mark.parametrize("position", range(18))
def test_changing_any_one_character_of_a_credit_code_makes_it_invalid(position):
    original = REAL_CREDIT_CODE[position]
    for replacement in CREDIT_CODE_CHARSET:
        if replacement == original:
            continue
        mutated = REAL_CREDIT_CODE[:position] + replacement + REAL_CREDIT_CODE[position + 1 :]
        assert not credit_code_is_valid(mutated), mutated


@pytest.mark.parametrize(
    "code",
    [
        REAL_CREDIT_CODE.lower(),
        REAL_CREDIT_CODE[:17],
        REAL_CREDIT_CODE + "0",
        "",
        " " + REAL_CREDIT_CODE[:17],
        REAL_CREDIT_CODE[:17] + " ",
    ],
)
def test_malformed_credit_codes_are_invalid(code):
    assert not credit_code_is_valid(code)


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_letters_outside_the_charset_are_invalid_whatever_the_check_digit(letter):
    first17 = REAL_CREDIT_CODE[:8] + letter + REAL_CREDIT_CODE[9:17]
    for check in CREDIT_CODE_CHARSET + letter:
        assert not credit_code_is_valid(first17 + check)


@pytest.mark.parametrize("value", [None, 91350100, ["91350100M000100Y43"]])
def test_credit_code_of_the_wrong_type_is_invalid(value):
    assert not credit_code_is_valid(value)


def test_validate_credit_code_raises_a_coded_validation_error():
    with pytest.raises(ValidationError) as excinfo:
        validate_credit_code("91350100M000100Y44")
    assert excinfo.value.code == "invalid_credit_code"


@pytest.mark.parametrize("number", REAL_RESIDENT_IDS)
def test_real_resident_ids_are_valid(number):
    assert resident_id_is_valid(number)
    assert resident_id_check_char(number[:17]) == number[17]
    validate_resident_id(number)


@pytest.mark.parametrize("position", range(18))
def test_changing_any_one_character_of_a_resident_id_makes_it_invalid(position):
    number = REAL_RESIDENT_IDS[0]
    alphabet = "0123456789X" if position == 17 else "0123456789"
    for replacement in alphabet:
        if replacement == number[position]:
            continue
        mutated = number[:position] + replacement + number[position + 1 :]
        assert not resident_id_is_valid(mutated), mutated


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002x",  # the check character is a capital X (sign-up upper-cases input first)
        "11010519491231002",
        "11010519491231002X0",
        "",
        "1101051949123100AX",
        "X10105194912310020",
        "１１０１０５１９４９１２３１００２X",  # full-width digits
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits
        "1101051949123100²X",  # a superscript is a "digit" to str.isdigit() but not to int()
    ],
)
def test_malformed_resident_ids_are_invalid(number):
    assert not resident_id_is_valid(number)


def test_validate_resident_id_raises_a_coded_validation_error():
    with pytest.raises(ValidationError) as excinfo:
        validate_resident_id("110105194912310021")
    assert excinfo.value.code == "invalid_resident_id"


@pytest.mark.parametrize("birth", ["19901399", "19900230", "17991231", "29990101"])
def test_resident_id_with_an_impossible_birth_date_is_invalid(birth):
    from platform_core.accounts.validators import resident_id_check_char, resident_id_is_valid

    first17 = f"110101{birth}001"
    assert not resident_id_is_valid(first17 + resident_id_check_char(first17))
