"""The operators: arithmetic with blanks, dates and bounded text; comparisons; ``in``.

Each operator is a small function registered under its symbol. The common case (two
Decimals) is tested first and done inline; anything else goes through a table keyed by
the kinds of both operands, so a new combination is one entry, not another branch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.limits import MAX_POWER_EXPONENT, MAX_TEXT_LENGTH
from engine.expressions.values import (
    DECIMAL,
    align_dates,
    checked_text,
    kind,
    to_decimal,
    whole_number,
)

Rule = Callable[[Any, Any], Any]
_SECONDS_PER_DAY = Decimal(86400)


def _days(value: Any) -> timedelta:
    return timedelta(days=whole_number(value, "the number of days added to a date"))


def _moment_days(value: Any) -> timedelta:
    return timedelta(seconds=float(DECIMAL.multiply(to_decimal(value), _SECONDS_PER_DAY)))


def _date_difference(a: Any, b: Any) -> Any:
    a, b = align_dates(a, b)
    if isinstance(a, datetime):
        seconds = Decimal((a - b).total_seconds())
        return DECIMAL.divide(seconds, _SECONDS_PER_DAY)
    return (a - b).days


def _repeat(text: str, times: Any) -> str:
    count = whole_number(times, "the repeat count of a text")
    if count > 0 and len(text) * count > MAX_TEXT_LENGTH:
        checked_text("x" * (MAX_TEXT_LENGTH + 1))
    return text * max(count, 0)


def _floor_divide(a: Decimal, b: Decimal) -> Decimal:
    quotient = DECIMAL.divide_int(a, b)
    # Decimal truncates toward zero; the language floors like Python and Excel's INT.
    if (a < 0) != (b < 0) and DECIMAL.multiply(quotient, b) != a:
        quotient = DECIMAL.subtract(quotient, 1)
    return quotient


def _remainder(a: Decimal, b: Decimal) -> Decimal:
    return DECIMAL.subtract(a, DECIMAL.multiply(b, _floor_divide(a, b)))


def _power(a: Decimal, b: Decimal) -> Decimal:
    if abs(b) > MAX_POWER_EXPONENT:
        raise ExpressionError(
            f"the exponent {b} is too large (at most {MAX_POWER_EXPONENT})",
            hint="powers are for rates and units, not for building huge numbers",
        )
    result = DECIMAL.power(a, b)
    if not result.is_finite():  # 0 ** -1: the decimal module answers Infinity, untrapped
        raise ExpressionError(
            f"{a} to the power {b} has no value (division by zero)",
            hint="guard the base with IF(base == 0, ..., ...)",
        )
    return result


def _numbers(rule: Callable[[Decimal, Decimal], Any]) -> Rule:
    return lambda a, b: rule(to_decimal(a), to_decimal(b))


_SLOW_RULES: dict[str, dict[tuple[str, str], Rule]] = {
    "+": {
        ("number", "number"): _numbers(DECIMAL.add),
        ("text", "text"): lambda a, b: (
            checked_text(a + b)
            if len(a) + len(b) <= MAX_TEXT_LENGTH
            else checked_text("x" * (MAX_TEXT_LENGTH + 1))
        ),
        ("date", "number"): lambda a, b: a + _days(b),
        ("number", "date"): lambda a, b: b + _days(a),
        ("date-time", "number"): lambda a, b: a + _moment_days(b),
        ("number", "date-time"): lambda a, b: b + _moment_days(a),
    },
    "-": {
        ("number", "number"): _numbers(DECIMAL.subtract),
        ("date", "number"): lambda a, b: a - _days(b),
        ("date-time", "number"): lambda a, b: a - _moment_days(b),
        ("date", "date"): _date_difference,
        ("date-time", "date-time"): _date_difference,
        ("date", "date-time"): _date_difference,
        ("date-time", "date"): _date_difference,
    },
    "*": {
        ("number", "number"): _numbers(DECIMAL.multiply),
        ("text", "number"): _repeat,
        ("number", "text"): lambda a, b: _repeat(b, a),
    },
    "/": {("number", "number"): _numbers(DECIMAL.divide)},
    "//": {("number", "number"): _numbers(_floor_divide)},
    "%": {("number", "number"): _numbers(_remainder)},
    "**": {("number", "number"): _numbers(_power)},
}

_VERBS = {
    "+": "add",
    "-": "subtract",
    "*": "multiply",
    "/": "divide",
    "//": "divide",
    "%": "take the remainder of",
    "**": "raise to a power",
}
_HINTS = {
    ("+", "text"): "use CONCAT(a, b) to join text with numbers or dates",
    ("%", "text"): "% is the remainder of two numbers; build text with CONCAT and TEXT",
}


def _slow(symbol: str, a: Any, b: Any) -> Any:
    kinds = (kind(a), kind(b))
    rule = _SLOW_RULES[symbol].get(kinds)
    if rule is None:
        hint = _HINTS.get((symbol, kinds[0])) or _HINTS.get((symbol, kinds[1]))
        raise ExpressionError(
            f"cannot {_VERBS[symbol]} {kinds[0]} and {kinds[1]} with {symbol}", hint=hint
        )
    try:
        return rule(a, b)
    except ZeroDivisionError as error:  # DivisionByZero is a subclass
        raise ExpressionError(
            "division by zero",
            hint="guard the divisor, e.g. IF(qty == 0, None, amount / qty)",
        ) from error


def _binary(symbol: str, fast: Callable[[Decimal, Decimal], Decimal] | None) -> Rule:
    _D = Decimal  # a local name: this runs for every operator of every evaluation
    guard_zero = symbol in ("/", "//", "%")

    if fast is None:

        def operate(a: Any, b: Any) -> Any:
            if a is None or b is None:
                return None
            return _slow(symbol, a, b)

    else:

        def operate(a: Any, b: Any) -> Any:
            if a is None or b is None:
                return None
            # a zero divisor takes the slow path, which explains it
            if a.__class__ is _D and b.__class__ is _D and (b or not guard_zero):
                return fast(a, b)
            return _slow(symbol, a, b)

    operate.__name__ = f"op_{_VERBS[symbol].replace(' ', '_')}"
    return operate


BINARY: dict[str, Rule] = {
    "+": _binary("+", DECIMAL.add),
    "-": _binary("-", DECIMAL.subtract),
    "*": _binary("*", DECIMAL.multiply),
    "/": _binary("/", DECIMAL.divide),
    "//": _binary("//", _floor_divide),
    "%": _binary("%", _remainder),
    "**": _binary("**", _power),
}


def negate(a: Any) -> Any:
    """Unary minus: blank stays blank; only numbers can be negated."""
    if a is None:
        return None
    if kind(a) != "number":
        raise ExpressionError(f"cannot negate {kind(a)} with -")
    return DECIMAL.minus(to_decimal(a))


def plus(a: Any) -> Any:
    """Unary plus: checks that the operand is a number (or blank)."""
    if a is None:
        return None
    if kind(a) != "number":
        raise ExpressionError(f"cannot use + on {kind(a)}")
    return DECIMAL.plus(to_decimal(a))


_ORDERABLE = {
    ("number", "number"),
    ("text", "text"),
    ("date", "date"),
    ("date-time", "date-time"),
    ("date", "date-time"),
    ("date-time", "date"),
    ("yes/no", "yes/no"),
}


def _ordered(symbol: str, test: Callable[[Any, Any], bool]) -> Rule:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        if a.__class__ is Decimal and b.__class__ is Decimal:
            return test(a, b)
        kinds = (kind(a), kind(b))
        if kinds not in _ORDERABLE:
            raise ExpressionError(
                f"cannot compare {kinds[0]} with {kinds[1]} using {symbol}",
                hint="convert one side with VALUE(...) or TEXT(...)",
            )
        return test(*align_dates(a, b))

    return compare


def equal(a: Any, b: Any) -> bool:
    """Strict equality: blank equals only blank, text never equals a number, yes/no never
    equals 1; a date equals a date-time at its midnight."""
    if a is None or b is None:
        return a is b
    ka, kb = kind(a), kind(b)
    if ka != kb and {ka, kb} != {"date", "date-time"}:
        return False
    a, b = align_dates(a, b)
    return bool(a == b)


def not_equal(a: Any, b: Any) -> bool:
    """The negation of :func:`equal` (so ``x != None`` is true when x is filled)."""
    return not equal(a, b)


def contains(item: Any, container: Any) -> bool:
    """``item in container``: membership in a list, or text inside text; blank -> False."""
    if container is None:
        return False
    if isinstance(container, list | tuple):
        return any(equal(item, member) for member in container)
    if isinstance(container, str) and isinstance(item, str):
        return item in container
    raise ExpressionError(f"cannot look for {kind(item)} in {kind(container)} with in")


def not_contains(item: Any, container: Any) -> bool:
    """``item not in container``; blank container -> True."""
    return not contains(item, container)


COMPARE: dict[str, Rule] = {
    "==": equal,
    "!=": not_equal,
    "<": _ordered("<", lambda a, b: a < b),
    "<=": _ordered("<=", lambda a, b: a <= b),
    ">": _ordered(">", lambda a, b: a > b),
    ">=": _ordered(">=", lambda a, b: a >= b),
    "in": contains,
    "not in": not_contains,
}

UNARY: dict[str, Rule | Callable[[Any], Any]] = {"-": negate, "+": plus}
