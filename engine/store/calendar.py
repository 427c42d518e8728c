"""The working calendar in the database: seeding years, an administrator's days, hours.

Every day of a covered year has a row in ``work_calendar_days``
(:mod:`engine.store.calendar_tables`). Years are written whole: from chinese-calendar
(:func:`seed_years`, which knows China's public holidays and make-up working days, 调休),
or Monday to Friday for a year the library does not know yet (:func:`add_weekday_year`),
and single days are then corrected by an administrator (:func:`set_day`, source
``admin``), which seeding never overwrites. Every change moves the calendar's
generation on (``work_calendar_settings``), so a process keeps the calendar it loaded
(:func:`load_calendar`) until :func:`calendar_generation` differs. A call that changes
nothing leaves the generation alone.

The store returns plain values (:class:`StoredCalendar`); the service turns them into
the runtime's :class:`~engine.runtime.working_time.WorkingCalendar` (the store does
not import the runtime).
"""

from __future__ import annotations

import calendar as _gregorian
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import NamedTuple

import chinese_calendar
import sqlalchemy as sa

from engine.store.calendar_tables import work_calendar_days, work_calendar_settings

#: where a day's row came from
LIBRARY, WEEKDAYS, ADMIN = "chinese-calendar", "weekdays", "admin"
SOURCES = (LIBRARY, WEEKDAYS, ADMIN)
#: settings keys
HOURS_KEY, GENERATION_KEY = "hours", "generation"
#: the years probed for the library's data (it raises outside its range)
LIBRARY_PROBE = range(2000, 2101)

_D = work_calendar_days.c
_S = work_calendar_settings.c


class CalendarDay(NamedTuple):
    """One day's row: (day, workday, source, note)."""

    day: date
    workday: bool
    source: str
    note: str | None


@dataclass(frozen=True)
class StoredCalendar:
    """Every covered year's days, the working hours and the generation they are of.

    ``hours`` is None when the database has none stored (the runtime's default applies).
    """

    days: dict[date, bool]
    years: frozenset[int]
    hours: tuple[tuple[time, time], ...] | None
    generation: int


# -- the library -------------------------------------------------------------------------
@cache
def library_years() -> frozenset[int]:
    """The years chinese-calendar has holiday data for (it raises for the others)."""
    known = set()
    for year in LIBRARY_PROBE:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            continue
        known.add(year)
    return frozenset(known)


def library_year(year: int) -> dict[date, tuple[bool, str | None]] | None:
    """Each day of ``year`` as chinese-calendar has it: (workday, note); None when unknown.

    The note names the holiday in Chinese (``国庆节``), or the holiday a make-up working
    day belongs to (``国庆节调休``).
    """
    if year not in library_years():
        return None
    out = {}
    for day in days_of(year):
        holiday, name = chinese_calendar.get_holiday_detail(day)
        workday = chinese_calendar.is_workday(day)
        note = None
        if name is not None:
            chinese = _chinese_name(name)
            note = chinese if holiday else f"{chinese}调休"
        out[day] = (workday, note)
    return out


def _chinese_name(name: str) -> str:
    try:
        return str(chinese_calendar.Holiday(name).chinese)
    except (ValueError, AttributeError):
        return name


def days_of(year: int) -> list[date]:
    """Every day of ``year``, in order."""
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range(366 if _gregorian.isleap(year) else 365)]


# -- reading -----------------------------------------------------------------------------
def calendar_generation(conn: sa.Connection) -> int:
    """The calendar's generation now (0 before its first change): one small query."""
    value = conn.execute(sa.select(_S.value).where(_S.key == GENERATION_KEY)).scalar_one_or_none()
    return int(value) if isinstance(value, int) else 0


def load_hours(conn: sa.Connection) -> tuple[tuple[time, time], ...] | None:
    """The stored working periods, or None when none are stored."""
    value = conn.execute(sa.select(_S.value).where(_S.key == HOURS_KEY)).scalar_one_or_none()
    if not value:
        return None
    return tuple((time.fromisoformat(start), time.fromisoformat(end)) for start, end in value)


def load_calendar(conn: sa.Connection) -> StoredCalendar:
    """Every covered year (each of its days has a row), the hours and the generation."""
    generation = calendar_generation(conn)
    days: dict[date, bool] = {}
    counts: dict[int, int] = {}
    for day, workday in conn.execute(sa.select(_D.day, _D.workday).order_by(_D.day)):
        days[day] = bool(workday)
        counts[day.year] = counts.get(day.year, 0) + 1
    years = frozenset(y for y, n in counts.items() if n == len(days_of(y)))
    covered = {day: workday for day, workday in days.items() if day.year in years}
    return StoredCalendar(covered, years, load_hours(conn), generation)


def covered_years(conn: sa.Connection) -> frozenset[int]:
    """The years every day of which has a row."""
    year = sa.extract("year", _D.day)
    rows = conn.execute(sa.select(year, sa.func.count()).group_by(year))
    return frozenset(int(y) for y, n in rows if n == len(days_of(int(y))))


def is_empty(conn: sa.Connection) -> bool:
    """Whether the calendar has no day at all."""
    return conn.execute(sa.select(_D.day).limit(1)).first() is None


def year_days(conn: sa.Connection, year: int) -> list[CalendarDay]:
    """Every stored day of ``year``, in order."""
    rows = conn.execute(
        sa.select(_D.day, _D.workday, _D.source, _D.note)
        .where(_D.day.between(date(year, 1, 1), date(year, 12, 31)))
        .order_by(_D.day)
    )
    return [CalendarDay(day, bool(workday), source, note) for day, workday, source, note in rows]


