"""The record under a flow: approvers' edits with revisions, a record in approval is
changed only through its flow, and running instances stay on the flow version they
started with."""

from __future__ import annotations

import pytest

from engine.errors import FlowActionError
from tests.flows.conftest import as_

EDITING = """
- approval: lead
  approvers: {manager: 1}
- approval: finance
  approvers: {user: zhao}
  fields: {editable: [amount, budget_code], readonly: [subject], hidden: [note]}
"""

ADMIN = as_("admin")


def _history(world, record_id):
    return world.service.record_history(ADMIN, "t", "request", record_id)


def test_an_approver_edits_an_editable_field_with_a_revision_under_their_name(world, clock):
    world.install(EDITING)
    inst = world.submit("xiao", amount=1000, note="private")
    world.approve(inst.id, "wang")
    task = world.task_of(inst.id, "zhao")

    detail = world.flows.task(as_("zhao"), task)
    assert (detail.editable, detail.readonly) == (["amount", "budget_code"], ["subject"])
    assert "note" not in detail.values and detail.values["amount"] == 1000

    clock.set(2026, 1, 5, 15, 0)
    world.flows.approve(
        as_("zhao"), task, comment="capped", changes={"amount": 800, "budget_code": "B-7"}
    )
    record = world.record(inst.id)
    assert (record.values["amount"], record.values["budget_code"], record.status) == (
        800,
        "B-7",
        "approved",
    )
    last = _history(world, inst.record_id)[-1]
    assert (last.actor, last.at) == ("zhao", clock.now)
    assert last.changes["amount"] == {"old": 1000, "new": 800}
    assert last.changes["budget_code"] == {"old": None, "new": "B-7"}
    assert world.instance(inst.id).status == "approved"


def test_an_edit_of_a_field_the_node_does_not_make_editable_is_refused(world):
    world.install(EDITING)
    inst = world.submit("xiao", amount=1000)
    world.approve(inst.id, "wang")
    task = world.task_of(inst.id, "zhao")
    revisions = len(_history(world, inst.record_id))
    for field in ("subject", "note", "days"):
        with pytest.raises(
            FlowActionError, match=rf"^field {field} is not editable at node finance$"
        ):
            world.flows.approve(as_("zhao"), task, changes={field: "x"})
    # an approver of another node cannot slip an edit in either
    world_task = world.task_of(inst.id, "wang", "approved")
    with pytest.raises(FlowActionError):
        world.flows.approve(as_("wang"), world_task, changes={"amount": 1})
    with pytest.raises(FlowActionError, match=r"^this task belongs to zhao, not to you$"):
        world.flows.approve(as_("li"), task, changes={"amount": 1})
    assert len(_history(world, inst.record_id)) == revisions
    assert world.record(inst.id).values["amount"] == 1000
    assert world.statuses(inst.id, "finance") == {"zhao": "pending"}


def test_a_record_in_approval_is_changed_only_through_its_flow(world):
    world.install(EDITING)
    inst = world.submit("xiao", amount=1000)
    refused = rf"^record {inst.record_id} is in approval and cannot be changed; withdraw it first$"
    with pytest.raises(FlowActionError, match=refused):
        world.service.update_record(
            as_("xiao", "en"), "t", "request", inst.record_id, {"amount": 5}
        )
    with pytest.raises(FlowActionError, match=refused):
        world.service.update_record(ADMIN, "t", "request", inst.record_id, {"amount": 5})
    with pytest.raises(FlowActionError, match=refused):
        world.service.delete_record(ADMIN, "t", "request", inst.record_id)
    assert world.record(inst.id).values["amount"] == 1000
    assert world.instance(inst.id).status == "running"

    world.flows.withdraw(as_("xiao"), "t", inst.id)
    changed = world.service.update_record(
        as_("xiao"), "t", "request", inst.record_id, {"amount": 5}
    )
    assert (changed.values["amount"], changed.status) == (5, "withdrawn")


def test_a_withdrawn_record_is_submitted_again_as_a_new_instance(world):
    world.install(EDITING)
    first = world.submit("xiao", amount=1000)
    world.flows.withdraw(as_("xiao"), "t", first.id)
    again = world.flows.submit_draft(as_("xiao"), "t", "request", first.record_id)
    assert again.id != first.id and again.record_id == first.record_id
    assert (again.status, again.record_status) == ("running", "in_approval")
    assert world.flows.instance_of(ADMIN, "t", "request", first.record_id).id == again.id
    with pytest.raises(
        FlowActionError, match=r"^this record is already in a flow \(in approval\)$"
    ):
        world.flows.submit_draft(as_("xiao"), "t", "request", first.record_id)


