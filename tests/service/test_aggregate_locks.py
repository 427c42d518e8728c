"""Aggregates in validations and the row lock of ``lock:``: an organisation field, a
one-step path through a relation, and the lock really held (PostgreSQL: another
connection cannot take the row until the write commits), on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.errors import RecordValidationError
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

APP = """
app: locks
version: 1.0.0
name: Locks
roles:
  clerk: 文员
---
form: account
name: Account
fields:
  name: text
  holder: dealer
---
form: budget_line
name: Budget line
fields:
  name: text
  account: {type: relation, to: account}
  budget: money
---
form: spend
name: Spend
lock: line.account
fields:
  line: {type: relation, to: budget_line, required: true}
  amount: {type: money, required: true}
  spent_before: {type: formula, expr: "AGGREGATE('spent')", result: money}
  spent_lines: {type: formula, expr: "AGGREGATE('lines')", result: number, precision: 0}
  largest: {type: formula, expr: "AGGREGATE('largest')", result: money}
aggregates:
  spent: {form: spend, measure: SUM(amount), where: "line == record.line and id != record.id"}
  lines: {form: spend, measure: COUNT(), where: "line == record.line and id != record.id"}
  largest: {form: spend, measure: MAX(amount), where: "line == record.line"}
validations:
  - expr: "spent_before + amount <= LOOKUP(line, 'budget')"
    message: {zh-CN: 超出预算, en: Over the budget}
    field: amount
---
form: dealer_order
name: Dealer order
lock: holder
fields:
  holder: dealer
  amount: money
  others: {type: formula, expr: "AGGREGATE('others')", result: number, precision: 0}
aggregates:
  others: {form: dealer_order, measure: COUNT(amount), where: "holder == record.holder and id != record.id"}
---
flow: second_order
form: dealer_order
nodes:
  - branches:
      - when: "AGGREGATE('others') >= 1"     # a condition may read an aggregate itself
        nodes:
          - approval: review
            approvers: {role: clerk}
      - otherwise: []
"""
ORG = """
departments:
  - {code: hq, name: 总部}
regions:
  - {code: zj, name: 浙江}
dealers:
  - {code: D001, name: 杭州恒达, region: zj}
roles:
  - {code: clerk, name: 文员, members: [clerk]}
users:
  - {login: clerk, name: 文员, department: hq}
"""
CLERK = Actor("clerk", locale="en")


@pytest.fixture
def locks(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    account = service.create_record(CLERK, "locks", "account", {"name": "A", "holder": "D001"})
    line = service.create_record(
        CLERK, "locks", "budget_line", {"name": "L", "account": account.id, "budget": "100.00"}
    )
    return service, account.id, line.id


def test_an_aggregate_in_a_validation_refuses_what_goes_over(locks):
    service, _account, line = locks
    first = service.create_record(CLERK, "locks", "spend", {"line": line, "amount": "60.00"})
    assert first.values["spent_before"] == Decimal("0")  # SUM of no rows is 0
    assert first.values["largest"] is None  # MAX of no rows is blank
    second = service.create_record(CLERK, "locks", "spend", {"line": line, "amount": "40.00"})
    assert second.values["spent_before"] == Decimal("60.00")
    assert second.values["spent_lines"] == Decimal(1)
    assert second.values["largest"] == Decimal("60.00")
    with pytest.raises(RecordValidationError) as refused:
        service.create_record(CLERK, "locks", "spend", {"line": line, "amount": "0.01"})
    assert [(e.field, e.message) for e in refused.value.errors] == [("amount", "Over the budget")]
    # an update excludes the record itself (id != record.id)
    changed = service.update_record(CLERK, "locks", "spend", first.id, {"amount": "59.00"})
    assert changed.values["spent_before"] == Decimal("40.00")


def test_a_deleted_row_no_longer_counts(locks):
    service, _account, line = locks
    first = service.create_record(CLERK, "locks", "spend", {"line": line, "amount": "60.00"})
    service.delete_record(CLERK, "locks", "spend", first.id)
    again = service.create_record(CLERK, "locks", "spend", {"line": line, "amount": "100.00"})
    assert again.values["spent_before"] == Decimal("0")


def _held_elsewhere(url: str, sql: str, params: dict) -> bool:
    """Whether another connection finds the row locked (PostgreSQL: FOR UPDATE NOWAIT)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            try:
                conn.execute(sa.text(sql + " FOR UPDATE NOWAIT"), params)
            except sa.exc.OperationalError:
                return True
            return False
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("form", "data", "sql"),
    [
        ("spend", None, "SELECT id FROM f_locks_account WHERE id = :key"),
        (
            "dealer_order",
            {"holder": "D001", "amount": "1.00"},
            "SELECT code FROM org_dealers WHERE code = :key",
        ),
    ],
)
def test_the_lock_is_held_while_the_record_is_written(locks, database_url, form, data, sql):
    service, account, line = locks
    seen: list[bool] = []
    key = account if form == "spend" else "D001"

    def probe(ctx, change) -> None:
        if change.form == form and database_url.startswith("postgresql"):
            seen.append(_held_elsewhere(database_url, sql, {"key": key}))

    service.hooks.add("after_write", probe)
    record = service.create_record(CLERK, "locks", form, data or {"line": line, "amount": "1.00"})
    assert record.id
    if database_url.startswith("postgresql"):
        assert seen == [True]
        assert not _held_elsewhere(database_url, sql, {"key": key})  # released at commit
    if form == "dealer_order":
        assert record.status == "approved"  # the flow's condition: no other order yet
        other = service.create_record(CLERK, "locks", form, data)
        assert other.values["others"] == Decimal(1)
        assert other.status == "in_approval"
