"""Date ranges of dashboards: presets, explicit ranges, and the periods a KPI compares.

Pure: days in, days out. Today is the caller's (the service's clock, in the app's zone).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from engine.definitions.dashboards import DATE_PRESETS


class PeriodError(ValueError):
    """A date range that cannot be read; the message says what is accepted."""


@dataclass(frozen=True)
class Period:
    """Days ``first..last`` (inclusive); a blank bound is open."""

    first: date | None
    last: date | None

    def text(self) -> str:
        """``2026-01-01..2026-03-31`` (a blank bound is empty)."""
        return f"{self.first or ''}..{self.last or ''}"

    @property
    def days(self) -> int | None:
        if self.first is None or self.last is None:
            return None
        return (self.last - self.first).days + 1


_RANGE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})?\s*\.\.\s*(\d{4}-\d{2}-\d{2})?\s*$")


def month_end(year: int, month: int) -> date:
    """The last day of a month."""
    following = date(year + (month == 12), month % 12 + 1, 1)
    return following - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, month_end(year, month + 1).day))


def preset(name: str, today: date) -> Period:
    """The days of a preset (DATE_PRESETS) as of ``today``."""
    if name == "today":
        return Period(today, today)
    if name == "this_week":
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=6))
    if name in ("this_month", "last_month"):
        first = date(today.year, today.month, 1)
        if name == "last_month":
            first = _add_months(first, -1)
        return Period(first, month_end(first.year, first.month))
    if name in ("this_quarter", "last_quarter"):
        first = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        if name == "last_quarter":
            first = _add_months(first, -3)
        return Period(first, month_end(first.year, first.month + 2))
    if name in ("this_year", "last_year"):
        year = today.year - (name == "last_year")
        return Period(date(year, 1, 1), date(year, 12, 31))
    if name == "last_12_months":
        return Period(_add_months(today, -12) + timedelta(days=1), today)
    if name.startswith("last_") and name.endswith("_days"):
        days = int(name[5:-5])
        return Period(today - timedelta(days=days - 1), today)
    raise PeriodError(f"unknown period {name!r}; use one of {', '.join(DATE_PRESETS)}")


def read_period(value: object, today: date) -> Period | None:
    """A filter value as days: a preset name, ``first..last`` (either side blank), or one
    day; blank gives None (no restriction). PeriodError when unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, Period):
        return value
    text = str(value).strip()
    if text in DATE_PRESETS:
        return preset(text, today)
    match = _RANGE.match(text)
    try:
        if match:
            first = date.fromisoformat(match.group(1)) if match.group(1) else None
            last = date.fromisoformat(match.group(2)) if match.group(2) else None
            if first and last and first > last:
                raise PeriodError(f"{text}: the first day is after the last")
            return Period(first, last)
        day = date.fromisoformat(text)
    except ValueError as exc:
        if isinstance(exc, PeriodError):
            raise
        raise PeriodError(
            f"{text!r} is not a date range; write 2026-01-01..2026-03-31, one day, "
            f"or one of {', '.join(DATE_PRESETS)}"
        ) from None
    return Period(day, day)


def previous(period: Period) -> Period:
    """The period just before, of the same length; whole months map to whole months
    (March -> February, Q2 -> Q1), so a month compares with the whole month before."""
    first, last = period.first, period.last
    if first is None or last is None:
        raise PeriodError("comparing with the previous period needs a range with both ends")
    if first.day == 1 and last == month_end(last.year, last.month):
        months = (last.year - first.year) * 12 + last.month - first.month + 1
        start = _add_months(first, -months)
        end = _add_months(start, months - 1)
        return Period(start, month_end(end.year, end.month))
    days = (last - first).days + 1
    return Period(first - timedelta(days=days), first - timedelta(days=1))


def last_year(period: Period) -> Period:
    """The same days one year earlier (29 February becomes the 28th)."""
    if period.first is None or period.last is None:
        raise PeriodError("comparing with last year needs a range with both ends")
    first = _add_months(period.first, -12)
    last = _add_months(period.last, -12)
    if period.last == month_end(period.last.year, period.last.month):
        last = month_end(last.year, last.month)
    return Period(first, last)


def bucket_labels(bucket: str, period: Period) -> list[str]:
    """Every bucket label of a period, in order (the x axis of a sparkline: empty days
    are shown as zero, not skipped)."""
    if period.first is None or period.last is None:
        return []
    labels: list[str] = []
    day = period.first
    if bucket == "week":
        day = day - timedelta(days=day.weekday())
    while day <= period.last and len(labels) < 3700:
        if bucket == "day":
            labels.append(day.isoformat())
            day += timedelta(days=1)
        elif bucket == "week":
            labels.append(day.isoformat())
            day += timedelta(days=7)
        elif bucket == "month":
            labels.append(f"{day.year:04d}-{day.month:02d}")
            day = _add_months(date(day.year, day.month, 1), 1)
        elif bucket == "quarter":
            q = (day.month - 1) // 3 + 1
            labels.append(f"{day.year:04d}-Q{q}")
            day = _add_months(date(day.year, 3 * q - 2, 1), 3)
        else:
            labels.append(f"{day.year:04d}")
            day = date(day.year + 1, 1, 1)
    return labels
