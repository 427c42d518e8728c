"""The working calendar through the service: seeding, years, days, hours, rights, caching."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.errors import (
    ConflictError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor, CalendarYearMissing, Duration, WorkingCalendar

SH = ZoneInfo("Asia/Shanghai")
ORG = """
roles:
  - {code: admin, name: 管理员, members: [boss]}
users:
  - {login: boss, name: 周总}
  - {login: li, name: 李明}
"""
BOSS, LI = Actor("boss"), Actor("li", locale="en")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def _audits(service):
    with service._database.read() as conn:
        rows = conn.execute(
            sa.text(
                "select action, actor, detail from audit_log where form = 'calendar' order by id"
            )
        ).all()
    return [(a, who, d if isinstance(d, dict) else json.loads(d)) for a, who, d in rows]


@pytest.fixture
def service(make_service):
    service = make_service()
    service.calendar.seed(SYSTEM_ACTOR, [2025, 2026])
    return service


def test_seed_defaults_to_the_library_years_from_2024(make_service):
    service = make_service()
    report = service.calendar.seed(SYSTEM_ACTOR)
    assert report.written == {2024: 366, 2025: 365, 2026: 365} and report.unknown == ()
    assert service.calendar.years(SYSTEM_ACTOR) == [2024, 2025, 2026]
    again = service.calendar.seed(SYSTEM_ACTOR, [2026, 2027])
    assert again.written == {2026: 0} and again.unknown == (2027,) and not again.changed
    assert [a for a, _, _ in _audits(service)] == ["calendar.seed"]  # the no-op wrote nothing


def test_ensure_seeded_only_fills_an_empty_calendar(make_service):
    service = make_service()
    first = service.calendar.ensure_seeded(SYSTEM_ACTOR)
    assert first is not None and sorted(first.written) == [2024, 2025, 2026]
    assert service.calendar.ensure_seeded(SYSTEM_ACTOR) is None


def test_a_deadline_needing_2027_fails_until_the_year_is_added(service):
    start = at(2026, 12, 31, 10, 0)
    with pytest.raises(CalendarYearMissing) as caught:
        service.calendar.deadline(LI, start, "2 working days")
    assert caught.value.year == 2027 and isinstance(caught.value, NotFoundError)
    assert str(caught.value).startswith("the working calendar has no year 2027")  # LI reads en
    assert "`lowcode calendar add-year 2027`" in str(caught.value)
    # the calendar itself raises the same (the flows engine uses it in its transaction)
    with pytest.raises(CalendarYearMissing, match="2027"):
        service.calendar.calendar().add(start, Duration(2, "working_days"))

    assert service.calendar.add_year(SYSTEM_ACTOR, 2027) == "weekdays"
    # 2027-01-01 is a Friday (Monday to Friday until an admin marks 元旦), then Monday
    assert service.calendar.deadline(LI, start, "2 working days") == at(2027, 1, 4, 10, 0)
    service.calendar.set_day(SYSTEM_ACTOR, date(2027, 1, 1), False, "元旦")
    assert service.calendar.deadline(LI, start, "2个工作日") == at(2027, 1, 5, 10, 0)
    with pytest.raises(ConflictError, match="has 2027 already"):
        service.calendar.add_year(LI, 2027)


def test_add_year_takes_a_year_the_library_knows_from_it(make_service):
    service = make_service()
    assert service.calendar.add_year(SYSTEM_ACTOR, 2026) == "chinese-calendar"
    days = {d.day: d for d in service.calendar.year(SYSTEM_ACTOR, 2026)}
    assert days[date(2026, 2, 14)].workday and days[date(2026, 2, 14)].note == "春节调休"


def test_24_working_hours_from_friday_2026_09_25(service):
    # 09-25..27 are 中秋; Mon-Wed 09-28..30 give 24 hours, ending on the eve of 国庆节
    assert service.calendar.deadline(SYSTEM_ACTOR, at(2026, 9, 25, 17), "24 working hours") == (
        at(2026, 9, 30, 18, 0)
    )


def test_an_admin_day_overrides_and_survives_a_reseed(service):
    start = at(2026, 10, 8, 10, 0)  # Thursday after 国庆节
    assert service.calendar.deadline(SYSTEM_ACTOR, start, "1 working day") == at(2026, 10, 9, 10)
    assert service.calendar.set_day(SYSTEM_ACTOR, date(2026, 10, 9), False, " 公司活动 ") is True
    assert service.calendar.set_day(SYSTEM_ACTOR, date(2026, 10, 9), False, "公司活动") is False
    # Friday off; Saturday the 10th is 国庆节调休 (a working day)
    assert service.calendar.deadline(SYSTEM_ACTOR, start, "1 working day") == at(2026, 10, 10, 10)
    report = service.calendar.seed(SYSTEM_ACTOR, [2026])
    assert report.written == {2026: 0}
    day = next(d for d in service.calendar.year(SYSTEM_ACTOR, 2026) if d.day == date(2026, 10, 9))
    assert (day.workday, day.source, day.note) == (False, "admin", "公司活动")
    assert service.calendar.calendar().is_workday(date(2026, 10, 9)) is False
    action, actor, detail = _audits(service)[-1]
    assert (action, actor) == ("calendar.set_day", "system")
    assert detail == {
        "day": "2026-10-09",
        "workday": False,
        "note": "公司活动",
        "before": {"workday": True, "source": "chinese-calendar", "note": None},
    }


def test_set_day_in_a_year_not_covered_is_refused(service):
    with pytest.raises(NotFoundError, match="add-year 2030"):
        service.calendar.set_day(SYSTEM_ACTOR, date(2030, 5, 1), False)
    with pytest.raises(NotFoundError, match="add-year 2030"):
        service.calendar.year(SYSTEM_ACTOR, 2030)


def test_hours(service):
    assert service.calendar.hours(LI) == ((time(9), time(12)), (time(13), time(18)))
    assert service.calendar.set_hours(SYSTEM_ACTOR, ["08:30-12:00", ("13:30", time(17, 30))])
    assert service.calendar.set_hours(SYSTEM_ACTOR, ["08:30-12:00", "13:30-17:30"]) is False
    assert service.calendar.hours(LI) == ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))
    # Monday 2026-03-09 08:00 + 4 working hours: 08:30-12:00 (3.5), 13:30-14:00
    assert service.calendar.deadline(LI, at(2026, 3, 9, 8), "4 working hours") == at(
        2026, 3, 9, 14, 0
    )
    assert _audits(service)[-1][2] == {"hours": ["08:30-12:00", "13:30-17:30"]}


def test_only_admins_change_the_calendar_once_the_organisation_has_users(service):
    # no users yet: anyone may
    assert service.calendar.set_day(Actor("somebody"), date(2026, 3, 9), True, "x") is True
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    with pytest.raises(PermissionDeniedError, match="only an administrator"):
        service.calendar.set_day(LI, date(2026, 3, 9), False)
    with pytest.raises(PermissionDeniedError, match="只有管理员"):
        service.calendar.set_hours(Actor("li"), ["09:00-17:00"])
    for change in (
        lambda who: service.calendar.seed(who, [2026]),
        lambda who: service.calendar.add_year(who, 2027),
    ):
        with pytest.raises(PermissionDeniedError):
            change(LI)
    assert service.calendar.set_day(BOSS, date(2026, 3, 9), False, "盘点") is True
    assert service.calendar.add_year(BOSS, 2027) == "weekdays"
    service.org.set_active(SYSTEM_ACTOR, "boss", False)
    with pytest.raises(PermissionDeniedError):
        service.calendar.set_day(BOSS, date(2026, 3, 10), False)
    # everybody reads
    assert len(service.calendar.year(LI, 2026)) == 365


def test_the_calendar_is_cached_until_the_generation_moves(make_service, service):
    first = service.calendar.calendar()
    assert isinstance(first, WorkingCalendar) and first.years == {2025, 2026}
    statements: list[str] = []
    engine = service._database.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        assert service.calendar.calendar() is first
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
    assert [s for s in statements if "work_calendar" in s] == [statements[-1]]
    assert len([s for s in statements if "work_calendar" in s]) == 1
    # another process (another Service on the same database) changes a day
    other = make_service()
    other.calendar.set_day(SYSTEM_ACTOR, date(2026, 3, 9), False, "停电")
    fresh = service.calendar.calendar()
    assert fresh is not first and fresh.is_workday(date(2026, 3, 9)) is False
    assert service.calendar.calendar() is fresh


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda s: s.calendar.seed(SYSTEM_ACTOR, 2026), "years"),
        (lambda s: s.calendar.seed(SYSTEM_ACTOR, []), "years"),
        (lambda s: s.calendar.seed(SYSTEM_ACTOR, [True]), "years[]"),
        (lambda s: s.calendar.seed(SYSTEM_ACTOR, [1999]), "years[]"),
        (lambda s: s.calendar.add_year(SYSTEM_ACTOR, "2027"), "year"),
        (lambda s: s.calendar.add_year(SYSTEM_ACTOR, 2027.0), "year"),
        (lambda s: s.calendar.set_day(SYSTEM_ACTOR, "2026-10-01", False), "day"),
        (lambda s: s.calendar.set_day(SYSTEM_ACTOR, at(2026, 10, 1), False), "day"),
        (lambda s: s.calendar.set_day(SYSTEM_ACTOR, date(2026, 10, 1), 0), "workday"),
        (lambda s: s.calendar.set_day(SYSTEM_ACTOR, date(2026, 10, 1), True, "x" * 201), "note"),
        (lambda s: s.calendar.set_hours(SYSTEM_ACTOR, "09:00-12:00"), "periods"),
        (lambda s: s.calendar.set_hours(SYSTEM_ACTOR, []), "periods"),
        (lambda s: s.calendar.set_hours(SYSTEM_ACTOR, ["12:00-09:00"]), "periods"),
        (lambda s: s.calendar.set_hours(SYSTEM_ACTOR, ["9-12"]), "periods"),
        (lambda s: s.calendar.set_hours(SYSTEM_ACTOR, [(1, 2)]), "periods"),
        (lambda s: s.calendar.set_hours(SYSTEM_ACTOR, ["09:00-12:00"] * 9), "periods"),
        (lambda s: s.calendar.deadline(SYSTEM_ACTOR, datetime(2026, 1, 5), "1 hour"), "start"),
        (lambda s: s.calendar.deadline(SYSTEM_ACTOR, at(2026, 1, 5), "2 weeks"), "duration"),
        (lambda s: s.calendar.year(SYSTEM_ACTOR, None), "year"),
        (lambda s: s.calendar.year("admin", 2026), "actor"),
    ],
)
def test_wrong_arguments_are_refused_before_any_work(service, call, argument):
    with service._database.read() as conn:
        before = conn.execute(sa.text("select count(*) from audit_log")).scalar()
    with pytest.raises(InvalidArgumentError) as caught:
        call(service)
    assert caught.value.argument == argument
    with service._database.read() as conn:
        assert conn.execute(sa.text("select count(*) from audit_log")).scalar() == before


def test_two_seeds_of_an_empty_calendar_at_once_both_succeed(make_service):
    services = [make_service(), make_service()]
    barrier = threading.Barrier(2)
    results: list[object] = []

    def seed(service) -> None:
        barrier.wait()
        try:
            results.append(service.calendar.ensure_seeded(SYSTEM_ACTOR))
        except Exception as exc:  # recorded for the assertion below
            results.append(exc)

    threads = [threading.Thread(target=seed, args=(s,)) for s in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2 and not [r for r in results if isinstance(r, Exception)]
    assert sorted(r is None for r in results) == [False, True]  # one seeded, one found days
    assert services[0].calendar.years(SYSTEM_ACTOR) == [2024, 2025, 2026]
