"""Number functions: ROUND, ABS, CEILING, FLOOR, VALUE."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.limits import MAX_LITERAL_DIGITS, MAX_ROUND_DIGITS
from engine.expressions.values import DECIMAL, is_number, kind, to_decimal, whole_number


def _number(name: str, value: Any) -> Decimal:
    if not is_number(value):
        raise ExpressionError(f"{name} needs a number, got {kind(value)}")
    return to_decimal(value)


_STEPS = {places: Decimal(1).scaleb(-places) for places in range(MAX_ROUND_DIGITS + 1)}


def _quantize(name: str, value: Any, digits: Any, rounding: str) -> Decimal | None:
    if value is None:
        return None
    if value.__class__ is Decimal and digits.__class__ is Decimal and digits in _STEPS:
        try:  # the common case, ROUND(amount, 2), without the general checks
            return value.quantize(_STEPS[int(digits)], rounding=rounding, context=DECIMAL)
        except InvalidOperation:
            pass  # the general path below reports it
    number = _number(name, value)
    places = whole_number(digits, f"the digits of {name}")
    if abs(places) > MAX_ROUND_DIGITS:
        raise ExpressionError(f"{name} rounds to at most {MAX_ROUND_DIGITS} digits")
    try:
        if places >= 0:
            return number.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=DECIMAL)
        step = Decimal(1).scaleb(-places)
        whole = (number / step).quantize(Decimal(1), rounding=rounding, context=DECIMAL)
        return DECIMAL.multiply(whole, step)
    except InvalidOperation as error:
        raise ExpressionError(f"{name}: the number is too large to round") from error


def round_(value: Any, digits: Any = 0) -> Decimal | None:
    """ROUND: half-up rounding (2.665 -> 2.67, -2.5 -> -3) to ``digits`` places."""
    return _quantize("ROUND", value, digits, ROUND_HALF_UP)


def ceiling(value: Any, digits: Any = 0) -> Decimal | None:
    """CEILING: round up (toward +infinity) to ``digits`` places."""
    return _quantize("CEILING", value, digits, ROUND_CEILING)


def floor(value: Any, digits: Any = 0) -> Decimal | None:
    """FLOOR: round down (toward -infinity) to ``digits`` places."""
    return _quantize("FLOOR", value, digits, ROUND_FLOOR)


def abs_(value: Any) -> Decimal | None:
    """ABS: the magnitude of a number; blank stays blank."""
    return None if value is None else DECIMAL.abs(_number("ABS", value))


def value_(text: Any) -> Decimal | None:
    """VALUE: text such as " 1,234.50 " or "¥12" as a number; blank text is blank."""
    if text is None or is_number(text):
        return None if text is None else to_decimal(text)
    if not isinstance(text, str):
        raise ExpressionError(f"VALUE needs text, got {kind(text)}")
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥")
    if not cleaned:
        return None
    digits = sum(ch.isdigit() for ch in cleaned)
    try:
        number = Decimal(cleaned) if digits <= MAX_LITERAL_DIGITS else None
    except InvalidOperation:
        number = None
    # Decimal also reads "NaN", "Infinity" and "1e999999": a formula must not produce them.
    if number is None or not number.is_finite() or abs(number.adjusted()) > MAX_LITERAL_DIGITS:
        raise ExpressionError(
            f"VALUE: {text[:40]!r} is not a number", hint='write digits like "1234.50"'
        )
    return number


SPECS = (
    FunctionSpec(
        "ROUND",
        "ROUND(number, digits=0)",
        "Round half up (2.665 -> 2.67); negative digits round to tens, hundreds...",
        "ROUND(2.665, 2)",
        "2.67",
        round_,
        1,
        2,
    ),
    FunctionSpec(
        "ABS", "ABS(number)", "The magnitude of a number.", "ABS(-3.5)", "3.5", abs_, 1, 1
    ),
    FunctionSpec(
        "CEILING",
        "CEILING(number, digits=0)",
        "Round up (toward +infinity) to the given number of decimal places.",
        "CEILING(2.01)",
        "3",
        ceiling,
        1,
        2,
    ),
    FunctionSpec(
        "FLOOR",
        "FLOOR(number, digits=0)",
        "Round down (toward -infinity) to the given number of decimal places.",
        "FLOOR(-2.5)",
        "-3",
        floor,
        1,
        2,
    ),
    FunctionSpec(
        "VALUE",
        "VALUE(text)",
        "Text as a number; spaces, thousands separators and a leading ¥ are ignored.",
        'VALUE(" 1,234.50 ")',
        "1234.50",
        value_,
        1,
        1,
    ),
)
