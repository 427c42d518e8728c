"""Lookups, lock_when and versions at load (docs/lookups.md): the docs' examples load,
the values are built and survive the stored form's round trip, and every mistake is
reported with its file, line and column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import engine.fields  # noqa: F401 - installs the field types the loader checks against
from engine.definitions.loader import check_app_text, load_app_text
from engine.definitions.model import to_data
from engine.store.definition_data import form_from_data

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lookups.md"
MINIMAL_APP = "app: docs\nversion: 1.0.0\nname: Docs\n---\n"


def _blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("block", _blocks(), ids=lambda b: b.split("\n", 1)[0])
def test_every_yaml_example_of_the_docs_loads(block):
    text = block if block.startswith("app:") else MINIMAL_APP + block
    assert [str(e) for e in check_app_text(text)] == []


def _app() -> str:
    return _blocks()[0]


def test_the_lookup_is_built_and_survives_the_stored_round_trip():
    app = load_app_text(_app())
    order = app.form("sales_order")
    [lookup] = order.lookups
    assert (lookup.name, lookup.form, lookup.value, lookup.on_none) == (
        "line_price",
        "price_entry",
        "unit_price",
        "error",
    )
    assert dict(lookup.match) == {
        "sku": "sku",
        "grade": 'LOOKUP(dealer, "grade")',
        "region": 'LOOKUP(dealer, "region")',
    }
    assert [(r.field, r.operator, r.expr) for r in lookup.ranges] == [("min_qty", "at_most", "qty")]
    assert (lookup.effective.from_field, lookup.effective.to_field, lookup.effective.date) == (
        "valid_from",
        "valid_to",
        "order_date",
    )
    assert lookup.rank == ("grade", "region", "min_qty")
    assert lookup.message.get("en") == "No price applies to this product"
    assert form_from_data(to_data(order)) == order
    price = app.form("price_entry")
    assert price.lock_when == "state == 'active'"
    assert form_from_data(to_data(price)) == price


def _errors(text: str) -> list[str]:
    return [str(e) for e in check_app_text(text)]


def test_unknown_names_are_located_with_a_hint():
    text = (
        _app()
        .replace("      sku: sku\n", "      skux: sku\n")
        .replace("rank: [grade,", "rank: [gradex,")
        .replace("value: unit_price", "value: unit_prize")
        .replace('MATCH("line_price")', 'MATCH("line_prize")')
    )
    errors = _errors(text)
    assert any(
        "lookups.line_price.match.skux: unknown field 'skux' (did you mean 'sku'?)" in e
        for e in errors
    ), errors
    assert any(
        "lookups.line_price.rank[0]: rank 'gradex' is not a match, range or effective" in e
        for e in errors
    ), errors
    assert any("lookups.line_price.value: unknown field 'unit_prize'" in e for e in errors)
    assert any(
        "fields.lines.fields.unit_price.expr: unknown lookup 'line_prize' (did you mean "
        "'line_price'?)" in e
        for e in errors
    ), errors
    for error in errors:
        assert re.match(r"app\.yaml:\d+:\d+ ", error), error


def test_an_unknown_target_form_and_a_bad_where_are_reported():
    errors = _errors(_app().replace("form: price_entry\n    match", "form: prices\n    match"))
    assert any("lookups.line_price.form: unknown form 'prices'" in e for e in errors), errors
    errors = _errors(_app().replace("where: \"state == 'active'\"", 'where: "LEN(state) > 1"'))
    assert any("lookups.line_price.where: the left side of a comparison" in e for e in errors)


def test_match_where_the_lookups_row_columns_are_unknown_is_an_error():
    text = _app().replace(
        "  order_date: {type: date, required: true}\n",
        "  order_date: {type: date, required: true}\n"
        "  first_price: {type: formula, expr: 'MATCH(\"line_price\")', result: money}\n",
    )
    errors = _errors(text)
    assert any(
        "fields.first_price.expr: lookup 'line_price' reads 'qty', which is not available here" in e
        for e in errors
    ), errors


def test_a_field_of_match_is_checked_against_the_target_form():
    text = _app().replace('MATCH("line_price")', 'MATCH("line_price", "unit_prize")')
    errors = _errors(text)
    assert any(
        "the form searched by lookup 'line_price' has no field 'unit_prize'" in e for e in errors
    ), errors


def test_lock_when_and_versions_are_checked():
    text = MINIMAL_APP + _blocks()[1]
    bad = text.replace("lock_when: \"state == 'active'\"", 'lock_when: "stat == 1"').replace(
        "number: version_no", "number: code"
    )
    errors = _errors(bad)
    assert any("lock_when: unknown field 'stat'" in e for e in errors), errors
    assert any(
        "versions.number: the version number field must be a number field" in e for e in errors
    ), errors
    assert any("versions.key" in e for e in _errors(text.replace("key: [code]", "key: [cod]")))


def test_on_is_not_the_date_key_and_the_schema_says_so():
    errors = _errors(_app().replace("date: order_date}", "at: order_date}"))
    assert any("lookups.line_price.effective" in e for e in errors), errors
