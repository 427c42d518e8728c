"""Aggregates over sub-table columns or several values: SUM, AVG, COUNT, MIN, MAX.

Arguments are flattened (a sub-table column or a list contributes each item) and blanks
are skipped, so ``SUM(lines.amount)`` over rows with an empty amount adds the others.
The time budget is checked while walking the items.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from time import perf_counter
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.limits import ROWS_PER_TIME_CHECK
from engine.expressions.operators import COMPARE
from engine.expressions.values import DECIMAL, is_blank, is_number, kind, to_decimal


def check_deadline(deadline: float) -> None:
    """Raise when the evaluation has used up its time budget."""
    if perf_counter() > deadline:
        raise ExpressionError(
            "the formula took longer than its time budget",
            hint="sub-tables this large need a report or a rule instead of a live formula",
        )


def _items(deadline: float, arguments: tuple[Any, ...]) -> Iterator[Any]:
    seen = 0
    for argument in arguments:
        members = argument if isinstance(argument, list | tuple) else (argument,)
        for member in members:
            seen += 1
            if seen % ROWS_PER_TIME_CHECK == 0:
                check_deadline(deadline)
            if not is_blank(member):
                yield member


def _numbers(name: str, deadline: float, arguments: tuple[Any, ...]) -> Iterator[Decimal]:
    for item in _items(deadline, arguments):
        if not is_number(item):
            raise ExpressionError(f"{name} works on numbers only, found {kind(item)}")
        yield to_decimal(item)


def sum_(deadline: float, *arguments: Any) -> Decimal:
    """SUM: the total of the numbers; no numbers gives 0."""
    total = Decimal(0)
    for number in _numbers("SUM", deadline, arguments):
        total = DECIMAL.add(total, number)
    return total


def avg(deadline: float, *arguments: Any) -> Decimal | None:
    """AVG: the mean of the numbers; no numbers gives blank (not a division by zero)."""
    total, count = Decimal(0), 0
    for number in _numbers("AVG", deadline, arguments):
        total, count = DECIMAL.add(total, number), count + 1
    return DECIMAL.divide(total, Decimal(count)) if count else None


def count(deadline: float, *arguments: Any) -> int:
    """COUNT: how many values are filled; COUNT(lines) counts the rows of a sub-table."""
    return sum(1 for _ in _items(deadline, arguments))


def _extreme(name: str, symbol: str, deadline: float, arguments: tuple[Any, ...]) -> Any:
    better = COMPARE[symbol]
    best = None
    for item in _items(deadline, arguments):
        if best is None or better(item, best):
            best = item
    if is_number(best):
        return to_decimal(best)
    return best


def min_(deadline: float, *arguments: Any) -> Any:
    """MIN: the smallest value (numbers, dates or text); none gives blank."""
    return _extreme("MIN", "<", deadline, arguments)


def max_(deadline: float, *arguments: Any) -> Any:
    """MAX: the largest value (numbers, dates or text); none gives blank."""
    return _extreme("MAX", ">", deadline, arguments)


def _aggregate(name: str, signature: str, doc: str, example: str, result: str, impl: Any):
    return FunctionSpec(
        name, signature, doc, example, result, impl, 1, None, needs="deadline", aggregate=True
    )


SPECS = (
    _aggregate(
        "SUM",
        "SUM(values...)",
        "Total of sub-table column values or of several values; blanks skipped; none gives 0.",
        "SUM(lines.amount)",
        "4.50",
        sum_,
    ),
    _aggregate(
        "AVG",
        "AVG(values...)",
        "Mean of the filled values; none gives blank.",
        "AVG(lines.amount)",
        "2.25",
        avg,
    ),
    _aggregate(
        "COUNT",
        "COUNT(values...)",
        "Number of filled values; COUNT(lines) is the number of rows of a sub-table.",
        "COUNT(lines)",
        "3",
        count,
    ),
    _aggregate(
        "MIN",
        "MIN(values...)",
        "Smallest filled value (numbers, dates or text); none gives blank.",
        "MIN(lines.amount)",
        "1.50",
        min_,
    ),
    _aggregate(
        "MAX",
        "MAX(values...)",
        "Largest filled value; MAX(a, b) also works on plain values.",
        "MAX(qty, 20)",
        "20",
        max_,
    ),
)
