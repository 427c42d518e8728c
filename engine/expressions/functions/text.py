"""Text functions: CONCAT, LEN, UPPER, LOWER, TRIM, TEXT."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.limits import MAX_TEXT_LENGTH
from engine.expressions.values import checked_text, kind, to_text


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ExpressionError(
            f"{name} needs text, got {kind(value)}", hint="convert with TEXT(...)"
        )
    return value


def concat(*values: Any) -> str:
    """CONCAT: the text of every argument joined; blank adds nothing."""
    parts: list[str] = []
    total = 0
    for value in values:
        part = to_text(value)
        total += len(part)
        if total > MAX_TEXT_LENGTH:
            checked_text("x" * total)
        parts.append(part)
    return "".join(parts)


def len_(value: Any) -> int:
    """LEN: the number of characters (a list's number of items); blank is 0."""
    if value is None:
        return 0
    if isinstance(value, list | tuple):
        return len(value)
    return len(_text("LEN", value))


def upper(value: Any) -> str | None:
    """UPPER: text in capitals; blank stays blank."""
    # checked: case mapping can lengthen text ('ﬃ'.upper() is 'FFI')
    return None if value is None else checked_text(_text("UPPER", value).upper())


def lower(value: Any) -> str | None:
    """LOWER: text in small letters; blank stays blank."""
    return None if value is None else checked_text(_text("LOWER", value).lower())


def trim(value: Any) -> str | None:
    """TRIM: text without leading and trailing spaces (full-width ones too)."""
    return None if value is None else _text("TRIM", value).strip()


def text_(value: Any) -> str:
    """TEXT: the text form of any value (numbers in plain digits, dates ISO)."""
    if isinstance(value, Decimal) and not value.is_finite():
        raise ExpressionError("TEXT: the number is not finite")
    return checked_text(to_text(value))


SPECS = (
    FunctionSpec(
        "CONCAT",
        "CONCAT(a, b, ...)",
        "Join the text of every argument; blank adds nothing, numbers keep their digits.",
        'CONCAT("PR-", qty, "-", region)',
        '"PR-12-east"',
        concat,
        1,
        None,
    ),
    FunctionSpec(
        "LEN",
        "LEN(text)",
        "Number of characters (items for a list); blank is 0.",
        'LEN("经销商")',
        "3",
        len_,
        1,
        1,
    ),
    FunctionSpec(
        "UPPER", "UPPER(text)", "Text in capitals.", 'UPPER("sku-1")', '"SKU-1"', upper, 1, 1
    ),
    FunctionSpec(
        "LOWER", "LOWER(text)", "Text in small letters.", 'LOWER("East")', '"east"', lower, 1, 1
    ),
    FunctionSpec(
        "TRIM",
        "TRIM(text)",
        "Text without surrounding spaces.",
        "TRIM(name)",
        '"Zhang Wei"',
        trim,
        1,
        1,
    ),
    FunctionSpec(
        "TEXT",
        "TEXT(value)",
        'Any value as text: numbers in plain digits, dates as YYYY-MM-DD, blank as "".',
        "TEXT(price * 2)",
        '"19.98"',
        text_,
        1,
        1,
    ),
)
