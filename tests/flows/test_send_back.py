"""Send back (退回): to the previous node, to the submitter, to a named node; how the
flow continues afterwards (``resubmit: rerun`` runs every node after the target again,
``return`` jumps straight back to the node that sent it back); cycles and snapshots;
sending back inside one branch of a parallel gateway."""

from __future__ import annotations

import json

import pytest

from engine.errors import FlowActionError
from tests.flows.conftest import as_

THREE = """
- approval: lead
  approvers: {manager: 1}
- approval: head
  approvers: {manager: 2}
- approval: finance
  approvers: {user: zhao}
  send_back: {to: [previous, start, lead], resubmit: RESUBMIT}
"""


def _three(world, resubmit="rerun"):
    world.install(THREE.replace("RESUBMIT", resubmit))
    inst = world.submit("xiao", amount=500)
    world.approve(inst.id, "wang")
    world.approve(inst.id, "li")
    return inst


def _snapshots(world, instance_id):
    out = []
    for cycle, data, version in world.rows(
        "select cycle, data, record_version from flow_snapshots where instance_id = :i"
        " order by cycle",
        i=instance_id,
    ):
        data = json.loads(data) if isinstance(data, str) else data
        out.append((cycle, data["amount"], version))
    return out


def test_send_back_to_the_previous_node_reruns_from_there(world):
    inst = _three(world)
    world.send_back(inst.id, "zhao", to="previous", comment="which cost centre?")
    view = world.instance(inst.id)
    assert (view.status, view.record_status, view.active_nodes) == (
        "running",
        "in_approval",
        ["head"],
    )
    assert world.statuses(inst.id, "finance") == {"zhao": "sent_back"}
    assert world.statuses(inst.id, "head") == {"li": "pending"}  # head entered again
    entry = next(e for e in view.timeline if e.action == "send_back")
    assert (entry.actor, entry.node, entry.comment, entry.detail) == (
        "zhao",
        "finance",
        "which cost centre?",
        {"to": "head"},
    )
    world.approve(inst.id, "li")
    assert world.statuses(inst.id, "finance") == {"zhao": "pending"}  # rerun: finance again
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).status == "approved"


def test_send_back_to_a_named_earlier_node_reruns_every_node_after_it(world):
    inst = _three(world)
    world.send_back(inst.id, "zhao", to="lead")
    assert world.pending(inst.id).keys() == {"wang"}
    world.approve(inst.id, "wang")
    assert world.pending(inst.id).keys() == {"li"}  # rerun: head runs again
    world.approve(inst.id, "li")
    assert world.pending(inst.id).keys() == {"zhao"}


def test_resubmit_return_jumps_back_to_the_node_that_sent_it_back(world):
    inst = _three(world, "return")
    world.send_back(inst.id, "zhao", to="lead")
    world.approve(inst.id, "wang")
    assert world.pending(inst.id).keys() == {"zhao"}  # head is not asked again
    assert [t.node for t in world.instance(inst.id).tasks].count("head") == 1
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).status == "approved"


def test_send_back_to_the_submitter_then_resubmit_with_changes_starts_a_new_cycle(world):
    inst = _three(world)
    world.send_back(inst.id, "zhao", to="start", comment="attach the quote")
    view = world.instance(inst.id)
    assert (view.status, view.record_status, view.active_nodes) == ("sent_back", "sent_back", [])
    assert world.record(inst.id).status == "sent_back"
    assert world.flows.tasks(as_("zhao")).total == 0

    view = world.flows.resubmit(as_("xiao"), "t", inst.id, changes={"amount": 300})
    assert (view.status, view.record_status, view.cycle) == ("running", "in_approval", 2)
    assert world.pending(inst.id).keys() == {"wang"}  # rerun: from the first node
    assert world.record(inst.id).values["amount"] == 300
    # one snapshot per cycle: as submitted, and as resubmitted
    assert _snapshots(world, inst.id) == [(1, 500, 1), (2, 300, 2)]
    cycles = {(e.action, e.cycle) for e in view.timeline if e.action in ("submit", "resubmit")}
    assert cycles == {("submit", 1), ("resubmit", 2)}
    history = world.service.record_history(as_("admin"), "t", "request", view.record_id)
    assert [(r.actor, r.changes.get("amount")) for r in history][-1] == (
        "xiao",
        {"old": 500, "new": 300},
    )
    # the second cycle runs the whole flow again
    for login in ("wang", "li", "zhao"):
        world.approve(inst.id, login)
    assert world.instance(inst.id).status == "approved"


