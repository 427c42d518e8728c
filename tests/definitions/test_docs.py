"""docs/dsl.md stays true: every schema key is documented and every example loads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.definitions import dsl_schema
from engine.definitions.loader import check_app_text

DSL_MD = Path(__file__).resolve().parents[2] / "docs" / "dsl.md"
MINIMAL_APP = "app: docs\nversion: 1.0.0\nname: Docs\n---\n"


def _yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DSL_MD.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("definition", ["app", "form", "field_definition"])
def test_every_schema_key_is_documented(definition):
    text = DSL_MD.read_text(encoding="utf-8")
    keys = dsl_schema()["$defs"][definition]["properties"]
    missing = [key for key in keys if f"`{key}`" not in text]
    assert missing == [], f"docs/dsl.md does not document {missing}"


def test_docs_have_app_and_form_examples():
    starts = [block.split(":", 1)[0] for block in _yaml_blocks()]
    assert "app" in starts and "form" in starts


@pytest.mark.parametrize("block", _yaml_blocks(), ids=lambda b: b.split("\n", 1)[0])
def test_every_yaml_example_loads_without_errors(block):
    if not block.startswith(("app:", "form:")):
        pytest.skip("not a definition example")
    text = block if block.startswith("app:") else MINIMAL_APP + block
    assert [str(e) for e in check_app_text(text)] == []
