"""Turn untrusted values into safe figures and labels, never raising.

LiteLLM's logging payload is a TypedDict in name only: fields go missing, change type between
releases, or arrive as ``None``, ``NaN`` or a nested object. Every value the callback reads goes
through one of these functions, which return a usable default instead of raising, so a strange
payload costs a figure, never the record (and never the request).
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Final

__all__ = ["amount", "count", "epoch_seconds", "identifier", "label", "ratio_ms"]

# Labels become CloudWatch dimension values and JSON strings: printable ASCII without quotes or
# backslashes (so JSON never escapes them), at most 200 characters. With identifiers bounded too,
# a whole record stays under the 4 KiB a pipe writes atomically, and valid everywhere.
LABEL_LIMIT: Final = 200
_NOT_PLAIN: Final = re.compile(r'[^\x20-\x7e]|["\\]')
_IDENTIFIER: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_MAX_COUNT: Final = 10**15
_MAX_AMOUNT: Final = 1e12
# Epoch seconds from 2001 to 2286: anything else is not a timestamp of a request.
_MIN_EPOCH: Final = 1e9
_MAX_EPOCH: Final = 1e10


def _finite_number(value: object) -> float | None:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    # bool is an int in Python but never a figure in a payload.
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return None


def count(value: object) -> int:
    """A non-negative whole count (tokens, hops); 0 for anything that is not one.

    ``3.0`` is a count (JSON has no integers of its own); ``3.7`` is not: rounding junk would
    report a figure nobody sent.
    """
    if type(value) is int and 0 <= value <= _MAX_COUNT:  # the usual case, without conversions
        return value
    number = _finite_number(value)
    if number is None or number < 0 or not number.is_integer():
        return 0
    return int(min(number, _MAX_COUNT))


def amount(value: object) -> float:
    """A non-negative finite amount (USD, milliseconds); 0.0 for anything that is not one."""
    if type(value) is float and 0.0 <= value <= _MAX_AMOUNT:  # the usual case; NaN fails the test
        return value
    number = _finite_number(value)
    if number is None or number < 0:
        return 0.0
    return min(number, _MAX_AMOUNT)


def epoch_seconds(value: object) -> float | None:
    """Seconds since 1970 from a float or a ``datetime``; ``None`` when it is not a plausible time."""
    if isinstance(value, datetime.datetime):
        try:
            value = value.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    number = _finite_number(value)
    if number is None or not _MIN_EPOCH <= number <= _MAX_EPOCH:
        return None
    return number


def ratio_ms(start: float | None, end: float | None) -> float | None:
    """The milliseconds from ``start`` to ``end``, or ``None`` unless both exist and are in order."""
    if start is None or end is None or end < start:
        return None
    return round((end - start) * 1000.0, 3)


def label(value: object) -> str | None:
    """A name fit for a dimension value: printable ASCII, at most 200 characters, not blank.

    Other characters, double quotes and backslashes become ``_``; ``None`` when there is no text.
    """
    if not isinstance(value, str):
        return None
    if (
        len(value) <= LABEL_LIMIT
        and value.isascii()
        and value.isprintable()
        and '"' not in value
        and "\\" not in value
        and value.strip() == value
    ):
        return value or None  # the usual case: a plain name, returned as it is
    text = _NOT_PLAIN.sub("_", value[: LABEL_LIMIT * 2]).strip()[:LABEL_LIMIT].strip()
    return text or None


def identifier(value: object) -> str | None:
    """A short machine name (an error class, a call id): ``None`` unless it is exactly one."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value) if -(10**18) < value < 10**18 else None
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        return None
    return value
