from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.fields import FieldValueError, get

date_type, datetime_type = get("date"), get("datetime")
SHANGHAI = ZoneInfo("Asia/Shanghai")


# -- date ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw", ["2026-01-05", "2026/1/5", "2026年1月5日", "2026.01.05", "20260105", " ２０２６-1-5 "]
)
def test_date_reads_the_ways_people_write_one(make_field, raw):
    assert date_type.coerce(make_field("date"), raw, "web") == date(2026, 1, 5)


def test_date_reads_excel_serial_numbers_only_from_excel(make_field):
    field = make_field("date")
    assert date_type.coerce(field, 46027, "excel") == date(2026, 1, 5)
    assert date_type.coerce(field, 46027.0, "excel") == date(2026, 1, 5)
    with pytest.raises(FieldValueError):
        date_type.coerce(field, 46027, "json")


def test_date_takes_excel_datetime_cells_as_their_day(make_field):
    assert date_type.coerce(make_field("date"), datetime(2026, 1, 5), "excel") == date(2026, 1, 5)


def test_date_refuses_an_impossible_day_with_an_example(make_field):
    with pytest.raises(FieldValueError) as caught:
        date_type.coerce(make_field("date"), "2026-02-30")
    assert caught.value.code == "type"
    assert "like 2026-01-05" in caught.value.message


def test_date_bounds_accept_yaml_dates_and_iso_text(make_field):
    field = make_field("date", min=date(2026, 1, 1), max="2026-12-31")
    assert date_type.coerce(field, "2026-06-01") == date(2026, 6, 1)
    with pytest.raises(FieldValueError) as caught:
        date_type.coerce(field, "2025-12-31")
    assert caught.value.code == "min"
    with pytest.raises(FieldValueError) as caught:
        date_type.coerce(field, "2027-01-01")
    assert caught.value.code == "max"


def test_date_options_report_unreadable_bounds(make_field):
    problems = date_type.check_options(make_field("date", min="soon"))
    assert [p.path for p in problems] == ["min"]


def test_date_json_and_display_are_iso(make_field):
    field = make_field("date")
    assert date_type.to_json(field, date(2026, 1, 5)) == "2026-01-05"
    assert date_type.display(field, date(2026, 1, 5), "en") == "2026-01-05"
    assert date_type.from_storage(field, {"f": "2026-01-05"}) == date(2026, 1, 5)


# -- datetime -----------------------------------------------------------------------
def test_naive_datetime_text_is_read_in_shanghai_time(make_field):
    value = datetime_type.coerce(make_field("datetime"), "2026-01-05 09:30", "web")
    assert value == datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI)
    assert value.utcoffset() == timedelta(hours=8)


def test_datetime_reads_chinese_style_text(make_field):
    value = datetime_type.coerce(make_field("datetime"), "2026年1月5日 9:30", "excel")
    assert value == datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI)


def test_aware_input_keeps_its_instant_and_is_shown_in_the_field_zone(make_field):
    field = make_field("datetime")
    value = datetime_type.coerce(field, "2026-01-05T01:30:00Z")
    assert value == datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI)
    assert datetime_type.to_json(field, value) == "2026-01-05T09:30:00+08:00"
    assert datetime_type.display(field, value) == "2026-01-05 09:30"


def test_datetime_field_with_its_own_timezone(make_field):
    field = make_field("datetime", timezone="Europe/Berlin")
    value = datetime_type.coerce(field, "2026-01-05 09:30")
    assert value.utcoffset() == timedelta(hours=1)


def test_excel_serial_with_a_time_fraction(make_field):
    value = datetime_type.coerce(make_field("datetime"), 46027.5, "excel")
    assert value == datetime(2026, 1, 5, 12, 0, tzinfo=SHANGHAI)


def test_datetime_is_stored_as_utc_and_read_back_in_the_field_zone(make_field):
    field = make_field("datetime")
    value = datetime(2026, 1, 5, 9, 30, tzinfo=SHANGHAI)
    stored = datetime_type.to_storage(field, value)
    assert stored == {"f": datetime(2026, 1, 5, 1, 30, tzinfo=UTC)}
    naive_utc = {"f": datetime(2026, 1, 5, 1, 30)}  # what SQLite gives back
    back = datetime_type.from_storage(field, naive_utc)
    assert back == value and back.tzinfo == SHANGHAI


def test_datetime_refuses_text_that_is_not_a_time(make_field):
    with pytest.raises(FieldValueError) as caught:
        datetime_type.coerce(make_field("datetime"), "next tuesday")
    assert "2026-01-05 09:30" in caught.value.message


def test_unknown_timezone_is_an_option_problem(make_field):
    problems = datetime_type.check_options(make_field("datetime", timezone="Mars/Base"))
    assert problems[0].path == "timezone"
    assert datetime_type.check_options(make_field("datetime", timezone="UTC")) == []


def test_other_offsets_convert(make_field):
    tz = timezone(timedelta(hours=-5))
    value = datetime_type.coerce(make_field("datetime"), datetime(2026, 1, 5, 20, 0, tzinfo=tz))
    assert (value.day, value.hour) == (6, 9)
