"""Operators: Decimal arithmetic, blanks, comparisons, dates, ``in``."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from engine.errors import ExpressionError
from engine.expressions.context import SHANGHAI

from .conftest import run


def test_number_literals_are_decimal_not_float():
    assert run("0.1 + 0.2") == Decimal("0.3")
    assert type(run("1")) is Decimal


def test_integer_division_gives_a_decimal():
    assert run("7 / 2") == Decimal("3.5")
    assert run("1 / 3") == Decimal("0.3333333333333333333333333333")


def test_float_inputs_are_converted_through_their_text():
    assert run("a + b", {"a": 0.1, "b": 0.2}) == Decimal("0.3")


def test_int_inputs_become_decimal():
    assert run("a * 2", {"a": 3}) == Decimal(6)
    assert type(run("a * 2", {"a": 3})) is Decimal


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("7 // 2", Decimal(3)),
        ("-7 // 2", Decimal(-4)),
        ("7 % 3", Decimal(1)),
        ("-7 % 3", Decimal(2)),
        ("2 ** 10", Decimal(1024)),
        ("2 ** -1", Decimal("0.5")),
        ("-(3 - 5)", Decimal(2)),
        ("+4", Decimal(4)),
    ],
)
def test_arithmetic_follows_python_rules_on_decimals(source, expected):
    assert run(source) == expected


@pytest.mark.parametrize("source", ["a + 1", "1 - a", "a * 2", "a / 2", "a // 2", "a % 2", "-a"])
def test_a_blank_operand_in_arithmetic_gives_blank(source):
    assert run(source, {"a": None}) is None


def test_a_missing_field_reads_as_blank():
    assert run("a + 1") is None


def test_division_by_zero_is_an_error_with_the_column_of_the_operator():
    with pytest.raises(ExpressionError) as caught:
        run("amount / qty", {"amount": Decimal(10), "qty": Decimal(0)})
    assert caught.value.message == "division by zero"
    assert caught.value.column == 8
    assert "IF(qty == 0" in caught.value.hint


def test_text_joins_with_plus_but_not_with_numbers():
    assert run("'PR-' + code", {"code": "001"}) == "PR-001"
    with pytest.raises(ExpressionError) as caught:
        run("'PR-' + 1")
    assert caught.value.message == "cannot add text and number with +"
    assert "CONCAT" in caught.value.hint


def test_text_repetition_is_allowed_within_the_text_limit():
    assert run("'ab' * 3") == "ababab"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a > 1", False),
        ("a < 1", False),
        ("a >= 1", False),
        ("a == None", True),
        ("a != None", False),
        ("a == 1", False),
        ("a != 1", True),
    ],
)
def test_comparisons_with_blank_are_false_except_equality(source, expected):
    assert run(source, {"a": None}) is expected


def test_equality_is_strict_between_kinds():
    assert run("'1' == 1") is False
    assert run("flag == 1", {"flag": True}) is False
    assert run("1 == 1.0") is True


def test_chained_comparison_evaluates_the_middle_once():
    assert run("1 < a <= 3", {"a": Decimal(3)}) is True
    assert run("1 < a <= 3", {"a": Decimal(4)}) is False


def test_ordering_text_against_a_number_is_an_error():
    with pytest.raises(ExpressionError) as caught:
        run("name > 3", {"name": "x"})
    assert caught.value.message == "cannot compare text with number using >"
    assert caught.value.column == 6


def test_and_or_return_booleans_and_short_circuit():
    assert run("1 and 'x'") is True
    assert run("0 or None") is False
    assert run("False and 1 / 0") is False
    assert run("True or 1 / 0") is True
    assert run("not ''") is True


def test_conditional_expression_evaluates_only_the_chosen_branch():
    assert run("1 / q if q != 0 else None", {"q": Decimal(0)}) is None
    assert run("'big' if total > 100 else 'small'", {"total": Decimal(150)}) == "big"


def test_in_with_a_list_literal_and_with_a_field():
    assert run("region in ['east', 'south']", {"region": "east"}) is True
    assert run("region not in ('east', 'south')", {"region": "north"}) is True
    assert run("'vip' in tags", {"tags": ["vip", "new"]}) is True
    assert run("'vip' in tags", {"tags": None}) is False
    assert run("2 in [1, 2]", {}) is True


def test_lower_case_true_false_null_are_constants():
    assert run("true and not false") is True
    assert run("x == null", {"x": None}) is True


def test_date_minus_date_gives_whole_days():
    result = run("end - start", {"start": date(2024, 2, 27), "end": date(2024, 3, 1)})
    assert result == 3
    assert type(result) is int


def test_date_plus_days_gives_a_date():
    assert run("d + 10", {"d": date(2024, 5, 25)}) == date(2024, 6, 4)
    assert run("d - 1", {"d": date(2024, 3, 1)}) == date(2024, 2, 29)


def test_adding_a_fraction_of_a_day_to_a_date_is_an_error():
    with pytest.raises(ExpressionError, match="whole number"):
        run("d + 1.5", {"d": date(2024, 5, 25)})


def test_datetime_difference_gives_fractional_days():
    start = datetime(2024, 5, 20, 0, 0, tzinfo=SHANGHAI)
    assert run("b - a", {"a": start, "b": start + timedelta(hours=36)}) == Decimal("1.5")


def test_a_date_compares_with_a_datetime_at_its_midnight():
    moment = datetime(2024, 5, 20, 9, 0, tzinfo=SHANGHAI)
    assert run("created_at >= TODAY()", {"created_at": moment}) is True
    assert run("created_at < TODAY()", {"created_at": moment - timedelta(hours=10)}) is True


def test_naive_and_foreign_datetimes_are_read_in_shanghai():
    from zoneinfo import ZoneInfo

    utc_evening = datetime(2024, 5, 19, 20, 0, tzinfo=ZoneInfo("UTC"))  # 04:00 on the 20th
    assert run("DAY(t)", {"t": utc_evening}) == 20
    assert run("t == TODAY()", {"t": datetime(2024, 5, 20)}) is True


def test_money_is_rounded_half_up_at_the_end():
    assert run("ROUND(price * qty, 2)", {"price": Decimal("0.335"), "qty": 1}) == Decimal("0.34")
    assert run("ROUND(a, 2)", {"a": 2.675}) == Decimal("2.68")
