"""The calendar's tables on SQLite and PostgreSQL: seeding, admin days, hours, generation."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from engine.store import calendar as stored
from engine.store.calendar import ADMIN, LIBRARY, WEEKDAYS, CalendarDay, library_years
from engine.store.database import Database
from engine.store.engine_tables import upgrade_engine_tables

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
WHO = {"actor": "system", "now": NOW}


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    with db.write() as conn:
        upgrade_engine_tables(conn)
    yield db
    db.dispose()


def test_a_fresh_database_has_the_default_hours_and_generation_0(database):
    with database.read() as conn:
        loaded = stored.load_calendar(conn)
        assert stored.calendar_generation(conn) == 0
        assert stored.is_empty(conn)
    assert loaded.days == {} and loaded.years == frozenset()
    assert loaded.hours == ((time(9), time(12)), (time(13), time(18)))


def test_seeding_writes_every_day_from_chinese_calendar(database):
    with database.write() as conn:
        written = stored.seed_years(conn, [2026, 2025, 2027], **WHO)
    assert written == {2025: 365, 2026: 365}  # 2027: the library has no data, not written
    with database.read() as conn:
        loaded = stored.load_calendar(conn)
        assert loaded.generation == stored.calendar_generation(conn) == 1
        assert stored.covered_years(conn) == {2025, 2026}
        days = stored.year_days(conn, 2026)
    assert loaded.years == {2025, 2026} and len(loaded.days) == 730
    assert loaded.days[date(2026, 2, 14)] is True  # Saturday, 春节调休
    assert loaded.days[date(2026, 10, 1)] is False
    by_day = {d.day: d for d in days}
    assert by_day[date(2026, 2, 14)] == CalendarDay(date(2026, 2, 14), True, LIBRARY, "春节调休")
    assert by_day[date(2026, 10, 1)] == CalendarDay(date(2026, 10, 1), False, LIBRARY, "国庆节")
    assert by_day[date(2026, 3, 10)] == CalendarDay(date(2026, 3, 10), True, LIBRARY, None)
    # seeding again changes nothing, and leaves the generation alone
    with database.write() as conn:
        assert stored.seed_years(conn, [2025, 2026], **WHO) == {2025: 0, 2026: 0}
    with database.read() as conn:
        assert stored.calendar_generation(conn) == 1


def test_an_admin_day_survives_a_reseed(database):
    with database.write() as conn:
        stored.seed_years(conn, [2026], **WHO)
        before = stored.set_day(conn, date(2026, 10, 9), False, "公司调休", actor="boss", now=NOW)
    assert before == CalendarDay(date(2026, 10, 9), True, LIBRARY, None)
    with database.write() as conn:
        # the same again: nothing written, generation kept
        assert stored.set_day(conn, date(2026, 10, 9), False, "公司调休", **WHO).source == ADMIN
        assert stored.calendar_generation(conn) == 2
        assert stored.seed_years(conn, [2026], **WHO) == {2026: 0}
    with database.read() as conn:
        assert stored.day_entry(conn, date(2026, 10, 9)) == CalendarDay(
            date(2026, 10, 9), False, ADMIN, "公司调休"
        )
        assert stored.load_calendar(conn).days[date(2026, 10, 9)] is False


def test_a_weekday_year_then_a_library_seed_keeps_the_admin_days(database):
    with database.write() as conn:
        assert stored.add_weekday_year(conn, 2027, **WHO) == 365
        stored.set_day(conn, date(2027, 10, 1), False, "国庆节", **WHO)
    with database.read() as conn:
        loaded = stored.load_calendar(conn)
        days = {d.day: d for d in stored.year_days(conn, 2027)}
    assert loaded.years == {2027} and loaded.generation == 2
    assert loaded.days[date(2027, 1, 1)] is True  # a Friday: weekdays know no holidays
    assert loaded.days[date(2027, 1, 2)] is False  # Saturday
    assert days[date(2027, 1, 4)].source == WEEKDAYS
    assert days[date(2027, 10, 1)] == CalendarDay(date(2027, 10, 1), False, ADMIN, "国庆节")
    # a weekday year written again changes nothing
    with database.write() as conn:
        assert stored.add_weekday_year(conn, 2027, **WHO) == 0
        assert stored.calendar_generation(conn) == 2


def test_a_leap_year_has_366_days(database):
    with database.write() as conn:
        assert stored.seed_years(conn, [2024], **WHO) == {2024: 366}
    with database.read() as conn:
        assert stored.covered_years(conn) == {2024}
        assert len(stored.load_calendar(conn).days) == 366


def test_hours_are_stored_and_move_the_generation(database):
    periods = ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))
    with database.write() as conn:
        assert stored.set_hours(conn, periods) is True
        assert stored.set_hours(conn, periods) is False
    with database.read() as conn:
        assert stored.load_hours(conn) == periods
        assert stored.calendar_generation(conn) == 1


def test_the_library_years_are_probed_from_chinese_calendar():
    known = library_years()  # the real probe (the tests pin stored.library_years)
    assert {2004, 2024, 2025, 2026} <= known and 2003 not in known
    assert known == frozenset(range(min(known), max(known) + 1))
    assert stored.library_year(2027) is None  # pinned: 2027 is unknown to these tests
