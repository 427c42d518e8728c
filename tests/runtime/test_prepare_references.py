"""prepare(): a relation's filter and options taken from another form, without a database."""

from __future__ import annotations

import dataclasses

import pytest

from engine.errors import RecordValidationError
from engine.runtime.forms import compile_form

ORDER = """
form: order
name: Order
fields:
  supplier: {type: relation, to: supplier, display: name, filter: "name != 'Acme'"}
  product:  {type: relation, to: product, filter: "price / 0 > 1"}
  unit:
    type: select
    options: {from: product, value: unit, filter: "price > 6"}
  note: {type: text}
"""


def _prepare(form, raw, env, **kw):
    return compile_form(form).prepare(raw, env=env, **kw)


def test_the_filter_is_compiled_once_with_the_form(make_form):
    plan = compile_form(make_form(ORDER)).plan
    assert plan.index["supplier"].target_filter.source == "name != 'Acme'"
    assert plan.index["note"].target_filter is None
    assert plan.has_option_sources


def test_a_relation_filter_refuses_a_record_naming_its_display_field(make_form, env):
    en = dataclasses.replace(env, locale="en")
    with pytest.raises(RecordValidationError) as caught:
        _prepare(make_form(ORDER), {"supplier": 2}, en)
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("supplier", "filter")
    assert error.message == (
        "'supplier' cannot be #2 Acme: it does not match name != 'Acme'; choose another"
    )
    assert _prepare(make_form(ORDER), {"supplier": 1}, env)["supplier"] == 1


def test_a_filter_that_fails_to_evaluate_is_reported_not_raised(make_form, env):
    with pytest.raises(RecordValidationError) as caught:
        _prepare(make_form(ORDER), {"product": 7}, dataclasses.replace(env, locale="en"))
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("product", "filter")
    assert error.message.startswith("The filter of 'product' could not be checked")


def test_options_are_looked_up_through_the_environment(make_form, env, records):
    calls = []

    def find_options(form_key, value_field, value):
        calls.append((form_key, value_field, value))
        return [r for r in records[form_key].values() if r.get(value_field) == value]

    with_finder = dataclasses.replace(env, find_options=find_options, locale="en")
    form = make_form(ORDER)
    assert _prepare(form, {"unit": "pcs"}, with_finder)["unit"] == "pcs"
    with pytest.raises(RecordValidationError) as caught:
        _prepare(form, {"unit": "kg"}, with_finder)
    assert caught.value.errors[0].code == "option"
    assert caught.value.errors[0].message.startswith("'kg' is not one of the options of 'unit'")
    # an unchanged stored value is not looked up again
    calls.clear()
    _prepare(form, {"note": "x"}, with_finder, existing={"id": 1, "unit": "kg"})
    assert calls == []
    # without a finder (no database) the value cannot be checked and is kept
    assert _prepare(form, {"unit": "kg"}, env)["unit"] == "kg"
