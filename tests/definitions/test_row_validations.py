"""A sub-table's row validations: loaded, checked against the row's scope, stored."""

from __future__ import annotations

from engine.definitions import load_app_text
from engine.definitions.model import Validation, to_data
from engine.store.definition_data import form_from_data

from .conftest import one_file_app

ORDER = """
form: order
fields:
  cap: money
  lines:
    type: subtable
    validations:
      - expr: "amount <= cap"
        field: amount
        message: {zh-CN: "金额 {{ amount }} 超过上限", en: "Amount {{ amount }} is over the cap"}
      - {expr: "qty > 0", message: qty must be positive}
    fields:
      qty: number
      amount: money
"""


def test_row_validations_are_built_onto_the_sub_table_and_survive_storage():
    form = load_app_text(one_file_app(ORDER)).form("order")
    rules = form.field("lines").validations
    assert [(r.expr, r.field, r.message.en) for r in rules] == [
        ("amount <= cap", "amount", "Amount {{ amount }} is over the cap"),
        ("qty > 0", None, "qty must be positive"),
    ]
    assert isinstance(rules[0], Validation)
    assert (rules[0].location.line, rules[1].location.line) == (11, 14)
    assert "validations" not in form.field("lines").options
    stored = form_from_data(to_data(form))
    assert stored.field("lines").validations == rules
    assert stored.content_hash == form.content_hash


def test_unknown_names_in_a_row_rule_are_located(problems):
    found = problems(
        ORDER.replace('"amount <= cap"', '"amount <= capp"').replace(
            "field: amount", "field: amont"
        )
    )
    assert found == [
        "app.yaml:11:26 fields.lines.validations[0].expr: unknown field 'capp' "
        "(did you mean 'cap'?)",
        "app.yaml:12:16 fields.lines.validations[0].field: unknown column 'amont' "
        "(did you mean 'amount'?)",
    ]


def test_a_row_rule_field_must_be_a_column_not_a_parent_field(problems):
    found = problems(ORDER.replace("field: amount", "field: cap"))
    assert found == ["app.yaml:12:16 fields.lines.validations[0].field: unknown column 'cap'"]


def test_a_row_rule_message_template_may_not_loop(problems):
    found = problems(
        ORDER.replace("message: qty must be positive", 'message: "{% for x in y %}{% endfor %}"')
    )
    assert len(found) == 1
    assert found[0].startswith("app.yaml:14:36 fields.lines.validations[1].message: 'for' is not")


def test_only_sub_tables_take_validations(problems):
    found = problems("form: order\nfields:\n  qty: {type: number, validations: []}\n")
    assert len(found) == 1 and "validations" in found[0]
