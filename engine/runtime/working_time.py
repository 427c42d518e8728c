"""Deadlines in working time: the working calendar and duration arithmetic (pure, no SQL).

A :class:`WorkingCalendar` knows, for every day of the years it covers, whether the day
is a working day (China's holidays and make-up working days, 调休, as the store seeded
them from chinese-calendar and an administrator corrected them), and the working
hours of a working day (09:00-12:00 and 13:00-18:00 unless changed). Arithmetic runs
in the business time zone, Asia/Shanghai, and returns aware datetimes there.

How each unit of a :class:`~engine.definitions.durations.Duration` is added to a start:

- ``minutes``, ``hours``: elapsed time (no calendar needed);
- ``days``: the same wall-clock time N calendar days later (no calendar needed);
- ``working_hours``: only time inside a working period of a working day counts. A start
  outside working time counts from the start of the next working period. The deadline
  is the moment the last minute is used up, so time that runs out exactly at the end
  of a period gives that end (18:00), not the next morning;
- ``working_days``: first the start moves to working time as above (a start on a
  non-working day, before or after the hours, or in the lunch break, moves to the start
  of the next working period); the deadline is that time of day on the N-th working
  day after that day. Friday 10:00 + 2 working days is Tuesday 10:00; Saturday 10:00
  or Friday 19:00 + 2 working days is Wednesday 09:00 (counting from Monday 09:00).

The calendar never guesses: a day of a year it does not cover raises
:class:`CalendarYearMissing` (an administrator adds the year, docs/calendar.md), never a
silent fall-back to calendar days. Costs are one step per day at most (a deadline of
24 working hours looks at a handful of days, not at minutes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

from engine.definitions.durations import Duration
from engine.errors import NotFoundError

#: the business time zone: working hours and days are Shanghai's
BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
#: working hours of a working day unless an administrator changes them
DEFAULT_HOURS: tuple[tuple[time, time], ...] = ((time(9), time(12)), (time(13), time(18)))
#: most working periods in a day
MAX_PERIODS = 8
#: the command that adds a year (named in messages)
ADD_YEAR_COMMAND = "lowcode calendar add-year {year}"


class CalendarYearMissing(NotFoundError):
    """The working calendar does not cover ``year``, which a deadline needs.

    ``str()`` is the zh-CN message; :meth:`message` gives it in another locale. A
    :class:`~engine.errors.NotFoundError`, so it passes through the service like
    its other refusals.
    """

    def __init__(self, year: int, locale: str = "zh-CN"):
        self.year = year
        self.locale = locale
        super().__init__(self.message(locale))

    def message(self, locale: str = "zh-CN") -> str:
        """The message in ``locale`` (``en...`` is English, anything else Chinese)."""
        command = ADD_YEAR_COMMAND.format(year=self.year)
        if locale.startswith("en"):
            return (
                f"the working calendar has no year {self.year}, which this deadline needs: "
                f"an administrator adds it with `{command}` and marks its holidays and "
                "make-up working days (调休) with `lowcode calendar set`"
            )
        return (
            f"工作日历中没有 {self.year} 年，计算该期限需要它：请管理员用 `{command}` 添加，"
            "再用 `lowcode calendar set` 标出节假日和调休上班日"
        )

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.year, self.locale))


def parse_period(text: str) -> tuple[time, time]:
    """``"09:00-12:00"`` -> (09:00, 12:00); ValueError for anything else."""
    start, sep, end = text.partition("-") if isinstance(text, str) else ("", "", "")
    try:
        if not sep:
            raise ValueError
        period = (parse_clock(start), parse_clock(end))
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as working hours: write HH:MM-HH:MM, e.g. 09:00-12:00"
        ) from None
    return period


def parse_clock(text: str) -> time:
    """``"09:00"`` -> 09:00 (two digits each, 00:00 to 23:59); ValueError otherwise."""
    clock = text.strip() if isinstance(text, str) else ""
    digits = clock[:2] + clock[3:]
    if len(clock) != 5 or clock[2] != ":" or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"cannot read {text!r} as a time of day: write HH:MM, e.g. 09:00")
    try:
        return time(int(clock[:2]), int(clock[3:]))
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a time of day: write HH:MM, e.g. 09:00"
        ) from None


def check_hours(periods: Iterable[tuple[time, time]]) -> tuple[tuple[time, time], ...]:
    """The working periods as a tuple, after checking them; ValueError says what is wrong.

    At least one and at most :data:`MAX_PERIODS` periods of whole minutes, each starting
    before it ends, in order, not overlapping (touching is fine), within one day.
    """
    out = tuple((start, end) for start, end in periods)
    if not 1 <= len(out) <= MAX_PERIODS:
        raise ValueError(f"working hours need 1 to {MAX_PERIODS} periods, not {len(out)}")
    previous_end: time | None = None
    for start, end in out:
        if any(
            not isinstance(t, time) or t.tzinfo is not None or t.second or t.microsecond
            for t in (start, end)
        ):
            raise ValueError(f"working hours are whole minutes without a zone: {start!r}-{end!r}")
        shown = f"{format_time(start)}-{format_time(end)}"
        if start >= end:
            raise ValueError(f"the working period {shown} does not end after it starts")
        if previous_end is not None and start < previous_end:
            raise ValueError(
                f"the working period {shown} starts before the previous one ends "
                f"({format_time(previous_end)}): list periods in order, without overlaps"
            )
        previous_end = end
    return out


def format_time(value: time) -> str:
    return value.strftime("%H:%M")


def format_hours(periods: Iterable[tuple[time, time]]) -> list[str]:
    """``["09:00-12:00", "13:00-18:00"]``."""
    return [f"{format_time(start)}-{format_time(end)}" for start, end in periods]


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days of the covered years and the working hours of a working day."""

    #: every day of every covered year -> whether it is a working day
    days: Mapping[date, bool]
    years: frozenset[int]
    hours: tuple[tuple[time, time], ...] = DEFAULT_HOURS
    #: working time of one working day
    day_length: timedelta = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hours", check_hours(self.hours))
        object.__setattr__(self, "years", frozenset(self.years))
        if not isinstance(self.days, MappingProxyType):
            object.__setattr__(self, "days", MappingProxyType(dict(self.days)))
        length = sum((_span(start, end) for start, end in self.hours), timedelta())
        object.__setattr__(self, "day_length", length)

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is a working day; CalendarYearMissing when its year is not covered."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ValueError(f"is_workday takes a date, not {day!r}")
        if day.year not in self.years:
            raise CalendarYearMissing(day.year)
        try:
            return self.days[day]
        except KeyError:  # a covered year always has every day; a broken mapping is no guess
            raise CalendarYearMissing(day.year) from None

    def add(self, start: datetime, duration: Duration) -> datetime:
        """The moment ``duration`` after ``start`` (aware), in Asia/Shanghai.

        See the module's docstring for what each unit means. ValueError for a naive
        ``start``; CalendarYearMissing when a day the count passes through is in a
        year the calendar does not cover.
        """
        if not isinstance(start, datetime) or start.tzinfo is None:
            raise ValueError(f"a deadline starts at an aware datetime, not {start!r}")
        if not isinstance(duration, Duration):
            raise ValueError(f"expected a Duration, not {type(duration).__name__}")
        return _ADDERS[duration.unit](self, start.astimezone(BUSINESS_TZ), duration.amount)

    # -- working time ----------------------------------------------------------------------
    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` when it is working time, else the start of the next working period."""
        day, clock = moment.date(), moment.time()
        while True:
            if self.is_workday(day):
                for start, end in self.hours:
                    if clock < end:
                        return moment if clock >= start else _on(day, start)
            day += timedelta(days=1)
            clock = time(0)
            moment = _on(day, clock)

    def _add_working_hours(self, start: datetime, hours: int) -> datetime:
        left = timedelta(hours=hours)
        day, clock = start.date(), start.time()
        while True:
            if self.is_workday(day):
                if clock == time(0) and left > self.day_length:
                    left -= self.day_length  # a whole working day at once
                else:
                    for period_start, period_end in self.hours:
                        if clock >= period_end:
                            continue
                        begin = _on(day, max(clock, period_start))
                        end = _on(day, period_end)
                        if left <= end - begin:
                            return begin + left
                        left -= end - begin
            day += timedelta(days=1)
            clock = time(0)

    def _add_working_days(self, start: datetime, days: int) -> datetime:
        anchor = self.next_working_moment(start)
        day, left = anchor.date(), days
        while left:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return _on(day, anchor.time())


def _span(start: time, end: time) -> timedelta:
    return datetime.combine(date.min, end) - datetime.combine(date.min, start)


def _on(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=BUSINESS_TZ)


def _elapsed(unit: str) -> Callable[[WorkingCalendar, datetime, int], datetime]:
    def add(calendar: WorkingCalendar, start: datetime, amount: int) -> datetime:
        later = start.astimezone(UTC) + timedelta(**{unit: amount})
        return later.astimezone(BUSINESS_TZ)

    return add


def _calendar_days(calendar: WorkingCalendar, start: datetime, amount: int) -> datetime:
    # wall-clock arithmetic in the business zone: the same time of day, N days later
    return (start + timedelta(days=amount)).astimezone(BUSINESS_TZ)


#: unit -> how it is added (one small function per unit)
_ADDERS: Mapping[str, Callable[[WorkingCalendar, datetime, int], datetime]] = MappingProxyType(
    {
        "minutes": _elapsed("minutes"),
        "hours": _elapsed("hours"),
        "days": _calendar_days,
        "working_hours": WorkingCalendar._add_working_hours,
        "working_days": WorkingCalendar._add_working_days,
    }
)
