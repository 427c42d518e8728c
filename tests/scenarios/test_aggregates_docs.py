"""The example app of docs/aggregates.md loads and works: an order over its account's
credit goes to finance, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from engine.definitions import load_app_text
from engine.definitions.aggregates import FormAggregate, RowLock
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

DOC = Path(__file__).resolve().parents[2] / "docs" / "aggregates.md"
ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: finance, name: 财务, members: [fin]}
users:
  - {login: fin, name: 财务, department: hq}
  - {login: clerk, name: 文员, department: hq}
"""


def _example() -> str:
    block = re.search(r"<!-- example app -->\n```yaml\n(.*?)```", DOC.read_text("utf-8"), re.S)
    assert block is not None
    return block.group(1)


def test_the_docs_example_loads():
    app = load_app_text(_example())
    order = app.form("order")
    assert order.lock == RowLock("account")
    assert order.aggregates == (
        FormAggregate(
            "open_credit",
            "order",
            "SUM",
            "amount",
            "account == record.account and status == 'approved' and not shipped "
            "and id != record.id",
        ),
    )


def test_the_docs_example_routes_a_shortfall_to_finance(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(_example()))
    clerk = Actor("clerk")
    account = service.create_record(
        clerk, "credit_docs", "credit_account", {"dealer_name": "D", "credit_limit": "1000.00"}
    ).id

    def order(number: str, amount: str):
        data = {"order_no": number, "account": account, "amount": amount}
        return service.flows.submit(clerk, "credit_docs", "order", data)

    first = order("A", "700.00")
    assert (first.status, first.values["credit_shortfall"]) == ("approved", Decimal("0.00"))
    second = order("B", "500.00")
    assert second.values["credit_used"] == Decimal("700.00")
    assert (second.status, second.values["credit_shortfall"]) == (
        "in_approval",
        Decimal("200.00"),
    )
