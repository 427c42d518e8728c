"""Date functions: TODAY, NOW, DATEADD, DATEDIF, YEAR, MONTH, DAY.

Dates are calendar days in the evaluation's time zone (Asia/Shanghai by default);
date-times arrive already converted to that zone, so YEAR(created_at) is the local year.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.context import EvaluationContext
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.values import kind, whole_number


def _date(name: str, value: Any) -> date:
    if not isinstance(value, date):
        raise ExpressionError(f"{name} needs a date, got {kind(value)}")
    return value


def today(context: EvaluationContext) -> date:
    """TODAY: the current date in the context's time zone."""
    return context.now.astimezone(context.timezone).date()


def now(context: EvaluationContext) -> datetime:
    """NOW: the current moment, aware, in the context's time zone."""
    return context.now.astimezone(context.timezone)


def _add_months(value: date, months: int) -> date:
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise ExpressionError("DATEADD: the result is outside the years 1 to 9999")
    # Jan 31 + 1 month is the last day of February, as in Excel's EDATE.
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


_ADDERS: dict[str, Callable[[date, int], date]] = {
    "day": lambda d, n: d + timedelta(days=n),
    "week": lambda d, n: d + timedelta(weeks=n),
    "month": _add_months,
    "year": lambda d, n: _add_months(d, 12 * n),
}


def _unit(name: str, unit: Any, table: dict[str, Any]) -> str:
    text = unit.lower().rstrip("s") if isinstance(unit, str) else unit
    if text not in table:
        raise ExpressionError(
            f"{name}: unknown unit {unit!r}", hint=f"use one of {', '.join(map(repr, table))}"
        )
    return text


def dateadd(value: Any, amount: Any, unit: Any = "day") -> date | None:
    """DATEADD: ``value`` moved by ``amount`` days, weeks, months or years."""
    if value is None or amount is None:
        return None
    start = _date("DATEADD", value)
    count = whole_number(amount, "the amount of DATEADD")
    try:
        return _ADDERS[_unit("DATEADD", unit, _ADDERS)](start, count)
    except OverflowError as error:
        raise ExpressionError("DATEADD: the result is outside the years 1 to 9999") from error


def _months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    if end.day < start.day:
        months -= 1
    return months


_DIFFERENCES: dict[str, Callable[[date, date], int]] = {
    "day": lambda s, e: (e - s).days,
    "week": lambda s, e: (e - s).days // 7,
    "month": _months_between,
    "year": lambda s, e: _months_between(s, e) // 12,
}


def datedif(start: Any, end: Any, unit: Any = "day") -> int | None:
    """DATEDIF: whole days, weeks, months or years from ``start`` to ``end``
    (negative when ``end`` is earlier)."""
    if start is None or end is None:
        return None
    first, last = _date("DATEDIF", start), _date("DATEDIF", end)
    first = first.date() if isinstance(first, datetime) else first
    last = last.date() if isinstance(last, datetime) else last
    measure = _DIFFERENCES[_unit("DATEDIF", unit, _DIFFERENCES)]
    return measure(first, last) if first <= last else -measure(last, first)


def _part(name: str, attribute: str) -> Callable[[Any], int | None]:
    def part(value: Any) -> int | None:
        return None if value is None else getattr(_date(name, value), attribute)

    part.__doc__ = f"{name}: the {attribute} of a date; blank stays blank."
    return part


SPECS = (
    FunctionSpec(
        "TODAY",
        "TODAY()",
        "Today's date in Asia/Shanghai (the context's time zone).",
        "TODAY()",
        "2024-05-20",
        today,
        0,
        0,
        needs="context",
    ),
    FunctionSpec(
        "NOW",
        "NOW()",
        "The current moment (timezone-aware).",
        "NOW()",
        "2024-05-20 10:30:00+08:00",
        now,
        0,
        0,
        needs="context",
    ),
    FunctionSpec(
        "DATEADD",
        'DATEADD(date, amount, unit="day")',
        'Move a date by whole days, weeks, months or years (unit "day", "week", "month", "year").',
        'DATEADD(order_date, 1, "month")',
        "2024-02-29",
        dateadd,
        2,
        3,
    ),
    FunctionSpec(
        "DATEDIF",
        'DATEDIF(start, end, unit="day")',
        "Whole days, weeks, months or years between two dates; negative if end is earlier.",
        'DATEDIF(order_date, TODAY(), "month")',
        "3",
        datedif,
        2,
        3,
    ),
    FunctionSpec(
        "YEAR",
        "YEAR(date)",
        "The year of a date.",
        "YEAR(order_date)",
        "2024",
        _part("YEAR", "year"),
        1,
        1,
    ),
    FunctionSpec(
        "MONTH",
        "MONTH(date)",
        "The month (1-12) of a date.",
        "MONTH(order_date)",
        "1",
        _part("MONTH", "month"),
        1,
        1,
    ),
    FunctionSpec(
        "DAY",
        "DAY(date)",
        "The day of the month of a date.",
        "DAY(order_date)",
        "31",
        _part("DAY", "day"),
        1,
        1,
    ),
)
