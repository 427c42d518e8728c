"""prepare() for a new record: formulas, rounding, defaults, fill_from, conditions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import RecordValidationError
from engine.runtime.forms import compile_form


def request(**overrides):
    raw = {
        "serial": "PR-1",
        "supplier": 1,
        "needed_by": "2024-06-01",
        "lines": [
            {"product": 7, "qty": 3},
            {"product": 8, "qty": 2, "price": "4.50"},
            {"product": 9, "qty": "1"},
        ],
    }
    raw.update(overrides)
    return raw


def test_line_amount_is_qty_times_price_and_total_sums_the_lines(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(), env=env)

    amounts = [row["amount"] for row in values["lines"]]
    assert amounts == [Decimal("59.97"), Decimal("9.00"), Decimal("10.00")]
    assert values["total"] == Decimal("78.97")
    assert all(isinstance(a, Decimal) for a in amounts)


def test_money_formula_rounds_half_up_to_the_cent(make_form, env):
    form = make_form(
        """
        form: halves
        name: Halves
        fields:
          price: {type: money}
          rate:  {type: number, precision: 3}
          half:  {type: formula, expr: "price * rate", result: money}
        """
    )
    values = compile_form(form).prepare({"price": "5.33", "rate": "0.5"}, env=env)

    assert values["half"] == Decimal("2.67")  # 2.665: half-even would give 2.66


def test_defaults_fill_absent_fields_of_a_new_record(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(), env=env)

    assert values["applicant"] == "zhang.wei"
    assert values["request_date"] == date(2024, 5, 20)
    assert values["urgent"] is False


def test_default_expression_reads_defaults_declared_after_it(make_form, env):
    form = make_form(
        """
        form: numbering
        name: Numbering
        fields:
          code:   {type: text, default_expr: "CONCAT(prefix, '-', year)"}
          year:   {type: number, precision: 0, default_expr: "YEAR(TODAY())"}
          prefix: {type: text, default: PR}
        """
    )
    values = compile_form(form).prepare({}, env=env)

    assert values == {"code": "PR-2024", "year": 2024, "prefix": "PR"}


def test_default_columns_fill_new_rows(make_form, env):
    form = make_form(
        """
        form: packing
        name: Packing
        fields:
          lines:
            type: subtable
            fields:
              sku: {type: text}
              qty: {type: number, precision: 0, default: 1}
        """
    )
    values = compile_form(form).prepare({"lines": [{"sku": "A"}, {"sku": "B", "qty": 4}]}, env=env)

    assert values["lines"] == [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 4}]


def test_explicit_null_stays_blank_instead_of_taking_the_default(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(request_date=None), env=env)

    assert values["request_date"] is None


def test_input_to_a_readonly_field_is_ignored(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(applicant="li.na"), env=env)

    assert values["applicant"] == "zhang.wei"


def test_fill_from_copies_the_product_price_and_unit_into_the_line(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(), env=env)

    first = values["lines"][0]
    assert first["price"] == Decimal("19.99")
    assert first["unit"] == "box"


def test_price_typed_with_the_product_wins_over_the_copy(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(), env=env)

    assert values["lines"][1]["price"] == Decimal("4.50")
    assert values["lines"][1]["unit"] == "pcs"


def test_unit_is_readonly_so_a_typed_unit_is_replaced_by_the_copy(purchase_form, env):
    raw = request(lines=[{"product": 7, "qty": 1, "unit": "kg"}])
    values = compile_form(purchase_form).prepare(raw, env=env)

    assert values["lines"][0]["unit"] == "box"


def test_hidden_reason_is_not_required_and_keeps_its_submitted_value(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(reason="just in case"), env=env)

    assert values["urgent"] is False
    assert values["reason"] == "just in case"


def test_urgent_request_requires_a_reason(purchase_form, env):
    with pytest.raises(RecordValidationError) as caught:
        compile_form(purchase_form).prepare(request(urgent=True), env=env)

    assert [(e.field, e.code) for e in caught.value.errors] == [("reason", "required")]
    assert caught.value.errors[0].message == "“reason” 为必填项"


def test_quote_becomes_required_when_total_exceeds_500(purchase_form, env):
    raw = request(lines=[{"product": 7, "qty": 30}])  # 30 x 19.99 = 599.70

    with pytest.raises(RecordValidationError) as caught:
        compile_form(purchase_form).prepare(raw, env=env)

    assert [(e.field, e.code) for e in caught.value.errors] == [("quote", "required")]


def test_zero_is_a_value_and_satisfies_required(make_form, env):
    form = make_form(
        """
        form: stock
        name: Stock
        fields:
          on_hand: {type: number, precision: 0, required: true}
        """
    )
    assert compile_form(form).prepare({"on_hand": 0}, env=env) == {"on_hand": 0}


def test_result_contains_every_field_of_the_form(purchase_form, env):
    values = compile_form(purchase_form).prepare(request(), env=env)

    assert set(values) == {f.key for f in purchase_form.fields}
    assert values["quote"] is None
    assert set(values["lines"][0]) == {"product", "unit", "qty", "price", "amount"}


def test_row_formula_reads_a_parent_field(make_form, env):
    form = make_form(
        """
        form: discounted
        name: Discounted
        fields:
          discount: {type: number, precision: 2}
          lines:
            type: subtable
            fields:
              price: {type: money}
              net:   {type: formula, expr: "price * (1 - discount)", result: money}
          total: {type: formula, expr: "SUM(lines.net)", result: money}
        """
    )
    raw = {"discount": "0.10", "lines": [{"price": "10.00"}, {"price": "0.05"}]}
    values = compile_form(form).prepare(raw, env=env)

    assert [row["net"] for row in values["lines"]] == [Decimal("9.00"), Decimal("0.05")]
    assert values["total"] == Decimal("9.05")
