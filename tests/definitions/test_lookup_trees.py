"""Match fields over an organisation tree at load (docs/lookups.md, "Matching up an
organisation tree"): the ``{value, tree}`` form is built, survives the stored round trip,
and its mistakes are reported with file, line and column."""

from __future__ import annotations

import re
from pathlib import Path

import engine.fields  # noqa: F401 - installs the field types the loader checks against
from engine.definitions.loader import check_app_text, load_app_text
from engine.definitions.model import to_data
from engine.store.definition_data import form_from_data

DOCS = Path(__file__).resolve().parents[2] / "docs" / "lookups.md"


def _tree_example() -> str:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    [block] = [b for b in blocks if "tree: region" in b]
    return block


def _errors(text: str) -> list[str]:
    return [str(e) for e in check_app_text(text)]


def test_the_docs_example_loads_with_its_tree_and_survives_the_round_trip():
    app = load_app_text(_tree_example())
    order = app.form("sales_order")
    [lookup] = order.lookups
    assert dict(lookup.match) == {"sku": "sku", "region": "region"}
    assert lookup.trees == (("region", "region"),)
    assert form_from_data(to_data(order)) == order


def test_a_plain_lookup_has_no_trees_and_its_stored_data_is_unchanged():
    app = load_app_text(_tree_example().replace("{value: region, tree: region}", "region"))
    [lookup] = app.form("sales_order").lookups
    assert lookup.trees == ()
    assert "trees" not in to_data(lookup)


def test_an_unknown_tree_is_located():
    errors = _errors(_tree_example().replace("tree: region}", "tree: area}"))
    assert errors, errors
    assert any("lookups.price.match.region" in e for e in errors), errors
    for error in errors:
        assert re.match(r"app\.yaml:\d+:\d+ ", error), error


def test_a_field_that_cannot_hold_a_code_of_the_tree_is_an_error():
    text = _tree_example().replace("  region: region                     #", "  region: number  #")
    errors = _errors(text)
    assert any(
        re.match(
            r"app\.yaml:\d+:\d+ .*lookups\.price\.match\.region\.tree: 'region' is a number "
            r"field: a region tree match needs a text, select or single region field",
            e,
        )
        for e in errors
    ), errors
    # a department field holds department codes, not region codes
    errors = _errors(_tree_example().replace("tree: region}", "tree: department}"))
    assert any("'region' is a region field: a department tree match" in e for e in errors)
    # a text field is accepted for every tree
    text = _tree_example().replace("  region: region                     #", "  region: text  #")
    assert _errors(text.replace("tree: region}", "tree: dealer}")) == []


def test_the_value_expression_is_checked_at_its_own_key():
    errors = _errors(_tree_example().replace("{value: region,", "{value: regoin,"))
    assert any("lookups.price.match.region.value: unknown field 'regoin'" in e for e in errors), (
        errors
    )
