"""The examples' automation end to end, with a real mail server on 127.0.0.1:

- purchase_request: the approved request becomes a purchase order (in the approval's
  transaction) and its requester is told, in-app and by e-mail;
- purchase_request: the 09:00 digest tells each approver how many requests wait;
- leave_request: the applicant of an approved leave is reminded at 09:00 the day before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.definitions import load_app
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor
from engine.service.scheduler import Scheduler
from tests.delivery.conftest import smtp_server  # noqa: F401  (the fixture)
from tests.notifications.conftest import mails

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def company(make_service, smtp_server, clock):  # noqa: F811
    clock.set(2026, 1, 5, 8, 0)
    service = make_service()
    service.mail_url = f"smtp://mailer:p%40ss%20word@{smtp_server.host}:{smtp_server.port}"
    service.mail_from = "noreply@example.com"
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    service.calendar.ensure_seeded(SYSTEM_ACTOR)
    service.install_app(SYSTEM_ACTOR, load_app(EXAMPLES / "leave_request"))
    service.install_app(
        SYSTEM_ACTOR,
        load_app(EXAMPLES / "purchase_request"),
        role_map={"purchasing": "payables", "finance": "payables"},
    )
    scheduler = Scheduler(service, holder="test", sweep_files=False)
    yield service, scheduler, smtp_server
    scheduler.stop()


def _approve_all(service, app: str, form: str, record_id: int) -> None:
    """Approve every pending task of the record's instance until it ends."""
    for _ in range(10):
        instance = service.flows.instance_of(SYSTEM_ACTOR, app, form, record_id)
        pending = [t for t in instance.tasks if t.status == "pending" and t.kind == "approval"]
        if not pending:
            return
        for task in pending:
            service.flows.approve(Actor(task.assignee), task.id, comment="ok")


def _goods(service, name: str) -> tuple[int, int]:
    """A supplier and a product of the purchase example."""
    supplier = service.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": name})
    product = service.create_record(
        SYSTEM_ACTOR, "purchase", "product", {"sku": "P-" + name, "name": name, "price": "10.00"}
    )
    return supplier.id, product.id


def _titles(service, login: str) -> list[str]:
    return [n.title for n in service.notifications.list(Actor(login)).items]


def test_an_approved_leave_is_reminded_the_day_before_at_nine(company, clock):
    service, scheduler, box = company
    scheduler.tick()  # the scheduler meets the reminder rule at 08:00
    leave = service.flows.submit(
        Actor("zhou.zong"),
        "leave",
        "leave_request",
        {
            "leave_type": "annual",
            "start_date": "2026-01-06",
            "end_date": "2026-01-07",
            "reason": "家事",
        },
    )
    _approve_all(service, "leave", "leave_request", leave.id)
    assert service.get_record(SYSTEM_ACTOR, "leave", "leave_request", leave.id).status == (
        "approved"
    )
    clock.set(2026, 1, 5, 8, 59)
    scheduler.tick()
    assert not [t for t in _titles(service, "zhou.zong") if t.startswith("明天开始休假")]
    clock.set(2026, 1, 5, 9, 0, 30)
    run = scheduler.tick()
    assert run.date_rules_queued == 1
    scheduler.tick()  # the reminder's message, queued by the rule run
    reminders = [t for t in _titles(service, "zhou.zong") if t.startswith("明天开始休假")]
    assert len(reminders) == 1
    sent = [m for m in mails(box) if m[2].startswith("明天开始休假")]
    assert len(sent) == 1 and sent[0][0] == ["zhou.zong@example.com"]
    assert "2026-01-06 至 2026-01-07，共 2 天" in sent[0][3]
    clock.set(2026, 1, 6, 9, 0, 30)
    scheduler.tick()
    scheduler.tick()
    assert len([t for t in _titles(service, "zhou.zong") if t.startswith("明天开始休假")]) == 1


def test_an_approved_purchase_request_makes_an_order_and_tells_the_requester(company, clock):
    service, scheduler, box = company
    supplier, product = _goods(service, "杭州茶叶")
    request = service.flows.submit(
        Actor("zhao.min"),
        "purchase",
        "purchase_request",
        {
            "supplier": supplier,
            "needed_by": "2026-02-01",
            "lines": [{"product": product, "qty": 4, "price": "250.00"}],
        },
    )
    _approve_all(service, "purchase", "purchase_request", request.id)
    orders = service.query_records(SYSTEM_ACTOR, "purchase", "purchase_order").items
    assert [(o.values["request"], str(o.values["total"])) for o in orders] == [
        (request.id, "1000.00")
    ]
    scheduler.tick()
    [told] = [t for t in _titles(service, "zhao.min") if t.startswith("采购申请已批准")]
    [mail] = [m for m in mails(box) if m[2].startswith("采购申请已批准")]
    assert mail[0] == ["zhao.min@example.com"] and "金额 ¥1000.00" in mail[3]


def test_the_nine_oclock_digest_counts_each_approvers_waiting_requests(company, clock):
    service, scheduler, _box = company
    supplier, product = _goods(service, "广州食品")
    scheduler.tick()  # 08:00: the digest is scheduled from now on
    submitted = []
    for qty, day in ((1, "2026-02-01"), (2, "2026-02-02")):
        submitted.append(
            service.flows.submit(
                Actor("wu.gang"),
                "purchase",
                "purchase_request",
                {
                    "supplier": supplier,
                    "needed_by": day,
                    "lines": [{"product": product, "qty": qty, "price": "10.00"}],
                },
            )
        )
    waiting: dict[str, int] = {}
    for instance in submitted:
        for task in service.flows.instance_of(
            SYSTEM_ACTOR, "purchase", "purchase_request", instance.id
        ).tasks:
            if task.status == "pending":
                waiting[task.assignee] = waiting.get(task.assignee, 0) + 1
    assert waiting  # someone waits on each request
    clock.set(2026, 1, 5, 9, 0, 10)
    run = scheduler.tick()
    assert run.cron_ran == ["rule:purchase.daily_digest"]
    scheduler.tick()
    for login, count in waiting.items():
        assert f"您有 {count} 项采购审批待处理" in _titles(service, login)