def test_resubmit_return_from_the_submitter_goes_straight_to_the_sender(world):
    inst = _three(world, "return")
    world.send_back(inst.id, "zhao", to="start")
    world.flows.resubmit(as_("xiao"), "t", inst.id)
    assert world.pending(inst.id).keys() == {"zhao"}
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).status == "approved"


def test_the_submitter_may_withdraw_a_request_sent_back_to_them(world):
    inst = _three(world)
    world.send_back(inst.id, "zhao", to="start")
    assert world.flows.withdraw(as_("xiao"), "t", inst.id).status == "withdrawn"


def test_previous_from_the_first_node_is_the_submitter(world):
    world.install(THREE.replace("RESUBMIT", "rerun"))
    inst = world.submit("xiao")
    world.send_back(inst.id, "wang", to="previous")
    assert world.instance(inst.id).status == "sent_back"


def test_an_already_sent_back_task_cannot_send_back_again(world, clock):
    inst = _three(world)
    task = world.task_of(inst.id, "zhao")
    clock.set(2026, 1, 5, 16, 45)
    world.flows.send_back(as_("zhao"), task, to="previous")
    with pytest.raises(
        FlowActionError, match=r"^already handled by zhao at 2026-01-05 16:45 \(sent back\)$"
    ):
        world.flows.send_back(as_("zhao"), task, to="previous")


BRANCH_SEND_BACK = """
- approval: lead
  approvers: {manager: 1}
- parallel:
    - nodes:
        - approval: budget
          approvers: {user: zhao}
        - approval: treasury
          approvers: {user: qian}
    - nodes:
        - approval: legal
          approvers: {user: lu}
  key: checks
- approval: final
  approvers: {user: zhou}
  send_back: {to: [previous, start, budget]}
"""


def test_send_back_inside_one_parallel_branch_leaves_the_other_branch_running(world):
    world.install(BRANCH_SEND_BACK)
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).active_nodes == ["legal", "treasury"]

    world.send_back(inst.id, "qian", to="previous")  # back to budget, same branch
    assert world.instance(inst.id).active_nodes == ["budget", "legal"]
    assert world.statuses(inst.id, "legal") == {"lu": "pending"}  # untouched
    world.approve(inst.id, "zhao")
    world.approve(inst.id, "qian")
    # the join still waits for legal: nobody skipped lu
    assert world.instance(inst.id).active_nodes == ["legal"]
    assert "zhou" not in world.pending(inst.id)
    world.approve(inst.id, "lu")
    assert world.pending(inst.id).keys() == {"zhou"}


def test_previous_of_a_first_node_in_a_branch_is_before_the_gateway_not_a_sibling(world):
    world.install(BRANCH_SEND_BACK)
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    world.approve(inst.id, "zhao")  # budget, in the sibling branch, is done
    world.send_back(inst.id, "lu", to="previous")
    # lu's previous node is lead (before the gateway), never budget of the other branch
    assert world.instance(inst.id).active_nodes == ["lead"]
    entry = [e for e in world.instance(inst.id).timeline if e.action == "send_back"][-1]
    assert entry.detail == {"to": "lead"}
    # nodes of a sibling branch are not on lu's path
    world.approve(inst.id, "wang")
    lu = world.task_of(inst.id, "lu")
    with pytest.raises(FlowActionError, match=r"^cannot send back to budget: it was not reached"):
        world.flows.send_back(as_("lu"), lu, to="budget")


def test_send_back_from_after_the_join_into_a_branch_reruns_only_that_branch(world):
    world.install(BRANCH_SEND_BACK)
    inst = world.submit("xiao")
    for login in ("wang", "zhao", "lu", "qian"):
        world.approve(inst.id, login)
    world.send_back(inst.id, "zhou", to="budget")
    assert world.instance(inst.id).active_nodes == ["budget"]
    world.approve(inst.id, "zhao")
    world.approve(inst.id, "qian")
    # legal approved already and its branch did not run again
    assert world.pending(inst.id).keys() == {"zhou"}
