"""Durations as definitions write them: what is accepted, what is refused, and why."""

from __future__ import annotations

import re

import pytest

from engine.definitions.durations import MAX_AMOUNT, Duration, parse_duration


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("24 working hours", 24, "working_hours"),
        ("2 working days", 2, "working_days"),
        ("1 working day", 1, "working_days"),
        ("1 working hour", 1, "working_hours"),
        ("3 days", 3, "days"),
        ("1 day", 1, "days"),
        ("4 hours", 4, "hours"),
        ("1 hour", 1, "hours"),
        ("30 minutes", 30, "minutes"),
        ("1 minute", 1, "minutes"),
        ("  2   Working   Days ", 2, "working_days"),
        ("2working days", 2, "working_days"),
        ("2个工作日", 2, "working_days"),
        ("2工作日", 2, "working_days"),
        ("2 个工作日", 2, "working_days"),
        ("24工作小时", 24, "working_hours"),
        ("24个工作小时", 24, "working_hours"),
        ("3天", 3, "days"),
        ("4小时", 4, "hours"),
        ("4个小时", 4, "hours"),
        ("30分钟", 30, "minutes"),
        ("3660 days", 3660, "days"),
        ("87840 working hours", 87840, "working_hours"),
    ],
)
def test_accepted_durations(text, amount, unit):
    duration = parse_duration(text)
    assert duration == Duration(amount, unit)
    assert parse_duration(duration.to_data()) == duration


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2 weeks", "cannot read '2 weeks' as a duration"),
        ("", "cannot read '' as a duration"),
        ("   ", "as a duration"),
        ("working days", "as a duration"),
        ("2", "as a duration"),
        ("1.5 hours", "as a duration"),
        ("-2 days", "as a duration"),
        ("+2 days", "as a duration"),
        ("2 months", "as a duration"),
        ("２天", "as a duration"),  # full-width digit
        ("2 workdays", "as a duration"),
        ("two days", "as a duration"),
        ("2 days 3 hours", "as a duration"),
        ("0 days", "must be from 1 to 3660"),
        ("3661 days", "must be from 1 to 3660"),
        ("5270401 minutes", "must be from 1 to 5270400"),
        ("9999999999 minutes", "as a duration"),
        (True, "must be text, not bool"),
        (2.5, "must be text, not float"),
        (3, "must be text, not int"),
        (None, "must be text, not NoneType"),
    ],
)
def test_refused_durations_say_what_is_accepted(value, says):
    with pytest.raises(ValueError) as caught:
        parse_duration(value)
    text = str(caught.value)
    assert says in text
    assert '"2 working days"' in text and '"24工作小时"' in text and "at most 10 years" in text


def test_canonical_text_is_english_singular_or_plural():
    assert Duration(24, "working_hours").to_data() == "24 working hours"
    assert Duration(1, "working_day" + "s").to_data() == "1 working day"
    assert Duration(1, "hours").to_data() == "1 hour"
    assert str(Duration(30, "minutes")) == "30 minutes"
    assert parse_duration("2个工作日").to_data() == "2 working days"
    assert Duration(2, "working_days").working and not Duration(2, "days").working


@pytest.mark.parametrize(
    ("amount", "unit", "says"),
    [
        (True, "days", "whole number (int), not bool"),
        (1.0, "days", "whole number (int), not float"),
        (0, "hours", "from 1 to 87840"),
        (MAX_AMOUNT["minutes"] + 1, "minutes", "from 1 to 5270400"),
        (2, "weeks", "unknown duration unit 'weeks'"),
    ],
)
def test_a_duration_value_checks_itself(amount, unit, says):
    with pytest.raises(ValueError, match=re.escape(says)):
        Duration(amount, unit)
