"""End-to-end scenarios on SQLite and on PostgreSQL: a dealer request through managers,
the organisation's regions and the dealer's own people; the outbox events of every
command, written in the command's transaction; who sees which instance; the inbox;
batch approval; simulation that writes nothing."""

from __future__ import annotations

import pytest

from engine.errors import FlowActionError, NotFoundError
from tests.flows.conftest import BOTH_ENGINES, as_

pytestmark = BOTH_ENGINES

DEALER_FLOW = """
- approval: lead
  name: {zh-CN: 直属主管, en: Team lead}
  approvers: {manager: 1}
  comment: reject
- branches:
    - name: {zh-CN: 大额, en: Large}
      when: "amount >= 10000"
      nodes:
        - approval: region
          approvers: [{path: dealer.region.manager}, {path: dealer.region.parent.manager}]
          mode: all
    - otherwise: []
  key: size
- approval: dealer_confirms
  approvers: {dealer_users: dealer}
  fields: {hidden: [note]}
- cc: copy_finance
  to: {role: finance}
"""

ADMIN = as_("admin")


@pytest.fixture
def dealer_world(world):
    world.install(DEALER_FLOW)
    return world


def test_a_large_dealer_request_from_submit_to_approval(dealer_world):
    world = dealer_world
    inst = world.submit("xiao", amount=25000, dealer="DL-HZ", note="margin 12%")
    assert set(world.pending(inst.id)) == {"wang"}
    world.approve(inst.id, "wang", comment="ok")

    (route,) = world.instance(inst.id).routes
    assert route["evaluated"][0]["values"] == {"amount": 25000}
    assert route["chosen"] == [0] and route["name"] == "size"
    region = {t.assignee: t.reason for t in world.instance(inst.id).tasks if t.node == "region"}
    assert region == {
        "qian.hao": {"source": "path dealer.region.manager"},
        "sun": {"source": "path dealer.region.parent.manager"},
    }
    world.approve(inst.id, "qian.hao")
    assert world.instance(inst.id).active_nodes == ["region"]  # 会签: sun too
    world.approve(inst.id, "sun")

    # the dealer's own people confirm: external participants
    assert set(world.pending(inst.id)) == {"hz.boss", "hz.sales"}
    inbox = world.flows.tasks(as_("hz.boss"))
    assert [(t.node, t.assignee, t.submitter, t.title) for t in inbox.items] == [
        ("dealer_confirms", "hz.boss", "xiao", "request of xiao")
    ]
    detail = world.flows.task(as_("hz.boss"), inbox.items[0].id)
    assert "note" not in detail.values and detail.values["amount"] == 25000
    world.flows.approve(as_("hz.boss"), inbox.items[0].id)

    view = world.instance(inst.id)
    assert (view.status, view.record_status) == ("approved", "approved")
    assert world.record(inst.id).status == "approved"
    assert sorted(t.assignee for t in view.tasks if t.status == "cc") == ["feng", "qian", "zhao"]
    assert world.statuses(inst.id, "dealer_confirms") == {
        "hz.boss": "approved",
        "hz.sales": "not_needed",
    }
    decisions = [
        (a, n, who) for a, n, who in world.actions(inst.id) if a in ("approve", "route", "cc")
    ]
    assert decisions == [
        ("approve", "lead", "wang"),
        ("route", "size", "system"),
        ("approve", "region", "qian.hao"),
        ("approve", "region", "sun"),
        ("approve", "dealer_confirms", "hz.boss"),
        ("cc", "copy_finance", "system"),
    ]


def test_a_small_request_skips_the_region(dealer_world):
    world = dealer_world
    inst = world.submit("xiao", amount=500, dealer="DL-GD")
    world.approve(inst.id, "wang")
    assert set(world.pending(inst.id)) == {"gz.boss"}


