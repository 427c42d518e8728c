from decimal import Decimal

import pytest

from engine.fields import FieldValueError, get

number, money, percent = get("number"), get("money"), get("percent")


# -- number -------------------------------------------------------------------------
def test_number_with_default_precision_is_an_int(make_field):
    field = make_field("number")
    assert number.coerce(field, "42") == 42
    assert isinstance(number.coerce(field, 42.0), int)
    assert number.coerce(field, Decimal("7")) == 7


def test_number_with_precision_keeps_a_decimal_with_that_many_places(make_field):
    field = make_field("number", precision=2)
    value = number.coerce(field, "3.5")
    assert value == Decimal("3.50") and str(value) == "3.50"


def test_number_refuses_more_places_than_its_precision_instead_of_rounding(make_field):
    with pytest.raises(FieldValueError) as caught:
        number.coerce(make_field("number", precision=2), "1.005")
    assert caught.value.code == "decimals"
    assert "at most 2 decimal places" in caught.value.message


def test_trailing_zeros_do_not_count_as_extra_places(make_field):
    assert number.coerce(make_field("number"), "12.000") == 12


def test_json_floats_are_read_through_their_shortest_text(make_field):
    assert number.coerce(make_field("number", precision=1), 0.1) == Decimal("0.1")


def test_excel_floats_are_read_to_fifteen_significant_digits(make_field):
    field = make_field("number", precision=1)
    assert number.coerce(field, 0.1 + 0.2, "excel") == Decimal("0.3")
    with pytest.raises(FieldValueError):
        number.coerce(field, 0.1 + 0.2, "json")


@pytest.mark.parametrize(
    "text,expected",
    [
        (" 1,234.50 ", Decimal("1234.50")),
        ("１２３４．５", Decimal("1234.50")),
        ("−3", Decimal("-3.00")),
    ],
)
def test_web_text_takes_grouping_full_width_digits_and_spaces(make_field, text, expected):
    assert number.coerce(make_field("number", precision=2), text, "web") == expected


def test_json_text_must_be_a_plain_decimal(make_field):
    with pytest.raises(FieldValueError) as caught:
        number.coerce(make_field("number"), "1,234", "json")
    assert caught.value.code == "type"
    assert "expected a number" in caught.value.message


def test_a_boolean_is_not_a_number(make_field):
    with pytest.raises(FieldValueError) as caught:
        number.coerce(make_field("number"), True)
    assert "not true/false" in caught.value.message


def test_blank_input_gives_none(make_field):
    for raw in (None, "", "   "):
        assert number.coerce(make_field("number"), raw, "web") is None


def test_min_and_max_bound_the_value(make_field):
    field = make_field("number", min=1, max="10")
    assert number.coerce(field, 10) == 10
    with pytest.raises(FieldValueError) as low:
        number.coerce(field, 0)
    with pytest.raises(FieldValueError) as high:
        number.coerce(field, "11")
    assert (low.value.code, high.value.code) == ("min", "max")
    assert "at least 1" in low.value.message


def test_huge_numbers_are_refused_before_they_reach_a_column(make_field):
    with pytest.raises(FieldValueError) as caught:
        number.coerce(make_field("number"), "1" * 19)
    assert caught.value.code == "too_large"


@pytest.mark.parametrize(
    ("kind", "options", "top"),
    [
        ("number", {}, 999999999999999999),
        ("number", {"precision": 3}, Decimal("999999999999999.999")),
        ("money", {}, Decimal("9999999999999999.99")),
        ("percent", {}, Decimal("99999999999999.9999")),
        ("percent", {"precision": 8}, Decimal("9999999999.99999999")),
    ],
)
def test_numbers_hold_18_digits_in_all(make_field, kind, options, top):
    field = make_field(kind, **options)
    field_type = get(kind)
    assert field_type.coerce(field, str(top)) == top
    assert field_type.coerce(field, str(-top)) == -top
    step = Decimal(1).scaleb(-field_type.places(field))
    for bad in (top + step, -top - step, 1e308, Decimal("1E+30"), 10**40, "9" * 29):
        with pytest.raises(FieldValueError) as caught:
            field_type.coerce(field, bad)
        assert caught.value.code == "too_large", bad
        assert str(top if isinstance(top, int) else top) in caught.value.in_locale("en")


