"""The purchase example's rule: an approved request becomes a purchase order, in the
approval's transaction (examples/purchase_request/rules/orders.yaml); and the YAML
example of docs/rules.md loads."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest

from engine.definitions import load_app, load_app_text
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor
from tests.rules.conftest import BOTH_ENGINES

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
ADMIN = Actor("admin")


@pytest.fixture
def purchase(make_service, clock):
    clock.set(2026, 12, 7, 10, 0)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    service.calendar.seed(SYSTEM_ACTOR, [2026])
    roles = {"purchasing": "sales_ops", "finance": "payables"}
    service.install_app(ADMIN, load_app(EXAMPLES / "purchase_request"), role_map=roles)
    return service


@BOTH_ENGINES
def test_an_approved_request_creates_its_purchase_order(purchase):
    supplier = purchase.create_record(ADMIN, "purchase", "supplier", {"name": "杭州云栖包装"})
    product = purchase.create_record(
        ADMIN, "purchase", "product", {"sku": "DESK", "name": "办公桌", "price": "500.00"}
    )
    data = {
        "supplier": supplier.id,
        "needed_by": "2026-12-31",
        "lines": [{"product": product.id, "qty": 4}],
    }
    record = purchase.flows.submit(Actor("ma.lan"), "purchase", "purchase_request", data)
    assert purchase.query_records(ADMIN, "purchase", "purchase_order").total == 0
    inst = purchase.flows.instance_of(ADMIN, "purchase", "purchase_request", record.id)
    task = next(t.id for t in inst.tasks if t.status == "pending")
    purchase.flows.approve(Actor("he.jing"), task)
    [order] = purchase.query_records(ADMIN, "purchase", "purchase_order").items
    assert order.values["request"] == record.id
    assert order.values["supplier"] == supplier.id
    assert order.values["total"] == Decimal("2000.00")
    assert order.values["serial"] == "PO-20261207-0001"
    assert order.created_by == "rule:create_purchase_order"


def test_the_docs_example_loads():
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- example app -->\n```yaml\n(.*?)```", text, re.S)
    assert block is not None
    app = load_app_text(block.group(1))
    assert [r.key for r in app.rules] == [
        "deduct_stock",
        "restock_alert",
        "reprice",
        "promise_reminder",
        "weekly_report",
        "recount",
    ]
    [machine] = app.machines
    assert [(t.key, t.sources, t.target) for t in machine.transitions] == [
        ("pick", ("open",), "picking"),
        ("ship", ("picking",), "shipped"),
    ]
