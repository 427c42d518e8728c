"""Flow commands racing with real threads, on a SQLite file and on PostgreSQL.

Every flow command is one write transaction that locks its instance first (SQLite:
``BEGIN IMMEDIATE``; PostgreSQL: ``SELECT … FOR UPDATE`` on the instance row) and
re-reads the live tasks under the lock. Two people on one task, two approvers of one
或签 node, a timer against a person, two timer workers: each race has exactly one
outcome, and the loser is refused with who handled the task and when. Each race runs
many times (a ``threading.Barrier`` releases both sides together) and checks whichever
order the scheduler chose; over the rounds both orders occur on both databases.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.errors import FlowActionError
from tests.flows import _timers_support as support

at = support.at
flow_database = support.flow_database

#: races per test and database: enough to see both orders, small enough to stay quick
ROUNDS = 20
NOW = at(2026, 9, 30, 16)
SHOWN_NOW = "2026-09-30 16:00"

TWO_STEPS = """
- approval: first
  approvers: {user: alice}
- approval: second
  approvers: {user: bob}
"""

ONE_STEP = """
- approval: only
  approvers: {user: alice}
"""

OR_SIGN = """
- approval: either
  approvers: {user: [alice, bob]}
  mode: any
- approval: after
  approvers: {user: carol}
"""

ESCALATING = """
- approval: first
  approvers: {user: alice}
  timeout: {after: 1 hours, then: escalate}
- approval: second
  approvers: {user: bob}
"""

AUTO_APPROVING = """
- approval: first
  approvers: {user: alice}
  timeout: {after: 1 hours, then: approve}
- approval: second
  approvers: {user: bob}
"""


@pytest.fixture
def world_of(flow_database: str, tmp_path: Path):
    """``world_of(nodes)``: a Service on this test's database with the flow installed."""
    made: list[Any] = []

    def make(nodes: str) -> Any:
        world = support.make_world(flow_database, tmp_path / str(len(made)), nodes, now=NOW)
        made.append(world)
        return world

    yield make
    for world in made:
        world.service.close()


