from decimal import Decimal

import pytest

from engine.fields import FieldValueError, get
from engine.fields.subtable import RowValueError

from .conftest import build_field

subtable = get("subtable")


def lines_field(**options):
    children = (
        build_field("number", key="qty", min=1),
        build_field("money", key="price"),
    )
    return build_field("subtable", key="lines", fields=children, **options)


def test_rows_are_coerced_cell_by_cell():
    rows = subtable.coerce(
        lines_field(), [{"qty": "2", "price": "9.9"}, {"id": 7, "qty": 1}], "web"
    )
    assert rows == [{"qty": 2, "price": Decimal("9.90")}, {"id": 7, "qty": 1, "price": None}]


def test_a_bad_cell_names_its_row_and_column():
    with pytest.raises(RowValueError) as caught:
        subtable.coerce(lines_field(), [{"qty": 1}, {"qty": 0}])
    error = caught.value
    assert (error.row, error.column, error.code) == (2, "qty", "min")  # rows count from 1
    assert error.message.startswith("row 2, qty: must be at least 1")


def test_unknown_columns_are_refused():
    with pytest.raises(RowValueError) as caught:
        subtable.coerce(lines_field(), [{"qty": 1, "colour": "red"}])
    assert caught.value.code == "unknown_field"


def test_row_counts_are_checked():
    with pytest.raises(FieldValueError) as caught:
        subtable.coerce(lines_field(min_rows=1), [])
    assert caught.value.code == "rows_count"


def test_subtable_has_no_column_of_its_own():
    field = lines_field()
    assert subtable.columns(field) == []
    assert subtable.stored_inline is False


def test_rows_to_json_convert_each_cell():
    rows = [{"id": 7, "qty": 2, "price": Decimal("9.90")}]
    assert subtable.to_json(lines_field(), rows) == [{"id": 7, "qty": 2, "price": "9.90"}]


def test_value_schema_describes_each_column():
    schema = subtable.value_schema(lines_field(max_rows=50))
    assert schema["maxItems"] == 50
    assert schema["items"]["properties"]["qty"] == {"type": "integer"}


def test_nested_subtables_are_an_option_problem():
    inner = build_field("subtable", key="inner")
    outer = build_field("subtable", key="outer", fields=(inner,))
    assert [p.path for p in subtable.check_options(outer)] == ["fields.inner"]
