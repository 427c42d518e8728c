from datetime import date

import pytest

from engine.fields import get
from engine.fields.serial import parse_serial_pattern

serial = get("serial")
DAY = date(2026, 1, 5)


def test_date_and_sequence_tokens_render():
    pattern = parse_serial_pattern("PR-{YYYYMMDD}-{0000}")
    assert pattern.render(DAY, 7, {}) == "PR-20260105-0007"
    assert pattern.sequence_width == 4


@pytest.mark.parametrize(
    "text,expected",
    [("{YYYY}{MM}{DD}-{000}", "20260105-042"), ("{yy}{mm}-{seq:6}", "2601-000042"),
     ("{YYMMDD}{0}", "26010542"), ("NO.{YYYYMM}/{00}", "NO.202601/42")],
)  # fmt: skip
def test_every_date_token_in_either_case(text, expected):
    assert parse_serial_pattern(text).render(DAY, 42, {}) == expected


def test_a_sequence_wider_than_its_token_is_not_cut():
    assert parse_serial_pattern("{00}").render(DAY, 1234, {}) == "1234"


def test_field_tokens_insert_values_and_split_the_counter():
    pattern = parse_serial_pattern("DL-{region}-{0000}")
    assert pattern.field_refs == ("region",)
    assert pattern.render(DAY, 3, {"region": "east"}) == "DL-east-0003"
    assert pattern.period_key(DAY, "never", {"region": "east"}) == "region=east"
    assert pattern.period_key(DAY, "month", {"region": "west"}) == "2026-01|region=west"


@pytest.mark.parametrize(
    "reset,key", [("never", "all"), ("year", "2026"), ("month", "2026-01"), ("day", "2026-01-05")]
)
def test_period_key_follows_the_reset(reset, key):
    assert parse_serial_pattern("{YYYYMMDD}{0000}").period_key(DAY, reset, {}) == key


@pytest.mark.parametrize(
    "text,message",
    [("PR-{YYYYMMDD}", "exactly one sequence token such as {0000}; found none"),
     ("{0000}-{seq:3}", "found 2"),
     ("PR-{YYYYMMDD-{0000}", "unclosed { at position 4"),
     ("PR-}{0000}", "unmatched } at position 4"),
     ("{Region}-{0000}", "unknown token {Region} at position 1"),
     ("{seq:20}", "{seq:20}: the width must be 1 to 12"),
     ("", "a serial pattern is text")],
)  # fmt: skip
def test_bad_patterns_name_the_problem(text, message):
    with pytest.raises(ValueError) as caught:
        parse_serial_pattern(text)
    assert message in str(caught.value)


def test_date_grain_needs_the_coarser_units_too():
    assert parse_serial_pattern("{YYYYMMDD}{0}").date_grain == "day"
    assert parse_serial_pattern("{YYYY}{MM}{0}").date_grain == "month"
    assert parse_serial_pattern("{MM}{DD}{0}").date_grain == "never"
    assert parse_serial_pattern("{0}").date_grain == "never"


def test_reset_finer_than_the_shown_date_is_reported(make_field):
    problems = serial.check_options(make_field("serial", pattern="PR-{YYYYMM}-{0000}", reset="day"))
    assert [p.path for p in problems] == ["reset"]
    assert "numbers would repeat" in problems[0].message
    assert problems[0].hint == "add {YYYYMMDD} to the pattern or choose a coarser reset"


def test_reset_coarser_than_the_shown_date_is_fine(make_field):
    field = make_field("serial", pattern="PR-{YYYYMMDD}-{0000}", reset="never")
    assert serial.check_options(field) == []
    assert serial.check_options(make_field("serial", pattern="{YYYY}{0}", reset="year")) == []


def test_invalid_pattern_is_an_option_problem(make_field):
    problems = serial.check_options(make_field("serial", pattern="PR-{bad token}"))
    assert problems[0].path == "pattern"
    assert "unknown token {bad token}" in problems[0].message


def test_serial_column_is_an_indexed_string(make_field):
    column = serial.columns(make_field("serial", pattern="{0000}"))[0]
    assert (column.kind, column.length, column.indexed) == ("string", 64, True)
    assert serial.coerce(make_field("serial", pattern="{0000}"), " PR-0001 ", "excel") == "PR-0001"
