"""The function library, one behaviour per test, with concrete values."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from engine.errors import ExpressionError
from engine.expressions import FUNCTIONS
from engine.expressions.context import SHANGHAI

from .conftest import run

LINES = [
    {"amount": Decimal("1.50"), "qty": 2},
    {"amount": None, "qty": 1},
    {"amount": Decimal("3.00"), "qty": None},
]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ROUND(2.665, 2)", Decimal("2.67")),
        ("ROUND(2.5)", Decimal(3)),
        ("ROUND(-2.5)", Decimal(-3)),
        ("ROUND(1234.5, -2)", Decimal(1200)),
        ("ROUND(1250, -2)", Decimal(1300)),
        ("CEILING(2.01)", Decimal(3)),
        ("CEILING(2.001, 2)", Decimal("2.01")),
        ("FLOOR(-2.5)", Decimal(-3)),
        ("FLOOR(2.999, 1)", Decimal("2.9")),
        ("ABS(-3.5)", Decimal("3.5")),
    ],
)
def test_rounding_functions(source, expected):
    assert run(source) == expected


def test_round_of_a_decimal_input_rounds_half_up():
    assert run("ROUND(x, 2)", {"x": Decimal("2.665")}) == Decimal("2.67")


def test_round_of_blank_is_blank():
    assert run("ROUND(x, 2)") is None


def test_round_rejects_fractional_digits():
    with pytest.raises(ExpressionError, match="whole number"):
        run("ROUND(1, 1.5)")


def test_sum_skips_blank_rows():
    assert run("SUM(lines.amount)", {"lines": LINES}) == Decimal("4.50")


def test_sum_of_no_rows_is_zero_and_avg_is_blank():
    assert run("SUM(lines.amount)", {"lines": []}) == Decimal(0)
    assert run("AVG(lines.amount)", {"lines": []}) is None
    assert run("SUM(lines.amount)", {"lines": None}) == Decimal(0)


def test_avg_divides_by_the_filled_values_only():
    assert run("AVG(lines.amount)", {"lines": LINES}) == Decimal("2.25")


def test_count_counts_rows_or_filled_values():
    assert run("COUNT(lines)", {"lines": LINES}) == 3
    assert run("COUNT(lines.amount)", {"lines": LINES}) == 2
    assert run("COUNT(lines.qty)", {"lines": LINES}) == 2


def test_min_and_max_over_a_column_and_over_values():
    assert run("MIN(lines.amount)", {"lines": LINES}) == Decimal("1.50")
    assert run("MAX(lines.amount)", {"lines": LINES}) == Decimal("3.00")
    assert run("MAX(a, b, 7)", {"a": 3, "b": None}) == Decimal(7)
    assert run("MIN(d1, d2)", {"d1": date(2024, 1, 2), "d2": date(2023, 5, 1)}) == date(2023, 5, 1)
    assert run("MAX(x)", {"x": None}) is None


def test_sum_of_several_values_and_float_column_values():
    assert run("SUM(a, b, 1)", {"a": Decimal("1.1"), "b": None}) == Decimal("2.1")
    assert run("SUM(lines.p)", {"lines": [{"p": 0.1}, {"p": 0.2}]}) == Decimal("0.3")


def test_sum_of_text_is_an_error_naming_sum():
    with pytest.raises(ExpressionError) as caught:
        run("SUM(lines.name)", {"lines": [{"name": "x"}]})
    assert caught.value.message == "SUM works on numbers only, found text"
    assert caught.value.column == 1


def test_if_with_two_arguments_gives_blank_otherwise():
    assert run("IF(x > 1, 'yes')", {"x": Decimal(0)}) is None
    assert run("IF(x > 1, 'yes', 'no')", {"x": Decimal(2)}) == "yes"


def test_if_and_or_are_lazy():
    assert run("IF(q == 0, 0, 10 / q)", {"q": Decimal(0)}) == Decimal(0)
    assert run("AND(q != 0, 10 / q > 1)", {"q": Decimal(0)}) is False
    assert run("OR(q == 0, 10 / q > 1)", {"q": Decimal(0)}) is True


def test_not_and_isblank():
    assert run("NOT(0)") is True
    assert run("ISBLANK(a)", {"a": ""}) is True
    assert run("ISBLANK(a)", {"a": []}) is True
    assert run("ISBLANK(a)", {"a": 0}) is False


def test_in_function_with_values_and_a_list():
    assert run("IN(r, 'east', 'south')", {"r": "south"}) is True
    assert run("IN(r, ['east', 'south'])", {"r": "west"}) is False
    assert run("IN(2, 1, 2.0)") is True


def test_coalesce_returns_the_first_filled_value():
    assert run("COALESCE(a, '', b, 'x')", {"a": None, "b": "B"}) == "B"
    assert run("COALESCE(a)", {"a": None}) is None


def test_text_functions():
    assert run("CONCAT('No.', 7, '-', x, '-', 1.50)", {"x": None}) == "No.7--1.50"
    assert run("LEN('经销商')") == 3
    assert run("LEN(x)", {"x": None}) == 0
    assert run("UPPER('sku-1')") == "SKU-1"
    assert run("LOWER('East')") == "east"
    assert run("TRIM('\u3000 a b ')") == "a b"
    assert run("UPPER(x)", {"x": None}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1E+3"), "1000"),
        (Decimal("19.90"), "19.90"),
        (None, ""),
        (True, "TRUE"),
        (date(2024, 5, 1), "2024-05-01"),
        (datetime(2024, 5, 1, 8, 5, tzinfo=SHANGHAI), "2024-05-01 08:05:00"),
    ],
)
def test_text_writes_plain_digits_and_iso_dates(value, expected):
    assert run("TEXT(v)", {"v": value}) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" 1,234.50 ", Decimal("1234.50")), ("¥12", Decimal(12)), ("-3", Decimal(-3)), ("", None)],
)
def test_value_reads_numbers_written_by_people(text, expected):
    assert run("VALUE(t)", {"t": text}) == expected


@pytest.mark.parametrize("text", ["12a", "NaN", "Infinity", "1e999999", "9" * 40])
def test_value_rejects_text_that_is_not_a_plain_number(text):
    with pytest.raises(ExpressionError, match="is not a number"):
        run("VALUE(t)", {"t": text})


def test_today_and_now_use_the_context_in_shanghai():
    moment = datetime(2024, 5, 20, 17, 0, tzinfo=ZoneInfo("UTC"))  # 01:00 on the 21st there
    assert run("TODAY()") == date(2024, 5, 20)
    assert run("TODAY()", now=moment) == date(2024, 5, 21)
    assert run("NOW()", now=moment) == datetime(2024, 5, 21, 1, 0, tzinfo=SHANGHAI)
    assert run("NOW()", now=moment).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("DATEADD(d, 1, 'month')", date(2024, 2, 29)),
        ("DATEADD(d, 13, 'months')", date(2025, 2, 28)),
        ("DATEADD(d, -1, 'year')", date(2023, 1, 31)),
        ("DATEADD(d, 30)", date(2024, 3, 1)),
        ("DATEADD(d, 2, 'week')", date(2024, 2, 14)),
    ],
)
def test_dateadd_moves_by_calendar_units_clamping_month_ends(source, expected):
    assert run(source, {"d": date(2024, 1, 31)}) == expected


@pytest.mark.parametrize(
    ("unit", "expected"),
    [("day", 110), ("month", 3), ("year", 0), ("week", 15)],
)
def test_datedif_counts_whole_units(unit, expected):
    values = {"a": date(2024, 1, 31), "b": date(2024, 5, 20)}
    assert run(f"DATEDIF(a, b, '{unit}')", values) == expected


def test_datedif_is_negative_when_end_is_earlier():
    assert run("DATEDIF(b, a, 'month')", {"a": date(2024, 1, 31), "b": date(2024, 5, 20)}) == -3


def test_dateadd_with_an_unknown_unit_lists_the_units():
    with pytest.raises(ExpressionError) as caught:
        run("DATEADD(d, 1, 'fortnight')", {"d": date(2024, 1, 1)})
    assert "'day', 'week', 'month', 'year'" in caught.value.hint


def test_year_month_day_of_a_date():
    values = {"d": date(2024, 1, 31)}
    assert (run("YEAR(d)", values), run("MONTH(d)", values), run("DAY(d)", values)) == (2024, 1, 31)
    assert run("YEAR(d)", {"d": None}) is None


def test_current_user_and_department_come_from_the_context():
    assert run("CURRENT_USER()", user="li.na") == "li.na"
    assert run("CURRENT_DEPARTMENT()", department="finance") == "finance"
    assert run("CURRENT_USER()") is None


def test_lookup_reads_the_related_record_through_the_context():
    calls = []

    def lookup(relation, record_id, target):
        calls.append((relation, record_id, target))
        return 0.5 if target == "discount" else "ACME"

    assert run('LOOKUP(supplier, "name")', {"supplier": 7}, lookup=lookup) == "ACME"
    assert run('LOOKUP(supplier, "discount") * 2', {"supplier": 7}, lookup=lookup) == Decimal(1)
    assert calls == [("supplier", 7, "name"), ("supplier", 7, "discount")]
    assert run('LOOKUP(supplier, "name")', {"supplier": None}, lookup=lookup) is None


def test_lookup_without_a_lookup_function_explains_what_is_missing():
    with pytest.raises(ExpressionError) as caught:
        run('LOOKUP(supplier, "name")', {"supplier": 7})
    assert "cannot read related records" in caught.value.message
    assert "lookup function" in caught.value.hint


def test_every_function_has_a_signature_doc_and_example():
    for name, spec in FUNCTIONS.items():
        assert spec.signature.startswith(name + "("), name
        assert spec.doc and spec.example and spec.result, name


def test_the_registry_cannot_be_changed_at_run_time():
    with pytest.raises(TypeError):
        FUNCTIONS["EVIL"] = FUNCTIONS["ABS"]  # type: ignore[index]
