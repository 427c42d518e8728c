"""Row validations: checked on every row, over the row's columns and the parent's fields."""

from __future__ import annotations

import dataclasses

import pytest

from engine.errors import RecordValidationError
from engine.runtime.forms import compile_form

ORDER = """
form: order
name: Order
fields:
  cap: {type: money}
  lines:
    type: subtable
    validations:
      - expr: "ISBLANK(amount) or amount <= cap"
        field: amount
        message: {zh-CN: "金额 {{ amount }} 超过上限 {{ cap }}", en: "Amount {{ amount }} is over {{ cap }}"}
      - expr: "ISBLANK(qty) or qty > 0"
        message: {zh-CN: 数量须大于 0, en: The quantity must be positive}
    fields:
      qty:    {type: number}
      price:  {type: money}
      amount: {type: formula, expr: "qty * price", result: money}
"""


def _errors(form, raw, env):
    with pytest.raises(RecordValidationError) as caught:
        compile_form(form).prepare(raw, env=env)
    return caught.value.errors


def test_a_failing_row_rule_names_the_row_and_column(make_form, env):
    form = make_form(ORDER)
    raw = {"cap": 100, "lines": [{"qty": 1, "price": 5}, {"qty": 10, "price": 50}]}
    [error] = _errors(form, raw, env)
    assert (error.field, error.row, error.code) == ("lines.amount", 2, "validation")
    assert str(error) == "lines[2].amount: 第 2 行：金额 ¥500.00 超过上限 ¥100.00"
    [english] = _errors(form, raw, dataclasses.replace(env, locale="en"))
    assert str(english) == "lines[2].amount: Row 2: Amount ¥500.00 is over ¥100.00"


def test_a_rule_without_field_is_reported_on_the_row(make_form, env):
    form = make_form(ORDER)
    raw = {"cap": 100, "lines": [{"qty": 1, "price": 1}, {"qty": 2, "price": 1}, {"qty": -1}]}
    [error] = _errors(form, raw, env)
    assert (error.field, error.row, error.code) == ("lines", 3, "validation")
    assert str(error) == "lines[3]: 第 3 行：数量须大于 0"


def test_passing_rows_are_saved(make_form, env):
    form = make_form(ORDER)
    values = compile_form(form).prepare(
        {"cap": 100, "lines": [{"qty": 2, "price": "9.50"}, {"qty": None, "price": 1}]}, env=env
    )
    assert [row["amount"] for row in values["lines"]] == [19, None]


def test_a_row_with_a_bad_cell_is_not_judged_again_but_other_rows_are(make_form, env):
    form = make_form(ORDER)
    raw = {"cap": 10, "lines": [{"qty": "many", "price": 5}, {"qty": 3, "price": 5}]}
    errors = _errors(form, raw, env)
    assert [(e.field, e.row, e.code) for e in errors] == [
        ("lines.qty", 1, "type"),
        ("lines.amount", 2, "validation"),
    ]


def test_a_bad_parent_field_skips_the_rules_that_read_it(make_form, env):
    form = make_form(ORDER)
    raw = {"cap": "lots", "lines": [{"qty": 3, "price": 5}, {"qty": -2, "price": 1}]}
    errors = _errors(form, raw, env)
    assert [(e.field, e.row, e.code) for e in errors] == [
        ("cap", None, "type"),
        ("lines", 2, "validation"),  # the qty rule does not read cap
    ]
