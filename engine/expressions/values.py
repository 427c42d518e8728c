"""The values formulas compute with, and how inputs become them.

Numbers are :class:`~decimal.Decimal` (ints are accepted, floats are converted through
their text so 0.1 stays 0.1); blank is ``None``; dates and date-times are
``datetime.date`` / aware ``datetime.datetime`` in the evaluation's time zone; sub-tables
are lists of row mappings.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, tzinfo
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.limits import MAX_EXPONENT, MAX_TEXT_LENGTH, PRECISION

#: every computed number goes through this context: half-up rounding, bounded size, and
#: traps so that an overflow or an invalid operation becomes a clear error, never NaN.
DECIMAL = Context(
    prec=PRECISION,
    rounding=ROUND_HALF_UP,
    Emax=MAX_EXPONENT,
    Emin=-MAX_EXPONENT,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

_KIND_BY_TYPE: dict[type, str] = {
    Decimal: "number",
    int: "number",
    str: "text",
    bool: "yes/no",
    date: "date",
    datetime: "date-time",
    list: "list",
    tuple: "list",
    dict: "row",
    type(None): "blank",
}


def kind(value: Any) -> str:
    """The language's name for the type of ``value`` (used in messages and dispatch)."""
    found = _KIND_BY_TYPE.get(type(value))
    if found is not None:
        return found
    for cls, name in _KIND_BY_TYPE.items():
        if isinstance(value, cls) and cls is not bool:
            return name
    return type(value).__name__


def is_number(value: Any) -> bool:
    """True for Decimal and int, never for bool (True is not 1 in formulas)."""
    return kind(value) == "number"


def to_decimal(value: Any) -> Decimal:
    """A number as Decimal (ints exactly); callers have checked it is a number."""
    return value if type(value) is Decimal else Decimal(value)


def load(value: Any, zone: tzinfo) -> Any:
    """Turn an input value into the language's value (float -> Decimal via its text,
    int -> Decimal, naive date-time -> aware in ``zone``, aware -> converted to ``zone``)."""
    cls = type(value)
    if cls is Decimal or value is None or cls is str or cls is bool:
        return value
    if cls is int:
        return Decimal(value)
    if cls is float:
        if not math.isfinite(value):
            raise ExpressionError(f"the value {value} is not a finite number")
        return Decimal(str(value))
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)
    if isinstance(value, tuple):
        return list(value)
    return value


def is_blank(value: Any) -> bool:
    """Blank means None, empty text or an empty list (ISBLANK, COALESCE, aggregates)."""
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def checked_text(text: str) -> str:
    """``text`` when it is within the text limit, else a clear error."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ExpressionError(
            f"the text result would be longer than {MAX_TEXT_LENGTH:,} characters",
            hint="shorten the texts being joined or repeated",
        )
    return text


def format_number(value: Decimal | int) -> str:
    """Plain digits, never scientific notation: 1E+3 is written 1000."""
    if type(value) is int:
        return str(value)
    return format(value, "f")


def to_text(value: Any) -> str:
    """The text form used by TEXT(), CONCAT() and ``text + ...``: blank is ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal | int):
        return format_number(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(to_text(v) for v in value)
    return str(value)


def align_dates(a: Any, b: Any) -> tuple[Any, Any]:
    """A date next to a date-time becomes midnight of that day in the date-time's zone,
    so ``created_at >= TODAY()`` compares moments rather than failing."""
    if isinstance(a, datetime) and not isinstance(b, datetime) and isinstance(b, date):
        return a, datetime.combine(b, time(0), tzinfo=a.tzinfo)
    if isinstance(b, datetime) and not isinstance(a, datetime) and isinstance(a, date):
        return datetime.combine(a, time(0), tzinfo=b.tzinfo), b
    return a, b


def whole_number(value: Any, what: str) -> int:
    """An integral number as int (day counts, digits), else an error naming ``what``."""
    if not is_number(value):
        raise ExpressionError(f"{what} must be a whole number, got {kind(value)}")
    number = to_decimal(value)
    if number != number.to_integral_value():
        raise ExpressionError(f"{what} must be a whole number, got {format_number(number)}")
    return int(number)