def test_a_draft_starts_its_flow_only_when_submitted(world):
    world.install(EDITING)
    draft = world.flows.save_draft(as_("xiao"), "t", "request", {"subject": "later", "amount": 3})
    assert draft.status == "draft"
    assert world.counts(["flow_instances"]) == {"flow_instances": 0}
    world.service.update_record(as_("xiao"), "t", "request", draft.id, {"amount": 4})
    inst = world.flows.submit_draft(as_("xiao"), "t", "request", draft.id)
    assert set(world.pending(inst.id)) == {"wang"}


V1 = """
- approval: lead
  approvers: {manager: 1}
- approval: finance
  approvers: {user: zhao}
"""
V2 = """
- approval: lead
  approvers: {manager: 1}
- approval: legal
  approvers: {role: legal}
"""


def test_a_running_instance_finishes_on_its_version_while_new_ones_use_the_new(world):
    world.install(V1, version="1.0.0")
    old = world.submit("xiao")
    world.install(V2, version="1.1.0")
    new = world.submit("xiao")
    assert old.flow_hash != new.flow_hash

    world.approve(old.id, "wang")
    world.approve(new.id, "wang")
    assert set(world.pending(old.id)) == {"zhao"}  # v1's finance node
    assert set(world.pending(new.id)) == {"lu"}  # v2's legal node
    world.approve(old.id, "zhao")
    world.approve(new.id, "lu")
    assert [world.instance(i).status for i in (old.id, new.id)] == ["approved", "approved"]
    assert world.instance(old.id).flow_hash == old.flow_hash  # still pinned

    versions = world.rows(
        "select content_hash, current from flow_versions where flow = 'approval' order by id"
    )
    assert [(h, bool(c)) for h, c in versions] == [(old.flow_hash, False), (new.flow_hash, True)]


def test_reinstalling_the_same_flow_keeps_its_version(world):
    world.install(V1, version="1.0.0")
    first = world.submit("xiao")
    world.install(V1, version="1.0.1")
    second = world.submit("xiao")
    assert first.flow_hash == second.flow_hash
    assert world.counts(["flow_versions"]) == {"flow_versions": 1}


def test_an_approvers_edit_feeds_the_next_routing_decision(world):
    world.install(
        """
        - approval: finance
          approvers: {user: zhao}
          fields: {editable: [amount]}
        - branches:
            - when: "amount >= 10000"
              nodes:
                - approval: ceo
                  approvers: {user: zhou}
            - otherwise: []
          key: size
        """
    )
    inst = world.submit("xiao", amount=12000)
    world.approve(inst.id, "zhao", changes={"amount": 9000})
    view = world.instance(inst.id)
    assert view.status == "approved"  # the lowered amount no longer needs the CEO
    assert view.routes[0]["evaluated"][0]["values"] == {"amount": 9000}


SUBTABLE = """
- approval: finance
  approvers: {user: zhao}
  fields: {editable: [lines.qty], hidden: [lines.cost]}
"""


def test_a_node_shows_and_edits_sub_table_columns(world):
    world.install(SUBTABLE)
    lines = [{"item": "pen", "qty": 2, "cost": 5}, {"item": "ink", "qty": 1, "cost": 7}]
    inst = world.submit("xiao", lines=lines)
    task = world.task_of(inst.id, "zhao")
    detail = world.flows.task(as_("zhao"), task)
    assert detail.values["lines"] == [
        {"id": 1, "item": "pen", "qty": 2},
        {"id": 2, "item": "ink", "qty": 1},
    ]
    refused = {
        "lines.cost": [{"id": 1, "qty": 3, "cost": 9}, {"id": 2}],  # a hidden column
        "lines.item": [{"id": 1, "item": "pencil"}, {"id": 2}],  # a read-only column
        "lines": [{"id": 1, "qty": 3}],  # a row left out
    }
    for field, rows in refused.items():
        with pytest.raises(
            FlowActionError, match=rf"^field {field} is not editable at node finance$"
        ):
            world.flows.approve(as_("zhao"), task, changes={"lines": rows})
    with pytest.raises(FlowActionError, match=r"^field lines is not editable"):
        world.flows.approve(as_("zhao"), task, changes={"lines": [{"id": 1}, {"id": 9}]})
    # rows by id, the editable column changed, others sent back unchanged or left out
    world.flows.approve(
        as_("zhao"),
        task,
        changes={"lines": [{"id": 2, "qty": "4"}, {"id": 1, "item": "pen", "qty": 3, "cost": "5"}]},
    )
    assert world.record(inst.id).values["lines"] == [
        {"id": 1, "item": "pen", "qty": 3, "cost": 5},
        {"id": 2, "item": "ink", "qty": 4, "cost": 7},
    ]
    last = _history(world, inst.record_id)[-1]
    assert last.actor == "zhao" and set(last.changes) == {"lines"}
