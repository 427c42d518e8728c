"""The example apps' flows with the example organisation (examples/org.yaml): concrete
people, concrete outcomes, on SQLite and PostgreSQL.

Leave (examples/leave_request/flows/leave_approval.yaml): up to 3 days the direct
manager decides; longer leave then goes to the department head and HR together (会签);
HR is copied; a manager who does not act in 24 working hours is reminded every 8 and
then escalated. Purchase (examples/purchase_request/flows/purchase_approval.yaml): the
manager, then finance 或签 (the two payables approvers) for ¥50,000 or more and legal for
contracts, in parallel; purchasing is copied.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.definitions import load_app
from engine.errors import FlowActionError
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SHANGHAI = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@pytest.fixture
def service(make_service, clock):
    clock.set(2026, 12, 7, 10, 0)  # a Monday
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    service.calendar.seed(SYSTEM_ACTOR, [2026])
    roles = {"purchasing": "sales_ops", "finance": "payables"}
    service.install_app(Actor("admin"), load_app(EXAMPLES / "leave_request"))
    service.install_app(Actor("admin"), load_app(EXAMPLES / "purchase_request"), role_map=roles)
    return service


def _leave(service, who: str, first: str, last: str):
    data = {"leave_type": "annual", "start_date": first, "end_date": last, "reason": "家里有事"}
    record = service.flows.submit(Actor(who), "leave", "leave_request", data)
    return service.flows.instance_of(Actor("admin"), "leave", "leave_request", record.id)


def _pending(service, instance_id: int, app: str = "leave") -> dict[str, int]:
    view = service.flows.instance(Actor("admin"), app, instance_id)
    return {t.assignee: t.id for t in view.tasks if t.status == "pending"}


def test_two_days_of_leave_need_only_the_direct_leader(service):
    inst = _leave(service, "wu.gang", "2026-12-14", "2026-12-15")
    # wu.gang's direct leader sun.li replaces his department's manager li.ming
    assert _pending(service, inst.id) == {"sun.li": _pending(service, inst.id)["sun.li"]}
    task = service.flows.tasks(Actor("sun.li")).items[0]
    assert (task.node_name, task.reason["source"]) == (
        "直属主管审批",
        "manager level 1 of the submitter",
    )
    service.flows.approve(Actor("sun.li"), task.id, comment="同意")

    view = service.flows.instance(Actor("wu.gang"), "leave", inst.id)
    assert (view.status, view.record_status) == ("approved", "approved")
    assert [(t.node, t.assignee, t.status) for t in view.tasks] == [
        ("manager", "sun.li", "approved"),
        ("notify_hr", "song.jia", "cc"),
    ]
    [route] = view.routes
    assert route["evaluated"][0] == {
        "branch": 0,
        "when": "days > 3",
        "result": False,
        "values": {"days": 2},
    }
    record = service.get_record(Actor("wu.gang"), "leave", "leave_request", view.record_id)
    assert record.status == "approved"


def test_five_days_go_to_the_department_head_and_hr_together(service):
    inst = _leave(service, "wu.gang", "2026-12-14", "2026-12-18")
    service.flows.approve(Actor("sun.li"), _pending(service, inst.id)["sun.li"])
    # 会签: chen.xiao (level 2 above wu.gang) and song.jia (HR) both must approve
    both = _pending(service, inst.id)
    assert set(both) == {"chen.xiao", "song.jia"}
    service.flows.approve(Actor("chen.xiao"), both["chen.xiao"], comment="可以")
    assert service.flows.instance(Actor("admin"), "leave", inst.id).status == "running"
    with pytest.raises(FlowActionError, match="审批意见"):
        service.flows.reject(Actor("song.jia"), both["song.jia"])  # comment required
    service.flows.reject(Actor("song.jia"), both["song.jia"], comment="年假余额不足")

    view = service.flows.instance(Actor("wu.gang"), "leave", inst.id)
    assert (view.status, view.record_status) == ("rejected", "rejected")
    assert [e.action for e in view.timeline][-2:] == ["reject", "rejected"]
    assert not [t for t in view.tasks if t.node == "notify_hr"]  # no copy of a rejection


def test_hr_sends_back_to_the_submitter_and_the_resubmission_returns_to_hr(service):
    inst = _leave(service, "wu.gang", "2026-12-14", "2026-12-18")
    service.flows.approve(Actor("sun.li"), _pending(service, inst.id)["sun.li"])
    both = _pending(service, inst.id)
    service.flows.approve(Actor("chen.xiao"), both["chen.xiao"])
    service.flows.send_back(Actor("song.jia"), both["song.jia"], to="start", comment="请补充事由")
    view = service.flows.instance(Actor("wu.gang"), "leave", inst.id)
    assert (view.status, view.record_status) == ("sent_back", "sent_back")

    service.flows.resubmit(Actor("wu.gang"), "leave", inst.id, changes={"reason": "家里老人住院"})
    # resubmit: return (the node's setting): straight back to the 会签 node, the direct
    # leader does not approve again
    again = _pending(service, inst.id)
    assert set(again) == {"chen.xiao", "song.jia"}
    for login, task_id in again.items():
        service.flows.approve(Actor(login), task_id)
    view = service.flows.instance(Actor("wu.gang"), "leave", inst.id)
    assert (view.status, view.cycle) == ("approved", 2)
    history = service.record_history(Actor("admin"), "leave", "leave_request", view.record_id)
    assert history[-1].actor == "wu.gang" and history[-1].changes["reason"]["new"] == "家里老人住院"


def test_a_manager_who_does_not_act_is_reminded_then_escalated(service, clock):
    inst = _leave(service, "wu.gang", "2026-12-14", "2026-12-15")  # Monday 10:00
    timers = {
        t["kind"]: t["due_at"] for t in service.flows.due_timers(clock.now + timedelta(days=30))
    }
    # 24 working hours on 09:00-12:00 and 13:00-18:00: Monday 10:00 + 3 working days
    assert timers == {
        "timeout": datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI),
        "remind": datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI),
    }
    reminded = service.flows.fire_timers(datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))
    assert (reminded.fired, reminded.failed) == (1, [])
    escalated = service.flows.fire_timers(datetime(2026, 12, 10, 10, 0, tzinfo=SHANGHAI))
    assert escalated.fired == 2  # the second reminder (Dec 9 10:00) and the timeout
    # sun.li's own manager: li.ming manages 华东销售部
    assert set(_pending(service, inst.id)) == {"li.ming"}
    view = service.flows.instance(Actor("admin"), "leave", inst.id)
    moved = [t for t in view.tasks if t.assignee == "sun.li"][0]
    assert (moved.status, moved.acted_by) == ("transferred", "system")


def _purchase(service, total_qty: int, contract: bool):
    admin = Actor("admin")
    supplier = service.create_record(admin, "purchase", "supplier", {"name": "杭州云栖包装"})
    product = service.create_record(
        admin, "purchase", "product", {"sku": "DESK", "name": "办公桌", "price": "500.00"}
    )
    data = {
        "supplier": supplier.id,
        "needed_by": "2026-12-31",
        "lines": [{"product": product.id, "qty": total_qty}],
        "contract": contract,
    }
    record = service.flows.submit(Actor("ma.lan"), "purchase", "purchase_request", data)
    return service.flows.instance_of(admin, "purchase", "purchase_request", record.id)


def test_a_small_purchase_needs_only_the_manager(service):
    inst = _purchase(service, 4, contract=False)  # ¥2,000
    assert set(_pending(service, inst.id, "purchase")) == {"he.jing"}
    service.flows.approve(Actor("he.jing"), _pending(service, inst.id, "purchase")["he.jing"])
    view = service.flows.instance(Actor("ma.lan"), "purchase", inst.id)
    assert view.status == "approved"
    assert [(t.assignee, t.status) for t in view.tasks if t.node == "notify_purchasing"] == [
        ("ma.lan", "cc")
    ]


def test_a_large_contract_purchase_goes_to_finance_and_legal_in_parallel(service):
    inst = _purchase(service, 100, contract=True)  # ¥50,000.00 exactly
    service.flows.approve(Actor("he.jing"), _pending(service, inst.id, "purchase")["he.jing"])
    both = _pending(service, inst.id, "purchase")
    assert set(both) == {"zhao.min", "qian.li", "lu.fa"}
    # 或签: qian.li decides for finance, zhao.min's task is no longer needed
    service.flows.approve(Actor("qian.li"), both["qian.li"], comment="预算内")
    statuses = {
        t.assignee: t.status
        for t in service.flows.instance(Actor("admin"), "purchase", inst.id).tasks
        if t.node == "finance"
    }
    assert statuses == {"zhao.min": "not_needed", "qian.li": "approved"}
    assert service.flows.instance(Actor("admin"), "purchase", inst.id).status == "running"
    with pytest.raises(FlowActionError, match="qian.li"):
        service.flows.approve(Actor("zhao.min"), both["zhao.min"])
    service.flows.approve(Actor("lu.fa"), both["lu.fa"])
    view = service.flows.instance(Actor("ma.lan"), "purchase", inst.id)
    assert (view.status, view.record_status) == ("approved", "approved")
    [route] = view.routes
    assert route["chosen"] == [0, 1]


def test_finance_rejects_a_large_purchase_and_legal_is_no_longer_needed(service):
    inst = _purchase(service, 100, contract=True)
    service.flows.approve(Actor("he.jing"), _pending(service, inst.id, "purchase")["he.jing"])
    both = _pending(service, inst.id, "purchase")
    service.flows.reject(Actor("zhao.min"), both["zhao.min"], comment="超预算")
    view = service.flows.instance(Actor("ma.lan"), "purchase", inst.id)
    assert view.status == "rejected"
    legal = [t.status for t in view.tasks if t.node == "legal"]
    assert legal == ["not_needed"]


def test_the_finance_approver_moves_the_date_needed_with_a_revision(service):
    inst = _purchase(service, 100, contract=False)
    service.flows.approve(Actor("he.jing"), _pending(service, inst.id, "purchase")["he.jing"])
    task_id = _pending(service, inst.id, "purchase")["zhao.min"]
    service.flows.approve(Actor("zhao.min"), task_id, changes={"needed_by": "2027-01-15"})
    record = service.get_record(Actor("admin"), "purchase", "purchase_request", inst.record_id)
    assert str(record.values["needed_by"]) == "2027-01-15"
    history = service.record_history(Actor("admin"), "purchase", "purchase_request", inst.record_id)
    assert (history[-1].actor, sorted(history[-1].changes)) == ("zhao.min", ["needed_by"])
