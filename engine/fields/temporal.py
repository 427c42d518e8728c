"""Dates and date-times.

* ``date``: a ``datetime.date``; typed as ISO, ``2026/1/5``, ``2026年1月5日``, or an Excel
  serial day number; shown as ISO (``2026-01-05``), which also reads back.
* ``datetime``: an aware ``datetime`` in the field's timezone (Asia/Shanghai unless
  ``timezone`` says otherwise). Naive input is read in that timezone; storage is UTC.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource, OptionProblem
from engine.fields.common import fail, is_blank_input, normalize_text

DEFAULT_TIMEZONE = "Asia/Shanghai"
#: day 0 of Excel's 1900 date system as Excel counts it (it believes 1900 was a leap year)
EXCEL_EPOCH = date(1899, 12, 30)

_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TIME_TEXT = re.compile(
    r"(\d{1,2})\s*[:时点]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.(\d{1,6}))?)?\s*秒?"
)


def parse_date_text(text: str) -> date | None:
    """A date from the ways people write one; None when the text is not a date."""
    text = normalize_text(text)
    match = _DATE_TEXT.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def _parse_datetime_text(text: str) -> datetime | None:
    """A (possibly naive) datetime from ISO or Chinese-style text; None when unreadable."""
    text = normalize_text(text)
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(text)
    match = re.match(r"(.*?日?)[\sT]+(.+)", text)
    day = parse_date_text(match.group(1) if match else text)
    if day is None:
        return None
    if not match:
        return datetime.combine(day, time())
    clock = _TIME_TEXT.fullmatch(match.group(2))
    if not clock:
        return None
    hour, minute, second, fraction = clock.groups()
    try:
        moment = time(
            int(hour), int(minute), int(second or 0), int((fraction or "0").ljust(6, "0"))
        )
    except ValueError:
        return None
    return datetime.combine(day, moment)


def option_date(value: Any) -> date | None:
    """A ``min``/``max`` key as a date (YAML reads unquoted ISO dates as dates already)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _from_excel_serial(raw: int | float) -> datetime:
    if not 0 <= raw <= 2958465:  # 9999-12-31; NaN fails the comparison too
        raise fail(f"{raw} is not an Excel date", f"{raw} 不是 Excel 日期")
    return datetime.combine(EXCEL_EPOCH, time()) + timedelta(days=raw)


class DateType(FieldType):
    name = "date"
    # YAML reads an unquoted 2026-01-31 as a date, not a string: accept both and let
    # check_options say what is wrong.
    option_properties = {
        "min": {"description": "earliest date, ISO (2026-01-31)"},
        "max": {"description": "latest date, ISO (2026-12-31)"},
    }

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        problems = []
        for key in ("min", "max"):
            value = field.option(key)
            if value is not None and option_date(value) is None:
                problems.append(
                    OptionProblem(key, f"expected an ISO date, got {value!r}", "write 2026-01-31")
                )
        low, high = option_date(field.option("min")), option_date(field.option("max"))
        if low and high and low > high:
            problems.append(OptionProblem("min", f"min ({low}) is after max ({high})"))
        return problems

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("date", indexed=True)]

    def from_storage(self, field: FieldDefinition, row: Any) -> date | None:
        stored = row.get(field.key)
        if isinstance(stored, str):  # a driver without a date type
            return date.fromisoformat(stored[:10])
        return stored.date() if isinstance(stored, datetime) else stored

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        value = self._read(raw, source)
        low, high = option_date(field.option("min")), option_date(field.option("max"))
        if low and value < low:
            raise fail(f"must be on or after {low}", f"不能早于 {low}", "min")
        if high and value > high:
            raise fail(f"must be on or before {high}", f"不能晚于 {high}", "max")
        return value

    def _read(self, raw: Any, source: InputSource) -> date:
        if isinstance(raw, datetime):  # openpyxl gives date cells as midnight datetimes
            return raw.date()
        if isinstance(raw, date):
            return raw
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and source == "excel":
            return _from_excel_serial(raw).date()
        if isinstance(raw, str):
            value = parse_date_text(raw)
            if value is not None:
                return value
        raise fail(
            f"expected a date like 2026-01-05, got {raw!r}",
            f"应为日期，例如 2026-01-05，收到 {raw!r}",
        )

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return None if value is None else value.isoformat()

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        return "" if value is None else value.isoformat()


class DatetimeType(FieldType):
    name = "datetime"
    option_properties = {"timezone": {"type": "string", "default": DEFAULT_TIMEZONE}}

    def zone(self, field: FieldDefinition) -> ZoneInfo:
        """The field's timezone (checked at load time by :meth:`check_options`)."""
        return ZoneInfo(field.option("timezone", DEFAULT_TIMEZONE))

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        name = field.option("timezone", DEFAULT_TIMEZONE)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return [OptionProblem("timezone", f"unknown timezone {name!r}", "e.g. Asia/Shanghai")]
        return []

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("datetime", indexed=True)]

    def to_storage(self, field: FieldDefinition, value: Any) -> dict[str, Any]:
        return {field.key: None if value is None else value.astimezone(UTC)}

    def from_storage(self, field: FieldDefinition, row: Any) -> datetime | None:
        stored = row.get(field.key)
        if stored is None:
            return None
        if isinstance(stored, str):
            stored = datetime.fromisoformat(stored)
        if stored.tzinfo is None:  # SQLite returns the UTC value without its zone
            stored = stored.replace(tzinfo=UTC)
        return stored.astimezone(self.zone(field))

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        zone = self.zone(field)
        if isinstance(raw, datetime):
            value = raw
        elif isinstance(raw, date):
            value = datetime.combine(raw, time())
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool) and source == "excel":
            # Excel keeps fractions of a day; round to the second it displays.
            value = _from_excel_serial(raw)
            value = value.replace(microsecond=0) + timedelta(seconds=round(value.microsecond / 1e6))
        elif isinstance(raw, str) and (parsed := _parse_datetime_text(raw)) is not None:
            value = parsed
        else:
            raise fail(
                f"expected a date and time like 2026-01-05 09:30, got {raw!r}",
                f"应为日期时间，例如 2026-01-05 09:30，收到 {raw!r}",
            )
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(zone)

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return None if value is None else value.astimezone(self.zone(field)).isoformat()

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        if value is None:
            return ""
        local = value.astimezone(self.zone(field))
        return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


FIELD_TYPES: tuple[FieldType, ...] = (DateType(), DatetimeType())
