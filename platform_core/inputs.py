"""Parsing of untrusted input that is not money (money: platform_core.money.parse_amount).

One rule per kind of input, each answering ApplicationError (a 4xx with a stable code, or a message
beside the form field) for anything it cannot take, never an exception that becomes a 500:

- text a query may carry (filters, searches): no NUL and no other control character, because
  PostgreSQL refuses a NUL in any text parameter (`query_text_refusal`, used by the middleware);
- whole numbers: ASCII digits or a JSON integer, within bounds (`whole_number`); `1e400` parsed by
  JSON is a float (infinity) and `int()` of it overflows, "１００" and "1_000" are not digits here;
- time zones: a name from the zone database (`time_zone_check`); `ZoneInfo("America")` names a
  directory and raises IsADirectoryError, so the name is looked up in the database's list first.
"""

import functools
import re
import zoneinfo

from django.utils.translation import gettext as _

from platform_core.errors import ApplicationError

#: Control characters (C0 except tab, newline, carriage return; DEL; C1). NUL is the one PostgreSQL
#: refuses outright; the others have no place in a filter or a search either.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_DIGITS = re.compile(r"-?[0-9]+", flags=re.ASCII)


def query_text_refusal(text: str) -> str | None:
    """Why `text` (a query parameter's name or value) cannot be used, or None when it can."""
    if _CONTROL.search(text):
        return _("Query parameters may not contain control characters (such as a NUL byte).")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return _("Query parameters must be valid UTF-8 text.")
    return None


def whole_number(raw, *, field: str, code: str, low: int, high: int, message: str | None = None) -> int:
    """A whole number from user input (a JSON integer, or ASCII digits in a string) in [low, high]."""
    refusal = message or _("Enter a whole number from %(low)s to %(high)s.") % {"low": f"{low:,}", "high": f"{high:,}"}
    if isinstance(raw, bool):
        raise ApplicationError(code, refusal, field=field)
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()) and len(raw.strip()) <= 20:
        value = int(raw.strip())
    else:  # floats (1.5, 1e400 = infinity), exponents, "1_000", non-ASCII digits, lists, objects
        raise ApplicationError(code, refusal, field=field)
    if not low <= value <= high:
        raise ApplicationError(code, refusal, field=field)
    return value


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_check(name, *, field: str = "time_zone") -> str:
    """A zone of the zone database by its name ("Asia/Shanghai"), or ApplicationError invalid_time_zone."""
    if not isinstance(name, str) or name not in _zone_names():
        shown = name if isinstance(name, str) and len(name) <= 64 else "?"
        raise ApplicationError(
            "invalid_time_zone", _("Unknown time zone %(name)r; use a name such as Asia/Shanghai.") % {"name": shown}, field=field
        )
    return name
