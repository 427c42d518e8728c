"""Rule documents: loading (one, several, a list), and every check with its place."""

from __future__ import annotations

import textwrap

import pytest

from engine.definitions.loader import check_app, check_app_text, load_app, load_app_text
from engine.definitions.rules import mangle
from engine.definitions.schema import kind_schema
from tests.rules.conftest import APP

HEAD = APP.split("rule: deduct_stock")[0]  # the forms and the flow, ending with ---

BAD = """\
rule: bad
form: nothing
trigger: created
actions:
  - set: {x: "1"}
---
rule: bad2
form: product
trigger: {updated: {fields: [stok]}}
when: "stock < old.stok"
actions:
  - set: {stock: "'many'", nme: "1"}
  - update: {form: order, where: "note == record.nam", set: {note: "record.name"}}
  - create: {form: product, values: {name: "name", stock: "qty"}}
---
rule: bad3
form: product
trigger: deleted
actions:
  - set: {low: "true"}
  - delete: {form: product, where: "old.stock > 1"}
---
rule: bad4
form: product
trigger: {schedule: {cron: "0 25 * * *"}}
actions:
  - notify: {to: boss}
---
rule: bad5
form: product
trigger: {before: {field: name, days: 3}}
colour: red
actions:
  - webhook: {url: "http://x"}
---
rule: bad6
form: order
trigger: {updated: null}
actions:
  - update: {form: product, for_each: lnes, where: "id == row.product", set: {stock: "stock - row.qty"}}
  - frobnicate: {}
---
rule: bad4
form: order
trigger: {flow: node_reached, node: bos}
actions:
  - start_flow: {}
"""


def test_the_test_app_loads_with_its_rules():
    app = load_app_text(APP)
    assert [(r.key, r.form, r.trigger.kind, r.run) for r in app.rules] == [
        ("deduct_stock", "order", "flow", "in_transaction"),
        ("mark_low", "product", "updated", "in_transaction"),
        ("reprice", "repricing", "created", "in_transaction"),
        ("bounce", "ping", "updated", "in_transaction"),
        ("bounce_back", "pong", "updated", "in_transaction"),
        ("receive", "order", "created", "in_transaction"),
        ("purge", "repricing", "deleted", "in_transaction"),
        ("submit_on_go", "order", "updated", "in_transaction"),
    ]
    deduct = app.rules[0].actions[0]
    assert (deduct.kind, deduct.form, deduct.for_each, deduct.where) == (
        "update",
        "product",
        "lines",
        "id == row.product",
    )
    assert dict(deduct.values) == {"stock": "stock - row.qty"}
    assert app.rules_of("product")[0].trigger.fields == ("stock",)


def test_every_check_says_where():
    start = (HEAD + BAD).count("\n", 0, len(HEAD))  # lines before the first rule
    found = [(e.line - start, e.column, e.path, e.message) for e in check_app_text(HEAD + BAD)]
    assert found == [
        (2, 7, "form", "the app has no form 'nothing'"),
        (9, 30, "trigger.updated.fields[0]", "form 'product' has no field 'stok'"),
        (10, 16, "when", "unknown field 'old.stok'"),
        (12, 18, "actions[0].set.stock", "a text value cannot go into a number field"),
        (12, 28, "actions[0].set.nme", "form 'product' has no field 'nme'"),
        (13, 43, "actions[1].update.where", "unknown field 'record.nam'"),
        (14, 60, "actions[2].create.values.stock", "unknown field 'qty'"),
        (20, 5, "actions[0].set", "a deleted record cannot be set"),
        (21, 37, "actions[1].delete.where", "unknown field 'old.stock'"),
        (25, 28, "trigger.schedule.cron", "cron hour '25': use a number from 0 to 23"),
        (27, 18, "actions[0].notify.to", "expected a mapping or a list"),
        (31, 27, "trigger.before.field", "field 'name' is a text field, not a date"),
        (32, 1, "colour", "unknown key 'colour'"),
        (40, 39, "actions[0].update.for_each", "form 'order' has no sub-table 'lnes'"),
        (40, 59, "actions[0].update.where", "unknown field 'row.product'"),
        (40, 95, "actions[0].update.set.stock", "unknown field 'row.qty'"),
        (41, 5, "actions[1]", "unknown action frobnicate"),
        (43, 7, "rule", "rule 'bad4' is defined twice (also in app.yaml)"),
        (45, 37, "trigger.node", "the flow of 'order' has no node 'bos'"),
    ]


def test_a_rules_file_may_hold_a_list(tmp_path):
    forms, flow = tmp_path / "forms", tmp_path / "flows"
    (tmp_path / "rules").mkdir()
    forms.mkdir()
    flow.mkdir()
    docs = HEAD.split("---\n")
    (tmp_path / "app.yaml").write_text(docs[0], encoding="utf-8")
    for doc in docs[1:]:
        if doc.startswith("form:"):
            key = doc.split("\n")[0].split(":")[1].strip()
            (forms / f"{key}.yaml").write_text(doc, encoding="utf-8")
        elif doc.startswith("flow:"):
            (flow / "order.yaml").write_text(doc, encoding="utf-8")
    rules = textwrap.dedent(
        """\
        - rule: one
          form: product
          trigger: created
          actions:
            - set: {low: "stock < 5"}
        - rule: two
          form: product
          trigger: {updated: {fields: [price]}}
          actions:
            - set: {low: "stok < 5"}
        """
    )
    (tmp_path / "rules" / "stock.yaml").write_text(rules, encoding="utf-8")
    assert [(e.file, e.line, e.column, e.message) for e in check_app(tmp_path)] == [
        ("rules/stock.yaml", 10, 19, "unknown field 'stok'")
    ]
    (tmp_path / "rules" / "stock.yaml").write_text(rules.replace("stok", "stock"), "utf-8")
    app = load_app(tmp_path)
    assert [(r.key, r.where) for r in app.rules] == [
        ("one", "rules/stock.yaml:1"),
        ("two", "rules/stock.yaml:6"),
    ]


@pytest.mark.parametrize(
    ("text", "mangled"),
    [
        ("old.qty > qty", "old\u02cdqty > qty"),
        ("'old.qty' == record.name", "'old.qty' == record\u02cdname"),
        ("SUM(lines.qty)", "SUM(lines.qty)"),
    ],
)
def test_prefixed_names_keep_their_length(text, mangled):
    assert mangle(text) == mangled
    assert len(mangle(text)) == len(text)


def test_the_published_schema_covers_rules():
    schema = kind_schema("rule")
    assert schema["$ref"] == "#/$defs/rule"
    item = schema["$defs"]["rule_item"]
    assert item["required"] == ["rule", "form", "trigger", "actions"]
    with open("docs/schema/rule.schema.json", encoding="utf-8") as published:
        import json

        assert json.load(published) == schema
