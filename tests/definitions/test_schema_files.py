"""The published JSON Schema files match the code and are valid Draft 2020-12 schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.definitions import dsl_schema, write_schema_files
from engine.definitions.schema import PUBLISHED_KINDS, kind_schema, render

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schema"


@pytest.mark.parametrize("kind", PUBLISHED_KINDS)
def test_committed_schema_file_matches_the_generated_one(kind):
    committed = (SCHEMA_DIR / f"{kind}.schema.json").read_text(encoding="utf-8")
    assert committed == render(kind_schema(kind)), (
        f"docs/schema/{kind}.schema.json is out of date; regenerate it with "
        "`python -m engine.definitions.schema docs/schema`"
    )


def test_schemas_are_valid_draft_2020_12():
    Draft202012Validator.check_schema(dsl_schema())
    for kind in PUBLISHED_KINDS:
        Draft202012Validator.check_schema(kind_schema(kind))


def test_write_schema_files_writes_one_file_per_kind(tmp_path):
    written = write_schema_files(tmp_path)
    assert [p.name for p in written] == [
        "app.schema.json",
        "form.schema.json",
        "flow.schema.json",
        "rule.schema.json",
        "machine.schema.json",
    ]
    form = json.loads((tmp_path / "form.schema.json").read_text(encoding="utf-8"))
    assert form["$ref"] == "#/$defs/form"
    assert "field_number" in form["$defs"]
    assert "field_number" not in json.loads((tmp_path / "app.schema.json").read_text())["$defs"]


def test_field_type_enum_lists_canonical_names_and_aliases():
    names = dsl_schema()["$defs"]["field_type"]["enum"]
    assert {"number", "select", "radio", "subtable"} <= set(names)