def test_the_outbox_gets_every_flow_event_of_every_command(dealer_world):
    world = dealer_world
    inst = world.submit("xiao", amount=500, dealer="DL-GD")
    assert [(t, p.get("node"), p.get("assignee")) for t, p in world.events(inst.id)] == [
        ("flow.started", None, None),
        ("task.created", "lead", "wang"),
    ]
    world.approve(inst.id, "wang")
    world.approve(inst.id, "gz.boss")
    topics = [
        (t, p.get("node"), p.get("assignee"), p.get("outcome"), p["actor"])
        for t, p in world.events(inst.id)
    ]
    assert topics == [
        ("flow.started", None, None, None, "xiao"),
        ("task.created", "lead", "wang", None, "xiao"),
        ("task.completed", "lead", "wang", "approved", "wang"),
        ("task.created", "dealer_confirms", "gz.boss", None, "wang"),
        ("task.completed", "dealer_confirms", "gz.boss", "approved", "gz.boss"),
        # copies are announced to their holders too (kind "cc")
        ("task.created", "copy_finance", "feng", None, "gz.boss"),
        ("task.created", "copy_finance", "qian", None, "gz.boss"),
        ("task.created", "copy_finance", "zhao", None, "gz.boss"),
        ("flow.approved", None, None, None, "system"),
    ]
    kinds = {p["assignee"]: p["kind"] for t, p in world.events(inst.id) if t == "task.created"}
    assert kinds == {
        "wang": "approval",
        "gz.boss": "approval",
        "feng": "cc",
        "qian": "cc",
        "zhao": "cc",
    }
    for _topic, payload in world.events(inst.id):
        assert (payload["app"], payload["form"], payload["id"], payload["flow"]) == (
            "t",
            "request",
            inst.record_id,
            "approval",
        )

    rejected = world.submit("xiao", amount=500, dealer="DL-GD")
    world.reject(rejected.id, "wang", comment="no stock")
    assert [t for t, _ in world.events(rejected.id)][-2:] == ["task.completed", "flow.rejected"]
    sent = world.submit("xiao", amount=500, dealer="DL-GD")
    world.send_back(sent.id, "wang", to="start")
    assert [(t, p.get("to")) for t, p in world.events(sent.id)][-2:] == [
        ("task.completed", None),
        ("flow.sent_back", "start"),
    ]
    world.flows.resubmit(as_("xiao"), "t", sent.id)
    assert [(t, p.get("resubmitted")) for t, p in world.events(sent.id)][-2:] == [
        ("flow.started", True),
        ("task.created", None),
    ]
    withdrawn = world.submit("xiao", amount=500, dealer="DL-GD")
    world.flows.withdraw(as_("xiao"), "t", withdrawn.id)
    assert [t for t, _ in world.events(withdrawn.id)][-1] == "flow.withdrawn"

    # consumers claim them like any other event
    claimed = world.service.events.claim(ADMIN, "notifier", limit=1000)
    assert {"flow.started", "task.created", "flow.approved", "flow.rejected"} <= {
        e.topic for e in claimed
    }


def test_events_are_written_in_the_commands_transaction(dealer_world):
    world = dealer_world
    world.install(DEALER_FLOW.replace("  comment: reject\n", "  fields: {editable: [amount]}\n"))
    inst = world.submit("xiao", amount=500, dealer="DL-GD")
    task = world.task_of(inst.id, "wang")
    before = world.counts(["outbox", "flow_timeline", "record_revisions"])

    def fail_on_update(ctx, change):
        if change.topic == "record.updated":
            raise NotFoundError("the ERP is down")

    world.service.hooks.add("after_write", fail_on_update)
    with pytest.raises(NotFoundError, match="the ERP is down"):
        world.flows.approve(as_("wang"), task, changes={"amount": 600})
    # the approval, its events and the edit went back together
    assert world.counts(["outbox", "flow_timeline", "record_revisions"]) == before
    assert world.statuses(inst.id, "lead") == {"wang": "pending"}

    with pytest.raises(FlowActionError):
        world.flows.approve(as_("li"), task)  # refused: nothing written either
    assert world.counts(["outbox", "flow_timeline", "record_revisions"]) == before


def test_who_sees_an_instance(dealer_world):
    world = dealer_world
    hz = world.submit("xiao", amount=500, dealer="DL-HZ")
    gd = world.submit("xiao", amount=500, dealer="DL-GD")
    for inst in (hz, gd):
        world.approve(inst.id, "wang")

    # a participant (the dealer user holds a task), the submitter, a former task holder
    for login in ("hz.boss", "xiao", "wang"):
        assert world.flows.instance(as_(login), "t", hz.id).id == hz.id
    # someone who may read the record: finance reads every request (and holds no task)
    assert world.flows.instance(as_("zhao"), "t", hz.id).status == "running"
    # everyone else: as if there were no such instance
    for login, inst in (
        ("gz.boss", hz),
        ("hz.boss", gd),
        ("yh.boss", hz),
        ("outsider", hz),
        ("li", hz),
    ):
        with pytest.raises(FlowActionError, match=rf"^there is no flow instance {inst.id}$"):
            world.flows.instance(as_(login), "t", inst.id)
    with pytest.raises(FlowActionError, match=r"^there is no flow instance 999$"):
        world.flows.instance(ADMIN, "t", 999)
    with pytest.raises(FlowActionError, match=rf"^there is no flow instance {hz.id}$"):
        world.flows.instance(as_("gz.boss"), "t", hz.id)
    with pytest.raises(FlowActionError):
        world.flows.task(as_("gz.boss"), world.task_of(hz.id, "hz.boss"))
    # the dealer user's inbox has their own dealer's task only
    assert [t.instance_id for t in world.flows.tasks(as_("hz.boss")).items] == [hz.id]
    assert [t.instance_id for t in world.flows.tasks(as_("gz.boss")).items] == [gd.id]


