"""Load-time checks of a form's ``aggregates``, ``lock`` and ``AGGREGATE`` calls: each
problem located (file:line:column) with what to do."""

from __future__ import annotations

import engine.fields  # noqa: F401  (installs the field types)
from engine.definitions import load_app_text
from engine.definitions.aggregates import FormAggregate, RowLock
from engine.definitions.model import to_data
from engine.store.definition_data import form_from_data
from tests.definitions.conftest import one_file_app

FORMS = """
form: account
fields:
  name: text
  limit: money
  owner: dealer
  budget: {type: relation, to: budget}
---
form: budget
fields:
  amount: money
  holder: dealer
  note: text
---
form: order
fields:
  account: {type: relation, to: account}
  dealer: dealer
  note: text
  amount: money
  total: {type: formula, expr: "amount * 2", result: money}
  shipped: boolean
  used: {type: formula, expr: "{expr}", result: money}
{extra}
"""


def _problems(problems, expr: str = "AGGREGATE('open')", extra: str = "") -> list[str]:
    return problems(FORMS.replace("{expr}", expr).replace("{extra}", extra))


OPEN = """aggregates:
  open:
    form: order
    measure: SUM(amount)
    where: "account == record.account and status == 'approved' and id != record.id"
"""


def test_a_sound_declaration_loads_into_values_that_survive_storage(problems):
    assert _problems(problems, extra=OPEN + "lock: account\n") == []
    app = load_app_text(
        one_file_app(
            FORMS.replace("{expr}", "AGGREGATE('open')").replace(
                "{extra}", OPEN + "lock: account\n"
            )
        )
    )
    form = app.form("order")
    assert form.aggregates == (
        FormAggregate(
            "open",
            "order",
            "SUM",
            "amount",
            "account == record.account and status == 'approved' and id != record.id",
        ),
    )
    assert form.lock == RowLock("account")
    again = form_from_data(to_data(form))
    assert again.aggregates == form.aggregates and again.lock == form.lock
    assert again.content_hash == form.content_hash


def test_unknown_form_field_and_measure_are_located(problems):
    extra = """aggregates:
  a: {form: ordr, measure: SUM(amount)}
  b: {form: order, measure: SUM(amout)}
  c: {form: order, measure: SUM(note)}
  d: {form: order, measure: AVG(amount)}
  e: {form: order, measure: SUM()}
"""
    found = _problems(problems, "1", extra)
    assert found == [
        "app.yaml:28:13 aggregates.a.form: the app has no form 'ordr' (did you mean 'order'?)",
        "app.yaml:29:29 aggregates.b.measure: form 'order' has no field 'amout' "
        "(did you mean 'amount'?)",
        "app.yaml:30:29 aggregates.c.measure: SUM needs a number field; 'note' is a text "
        "field (use COUNT(field), or a number, money or percent field)",
        "app.yaml:31:29 aggregates.d.measure: 'AVG(amount)' is not a measure "
        "(one of SUM(field), MIN(field), MAX(field), COUNT() or COUNT(field))",
        "app.yaml:32:29 aggregates.e.measure: SUM() needs a field",
    ]


def test_a_where_sql_cannot_apply_points_into_the_text(problems):
    extra = """aggregates:
  a: {form: order, measure: COUNT(), where: "amount * 2 > 10"}
  b: {form: order, measure: COUNT(), where: "dealer == record.delaer"}
  c: {form: order, measure: COUNT(), where: "record.dealer == dealer"}
  d: {form: order, measure: COUNT(), where: "dealer == record.total"}
"""
    found = _problems(problems, "1", extra)
    assert found[0].startswith(
        "app.yaml:28:53 aggregates.a.where: the left side of a comparison in an aggregate's "
        "where is a field"
    )
    assert found[1] == (
        "app.yaml:29:56 aggregates.b.where: this form has no field 'delaer' for "
        "record.delaer (did you mean 'dealer'?)"
    )
    assert found[2] == (
        "app.yaml:30:46 aggregates.c.where: write the field first: dealer == record.dealer "
        "(compare fields with values or record.x: dealer == record.dealer)"
    )
    # a formula of this record is computed after its aggregates could be read
    assert found[3].startswith("app.yaml:31:56 aggregates.d.where: this form has no field 'total'")
    assert "record.x reads a field the record is given, not a formula of it" in found[3]
    assert len(found) == 4


def test_aggregate_calls_name_declared_aggregates_in_quotes(problems):
    found = _problems(problems, "AGGREGATE('opne') + AGGREGATE(note)", OPEN)
    assert found == [
        "app.yaml:26:42 fields.used.expr: this form declares no aggregate 'opne' "
        "(did you mean 'open'?)",
        "app.yaml:26:62 fields.used.expr: AGGREGATE takes the name of a declared aggregate "
        'in quotes (AGGREGATE("open_credit"))',
    ]


def test_a_lock_names_a_relation_or_organisation_field_or_one_step_path(problems):
    for lock in ("account", "dealer", "account.budget", "account.owner", "account.budget"):
        assert _problems(problems, "1", f"lock: {lock}\n") == [], lock
    cases = {
        "note": "app.yaml:27:7 lock: field 'note' is a text field: a lock names a relation "
        "or an organisation field (dealer, region, department, user)",
        "acount": "app.yaml:27:7 lock: this form has no field 'acount' (did you mean 'account'?)",
        "account.nme": "app.yaml:27:7 lock: form 'account' has no field 'nme' (did you mean "
        "'name'?)",
        "account.name": "app.yaml:27:7 lock: 'account.name': field 'name' of form 'account' "
        "is a text field, not a relation or organisation field",
        "dealer.code": "app.yaml:27:7 lock: 'dealer.code': field 'dealer' is a dealer field, "
        "not a relation (a path goes through a relation field: budget_line.account)",
        "a.b.c": "app.yaml:27:7 lock: 'a.b.c' is not a lock (name a relation or organisation "
        "field (dealer), or field.field (budget_line.account))",
    }
    for lock, message in cases.items():
        assert _problems(problems, "1", f"lock: {lock}\n") == [message], lock


def test_the_schema_refuses_unknown_aggregate_keys(problems):
    found = _problems(
        problems, "1", "aggregates:\n  a: {form: order, measure: COUNT(), filter: x}\n"
    )
    assert (
        len(found) == 1
        and "filter" in found[0]
        and found[0].startswith("app.yaml:28:38 aggregates.a.filter: unknown key")
    )


FLOW = """---
flow: order_approval
form: order
nodes:
  - branches:
      - when: "{condition}"
        nodes:
          - approval: finance
            approvers: {user: fin.wang}
      - otherwise: []
"""


def test_a_flow_condition_reads_only_declared_aggregates(problems):
    sound = FLOW.replace("{condition}", "AGGREGATE('open') > 0")
    assert _problems(problems, extra=OPEN + sound) == []
    typo = FLOW.replace("{condition}", "AGGREGATE('opne') > 0")
    found = _problems(problems, extra=OPEN + typo)
    assert len(found) == 1
    assert "this form declares no aggregate 'opne'" in found[0]
    assert "did you mean 'open'?" in found[0]
    assert ":when" in found[0] or "when" in found[0]
