"""Identity-number checks: the unified social credit code (GB 32100-2015) and the resident
identity number (GB 11643-1999, ISO 7064 MOD 11-2)."""

import datetime

from django.core.exceptions import ValidationError

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"


def credit_code_check_char(first17: str) -> str:
    total = sum(CREDIT_CODE_CHARSET.index(ch) * w for ch, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def credit_code_is_valid(code: str) -> bool:
    return (
        isinstance(code, str)
        and len(code) == 18
        and all(ch in CREDIT_CODE_CHARSET for ch in code)
        and credit_code_check_char(code[:17]) == code[17]
    )


def validate_credit_code(value: str) -> None:
    if not credit_code_is_valid(value):
        raise ValidationError(
            "Enter a valid 18-character unified social credit code (digits and capital letters, "
            "last character is the check digit).",
            code="invalid_credit_code",
        )


def resident_id_check_char(first17: str) -> str:
    return RESIDENT_ID_CHECK[sum(int(ch) * w for ch, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True)) % 11]


def resident_id_is_valid(number: str) -> bool:
    return (
        isinstance(number, str)
        and len(number) == 18
        and number[:17].isascii()  # str.isdigit() also accepts full-width, Arabic-Indic and superscript digits
        and number[:17].isdigit()
        and _birth_date_is_real(number[6:14])
        and resident_id_check_char(number[:17]) == number[17]
    )


def _birth_date_is_real(yyyymmdd: str) -> bool:
    """Digits 7-14 of a resident identity number are the holder's birth date (GB 11643-1999)."""
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return datetime.date(1800, 1, 1) <= born <= datetime.date.today()


def validate_resident_id(value: str) -> None:
    if not resident_id_is_valid(value):
        raise ValidationError(
            "Enter a valid 18-character resident identity number (the last character is the check digit).",
            code="invalid_resident_id",
        )
