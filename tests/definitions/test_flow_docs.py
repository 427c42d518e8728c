"""docs/flows.md stays true: every flow example loads, and every node kind, approver
source, policy, action and timeout option the schema knows is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import engine.fields  # noqa: F401  (installs the field types the loader checks)
from engine.definitions import dsl_schema
from engine.definitions.flows import (
    COMMENT_RULES,
    EMPTY_POLICIES,
    MODES,
    NODE_KINDS,
    REJECT_RULES,
    RESUBMIT,
    SELF_POLICIES,
    SOURCE_KINDS,
    TIMEOUT_ACTIONS,
)
from engine.definitions.loader import check_app_text, load_app_text

FLOWS_MD = Path(__file__).resolve().parents[2] / "docs" / "flows.md"

#: the app and form every example of docs/flows.md is loaded against
DOCS_APP = """\
app: docs
version: 1.0.0
name: Docs
roles: {finance: 财务, hr: 人事, legal: 法务, gm: 总经理}
---
form: partner
fields:
  name: text
  dealer: dealer
---
form: expense
fields:
  applicant: user
  department: department
  amount: money
  days: number
  category: {type: select, options: [travel, office]}
  contract: boolean
  dealer: dealer
  supplier: {type: relation, to: partner, display: name}
  due_date: date
  reason: textarea
  lines:
    type: subtable
    fields:
      qty: number
---
"""


def _flow_blocks() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", FLOWS_MD.read_text(encoding="utf-8"), re.S)
    return [block for block in blocks if block.startswith("flow:")]


def test_the_docs_have_flow_examples():
    assert len(_flow_blocks()) >= 6


@pytest.mark.parametrize("block", _flow_blocks(), ids=lambda b: b.split("\n", 1)[0])
def test_every_flow_example_loads_without_errors(block):
    assert [str(e) for e in check_app_text(DOCS_APP + block)] == []
    app = load_app_text(DOCS_APP + block)
    assert app.flows and app.flows[0].form == "expense"


@pytest.mark.parametrize(
    "words",
    [
        NODE_KINDS,
        SOURCE_KINDS,
        MODES,
        REJECT_RULES,
        EMPTY_POLICIES,
        SELF_POLICIES,
        COMMENT_RULES,
        RESUBMIT,
        TIMEOUT_ACTIONS,
    ],
    ids=["nodes", "sources", "modes", "reject", "empty", "self", "comment", "resubmit", "timeout"],
)
def test_every_option_is_documented(words):
    text = FLOWS_MD.read_text(encoding="utf-8")
    missing = [word for word in words if f"`{word}" not in text and f"{word}:" not in text]
    assert missing == [], f"docs/flows.md does not document {missing}"


def test_every_flow_schema_key_is_documented():
    text = FLOWS_MD.read_text(encoding="utf-8")
    keys = dsl_schema()["$defs"]["flow"]["properties"]
    missing = [key for key in keys if f"{key}:" not in text and f"`{key}`" not in text]
    assert missing == [], f"docs/flows.md does not document {missing}"


def test_the_examples_show_every_node_kind_and_source():
    text = "\n".join(_flow_blocks())
    assert [k for k in NODE_KINDS if f"- {k}:" not in text] == []
    used = [k for k in SOURCE_KINDS if f"{k}:" not in text]
    assert used == []
