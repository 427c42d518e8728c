"""CHANNEL_DOMAIN C2 and C3 through a real app: cross-form aggregates (E2) read under a row
lock (E4), on SQLite and PostgreSQL, with the document's exact figures.

The app is tests/scenarios/credit_app.yaml: D001's credit account (limit 500,000.00),
orders whose credit check is ``AGGREGATE`` over other orders, receivables and payments,
and a flow that routes a shortfall to finance. The race of C4 is in
test_credit_race_scenario.py.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.definitions import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

APP_FILE = Path(__file__).with_name("credit_app.yaml")
APP = "credit_demo"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: sales, name: 销售, members: [sales.li]}
  - {code: finance, name: 财务, members: [fin.zhao]}
  - {code: area_director, name: 大区总监, members: [dir.sun]}
users:
  - {login: sales.li, name: 李销售, department: hq}
  - {login: fin.zhao, name: 赵财务, department: hq}
  - {login: dir.sun, name: 孙总监, department: hq}
"""
SALES = Actor("sales.li")
FINANCE = Actor("fin.zhao")

#: C2's order: P-1001 250 × 210.00, P-2001 100 × 259.20, P-1002 40 × 162.00
C2_LINES = [
    {"sku": "P-1001", "qty": 250, "unit_price": "210.00"},
    {"sku": "P-2001", "qty": 100, "unit_price": "259.20"},
    {"sku": "P-1002", "qty": 40, "unit_price": "162.00"},
]


@pytest.fixture
def credit(make_service, clock):
    """The credit app on a fresh database: D001's account with C2's fixture (open
    unshipped credit 177,400.00; INV-A 100,000.00 and INV-B 150,000.00, none overdue)."""
    clock.set(2025, 5, 20, 10, 0)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(APP_FILE.read_text(encoding="utf-8")))
    account = service.create_record(
        SALES,
        APP,
        "credit_account",
        {"dealer_name": "杭州恒达商贸有限公司", "credit_limit": "500000.00"},
    ).id
    for number, issued, due, amount in (
        ("INV-A", "2025-04-28", "2025-05-28", "100000.00"),
        ("INV-B", "2025-05-12", "2025-06-11", "150000.00"),
    ):
        service.create_record(
            SALES,
            APP,
            "receivable",
            {
                "invoice_no": number,
                "account": account,
                "issued_on": issued,
                "due_date": due,
                "amount": amount,
            },
        )
    opened = _order(service, account, "SO-2025-000001", [_line("P-3001", 1, "177400.00")])
    assert opened.status == "approved"  # within the credit: no finance task
    return service, account


def _line(sku: str, qty: int, price: str) -> dict:
    return {"sku": sku, "qty": qty, "unit_price": price}


def _order(service, account: int, number: str, lines: list[dict]):
    data = {"order_no": number, "account": account, "order_date": "2025-05-20", "lines": lines}
    return service.flows.submit(SALES, APP, "order", data)


def _account(service, account: int, as_of: str | None = None) -> dict:
    """The account's figures now: saving it again recomputes its aggregates."""
    changes = {} if as_of is None else {"as_of": as_of}
    return service.update_record(SALES, APP, "credit_account", account, changes).values


def _tasks(service, record_id: int) -> list[tuple[str, str, str]]:
    view = service.flows.instance_of(SYSTEM_ACTOR, APP, "order", record_id)
    return [(t.node, t.assignee, t.status) for t in view.tasks]


def test_c2_fixture_figures(credit):
    service, account = credit
    figures = _account(service, account)
    assert figures["open_order_credit"] == Decimal("177400.00")
    assert figures["receivables"] == Decimal("250000.00")
    assert figures["used"] == Decimal("427400.00")
    assert figures["available"] == Decimal("72600.00")
    assert figures["overdue"] == Decimal("0.00")


def test_c2_order_over_credit_goes_to_finance_only_and_approval_uses_the_limit(credit):
    service, account = credit
    order = _order(service, account, "SO-2025-000002", C2_LINES)
    assert [line["line_amount"] for line in order.values["lines"]] == [
        Decimal("52500.00"),
        Decimal("25920.00"),
        Decimal("6480.00"),
    ]
    assert order.values["goods_amount"] == Decimal("84900.00")
    assert order.values["credit_used"] == Decimal("427400.00")
    assert order.values["credit_available"] == Decimal("72600.00")
    assert order.values["credit_shortfall"] == Decimal("12300.00")
    assert order.status == "in_approval"  # 待财务审批
    tasks = _tasks(service, order.id)
    # one finance task, no area director (12,300 ≤ 50,000 and ≤ 10% of 500,000)
    assert tasks == [("finance_review", "fin.zhao", "pending")]

    task_id = service.flows.instance_of(SYSTEM_ACTOR, APP, "order", order.id).tasks[0].id
    service.flows.approve(FINANCE, task_id, comment="超信用 12,300.00 同意")
    approved = service.get_record(SALES, APP, "order", order.id)
    assert approved.status == "approved"
    # recomputed under the lock at approval: nothing moved meanwhile, same shortfall
    assert approved.values["credit_shortfall"] == Decimal("12300.00")
    view = service.flows.instance_of(SYSTEM_ACTOR, APP, "order", order.id)
    assert [(e.action, e.actor) for e in view.timeline if e.action == "approve"] == [
        ("approve", "fin.zhao")
    ]  # the over-limit approval is recorded
    figures = _account(service, account)
    assert figures["used"] == Decimal("512300.00")
    assert figures["available"] == Decimal("-12300.00")
    assert figures["usage"] == Decimal("1.0246")  # 102.46%


