"""One submission's whole work is bounded: linear error bookkeeping and a total deadline."""

from __future__ import annotations

import dataclasses
import time

import pytest

from engine.errors import RecordValidationError
from engine.runtime.forms import DEFAULT_SUBMISSION_BUDGET_SECONDS, compile_form

WIDE = """
form: sheet
name: Sheet
fields:
  note: {type: text}
  lines:
    type: subtable
    max_rows: 10000
    fields:
      q:      {type: number}
      price:  {type: number}
      amount: {type: formula, expr: "q * price"}
"""


def _errors(form, raw, env):
    with pytest.raises(RecordValidationError) as caught:
        compile_form(form).prepare(raw, env=env)
    return caught.value.errors


def test_the_default_budget_is_ten_seconds():
    assert DEFAULT_SUBMISSION_BUDGET_SECONDS == 10


def test_a_passed_deadline_ends_with_one_budget_error_in_the_actors_language(make_form, env):
    form = make_form(WIDE)
    late = dataclasses.replace(env, deadline=time.monotonic() - 1)
    raw = {"note": "x", "lines": [{"q": "bad", "price": 1}] * 3}
    [error] = _errors(form, raw, late)
    assert (error.field, error.row, error.code) == (None, None, "budget")
    assert error.message.startswith("提交的数据检查耗时过长，未保存任何内容")
    assert "减少明细行数" in error.message and "管理员" in error.message
    [english] = _errors(form, raw, dataclasses.replace(late, locale="en"))
    assert english.message.startswith("Checking this submission took too long and nothing")
    assert "fewer rows" in english.message and "admin" in english.message
    assert str(english).startswith("record: Checking this submission")


def test_a_deadline_that_passes_during_the_rows_stops_there(make_form, env):
    form = make_form(
        WIDE.replace('"q * price"', '"price / SUM(lines.price)"').replace("max_rows: 10000", "")
    )
    raw = {"lines": [{"q": 1, "price": i + 1} for i in range(1000)]}
    compiled = compile_form(form)
    started = time.monotonic()
    with pytest.raises(RecordValidationError) as caught:
        compiled.prepare(raw, env=dataclasses.replace(env, deadline=started + 0.05))
    assert [e.code for e in caught.value.errors] == ["budget"]
    assert time.monotonic() - started < 1  # the whole submission takes several seconds


def test_a_deadline_in_the_future_changes_nothing(make_form, env):
    form = make_form(WIDE)
    soon = dataclasses.replace(env, deadline=time.monotonic() + 60)
    values = compile_form(form).prepare({"lines": [{"q": 2, "price": 3}]}, env=soon)
    assert values["lines"][0]["amount"] == 6


def test_ten_thousand_invalid_rows_are_reported_in_linear_time(make_form, env):
    form = make_form(WIDE)
    raw = {"lines": [{"q": "not a number", "price": 2}] * 10_000}
    started = time.perf_counter()
    errors = _errors(form, raw, env)
    took = time.perf_counter() - started
    assert len(errors) == 10_000
    assert {(e.field, e.code) for e in errors} == {("lines.q", "type")}
    assert [e.row for e in errors[:2]] == [1, 2] and errors[-1].row == 10_000
    assert took < 5, took  # 34 s before the bookkeeping was made linear
