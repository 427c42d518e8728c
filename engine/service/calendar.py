"""The working calendar: seed it, add a year, correct a day, set the hours; deadlines.

Approval-flow timeouts (``timeout: {after: 2 working days}``) count working time on
this calendar (engine/runtime/working_time.py says how each unit counts). It is
seeded from chinese-calendar (China's holidays and make-up working days, 调休) by
``lowcode init``; a year the library does not know yet is added Monday to Friday and
corrected by an administrator. A deadline that needs a year the calendar does not
cover raises :class:`CalendarYearMissing`: the engine never falls back to calendar days.

Changes take the acting :class:`Actor` first, check their arguments before any work
(InvalidArgumentError), and, once the organisation has users, are refused to anyone
but an administrator, as the organisation's own changes are (engine/service/org.py):
a member of the organisation role ``admin``, the system, or an actor the organisation
does not know that claims the role. Each change runs in one transaction with its audit
entry (form ``calendar``) and moves the calendar's generation on; a call that changes
nothing writes neither. Reads are open to every actor.

:meth:`CalendarUseCases.calendar` is what flows use inside their own transaction: the
:class:`WorkingCalendar`, kept per process until the generation moves (one small
query per call when it has not).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from engine.definitions.durations import Duration, parse_duration
from engine.errors import ConflictError, NotFoundError
from engine.runtime.working_time import (
    ADD_YEAR_COMMAND,
    DEFAULT_HOURS,
    MAX_PERIODS,
    CalendarYearMissing,
    WorkingCalendar,
    check_hours,
    format_hours,
    parse_clock,
    parse_period,
)
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.org_arguments import invalid, localised
from engine.service.principals import require_org_admin
from engine.store import calendar as stored
from engine.store.calendar import CalendarDay
from engine.store.database import Connection
from engine.store.journal import Journal, Subject
from engine.store.limits import check_text

#: the subject of every audit entry of the calendar
CALENDAR_SUBJECT = Subject(None, "calendar")
#: the years the calendar may hold
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: the first year ``seed`` writes by default (with every later year the library knows)
DEFAULT_FIRST_SEED_YEAR = 2024
#: longest note of a day
MAX_NOTE = 200


@dataclass(frozen=True)
class CalendarSeed:
    """What seeding did: days written per year, and the years the library does not know."""

    written: dict[int, int] = field(default_factory=dict)
    unknown: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        return any(self.written.values())


class CalendarUseCases:
    """The working calendar of one Service (each change is one transaction)."""

    def __init__(self, context: ServiceContext):
        self._context = context
        #: (generation, calendar) last loaded by this process
        self._cached: tuple[int, WorkingCalendar] | None = None
        self._lock = threading.Lock()

    # -- changes ----------------------------------------------------------------------------
    def seed(self, actor: Actor, years: Iterable[int] | None = None) -> CalendarSeed:
        """Write ``years`` (default: every year chinese-calendar knows from 2024 on) from it.

        Days an administrator set are kept. Years the library has no data for are
        reported in ``unknown`` and not written (add them with :meth:`add_year`).
        """
        say = check.actor_locale(actor)
        if years is None:
            wanted = sorted(y for y in stored.library_years() if y >= DEFAULT_FIRST_SEED_YEAR)
        else:
            wanted = _years_argument(years, say)
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            return self._seed(conn, journal, wanted)

    def ensure_seeded(self, actor: Actor) -> CalendarSeed | None:
        """Seed the default years when the calendar has no day yet (``lowcode init``).

        None when the calendar had days already.
        """
        say = check.actor_locale(actor)
        wanted = sorted(y for y in stored.library_years() if y >= DEFAULT_FIRST_SEED_YEAR)
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if not stored.is_empty(conn):
                return None
            return self._seed(conn, journal, wanted)

    def add_year(self, actor: Actor, year: int) -> str:
        """Add a year the calendar does not cover; the source its days came from.

        From chinese-calendar when the library knows the year, else Monday to Friday
        (``weekdays``): an administrator then marks its holidays and make-up working
        days with :meth:`set_day`. ConflictError when the year is covered already.
        """
        say = check.actor_locale(actor)
        year = _year_argument("year", year, say)
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if year in stored.covered_years(conn):
                raise ConflictError(
                    localised(
                        say,
                        f"工作日历已有 {year} 年：用 `lowcode calendar set 日期 workday|holiday` "
                        f"修改单日，或用 `lowcode calendar seed --year {year}` 按 chinese-calendar "
                        "重新生成（管理员设置的日期保留）",
                        f"the calendar has {year} already: change single days with "
                        "`lowcode calendar set DAY workday|holiday`, or refresh the year from "
                        f"chinese-calendar with `lowcode calendar seed --year {year}` (days an "
                        "administrator set are kept)",
                    )
                )
            if year in stored.library_years():
                source = stored.LIBRARY
                stored.seed_years(conn, [year], actor=actor.user_id, now=journal.at)
            else:
                source = stored.WEEKDAYS
                stored.add_weekday_year(conn, year, actor=actor.user_id, now=journal.at)
            self._audit(conn, journal, "calendar.add_year", {"year": year, "source": source})
            return source

    def set_day(self, actor: Actor, day: date, workday: bool, note: str | None = None) -> bool:
        """Make ``day`` a working day or a day off (kept through later seeding).

        NotFoundError when its year is not in the calendar (add the year first); False
        when the day was already set so, with the same note.
        """
        say = check.actor_locale(actor)
        day = _day_argument(day, say)
        check.check_flag("workday", workday, say)
        text = None
        if note is not None:
            text = check_text("note", note, MAX_NOTE, say).strip() or None
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if day.year not in stored.covered_years(conn):
                raise _no_year(day.year, say)
            before = stored.set_day(conn, day, workday, text, actor=actor.user_id, now=journal.at)
            if before == CalendarDay(day, workday, stored.ADMIN, text):
                return False
            detail: dict[str, Any] = {"day": day.isoformat(), "workday": workday, "note": text}
            if before is not None:
                detail["before"] = {
                    "workday": before.workday,
                    "source": before.source,
                    "note": before.note,
                }
            self._audit(conn, journal, "calendar.set_day", detail)
            return True

    def set_hours(
        self, actor: Actor, periods: Iterable[str | tuple[time | str, time | str]]
    ) -> bool:
        """Set the working periods of a working day (``["09:00-12:00", "13:00-18:00"]``).

        Each period is ``"HH:MM-HH:MM"`` text or a (start, end) pair of ``time`` values
        or ``"HH:MM"`` texts; in order, not overlapping. False when they were already so.
        """
        say = check.actor_locale(actor)
        hours = _hours_argument(periods, say)
        with self._write(actor) as (conn, journal):
            self._require_admin(conn, actor, say)
            if not stored.set_hours(conn, hours):
                return False
            self._audit(conn, journal, "calendar.set_hours", {"hours": format_hours(hours)})
            return True

    # -- reads ------------------------------------------------------------------------------
    def year(self, actor: Actor, year: int) -> list[CalendarDay]:
        """Every day of ``year``: (date, workday, source, note); NotFoundError when not covered."""
        say = check.actor_locale(actor)
        year = _year_argument("year", year, say)
        with self._context.transactions.database.read() as conn:
            if year not in stored.covered_years(conn):
                raise _no_year(year, say)
            return stored.year_days(conn, year)

    def years(self, actor: Actor) -> list[int]:
        """The years the calendar covers, in order."""
        check.actor_locale(actor)
        with self._context.transactions.database.read() as conn:
            return sorted(stored.covered_years(conn))

    def hours(self, actor: Actor) -> tuple[tuple[time, time], ...]:
        """The working periods of a working day."""
        check.actor_locale(actor)
        return self.calendar().hours

    def deadline(self, actor: Actor, start: datetime, duration: Duration | str) -> datetime:
        """``duration`` (a Duration or its text, ``"2 working days"``) after ``start``.

        CalendarYearMissing (a NotFoundError), in the actor's language, when the count
        needs a year the calendar does not cover.
        """
        say = check.actor_locale(actor)
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise invalid("start", start, say, "带时区的 datetime", "an aware datetime")
        if not isinstance(duration, Duration):
            try:
                duration = parse_duration(duration)
            except ValueError as exc:
                raise invalid(
                    "duration", duration, say, "时长，如 2个工作日、24工作小时、30分钟", str(exc)
                ) from None
        try:
            return self.calendar().add(start, duration)
        except CalendarYearMissing as exc:
            raise CalendarYearMissing(exc.year, say) from None

    def calendar(self, conn: Connection | None = None) -> WorkingCalendar:
        """The working calendar as of ``conn``'s transaction (a read of its own without one).

        Kept per process until the calendar's generation moves: one small query when
        nothing changed.
        """
        if conn is None:
            with self._context.transactions.database.read() as own:
                return self.calendar(own)
        generation = stored.calendar_generation(conn)
        cached = self._cached
        if cached is not None and cached[0] == generation:
            return cached[1]
        data = stored.load_calendar(conn)
        made = WorkingCalendar(data.days, data.years, data.hours or DEFAULT_HOURS)
        with self._lock:
            self._cached = (data.generation, made)
        return made

    # -- helpers ----------------------------------------------------------------------------
    def _seed(self, conn: Connection, journal: Journal, years: list[int]) -> CalendarSeed:
        written = stored.seed_years(conn, years, actor=journal.actor, now=journal.at)
        report = CalendarSeed(written, tuple(y for y in years if y not in written))
        if report.changed:
            detail = {"written": {str(y): n for y, n in written.items() if n}}
            self._audit(conn, journal, "calendar.seed", detail)
        return report

    @contextmanager
    def _write(self, actor: Actor) -> Iterator[tuple[Connection, Journal]]:
        with self._context.transactions.database.write() as conn:
            stored.lock_calendar(conn)  # concurrent changes take turns
            yield conn, Journal(actor.user_id, self._context.clock())

    def _audit(
        self, conn: Connection, journal: Journal, action: str, detail: dict[str, Any]
    ) -> None:
        journal.audit(CALENDAR_SUBJECT, action, detail)
        journal.flush(conn)

    def _require_admin(self, conn: Connection, actor: Actor, say: str) -> None:
        """Refuse anyone but an administrator once the organisation has users."""
        principals = self._context.transactions.principals
        require_org_admin(
            principals, conn, actor, say, zh="修改工作日历", en="change the working calendar"
        )


def _no_year(year: int, say: str) -> NotFoundError:
    command = ADD_YEAR_COMMAND.format(year=year)
    return NotFoundError(
        localised(
            say,
            f"工作日历中没有 {year} 年：先用 `{command}` 添加",
            f"the working calendar has no year {year}: add it first with `{command}`",
        )
    )


def _year_argument(argument: str, value: object, say: str) -> int:
    return check.check_whole_number(argument, value, FIRST_YEAR, LAST_YEAR, say)


def _years_argument(value: object, say: str) -> list[int]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise invalid("years", value, say, "年份（int）的列表", "a list of years (int)")
    if not value:
        raise invalid("years", value, say, "至少一个年份", "at least one year")
    return sorted({_year_argument("years[]", item, say) for item in value})


def _day_argument(value: object, say: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise invalid("day", value, say, "日期（datetime.date）", "a date (datetime.date)")


def _hours_argument(value: object, say: str) -> tuple[tuple[time, time], ...]:
    expected_zh = (
        f"1 到 {MAX_PERIODS} 个工作时段，如 ['09:00-12:00', '13:00-18:00']，按时间先后、不重叠"
    )
    expected_en = (
        f"1 to {MAX_PERIODS} working periods such as ['09:00-12:00', '13:00-18:00'], "
        "in order, not overlapping"
    )
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, (list, tuple))
        or not 1 <= len(value) <= MAX_PERIODS
    ):
        raise invalid("periods", value, say, expected_zh, expected_en)
    try:
        return check_hours(_period(item) for item in value)
    except (ValueError, TypeError) as exc:
        raise invalid("periods", value, say, expected_zh, f"{expected_en} ({exc})") from None


def _period(item: object) -> tuple[time, time]:
    if isinstance(item, str):
        return parse_period(item)
    if isinstance(item, (list, tuple)) and len(item) == 2:
        start, end = (parse_clock(t) if isinstance(t, str) else t for t in item)
        if isinstance(start, time) and isinstance(end, time):
            return start, end
    raise ValueError(f"cannot read {item!r} as a working period")
