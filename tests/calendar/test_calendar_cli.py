"""``lowcode calendar ...`` end to end, in a scratch folder (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ORG = str(ROOT / "examples" / "org.yaml")


@pytest.fixture
def ready(workdir, cli):
    status, out, _ = cli("init")
    assert status == 0
    assert "working calendar seeded from chinese-calendar: 2024, 2025, 2026" in out
    return workdir


def test_init_seeds_the_calendar_once(ready, cli):
    status, out, _ = cli("init")
    assert status == 0 and "working calendar" not in out


def test_show_lists_holidays_on_weekdays_and_working_weekends(ready, cli):
    status, out, err = cli("calendar", "show", "2026")
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "working hours: 09:00-12:00, 13:00-18:00"
    assert lines[1] == "2026: 248 working days, 117 days off"
    rows = {line.split()[0]: line.split()[1:] for line in lines[4:]}
    assert rows["2026-02-14"] == ["Sat", "workday", "chinese-calendar", "春节调休"]
    assert rows["2026-10-01"] == ["Thu", "holiday", "chinese-calendar", "国庆节"]
    assert rows["2026-09-25"] == ["Fri", "holiday", "chinese-calendar", "中秋"]
    assert "2026-10-03" not in rows  # a Saturday off is no exception
    assert "2026-03-10" not in rows


def test_a_missing_year_is_added_then_corrected(ready, cli):
    status, _, err = cli("--locale", "en", "calendar", "show", "2027")
    assert status == 1
    assert err.strip() == (
        "the working calendar has no year 2027: add it first with `lowcode calendar add-year 2027`"
    )
    status, out, _ = cli("calendar", "add-year", "2027")
    assert status == 0 and out.startswith("added 2027: Monday to Friday are working days")
    status, out, _ = cli("calendar", "set", "2027-10-01", "holiday", "--note", "国庆节")
    assert (status, out.strip()) == (0, "2027-10-01 (Fri) is now a holiday")
    status, out, _ = cli("calendar", "set", "2027-10-01", "holiday", "--note", "国庆节")
    assert out.strip() == "2027-10-01 (Fri) was already a holiday: nothing changed"
    status, out, _ = cli("calendar", "show", "2027")
    assert "2027: 260 working days, 105 days off" in out
    assert out.splitlines()[-1].split() == ["2027-10-01", "Fri", "holiday", "admin", "国庆节"]
    status, _, err = cli("--locale", "en", "calendar", "add-year", "2027")
    assert status == 1 and err.startswith("the calendar has 2027 already")


def test_an_admin_day_survives_seeding(ready, cli):
    assert cli("calendar", "set", "2026-10-09", "holiday", "--note", "公司活动")[0] == 0
    status, out, err = cli("calendar", "seed", "--year", "2026")
    assert (status, out.strip(), err) == (
        0,
        "2026: already as chinese-calendar says, nothing changed",
        "",
    )
    out = cli("calendar", "show", "2026")[1]
    assert "2026-10-09  Fri      holiday  admin             公司活动" in out


def test_seeding_a_year_the_library_does_not_know_says_what_to_do(ready, cli):
    status, out, err = cli("calendar", "seed", "--year", "2026", "--year", "2027")
    assert status == 1
    assert out.strip() == "2026: already as chinese-calendar says, nothing changed"
    assert err.startswith("2027: chinese-calendar has no data for this year, nothing written")
    assert "`lowcode calendar add-year 2027`" in err


def test_hours(ready, cli):
    status, out, _ = cli("calendar", "hours", "08:30-12:00", "13:30-17:30")
    assert (status, out.strip()) == (0, "working hours: 08:30-12:00, 13:30-17:30")
    status, out, _ = cli("calendar", "hours")
    assert out.strip() == "working hours: 08:30-12:00, 13:30-17:30"
    status, out, _ = cli("calendar", "hours", "08:30-12:00", "13:30-17:30")
    assert out.splitlines()[0] == "the working hours were already those: nothing changed"
    status, out, err = cli("--locale", "en", "calendar", "hours", "13:00-18:00", "09:00-12:00")
    assert status == 1 and out == ""
    assert "starts before the previous one ends" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ("calendar", "set", "2026-13-01", "holiday"),
            "cannot read '2026-13-01' as a day: write YYYY-MM-DD",
        ),
        (("calendar", "set", "2026-10-01", "off"), "invalid choice: 'off'"),
        (("calendar", "add-year", "next"), "invalid int value: 'next'"),
    ],
)
def test_usage_errors_exit_2_and_say_what_to_write(ready, capsys, argv, says):
    from engine.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        main(list(argv))
    err = capsys.readouterr().err
    assert caught.value.code == 2 and says in err and "Traceback" not in err


def test_a_year_out_of_range_is_refused(ready, cli):
    status, _, err = cli("--locale", "en", "calendar", "add-year", "1900")
    assert status == 1 and "year" in err and "2000" in err and "Traceback" not in err


def test_only_admins_change_the_calendar(ready, cli):
    assert cli("org", "load", EXAMPLE_ORG)[0] == 0
    status, _, err = cli(
        "--user", "li.ming", "--locale", "en", "calendar", "set", "2026-10-09", "holiday"
    )
    assert status == 1 and "only an administrator" in err
    assert cli("--user", "li.ming", "calendar", "show", "2026")[0] == 0  # reading is open
    assert cli("calendar", "set", "2026-10-09", "holiday")[0] == 0  # admin