def test_the_inbox_lists_only_the_actors_tasks(dealer_world):
    world = dealer_world
    first = world.submit("xiao", amount=500, dealer="DL-GD")
    second = world.submit("wu", amount=500, dealer="DL-GD")  # wu's lead is sun
    third = world.submit("xiao", amount=500, dealer="DL-GD")
    pending = world.flows.tasks(as_("wang"))
    assert pending.total == 2
    assert [(t.instance_id, t.assignee, t.status) for t in pending.items] == [
        (third.id, "wang", "pending"),
        (first.id, "wang", "pending"),
    ]
    assert [t.instance_id for t in world.flows.tasks(as_("sun")).items] == [second.id]
    world.approve(first.id, "wang", comment="fine")
    done = world.flows.tasks(as_("wang"), status="done")
    assert [(t.instance_id, t.status, t.acted_by, t.comment) for t in done.items] == [
        (first.id, "approved", "wang", "fine")
    ]
    assert world.flows.tasks(as_("wang")).total == 1
    assert world.flows.tasks(as_("outsider")).total == 0


def test_batch_approve_reports_each_task(dealer_world, clock):
    world = dealer_world
    insts = [world.submit("xiao", amount=500, dealer="DL-GD") for _ in range(3)]
    tasks = [world.task_of(i.id, "wang") for i in insts]
    clock.set(2026, 1, 5, 11, 0)
    world.flows.approve(as_("wang"), tasks[1])
    clock.set(2026, 1, 5, 12, 0)
    other = world.submit("wu", amount=500, dealer="DL-GD")
    results = world.flows.batch_approve(
        as_("wang"), [tasks[0], tasks[1], world.task_of(other.id, "sun"), tasks[2]], comment="batch"
    )
    assert [(r.task_id, r.ok, r.error) for r in results] == [
        (tasks[0], True, None),
        (tasks[1], False, "already handled by wang at 2026-01-05 11:00 (approved)"),
        (world.task_of(other.id, "sun"), False, "this task belongs to sun, not to you"),
        (tasks[2], True, None),
    ]
    for inst in insts:
        assert set(world.pending(inst.id)) == {"gz.boss"}
    assert world.statuses(other.id, "lead") == {"sun": "pending"}


FLOW_TABLES = [
    "f_t_request",
    "record_revisions",
    "audit_log",
    "outbox",
    "flow_instances",
    "flow_tasks",
    "flow_timeline",
    "flow_snapshots",
    "flow_timers",
]


def test_simulation_shows_the_path_with_people_and_reasons_and_writes_nothing(dealer_world):
    world = dealer_world
    before = world.counts(FLOW_TABLES)
    sim = world.flows.simulate(
        as_("xiao", "zh-CN"),
        "t",
        "request",
        {"subject": "plan", "amount": 20000, "dealer": "DL-HZ"},
    )
    assert world.counts(FLOW_TABLES) == before
    assert (sim.flow, sim.outcome) == ("approval", "approved")
    assert [(s.node, s.kind, s.name) for s in sim.path] == [
        ("lead", "approval", "直属主管"),
        ("size", "branches", "size"),
        ("region", "approval", "region"),
        ("dealer_confirms", "approval", "dealer_confirms"),
        ("copy_finance", "cc", "copy_finance"),
    ]
    lead, size, region, confirm, copy = sim.path
    assert lead.people == [
        {"login": "wang", "reason": {"source": "manager level 1 of the submitter"}}
    ]
    assert size.detail["chosen"] == [0]
    assert size.detail["evaluated"][0]["values"] == {"amount": 20000}
    assert [p["login"] for p in region.people] == ["qian.hao", "sun"]
    assert [p["login"] for p in confirm.people] == ["hz.boss", "hz.sales"]
    assert [p["login"] for p in copy.people] == ["feng", "qian", "zhao"]

    # as someone else, in English, a small amount: no region node
    small = world.flows.simulate(
        as_("admin"),
        "t",
        "request",
        {"subject": "x", "amount": 1, "dealer": "DL-GD"},
        submitter="wu",
    )
    assert [s.node for s in small.path] == ["lead", "size", "dealer_confirms", "copy_finance"]
    assert small.path[0].people == [
        {"login": "sun", "reason": {"source": "manager level 1 of the submitter"}}
    ]
    assert small.path[0].name == "Team lead"
    assert world.counts(FLOW_TABLES) == before