def test_c3_credit_after_partial_payment_fifo_and_overdue(credit, clock):
    service, account = credit
    order = _order(service, account, "SO-2025-000002", C2_LINES)
    task_id = service.flows.instance_of(SYSTEM_ACTOR, APP, "order", order.id).tasks[0].id
    service.flows.approve(FINANCE, task_id)

    clock.set(2025, 5, 25, 9, 0)  # D001 pays 150,000.00 (还款)
    service.create_record(
        FINANCE,
        APP,
        "payment",
        {
            "account": account,
            "amount": "150000.00",
            "received_on": "2025-05-25",
            "purpose": "还款",
            "confirmed": True,
        },
    )
    balances = _receivable_balances(service)
    assert balances == {"INV-A": Decimal("0.00"), "INV-B": Decimal("100000.00")}  # FIFO
    figures = _account(service, account, as_of="2025-05-25")
    assert figures["receivables"] == Decimal("100000.00")
    assert figures["open_order_credit"] == Decimal("262300.00")
    assert figures["used"] == Decimal("362300.00")
    assert figures["available"] == Decimal("137700.00")
    assert figures["usage"] == Decimal("0.7246")  # 72.46%

    clock.set(2025, 5, 27, 9, 0)  # the C2 order ships: INV-C 84,900.00 due 2025-06-26
    service.create_record(
        SALES,
        APP,
        "receivable",
        {
            "invoice_no": "INV-C",
            "account": account,
            "order": order.id,
            "issued_on": "2025-05-27",
            "due_date": "2025-06-26",
            "amount": "84900.00",
        },
    )
    service.update_record(SALES, APP, "order", order.id, {"shipped": True})
    figures = _account(service, account, as_of="2025-05-27")
    assert figures["used"] == Decimal("362300.00")  # moved from orders to receivables
    assert figures["open_order_credit"] == Decimal("177400.00")
    assert figures["receivables"] == Decimal("184900.00")

    clock.set(2025, 6, 12, 9, 0)  # INV-B (due 06-11) still open
    figures = _account(service, account, as_of="2025-06-12")
    assert figures["overdue"] == Decimal("100000.00")
    assert figures["order_block"] == "逾期未回款"
    assert _receivable_balances(service)["INV-C"] == Decimal("84900.00")


def _receivable_balances(service) -> dict[str, Decimal]:
    """Each receivable's balance now (saved again: its aggregates are read again)."""
    page = service.query_records(SYSTEM_ACTOR, APP, "receivable")
    out = {}
    for item in page.items:
        record = service.update_record(SYSTEM_ACTOR, APP, "receivable", item.id, {})
        out[record.values["invoice_no"]] = record.values["balance"]
    return out


def test_an_aggregate_reads_rows_the_actor_cannot_see_as_the_form_declares(credit):
    """A credit check is a system read: the submitter's row scope does not narrow it."""
    service, account = credit
    order = _order(service, account, "SO-2025-000003", [_line("P-1001", 10, "210.00")])
    assert order.values["credit_used"] == Decimal("427400.00")


def test_a_shortfall_is_recomputed_when_finance_approves(credit, clock):
    """D20: what changed while the order waited (a payment) is seen at approval."""
    service, account = credit
    order = _order(service, account, "SO-2025-000002", C2_LINES)
    assert order.values["credit_shortfall"] == Decimal("12300.00")
    service.create_record(
        FINANCE,
        APP,
        "payment",
        {
            "account": account,
            "amount": "10000.00",
            "received_on": "2025-05-21",
            "purpose": "还款",
            "confirmed": True,
        },
    )
    task_id = service.flows.instance_of(SYSTEM_ACTOR, APP, "order", order.id).tasks[0].id
    service.flows.approve(FINANCE, task_id)
    approved = service.get_record(SALES, APP, "order", order.id)
    assert approved.values["credit_used"] == Decimal("417400.00")
    assert approved.values["credit_shortfall"] == Decimal("2300.00")


def test_stored_records_pass_the_data_check_with_their_aggregates(credit):
    """A data check (and a publish's) recomputes stored records: AGGREGATE reads there too."""
    service, account = credit
    _order(service, account, "SO-2025-000002", C2_LINES)
    for form in ("order", "credit_account", "receivable"):
        assert service.apps.check_data(SYSTEM_ACTOR, APP, form) == [], form


def test_a_flow_simulation_reads_the_aggregates(credit):
    service, account = credit
    data = {"order_no": "SIM", "account": account, "order_date": "2025-05-20", "lines": C2_LINES}
    simulation = service.flows.simulate(SALES, APP, "order", data)
    # 12,300.00 short: the small-shortfall branch, one finance approval
    assert [step.node for step in simulation.path if step.kind == "approval"] == ["finance_review"]
