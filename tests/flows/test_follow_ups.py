"""Deleting a sent-back request ends its instance; the inbox names nodes as the pinned
version names them; choices for a node that takes none are refused; a suspended
instance keeps its due timers until it is reactivated."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.errors import DefinitionErrors, FlowActionError, PermissionDeniedError
from tests.flows.conftest import app_text, as_, flow_doc

ADMIN = as_("admin")

TWO_STEPS = """
- approval: lead
  name: {zh-CN: 组长审批, en: Team lead}
  approvers: {manager: 1}
- approval: finance
  approvers: {user: zhao}
"""


def test_deleting_a_sent_back_request_terminates_its_instance(world):
    world.install(TWO_STEPS)
    inst = world.submit("xiao", amount=1000)
    world.send_back(inst.id, "wang", to="start")
    assert world.instance(inst.id).status == "sent_back"

    world.service.delete_record(ADMIN, "t", "request", inst.record_id)

    view = world.instance(inst.id)
    assert (view.status, view.active_nodes) == ("terminated", [])
    assert world.actions(inst.id)[-1] == ("terminate", None, "admin")
    assert world.instance(inst.id).timeline[-1].comment == "record deleted"
    assert [e for e in world.events(inst.id) if e[0] == "flow.terminated"]


def test_the_inbox_names_each_node_in_the_actors_language(world):
    world.install(TWO_STEPS)
    world.submit("xiao", amount=10)
    english = world.flows.tasks(as_("wang"))
    chinese = world.flows.tasks(as_("wang", "zh-CN"))
    assert [t.node_name for t in english.items] == ["Team lead"]
    assert [t.node_name for t in chinese.items] == ["组长审批"]


def test_choices_for_a_node_whose_approvers_are_not_chosen_are_refused(world):
    world.install(TWO_STEPS)
    with pytest.raises(FlowActionError, match="^the approvers of node lead are not chosen"):
        world.submit("xiao", choices={"lead": ["zhao"]}, amount=10)


def test_an_inclusive_otherwise_must_come_last():
    from engine.definitions.loader import load_app_text

    nodes = """
- inclusive:
    - otherwise: []
    - when: "amount > 10"
      nodes:
        - approval: big
          approvers: {user: zhao}
"""
    with pytest.raises(DefinitionErrors, match="an earlier branch is 'otherwise'"):
        load_app_text(app_text(flow_doc(nodes)))


def test_a_timer_due_while_suspended_acts_after_reactivation(world, clock):
    world.install(
        """
- approval: lead
  approvers: {manager: 1}
  timeout: {after: 2 hours, then: approve}
"""
    )
    inst = world.submit("xiao", amount=10)
    world.flows.suspend(ADMIN, "t", inst.id)
    later = clock.now + timedelta(hours=3)
    skipped = world.flows.fire_timers(later)
    assert (skipped.fired, skipped.skipped) == (0, 1)
    assert world.instance(inst.id).status == "suspended"

    world.flows.reactivate(ADMIN, "t", inst.id)
    fired = world.flows.fire_timers(later)
    assert fired.fired == 1
    assert world.instance(inst.id).status == "approved"


def test_a_disabled_user_cannot_read_their_inbox(world):
    world.install(TWO_STEPS)
    world.submit("xiao", amount=10)
    assert world.flows.tasks(as_("wang")).total == 1
    world.service.org.set_active(ADMIN, "wang", False)
    with pytest.raises(PermissionDeniedError, match="the user wang is disabled"):
        world.flows.tasks(as_("wang"))
