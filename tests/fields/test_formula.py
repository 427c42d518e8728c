from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from engine.fields import FieldValueError, get
from engine.fields.formula import result_value

formula = get("formula")


def test_money_results_round_half_up_to_cents(make_field):
    field = make_field("formula", expr="qty * price", result="money")
    assert result_value(field, Decimal("2.665")) == Decimal("2.67")
    assert result_value(field, Decimal("-2.665")) == Decimal("-2.67")
    assert result_value(field, 3) == Decimal("3.00")


def test_number_results_default_to_two_places(make_field):
    field = make_field("formula", expr="a / 3")
    assert result_value(field, Decimal(10) / Decimal(3)) == Decimal("3.33")


def test_number_result_with_precision_zero_is_an_int(make_field):
    field = make_field("formula", expr="a", precision=0)
    assert result_value(field, Decimal("2.5")) == 3
    assert formula.columns(field)[0].kind == "integer"


def test_percent_result_rounds_the_fraction(make_field):
    field = make_field("formula", expr="a / b", result="percent")
    assert result_value(field, Decimal(1) / Decimal(3)) == Decimal("0.3333")
    assert formula.display(field, Decimal("0.3333")) == "33.33%"


def test_blank_result_stays_blank(make_field):
    assert result_value(make_field("formula", expr="a", result="money"), None) is None


def test_text_date_and_boolean_results(make_field):
    assert result_value(make_field("formula", expr="a", result="text"), Decimal("1.50")) == "1.50"
    assert result_value(
        make_field("formula", expr="a", result="date"), datetime(2026, 1, 5, 8)
    ) == date(2026, 1, 5)
    assert result_value(make_field("formula", expr="a", result="boolean"), True) is True
    moment = result_value(make_field("formula", expr="a", result="datetime"), "2026-01-05 09:00")
    assert moment == datetime(2026, 1, 5, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_a_boolean_where_a_number_was_expected_is_an_error(make_field):
    with pytest.raises(FieldValueError):
        result_value(make_field("formula", expr="a > 1", result="money"), True)


def test_formula_delegates_storage_json_and_display_to_its_result_type(make_field):
    field = make_field("formula", expr="SUM(lines.amount)", result="money")
    column = formula.columns(field)[0]
    assert (column.kind, column.scale) == ("decimal", 2)
    assert formula.to_json(field, Decimal("1234.50")) == "1234.50"
    assert formula.display(field, Decimal("1234.50")) == "¥1,234.50"
    assert formula.to_storage(field, Decimal("1.00")) == {"f": Decimal("1.00")}
    assert formula.value_schema(field)["readOnly"] is True


def test_formula_options(make_field):
    assert formula.check_options(make_field("formula", expr="a", result="money")) == []
    bad = formula.check_options(make_field("formula", expr="a", result="colour"))
    assert [p.path for p in bad] == ["result"]
    wrong = formula.check_options(make_field("formula", expr="a", result="date", precision=2))
    assert [p.path for p in wrong] == ["precision"]