def race(*sides: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run each side in its own thread, released together; ("ok", result) or
    ("refused", FlowActionError) per side, in the order given. Anything else fails."""
    barrier = threading.Barrier(len(sides))
    results: list[tuple[str, Any] | None] = [None] * len(sides)

    def run(index: int, side: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[index] = ("ok", side())
        except FlowActionError as error:
            results[index] = ("refused", error)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = ("crashed", error)

    threads = [threading.Thread(target=run, args=(i, s)) for i, s in enumerate(sides)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(r is not None for r in results), "a side did not finish"
    crashed = [r for r in results if r is not None and r[0] == "crashed"]
    assert not crashed, crashed
    return [r for r in results if r is not None]


def snapshot(world: Any, instance_id: int) -> dict[str, Any]:
    """Everything a command could change about an instance."""
    return {
        "row": world.row(instance_id),
        "tasks": world.tasks(instance_id),
        "timeline": world.timeline(instance_id),
        "timers": world.timers(instance_id),
        "events": world.events(instance_id),
    }


def completed(world: Any, instance_id: int, task_id: int) -> list[dict[str, Any]]:
    return [e for e in world.events(instance_id, "task.completed") if e["task"] == task_id]


# -- one task, two threads ---------------------------------------------------------------------


def test_two_threads_approving_one_task_advance_the_instance_once(world_of):
    world = world_of(TWO_STEPS)
    for round_ in range(ROUNDS):
        locale = "en" if round_ % 2 else "zh-CN"
        instance_id = world.submit(f"r{round_}")
        (task_id,) = world.pending(instance_id, "alice")
        alice = world.actor("alice", locale)

        results = race(
            lambda a=alice, t=task_id: world.service.flows.approve(a, t, comment="first"),
            lambda a=alice, t=task_id: world.service.flows.approve(a, t, comment="second"),
        )

        kinds = [kind for kind, _ in results]
        assert sorted(kinds) == ["ok", "refused"], results
        winner = next(v for k, v in results if k == "ok")
        error = next(v for k, v in results if k == "refused")
        assert error.code == "task_handled"
        if locale == "en":
            assert f"already handled by alice at {SHOWN_NOW}" in str(error)
        else:
            assert f"该任务已由 alice 于 {SHOWN_NOW} 处理" in str(error)
        # the instance moved on exactly once
        assert winner.status == "approved"
        task = world.tasks(instance_id, id=task_id)[0]
        assert (task["status"], task["acted_by"], task["comment"]) == (
            "approved",
            "alice",
            winner.comment,
        )
        assert len(world.tasks(instance_id, node="second")) == 1
        assert world.pending(instance_id) == world.pending(instance_id, "bob")
        assert len(completed(world, instance_id, task_id)) == 1
        approvals = [e for e in world.timeline(instance_id) if e["action"] == "approve"]
        assert [e["task_id"] for e in approvals] == [task_id]
        assert world.row(instance_id)["status"] == "running"


def test_the_loser_on_the_last_node_hears_who_handled_the_task_not_that_the_flow_ended(
    world_of,
):
    world = world_of(ONE_STEP)
    for round_ in range(ROUNDS // 2):
        instance_id = world.submit(f"r{round_}")
        (task_id,) = world.pending(instance_id, "alice")
        alice = world.actor("alice", "en")

        results = race(
            lambda a=alice, t=task_id: world.service.flows.approve(a, t),
            lambda a=alice, t=task_id: world.service.flows.approve(a, t),
        )

        assert sorted(k for k, _ in results) == ["ok", "refused"]
        error = next(v for k, v in results if k == "refused")
        assert error.code == "task_handled"
        assert f"already handled by alice at {SHOWN_NOW} (approved)" in str(error)
        assert world.row(instance_id)["status"] == "approved"
        assert len(world.events(instance_id, "flow.approved")) == 1
        assert len(completed(world, instance_id, task_id)) == 1


# -- 或签: two approvers of one node -------------------------------------------------------------


@pytest.mark.parametrize("bob_does", ["reject", "approve"])
def test_two_approvers_of_an_or_sign_node_get_one_outcome(world_of, bob_does):
    world = world_of(OR_SIGN)
    for round_ in range(ROUNDS):
        instance_id = world.submit(f"r{round_}")
        (alice_task,) = world.pending(instance_id, "alice")
        (bob_task,) = world.pending(instance_id, "bob")
        bob_action = getattr(world.service.flows, bob_does)

        results = race(
            lambda t=alice_task: world.service.flows.approve(world.actor("alice"), t),
            lambda act=bob_action, t=bob_task: act(world.actor("bob", "en"), t),
        )

        kinds = [k for k, _ in results]
        assert sorted(kinds) == ["ok", "refused"], results
        alice_won = kinds[0] == "ok"
        winner, loser = ("alice", "bob") if alice_won else ("bob", "alice")
        winner_task, loser_task = (alice_task, bob_task) if alice_won else (bob_task, alice_task)
        winner_outcome = "approved" if alice_won or bob_does == "approve" else "rejected"
        error = next(v for k, v in results if k == "refused")
        assert error.code == "task_handled"
        # the loser hears who decided the node: bob reads English, alice Chinese
        if alice_won:
            assert str(error) == f"already handled by alice at {SHOWN_NOW} (approved)"
        else:
            assert f"该任务已由 bob 于 {SHOWN_NOW} 处理" in str(error)

        tasks = {t["id"]: t for t in world.tasks(instance_id, node="either")}
        assert (tasks[winner_task]["status"], tasks[winner_task]["acted_by"]) == (
            winner_outcome,
            winner,
        )
        assert tasks[loser_task]["status"] == "not_needed"
        assert tasks[loser_task]["acted_by"] is None
        assert not tasks[loser_task]["live"]
        outcomes = [
            e["outcome"]
            for e in world.events(instance_id, "task.completed")
            if e["node"] == "either"
        ]
        assert outcomes == [winner_outcome]
        after = world.tasks(instance_id, node="after")
        if winner_outcome == "approved":
            assert world.row(instance_id)["status"] == "running"
            assert [(t["assignee"], t["status"]) for t in after] == [("carol", "pending")]
        else:
            assert world.row(instance_id)["status"] == "rejected"
            assert after == []
        assert loser not in {t["acted_by"] for t in world.tasks(instance_id)}


# -- the same action again --------------------------------------------------------------------


@pytest.mark.parametrize("again", ["approve", "reject", "send_back", "transfer"])
def test_a_repeated_action_is_refused_and_changes_nothing(world_of, again):
    world = world_of(TWO_STEPS)
    instance_id = world.submit()
    (task_id,) = world.pending(instance_id, "alice")
    alice = world.actor("alice", "en")
    world.service.flows.approve(alice, task_id, comment="ok")
    before = snapshot(world, instance_id)

    arguments: dict[str, Any] = {"transfer": {"to": "zed"}}.get(again, {})
    with pytest.raises(FlowActionError) as refused:
        getattr(world.service.flows, again)(alice, task_id, **arguments)

    assert refused.value.code == "task_handled"
    assert str(refused.value) == f"already handled by alice at {SHOWN_NOW} (approved)"
    assert snapshot(world, instance_id) == before
    # and in Chinese
    with pytest.raises(FlowActionError, match=f"该任务已由 alice 于 {SHOWN_NOW} 处理"):
        world.service.flows.approve(world.actor("alice"), task_id)
    assert snapshot(world, instance_id) == before


# -- a timer against a person -----------------------------------------------------------------


def test_a_timeout_escalation_racing_an_approval_has_one_outcome(world_of):
    world = world_of(ESCALATING)
    due = at(2026, 9, 30, 17)
    for round_ in range(ROUNDS):
        instance_id = world.submit(f"r{round_}")
        (task_id,) = world.pending(instance_id, "alice")
        (timer,) = world.timers(instance_id, kind="timeout", state="pending")
        assert timer["due_at"] == due

        results = race(
            lambda t=timer["id"]: world.service.flows.fire_timer(int(t), now=due),
            lambda t=task_id: world.service.flows.approve(world.actor("alice", "en"), t),
        )

        (fire_kind, fired), (approve_kind, approved) = results
        assert fire_kind == "ok", results
        task = world.tasks(instance_id, id=task_id)[0]
        lead_tasks = world.tasks(instance_id, assignee="lead")
        if approve_kind == "ok":
            # the approval left the node: its timer was cancelled and does nothing
            assert fired is False
            assert (task["status"], task["acted_by"]) == ("approved", "alice")
            assert lead_tasks == []
            assert world.events(instance_id, "node.timeout") == []
            assert world.timers(instance_id, id=timer["id"])[0]["state"] == "cancelled"
            assert world.pending(instance_id) == world.pending(instance_id, "bob")
        else:
            assert fired is True
            assert approved.code == "task_handled"
            assert f"already handled by system at {SHOWN_NOW[:11]}17:00 (transferred)" in str(
                approved
            )
            assert (task["status"], task["acted_by"]) == ("transferred", "system")
            assert [(t["status"], t["node"]) for t in lead_tasks] == [("pending", "first")]
            assert len(world.events(instance_id, "node.timeout")) == 1
            assert world.timers(instance_id, id=timer["id"])[0]["state"] == "fired"
            assert world.tasks(instance_id, node="second") == []
        assert len(completed(world, instance_id, task_id)) == 1


def test_a_timeout_auto_approval_racing_a_rejection_has_one_outcome(world_of):
    world = world_of(AUTO_APPROVING)
    due = at(2026, 9, 30, 17)
    for round_ in range(ROUNDS // 2):
        instance_id = world.submit(f"r{round_}")
        (task_id,) = world.pending(instance_id, "alice")
        (timer,) = world.timers(instance_id, kind="timeout", state="pending")

        results = race(
            lambda t=timer["id"]: world.service.flows.fire_timer(int(t), now=due),
            lambda t=task_id: world.service.flows.reject(world.actor("alice"), t),
        )

        (_, fired), (reject_kind, _) = results
        task = world.tasks(instance_id, id=task_id)[0]
        status = world.row(instance_id)["status"]
        if reject_kind == "ok":
            assert fired is False
            assert (status, task["status"], task["acted_by"]) == ("rejected", "rejected", "alice")
        else:
            assert fired is True
            assert (status, task["status"], task["acted_by"]) == ("running", "approved", "system")
            assert task["auto"]
            assert world.pending(instance_id) == world.pending(instance_id, "bob")
        assert len(completed(world, instance_id, task_id)) == 1


def test_two_workers_firing_the_same_due_timers_act_once(world_of):
    world = world_of(ESCALATING)
    due = at(2026, 9, 30, 17)
    instances = [world.submit(f"r{i}") for i in range(8)]

    runs = race(
        lambda: world.service.flows.fire_timers(due),
        lambda: world.service.flows.fire_timers(due),
    )

    fired = [run for _, run in runs]
    assert sum(r.fired for r in fired) == len(instances)
    assert all(not r.failed for r in fired)
    for instance_id in instances:
        assert len(world.events(instance_id, "node.timeout")) == 1
        assert [t["assignee"] for t in world.tasks(instance_id, status="pending")] == ["lead"]
        assert [t["state"] for t in world.timers(instance_id)] == ["fired"]
