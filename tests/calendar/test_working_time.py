"""Deadlines in working time on a calendar built from chinese-calendar (no database)."""

from __future__ import annotations

import pickle
import time as monotonic
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from engine.definitions.durations import Duration, parse_duration
from engine.runtime.working_time import (
    BUSINESS_TZ,
    DEFAULT_HOURS,
    CalendarYearMissing,
    WorkingCalendar,
    check_hours,
    parse_period,
)

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def year_days(year: int, workday=chinese_calendar.is_workday) -> dict[date, bool]:
    day, out = date(year, 1, 1), {}
    while day.year == year:
        out[day] = workday(day)
        day += timedelta(days=1)
    return out


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    """2025 and 2026 as chinese-calendar has them; 09:00-12:00 and 13:00-18:00."""
    return WorkingCalendar({**year_days(2025), **year_days(2026)}, frozenset({2025, 2026}))


def add(calendar: WorkingCalendar, start: datetime, text: str) -> datetime:
    return calendar.add(start, parse_duration(text))


def test_make_up_working_days_and_holidays(calendar):
    assert calendar.is_workday(date(2026, 2, 14))  # a Saturday: 春节调休
    assert not calendar.is_workday(date(2026, 10, 1))  # 国庆节
    assert not calendar.is_workday(date(2026, 9, 25))  # a Friday: 中秋
    assert calendar.is_workday(date(2026, 10, 10))  # a Saturday: 国庆节调休
    assert calendar.hours == DEFAULT_HOURS and calendar.day_length == timedelta(hours=8)


def test_24_working_hours_from_the_friday_before_national_day(calendar):
    # Friday 2026-09-25 is 中秋 (a holiday), and so are Saturday and Sunday: the count
    # starts on Monday 09-28 09:00; 28th, 29th and 30th give 8 hours each, so the time
    # runs out at the end of Wednesday's last period, on the eve of 国庆节
    deadline = add(calendar, at(2026, 9, 25, 17, 0), "24 working hours")
    assert deadline == at(2026, 9, 30, 18, 0)
    assert deadline.tzinfo == BUSINESS_TZ


def test_24_working_hours_across_the_national_day_holiday(calendar):
    # Tue 09-29 17:00-18:00 (1), Wed 09-30 (8, 9 in all), 10-01..10-07 off,
    # Thu 10-08 (8, 17), Fri 10-09 09:00-12:00 (3, 20) and 13:00-17:00 (4, 24)
    assert add(calendar, at(2026, 9, 29, 17, 0), "24 working hours") == at(2026, 10, 9, 17, 0)
    # the same in Chinese, and from a UTC start (09:00 UTC is 17:00 in Shanghai)
    utc_start = datetime(2026, 9, 29, 9, 0, tzinfo=UTC)
    assert add(calendar, utc_start, "24工作小时") == at(2026, 10, 9, 17, 0)


def test_2_working_days_across_a_weekend(calendar):
    # Friday 2026-03-06 10:00: Monday is the first working day, Tuesday the second
    assert add(calendar, at(2026, 3, 6, 10, 0), "2 working days") == at(2026, 3, 10, 10, 0)
    assert add(calendar, at(2026, 3, 6, 10, 0), "2个工作日") == at(2026, 3, 10, 10, 0)
    assert add(calendar, at(2026, 3, 6, 10, 0), "1 working day") == at(2026, 3, 9, 10, 0)


@pytest.mark.parametrize(
    ("start", "deadline"),
    [
        # on a Saturday: counted from Monday 09:00
        (at(2026, 3, 7, 10, 0), at(2026, 3, 11, 9, 0)),
        # after hours on Friday: counted from Monday 09:00
        (at(2026, 3, 6, 19, 0), at(2026, 3, 11, 9, 0)),
        # at the end of Friday's hours (18:00 is after hours)
        (at(2026, 3, 6, 18, 0), at(2026, 3, 11, 9, 0)),
        # before hours on Monday: from Monday 09:00
        (at(2026, 3, 9, 7, 30), at(2026, 3, 11, 9, 0)),
        # in the lunch break: from 13:00 the same day
        (at(2026, 3, 9, 12, 30), at(2026, 3, 11, 13, 0)),
        # seconds are kept
        (at(2026, 3, 9, 10, 15, 30), at(2026, 3, 11, 10, 15, 30)),
        # Friday 2026-09-18: Sunday the 20th is a make-up working day (国庆节调休)
        (at(2026, 9, 18, 10, 0), at(2026, 9, 21, 10, 0)),
        # Wednesday 2026-09-30: 10-01..10-07 off, Thursday 10-08 and Friday 10-09 count
        (at(2026, 9, 30, 16, 0), at(2026, 10, 9, 16, 0)),
    ],
)
def test_working_days_start_from_the_next_working_moment(calendar, start, deadline):
    assert add(calendar, start, "2 working days") == deadline


@pytest.mark.parametrize(
    ("start", "text", "deadline"),
    [
        # inside a period
        (at(2026, 3, 9, 10, 0), "1 working hour", at(2026, 3, 9, 11, 0)),
        # running out exactly at the end of a period gives that end
        (at(2026, 3, 9, 9, 0), "3 working hours", at(2026, 3, 9, 12, 0)),
        (at(2026, 3, 9, 9, 0), "8 working hours", at(2026, 3, 9, 18, 0)),
        # the lunch break does not count
        (at(2026, 3, 9, 11, 0), "2 working hours", at(2026, 3, 9, 14, 0)),
        # in the lunch break: from 13:00
        (at(2026, 3, 9, 12, 15), "1 working hour", at(2026, 3, 9, 14, 0)),
        # before hours: from 09:00
        (at(2026, 3, 9, 6, 0), "1 working hour", at(2026, 3, 9, 10, 0)),
        # after hours on Friday: Monday's first period
        (at(2026, 3, 6, 20, 0), "4 working hours", at(2026, 3, 9, 14, 0)),
        # a Saturday start with minutes past the hour
        (at(2026, 3, 7, 15, 45), "9 working hours", at(2026, 3, 10, 10, 0)),
    ],
)
def test_working_hours_count_only_working_periods(calendar, start, text, deadline):
    assert add(calendar, start, text) == deadline


