"""docs/fields.md stays true: every type and key is documented, every example passes."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from engine.fields import canonical, get, names

from .conftest import build_field

DOC = (Path(__file__).resolve().parents[2] / "docs" / "fields.md").read_text(encoding="utf-8")
COMMON_KEYS = {
    "type", "label", "required", "readonly", "default", "default_expr", "visible_if",
    "required_if", "readonly_if", "description", "unique", "fields",
}  # fmt: skip
EXAMPLES = re.findall(r"```yaml\n(.*?)```", DOC, re.DOTALL)


def section(type_name: str) -> str:
    """The text under the level-2 heading that names ``type_name``."""
    for chunk in DOC.split("\n## ")[1:]:
        heading = chunk.splitlines()[0]
        if f"`{type_name}`" in heading:
            return chunk
    raise AssertionError(f"docs/fields.md has no heading for {type_name}")


@pytest.mark.parametrize("type_name", names())
def test_every_type_and_its_keys_are_documented(type_name):
    text = section(type_name)
    for key in get(type_name).option_properties:
        assert f"`{key}`" in text, f"{type_name}: key {key} is not documented"
    assert "```yaml" in text, f"{type_name} has no example"


def _build(key, spec):
    options = {k: v for k, v in spec.items() if k not in COMMON_KEYS}
    children = [_build(k, v)[0] for k, v in (spec.get("fields") or {}).items()]
    kind = canonical(spec["type"])
    return build_field(kind, key=key, fields=children, **options), options


def _check(key, spec):
    field, options = _build(key, spec)
    field_type = get(field.type)
    schema = {
        "type": "object",
        "properties": dict(field_type.option_properties),
        "required": list(field_type.required_options),
        "additionalProperties": False,
    }
    jsonschema.validate(options, schema)
    assert field_type.check_options(field) == [], key
    for child_key, child in (spec.get("fields") or {}).items():
        _check(child_key, child)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_every_yaml_example_passes_its_type_checks(example):
    fields = yaml.safe_load(example)["fields"]
    for key, spec in fields.items():
        _check(key, spec)


def test_the_examples_cover_every_type():
    used = set()
    for example in EXAMPLES:
        for spec in yaml.safe_load(example)["fields"].values():
            used.add(canonical(spec["type"]))
            used.update(canonical(c["type"]) for c in (spec.get("fields") or {}).values())
    assert used == set(names())