def test_minus_zero_is_zero(make_field):
    assert str(money.coerce(make_field("money"), "-0.00")) == "0.00"
    assert money.to_json(make_field("money"), money.coerce(make_field("money"), "-0")) == "0.00"
    assert money.display(make_field("money"), money.coerce(make_field("money"), -0.0)) == "¥0.00"
    assert number.coerce(make_field("number"), "-0") == 0
    assert str(number.coerce(make_field("number", precision=2), Decimal("-0E-7"))) == "0.00"


def test_number_columns_follow_precision(make_field):
    assert number.columns(make_field("number"))[0].kind == "integer"
    column = number.columns(make_field("number", precision=3))[0]
    assert (column.kind, column.precision, column.scale) == ("decimal", 21, 3)


def test_number_json_and_display(make_field):
    field = make_field("number", precision=2, unit={"zh-CN": "千克", "en": "kg"})
    assert number.to_json(field, Decimal("1234.50")) == "1234.50"
    assert number.display(field, Decimal("1234.50")) == "1,234.50 千克"
    assert number.display(field, Decimal("1234.50"), "en") == "1,234.50 kg"
    assert number.to_json(make_field("number"), 5) == 5


def test_number_from_storage_reads_sqlite_floats_exactly(make_field):
    field = make_field("number", precision=2)
    assert number.from_storage(field, {"f": 1234.5}) == Decimal("1234.50")
    assert number.from_storage(field, {"f": None}) is None


def test_number_options_check_min_not_above_max(make_field):
    problems = number.check_options(make_field("number", min=5, max=1))
    assert [p.path for p in problems] == ["min"]
    assert number.check_options(make_field("number", min="abc"))[0].path == "min"


# -- money --------------------------------------------------------------------------
def test_money_is_a_decimal_with_two_places(make_field):
    value = money.coerce(make_field("money"), 12)
    assert value == Decimal("12.00") and str(value) == "12.00"


def test_money_refuses_a_third_decimal_place(make_field):
    with pytest.raises(FieldValueError) as caught:
        money.coerce(make_field("money"), "2.665")
    assert caught.value.code == "decimals"


def test_money_reads_its_own_display_text_from_the_web(make_field):
    field = make_field("money")
    assert money.display(field, Decimal("1234.5")) == "¥1,234.50"
    assert money.coerce(field, "¥1,234.50", "web") == Decimal("1234.50")
    assert money.coerce(field, "￥８８元", "excel") == Decimal("88.00")


def test_money_display_puts_the_minus_before_the_sign(make_field):
    assert money.display(make_field("money"), Decimal("-5")) == "-¥5.00"
    assert money.display(make_field("money", currency="USD"), Decimal("5")) == "$5.00"


def test_money_travels_in_json_as_a_decimal_string(make_field):
    field = make_field("money")
    assert money.to_json(field, Decimal("1234.50")) == "1234.50"
    schema = money.value_schema(field)
    assert schema["type"] == ["string", "number"]
    assert schema["pattern"] == r"^-?\d+(\.\d{1,2})?$"


def test_money_column_is_decimal_with_scale_two(make_field):
    column = money.columns(make_field("money"))[0]
    assert (column.kind, column.scale) == ("decimal", 2)


# -- percent ------------------------------------------------------------------------
def test_percent_text_from_the_web_becomes_a_fraction(make_field):
    field = make_field("percent")
    assert percent.coerce(field, "2.5%", "web") == Decimal("0.0250")
    assert percent.coerce(field, "２．５％", "excel") == Decimal("0.0250")


def test_percent_without_a_sign_is_already_a_fraction(make_field):
    assert percent.coerce(make_field("percent"), 0.025, "excel") == Decimal("0.0250")
    assert percent.coerce(make_field("percent"), "0.025") == Decimal("0.0250")


def test_percent_json_text_with_a_percent_sign_is_refused(make_field):
    with pytest.raises(FieldValueError) as caught:
        percent.coerce(make_field("percent"), "2.5%", "json")
    assert "0.025" in caught.value.message


def test_percent_counts_decimal_places_of_the_percentage_in_messages(make_field):
    with pytest.raises(FieldValueError) as caught:
        percent.coerce(make_field("percent"), "2.555%", "web")
    assert caught.value.code == "decimals"
    assert "at most 2 decimal places" in caught.value.message


def test_percent_display(make_field):
    assert percent.display(make_field("percent"), Decimal("0.025")) == "2.50%"
    assert percent.display(make_field("percent", precision=2), Decimal("0.25")) == "25%"


def test_percent_bounds_are_fractions(make_field):
    with pytest.raises(FieldValueError) as caught:
        percent.coerce(make_field("percent", max=1), "120%", "web")
    assert caught.value.code == "max"