def test_plain_units_are_calendar_arithmetic_and_need_no_calendar():
    empty = WorkingCalendar({}, frozenset())
    start = at(2026, 9, 30, 17, 0)
    assert add(empty, start, "30 minutes") == at(2026, 9, 30, 17, 30)
    assert add(empty, start, "4 hours") == at(2026, 9, 30, 21, 0)
    assert add(empty, start, "3 days") == at(2026, 10, 3, 17, 0)  # holidays count
    assert add(empty, start, "3天") == at(2026, 10, 3, 17, 0)
    assert add(empty, datetime(2026, 12, 31, 20, 0, tzinfo=UTC), "1 day") == at(2027, 1, 2, 4, 0)


def test_a_deadline_needing_a_missing_year_names_it(calendar):
    # 2026-12-31 is a Thursday; the second working day after it is in 2027
    with pytest.raises(CalendarYearMissing) as caught:
        add(calendar, at(2026, 12, 31, 10, 0), "2 working days")
    assert caught.value.year == 2027
    assert "2027" in str(caught.value) and "lowcode calendar add-year 2027" in str(caught.value)
    assert caught.value.message("en") == (
        "the working calendar has no year 2027, which this deadline needs: an administrator "
        "adds it with `lowcode calendar add-year 2027` and marks its holidays and make-up "
        "working days (调休) with `lowcode calendar set`"
    )
    assert "工作日历中没有 2027 年" in caught.value.message("zh-CN")
    with pytest.raises(CalendarYearMissing, match="2027"):
        add(calendar, at(2026, 12, 31, 17, 0), "24 working hours")
    with pytest.raises(CalendarYearMissing, match="2027"):
        calendar.is_workday(date(2027, 1, 4))
    # a start in an uncovered year is no guess either
    with pytest.raises(CalendarYearMissing, match="2024"):
        add(calendar, at(2024, 12, 31, 10, 0), "1 working hour")
    # the exception survives pickling (worker processes) with its year
    assert pickle.loads(pickle.dumps(caught.value)).year == 2027


def test_a_deadline_inside_the_covered_years_needs_nothing_more(calendar):
    assert add(calendar, at(2026, 12, 31, 10, 0), "1 working hour") == at(2026, 12, 31, 11, 0)
    # after the year is added, the same deadline works (2027-01-01 is a Friday)
    weekdays_2027 = year_days(2027, lambda d: d.weekday() < 5)
    wider = WorkingCalendar({**calendar.days, **weekdays_2027}, calendar.years | {2027})
    assert add(wider, at(2026, 12, 31, 10, 0), "2 working days") == at(2027, 1, 4, 10, 0)


def test_other_working_hours():
    hours = (parse_period("08:30-12:00"), parse_period("13:30-17:30"))
    calendar = WorkingCalendar(year_days(2026), frozenset({2026}), hours)
    assert calendar.day_length == timedelta(hours=7, minutes=30)
    assert calendar.add(at(2026, 3, 9, 7, 0), Duration(4, "working_hours")) == at(2026, 3, 9, 14, 0)
    assert calendar.add(at(2026, 3, 9, 18, 0), Duration(1, "working_days")) == at(
        2026, 3, 11, 8, 30
    )


def test_long_deadlines_step_per_day_not_per_minute():
    # 2000..2100 Monday to Friday; 87840 working hours is 10980 working days
    days = {}
    for year in range(2000, 2101):
        days.update(year_days(year, lambda d: d.weekday() < 5))
    calendar = WorkingCalendar(days, frozenset(range(2000, 2101)))
    started = monotonic.perf_counter()
    deadline = calendar.add(at(2026, 1, 5, 9, 0), Duration(87840, "working_hours"))
    far = calendar.add(at(2026, 1, 5, 9, 0), Duration(3660, "working_days"))
    assert monotonic.perf_counter() - started < 2
    assert deadline.date().year == 2068 and far.date().year == 2040


def test_hours_and_arguments_are_checked():
    with pytest.raises(ValueError, match="naive|aware"):
        WorkingCalendar({}, frozenset()).add(datetime(2026, 3, 9, 10), Duration(1, "hours"))
    with pytest.raises(ValueError, match="does not end after it starts"):
        check_hours([(time(12), time(9))])
    with pytest.raises(ValueError, match="starts before the previous one ends"):
        check_hours([(time(9), time(12)), (time(11), time(18))])
    with pytest.raises(ValueError, match="1 to 8 periods"):
        check_hours([])
    with pytest.raises(ValueError, match="whole minutes"):
        check_hours([(time(9, 0, 30), time(12))])
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        parse_period("9-12")
    with pytest.raises(ValueError, match="takes a date"):
        WorkingCalendar({}, frozenset()).is_workday(datetime(2026, 1, 1, tzinfo=SH))
    # touching periods are fine
    assert check_hours([(time(9), time(12)), (time(12), time(13))])[1] == (time(12), time(13))
