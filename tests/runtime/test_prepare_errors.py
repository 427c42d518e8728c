"""prepare() reports every problem at once, each on the right field and row."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.errors import RecordValidationError
from engine.runtime.forms import compile_form


def errors_of(form, raw, env, **kwargs):
    with pytest.raises(RecordValidationError) as caught:
        compile_form(form).prepare(raw, env=env, **kwargs)
    return caught.value.errors


def valid_request(**overrides):
    raw = {"supplier": 1, "needed_by": "2024-06-01", "lines": [{"product": 7, "qty": 1}]}
    raw.update(overrides)
    return raw


def test_unknown_key_is_reported_with_a_did_you_mean_hint(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(suplier=2), env)

    assert [(e.field, e.code) for e in errors] == [("suplier", "unknown_field")]
    assert "supplier" in errors[0].message


def test_unknown_key_hint_is_in_english_for_an_english_environment(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(totl=1), replace(env, locale="en"))

    assert errors[0].message == "This form has no field 'totl'; did you mean 'total'?"


def test_unknown_column_inside_a_row_names_the_row(purchase_form, env):
    raw = valid_request(lines=[{"product": 7, "qty": 1}, {"product": 8, "qtty": 2}])
    errors = errors_of(purchase_form, raw, env)

    assert [(e.field, e.row, e.code) for e in errors] == [("lines.qtty", 2, "unknown_field")]


def test_system_column_in_input_is_rejected_with_a_reason(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(status="approved"), env)

    assert [(e.field, e.code) for e in errors] == [("status", "unknown_field")]
    assert "系统" in errors[0].message


def test_every_problem_is_reported_at_once_with_field_and_row(purchase_form, env):
    raw = {
        "supplier": 1,
        "colour": "red",
        "lines": [{"product": 7, "qty": 2}, {"product": 8, "qty": "many"}],
    }
    errors = errors_of(purchase_form, raw, env)

    found = {(e.field, e.row, e.code) for e in errors}
    assert ("colour", None, "unknown_field") in found
    assert ("lines.qty", 2, "type") in found
    assert ("needed_by", None, "required") in found
    assert len(errors) == 3  # total depends on the bad row: no derived error on it


def test_a_missing_required_column_is_reported_per_row(make_form, env):
    form = make_form(
        """
        form: order
        name: Order
        fields:
          lines:
            type: subtable
            fields:
              sku: {type: text, required: true}
              qty: {type: number, precision: 0}
        """
    )
    raw = {"lines": [{"sku": "A-1", "qty": 1}, {"qty": 2}, {"sku": "", "qty": 3}]}
    errors = errors_of(form, raw, env)

    assert [(e.field, e.row, e.code) for e in errors] == [
        ("lines.sku", 2, "required"),
        ("lines.sku", 3, "required"),
    ]
    # rows count from 1 in the field, in str() and in the zh-CN message
    assert str(errors[0]) == "lines[2].sku: 第 2 行：“sku” 为必填项"
    assert errors[1].as_dict()["row"] == 3


def test_fewer_rows_than_min_rows_is_an_error_on_the_subtable(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(lines=[]), env)

    assert [(e.field, e.code) for e in errors] == [("lines", "min_rows")]
    assert errors[0].message == "“lines” 至少需要 1 行"


def test_more_rows_than_max_rows_is_an_error_on_the_subtable(purchase_form, env):
    raw = valid_request(lines=[{"product": 8, "qty": 1}] * 6)
    errors = errors_of(purchase_form, raw, env)

    assert [(e.field, e.code) for e in errors] == [("lines", "max_rows")]


def test_subtable_that_is_not_a_list_of_rows_is_a_type_error(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(lines="A-1 x 3"), env)

    assert ("lines", None, "type") in {(e.field, e.row, e.code) for e in errors}


def test_relation_to_a_missing_record_is_an_error(purchase_form, env):
    raw = valid_request(supplier=99, lines=[{"product": 7, "qty": 1}, {"product": 404, "qty": 1}])
    errors = errors_of(purchase_form, raw, env)

    assert [(e.field, e.row, e.code) for e in errors] == [
        ("supplier", None, "not_found"),
        ("lines.product", 2, "not_found"),
    ]
    assert "99" in errors[0].message


def test_failed_validation_shows_its_message_on_its_field(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(needed_by="2024-05-01"), env)

    assert [(e.field, e.code, e.message) for e in errors] == [
        ("needed_by", "validation", "需求日期不能早于今天")
    ]


def test_validation_message_follows_the_environment_locale(purchase_form, env):
    raw = valid_request(needed_by="2024-05-01")
    errors = errors_of(purchase_form, raw, replace(env, locale="en"))

    assert errors[0].message == "The date needed cannot be in the past"


def test_validation_message_template_shows_field_values(purchase_form, env):
    raw = valid_request(lines=[{"product": 7, "qty": 200}], quote="Q-1")  # 3998.00
    errors = errors_of(purchase_form, raw, replace(env, locale="en"))

    assert [(e.field, e.code) for e in errors] == [("total", "validation")]
    assert errors[0].message == "Total ¥3,998.00 is over the limit"


def test_validation_is_skipped_when_its_input_already_has_an_error(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(needed_by="not a date"), env)

    assert [(e.field, e.code) for e in errors] == [("needed_by", "type")]


def test_validation_on_an_optional_field_uses_isblank_to_allow_a_blank(make_form, env):
    form = make_form(
        """
        form: leave
        name: Leave
        fields:
          days:  {type: number, precision: 0}
          hours: {type: number, precision: 0}
        validations:
          - {expr: "ISBLANK(days) or days > 0", field: days, message: Days must be positive}
          - {expr: "hours > 0", field: hours, message: Hours must be positive}
        """
    )
    errors = errors_of(form, {}, env)

    assert [(e.field, e.code) for e in errors] == [("hours", "validation")]
    assert [e.field for e in errors_of(form, {"days": 0, "hours": 1}, env)] == ["days"]


def test_validation_is_skipped_when_its_required_input_is_missing(purchase_form, env):
    errors = errors_of(purchase_form, valid_request(needed_by=None), env)

    assert [(e.field, e.code) for e in errors] == [("needed_by", "required")]


def test_validation_without_a_field_is_placed_on_the_record(make_form, env):
    form = make_form(
        """
        form: range
        name: Range
        fields:
          low:  {type: number, precision: 0}
          high: {type: number, precision: 0}
        validations:
          - {expr: "low <= high", message: {zh-CN: 下限不能大于上限, en: Low must not exceed high}}
        """
    )
    errors = errors_of(form, {"low": 5, "high": 1}, env)

    assert [(e.field, e.code, str(e)) for e in errors] == [
        (None, "validation", "record: 下限不能大于上限")
    ]


def test_formula_runtime_fault_becomes_a_record_error_on_that_field(make_form, env):
    form = make_form(
        """
        form: average
        name: Average
        fields:
          amount: {type: money}
          people: {type: number, precision: 0}
          each:   {type: formula, expr: "amount / people", result: money}
        """
    )
    errors = errors_of(form, {"amount": "10.00", "people": 0}, replace(env, locale="en"))

    assert [(e.field, e.code) for e in errors] == [("each", "expression")]
    assert errors[0].message == "The formula of 'each' could not be computed: division by zero"


def test_row_formula_fault_names_the_row(make_form, env):
    form = make_form(
        """
        form: split
        name: Split
        fields:
          lines:
            type: subtable
            fields:
              amount: {type: money}
              parts:  {type: number, precision: 0}
              each:   {type: formula, expr: "amount / parts", result: money}
        """
    )
    raw = {"lines": [{"amount": "9.00", "parts": 3}, {"amount": "1.00", "parts": 0}]}
    errors = errors_of(form, raw, env)

    assert [(e.field, e.row, e.code) for e in errors] == [("lines.each", 2, "expression")]


def test_field_type_messages_come_in_the_environments_language():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from engine.definitions import load_app_text
    from engine.runtime.forms import RecordEnvironment, compile_form

    form = load_app_text(
        "app: a\nversion: 1.0.0\nname: A\n---\nform: f\nfields:\n  qty: {type: number, min: 1}\n"
    ).form("f")
    now = datetime(2026, 1, 5, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    messages = {}
    for locale in ("zh-CN", "en"):
        env = RecordEnvironment(now, "u", None, lambda form, id: None, locale=locale)
        with pytest.raises(RecordValidationError) as caught:
            compile_form(form).prepare({"qty": 0}, env=env)
        messages[locale] = [str(e) for e in caught.value.errors]
    assert messages == {"zh-CN": ["qty: 不能小于 1"], "en": ["qty: must be at least 1"]}


def test_a_sub_table_without_max_rows_still_refuses_more_than_1000_rows():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from engine.definitions import load_app_text
    from engine.runtime.forms import RecordEnvironment

    form = load_app_text(
        "app: a\nversion: 1.0.0\nname: A\n---\nform: f\nfields:\n"
        "  lines:\n    type: subtable\n    fields:\n      qty: {type: number, min: 1}\n"
    ).form("f")
    env = RecordEnvironment(
        datetime(2026, 1, 5, tzinfo=ZoneInfo("Asia/Shanghai")), "u", None, lambda f, i: None
    )
    compiled = compile_form(form)
    assert len(compiled.prepare({"lines": [{"qty": 1}] * 1000}, env=env)["lines"]) == 1000
    # rows that are not even valid are not looked at: the count alone refuses them
    with pytest.raises(RecordValidationError) as caught:
        compiled.prepare({"lines": [{"qty": "x"}] * 100_000}, env=env)
    assert [(e.field, e.code) for e in caught.value.errors] == [("lines", "max_rows")]