def day_entry(conn: sa.Connection, day: date) -> CalendarDay | None:
    """One day's row, or None."""
    row = conn.execute(
        sa.select(_D.day, _D.workday, _D.source, _D.note).where(_D.day == day)
    ).first()
    return None if row is None else CalendarDay(row[0], bool(row[1]), row[2], row[3])


# -- writing -----------------------------------------------------------------------------
def seed_years(
    conn: sa.Connection, years: Iterable[int], *, actor: str, now: datetime
) -> dict[int, int]:
    """Write every day of each year as chinese-calendar has it; days written per year.

    A year the library has no data for is left out of the result (and nothing is
    written for it): the caller reports it. Days an administrator set are kept; days
    already as the library says are not rewritten (0 for a year seeded before).
    """
    written: dict[int, int] = {}
    for year in sorted(set(years)):
        library = library_year(year)
        if library is None:
            continue
        written[year] = _write_year(conn, year, library, LIBRARY, actor, now)
    if any(written.values()):
        bump_calendar_generation(conn)
    return written


def add_weekday_year(conn: sa.Connection, year: int, *, actor: str, now: datetime) -> int:
    """Write ``year`` with Monday to Friday working (for a year the library does not know).

    An administrator then marks its holidays and make-up working days (:func:`set_day`).
    Days an administrator set are kept; the number of days written.
    """
    weekdays = {day: (day.weekday() < 5, None) for day in days_of(year)}
    written = _write_year(conn, year, weekdays, WEEKDAYS, actor, now)
    if written:
        bump_calendar_generation(conn)
    return written


def set_day(
    conn: sa.Connection,
    day: date,
    workday: bool,
    note: str | None,
    *,
    actor: str,
    now: datetime,
) -> CalendarDay | None:
    """Make ``day`` a working day or not (source ``admin``); the row as it was before.

    Writes nothing (and keeps the generation) when the day is already set so by an
    administrator with the same note.
    """
    before = day_entry(conn, day)
    if before == CalendarDay(day, workday, ADMIN, note):
        return before
    values = {
        "workday": workday,
        "source": ADMIN,
        "note": note,
        "updated_at": now,
        "updated_by": actor,
    }
    if before is None:
        conn.execute(work_calendar_days.insert(), {"day": day, **values})
    else:
        conn.execute(work_calendar_days.update().where(_D.day == day), values)
    bump_calendar_generation(conn)
    return before


def set_hours(conn: sa.Connection, periods: Iterable[tuple[time, time]]) -> bool:
    """Store the working periods of a working day; False when they were already those."""
    value = [[start.strftime("%H:%M"), end.strftime("%H:%M")] for start, end in periods]
    current = conn.execute(sa.select(_S.value).where(_S.key == HOURS_KEY)).scalar_one_or_none()
    if current == value:
        return False
    _put_setting(conn, HOURS_KEY, value, exists=current is not None)
    bump_calendar_generation(conn)
    return True


def lock_calendar(conn: sa.Connection) -> None:
    """Take the calendar's write lock for this transaction (PostgreSQL: the generation row
    FOR UPDATE; SQLite's write transactions are serialised already).

    Two changes at once (two ``lowcode init`` seeding an empty calendar) then take turns,
    and the second sees what the first wrote instead of inserting the same days again.
    """
    conn.execute(sa.select(_S.value).where(_S.key == GENERATION_KEY).with_for_update())


def bump_calendar_generation(conn: sa.Connection) -> int:
    """Move the calendar's generation on (in the changing transaction); the new one.

    The row is read FOR UPDATE on PostgreSQL, so two concurrent changes take turns
    and never share a generation (SQLite's write transactions already do).
    """
    current = conn.execute(
        sa.select(_S.value).where(_S.key == GENERATION_KEY).with_for_update()
    ).scalar_one_or_none()
    generation = (int(current) if isinstance(current, int) else 0) + 1
    _put_setting(conn, GENERATION_KEY, generation, exists=current is not None)
    return generation


def _put_setting(conn: sa.Connection, key: str, value: object, *, exists: bool) -> None:
    if exists:
        conn.execute(work_calendar_settings.update().where(_S.key == key), {"value": value})
    else:
        conn.execute(work_calendar_settings.insert(), {"key": key, "value": value})


def _write_year(
    conn: sa.Connection,
    year: int,
    wanted: dict[date, tuple[bool, str | None]],
    source: str,
    actor: str,
    now: datetime,
) -> int:
    """Make the days of ``year`` say ``wanted`` (admin days kept); how many were written."""
    existing = {row.day: row for row in year_days(conn, year)}
    inserts, updates = [], []
    for day, (workday, note) in wanted.items():
        row = {"workday": workday, "source": source, "note": note}
        before = existing.get(day)
        if before is None:
            inserts.append({"day": day, **row, "updated_at": now, "updated_by": actor})
        elif before.source != ADMIN and before[1:] != (workday, source, note):
            updates.append({"the_day": day, **row, "updated_at": now, "updated_by": actor})
    if inserts:
        conn.execute(work_calendar_days.insert(), inserts)
    if updates:
        conn.execute(work_calendar_days.update().where(_D.day == sa.bindparam("the_day")), updates)
    return len(inserts) + len(updates)
