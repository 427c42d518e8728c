"""MATCH in the runtime (docs/lookups.md): what the lookup's expressions give the
database callback, the per-submission cache, on_none, and MATCH in defaults and
validations. The callback stands for the service's one SQL query (tested with a real
database in tests/scenarios/test_price_lookup_scenario.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

import engine.fields  # noqa: F401 - installs the field types
from engine.definitions.loader import load_app_text
from engine.errors import RecordValidationError
from engine.expressions.context import SHANGHAI
from engine.runtime.forms import RecordEnvironment, compile_form

APP = """
app: t
version: 1.0.0
name: T
---
form: rate
fields:
  kind: text
  min_qty: number
  valid_from: date
  rate: percent
  note: text
---
form: deal
fields:
  kind: {type: text, required: true}
  day: {type: date, required: true}
  note: {type: text, default_expr: 'MATCH("note_of")'}
  lines:
    type: subtable
    fields:
      qty: {type: number, required: true}
      rate: {type: formula, expr: 'MATCH("rate_of")', result: percent}
  minimum: {type: formula, expr: 'MATCH("floor")', result: number}
validations:
  - expr: 'minimum >= 0'
    message: {zh-CN: 最低值不能为负, en: The minimum cannot be negative}
lookups:
  rate_of:
    form: rate
    match: {kind: kind}
    ranges: {min_qty: {at_most: qty}}
    effective: {from: valid_from, date: day}
    rank: [min_qty]
    value: rate
    on_none: {error: {zh-CN: 没有适用的费率, en: No rate applies}}
  note_of:
    form: rate
    match: {kind: kind}
    value: note
  floor:
    form: rate
    match: {kind: UPPER(kind)}
    value: min_qty
    on_none: {default: 0}
"""


def _prepare(data, answer, asked, locale="zh-CN"):
    form = load_app_text(APP).form("deal")

    def best_match(query):
        asked.append(query)
        return answer(query)

    env = RecordEnvironment(
        datetime(2025, 5, 20, 10, 0, tzinfo=SHANGHAI),
        "u",
        None,
        lambda form_key, record_id: None,
        locale=locale,
        best_match=best_match,
    )
    return compile_form(form).prepare(data, existing=None, env=env, source="json")


def test_the_callback_gets_the_evaluated_values_once_per_distinct_arguments():
    asked = []

    def answer(query):
        if query.lookup.name == "floor":
            return None
        if query.lookup.name == "note_of":
            return {"note": "std"}
        qty = dict((k, v) for k, _op, v in query.bounds)["min_qty"]
        return {"rate": Decimal("0.02") if qty < 100 else Decimal("0.03"), "note": "std"}

    lines = [{"qty": 10}, {"qty": 10}, {"qty": 120}, {"qty": 10}]
    values = _prepare({"kind": "vip", "day": "2025-05-20", "lines": lines}, answer, asked)
    assert [row["rate"] for row in values["lines"]] == [Decimal("0.02")] * 2 + [
        Decimal("0.03"),
        Decimal("0.02"),
    ]
    assert values["note"] == "std"  # default_expr: filled from the matched row
    assert values["minimum"] == Decimal(0)  # on_none default
    rate_queries = [q for q in asked if q.lookup.name == "rate_of"]
    # two distinct quantities: one query each for the four lines
    assert sorted((q.equals, q.bounds[0][2], q.on) for q in rate_queries) == [
        ((("kind", "vip"),), Decimal(10), date(2025, 5, 20)),
        ((("kind", "vip"),), Decimal(120), date(2025, 5, 20)),
    ]
    [floor] = [q for q in asked if q.lookup.name == "floor"]
    assert floor.equals == (("kind", "VIP"),)


def test_on_none_error_is_located_on_the_row_in_the_actors_language():
    with pytest.raises(RecordValidationError) as caught:
        _prepare(
            {"kind": "x", "day": "2025-05-20", "lines": [{"qty": 1}]},
            lambda q: None,
            [],
            locale="en",
        )
    errors = {(e.field, e.row, e.code, e.message) for e in caught.value.errors}
    assert ("lines.rate", 1, "no_match", "Row 1: No rate applies") in errors


def test_match_in_a_validation_reads_the_lookup():
    def answer(query):
        return {"min_qty": Decimal(-1), "rate": Decimal("0.01")}

    with pytest.raises(RecordValidationError) as caught:
        _prepare({"kind": "x", "day": "2025-05-20", "lines": [{"qty": 1}]}, answer, [])
    assert [e.message for e in caught.value.errors] == ["最低值不能为负"]
