"""The approver pipeline: every source, duplicates, the empty policy, self-approval,
cross-node dedupe and delegation, each with the people of tests/flows/conftest.py and
the reason their task records."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.errors import FlowActionError, InvalidArgumentError
from tests.flows.conftest import SHANGHAI, as_


def _one_node(world, approvers: str, **options: str) -> None:
    extra = "".join(f"\n  {key}: {value}" for key, value in options.items())
    world.install(f"- approval: pick\n  approvers: {approvers}{extra}\n")


def _people(world, instance_id: int, node: str = "pick") -> dict[str, dict]:
    """assignee -> reason of the node's tasks."""
    return {t.assignee: t.reason for t in world.instance(instance_id).tasks if t.node == node}


@pytest.mark.parametrize(
    ("approvers", "submitter", "data", "expected"),
    [
        ("{user: li}", "xiao", {}, {"li": "named user li"}),
        (
            "{users: [li, chen]}",
            "xiao",
            {},
            {"li": "named user li, chen", "chen": "named user li, chen"},
        ),
        (
            "{role: finance}",
            "xiao",
            {},
            {"feng": "role finance", "qian": "role finance", "zhao": "role finance"},
        ),
        ("{manager: 1}", "xiao", {}, {"wang": "manager level 1 of the submitter"}),
        ("{manager: 2}", "xiao", {}, {"li": "manager level 2 of the submitter"}),
        ("{manager: 3}", "xiao", {}, {"chen": "manager level 3 of the submitter"}),
        # wu's direct leader sun replaces his level-1 manager wang
        ("{manager: 1}", "wu", {}, {"sun": "manager level 1 of the submitter"}),
        ("{manager: 2}", "wu", {}, {"li": "manager level 2 of the submitter"}),
        # a department's manager is managed by the parent department's manager
        ("{manager: 1}", "wang", {}, {"li": "manager level 1 of the submitter"}),
        (
            "{manager: 1, of: owner}",
            "zhao",
            {"owner": "xiao"},
            {"wang": "manager level 1 of owner"},
        ),
        ("{department_manager: sales_east}", "xiao", {}, {"li": "department manager sales_east"}),
        ("{field: owner}", "xiao", {"owner": "qian"}, {"qian": "field owner"}),
        (
            "{field: reviewers}",
            "xiao",
            {"reviewers": ["lu", "song"]},
            {"lu": "field reviewers", "song": "field reviewers"},
        ),
        ("{field: dept}", "xiao", {"dept": "finance_dept"}, {"zhao": "field dept"}),
        (
            "{path: dealer.region.manager}",
            "xiao",
            {"dealer": "DL-HZ"},
            {"qian.hao": "path dealer.region.manager"},
        ),
        (
            "{path: dealer.region.parent.manager}",
            "xiao",
            {"dealer": "DL-HZ"},
            {"sun": "path dealer.region.parent.manager"},
        ),
        (
            "{path: dealer.region.parent.manager}",
            "xiao",
            {"dealer": "DL-GD"},
            {"lin": "path dealer.region.parent.manager"},
        ),
        (
            "{path: dealer.sales_rep}",
            "xiao",
            {"dealer": "DL-HZ-01"},
            {"wu": "path dealer.sales_rep"},
        ),
        (
            "{dealer_users: dealer}",
            "xiao",
            {"dealer": "DL-HZ"},
            {"hz.boss": "dealer users dealer", "hz.sales": "dealer users dealer"},
        ),
        (
            "{expr: \"IF(amount > 1000, 'zhou', 'chen')\"}",
            "xiao",
            {"amount": 5000},
            {"zhou": "expr IF(amount > 1000, 'zhou', 'chen')"},
        ),
        (
            "{expr: \"IF(amount > 1000, 'zhou', 'chen')\"}",
            "xiao",
            {"amount": 10},
            {"chen": "expr IF(amount > 1000, 'zhou', 'chen')"},
        ),
    ],
)
def test_each_source_finds_its_people_and_says_why(world, approvers, submitter, data, expected):
    _one_node(world, approvers, mode="all")
    inst = world.submit(submitter, **data)
    assert {login: reason["source"] for login, reason in _people(world, inst.id).items()} == (
        expected
    )
    assert set(world.pending(inst.id)) == set(expected)


def test_a_path_through_a_relation_then_the_organisation(world):
    _one_node(
        world,
        "[{path: store.dealer.region.manager}, {path: store.dealer.region.parent.manager}]",
        mode="all",
    )
    store = world.service.create_record(
        as_("xiao"), "t", "store", {"name": "西湖店", "dealer": "DL-HZ"}
    )
    inst = world.submit("xiao", store=store.id)
    assert _people(world, inst.id) == {
        "qian.hao": {"source": "path store.dealer.region.manager"},
        "sun": {"source": "path store.dealer.region.parent.manager"},
    }


def test_managers_up_to_run_one_level_after_the_other(world):
    _one_node(world, "{managers_up_to: 3}")  # sequential by default
    inst = world.submit("xiao")
    assert world.statuses(inst.id, "pick") == {
        "wang": "pending",
        "li": "waiting",
        "chen": "waiting",
    }
    assert _people(world, inst.id)["li"] == {"source": "managers up to level 3 of the submitter"}
    world.approve(inst.id, "wang")
    assert world.statuses(inst.id, "pick")["li"] == "pending"
    world.approve(inst.id, "li")
    world.approve(inst.id, "chen")
    assert world.instance(inst.id).status == "approved"


def test_duplicates_within_a_node_are_removed_first_occurrence_wins(world):
    _one_node(
        world,
        "[{user: li}, {manager: 2}, {department_manager: sales_east}, {user: chen}]",
        mode="all",
    )
    inst = world.submit("xiao")
    assert _people(world, inst.id) == {
        "li": {"source": "named user li"},
        "chen": {"source": "named user chen"},
    }


def test_unknown_and_disabled_people_are_skipped(world):
    world.service.org.set_active(as_("admin"), "qian", False)
    _one_node(world, "[{users: [ghost, qian, zhao]}]", mode="all")
    inst = world.submit("xiao")
    assert set(_people(world, inst.id)) == {"zhao"}


def test_the_submitter_picks_chosen_approvers_among_the_allowed(world):
    _one_node(world, "{chosen: {min: 1, max: 2, among: {role: finance}}}", mode="all")
    before = world.counts(["f_t_request", "flow_instances"])
    with pytest.raises(FlowActionError, match=r"^choose the approvers of node pick$"):
        world.submit("xiao")
    with pytest.raises(FlowActionError, match=r"^li cannot be chosen$"):
        world.submit("xiao", choices={"pick": ["li"]})
    with pytest.raises(FlowActionError, match=r"^node pick needs 1 to 2 people$"):
        world.submit("xiao", choices={"pick": ["zhao", "qian", "feng"]})
    # a refused submission writes nothing: no record, no instance
    assert world.counts(["f_t_request", "flow_instances"]) == before
    with pytest.raises(FlowActionError):
        world.service.create_record(as_("xiao"), "t", "request", {"subject": "no picks"})
    assert world.counts(["f_t_request", "flow_instances"]) == before

    with pytest.raises(FlowActionError, match=r"^the flow has no node pikc$"):
        world.submit("xiao", choices={"pick": ["zhao"], "pikc": ["qian"]})
    inst = world.submit("xiao", choices={"pick": ["zhao", "feng"]})
    assert _people(world, inst.id) == {
        "zhao": {"source": "chosen by the submitter"},
        "feng": {"source": "chosen by the submitter"},
    }


@pytest.mark.parametrize(
    ("policy", "status", "people", "reason"),
    [
        ("admins", "running", {"admin"}, {"source": "administrator", "empty": "nobody was found"}),
        (
            "{route: {role: hr}}",
            "running",
            {"song"},
            {"source": "role hr", "empty": "routed: nobody was found"},
        ),
        ("pass", "approved", set(), None),
        ("reject", "rejected", set(), None),
    ],
)
def test_the_empty_policy_when_nobody_is_found(world, policy, status, people, reason):
    _one_node(world, "{manager: 1}", empty=policy)
    inst = world.submit("loner")  # empty_dept has no manager
    view = world.instance(inst.id)
    assert view.status == status
    assert set(world.pending(inst.id)) == people
    if reason is not None:
        assert _people(world, inst.id) == {login: reason for login in people}
    else:
        entry = next(e for e in view.timeline if e.node == "pick")
        assert (entry.action, entry.detail) == (
            "auto_pass" if policy == "pass" else "auto_reject",
            {"reason": "nobody to approve"},
        )
        assert world.record(inst.id).status == status


def test_the_empty_policy_is_admins_by_default(world):
    _one_node(world, "{manager: 1}")
    inst = world.submit("loner")
    assert set(world.pending(inst.id)) == {"admin"}


def test_empty_refuse_refuses_the_submission_and_writes_nothing(world):
    world.install(
        """
        - approval: lead
          approvers: {manager: 1}
          empty: refuse
        - approval: legal
          approvers: {field: owner}
          empty: refuse
        """
    )
    before = world.counts(["f_t_request", "flow_instances", "flow_tasks", "outbox"])
    with pytest.raises(
        FlowActionError,
        match=r"^node lead has nobody to approve it, so the request cannot be submitted",
    ):
        world.submit("loner")
    assert world.counts(["f_t_request", "flow_instances", "flow_tasks", "outbox"]) == before
    # a node entered later (the data may have changed since) goes to the administrators
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    assert _people(world, inst.id, "legal") == {
        "admin": {"source": "administrator", "empty": "nobody was found"}
    }


@pytest.mark.parametrize(
    ("policy", "people"),
    [
        ("approve", {"wang": ("pending", {"source": "department manager team"})}),
        (
            "skip",
            {
                "wang": (
                    "approved",
                    {
                        "source": "department manager team",
                        "self_approval": "skipped: the submitter approves own request",
                    },
                )
            },
        ),
        (
            "manager",
            {
                "li": (
                    "pending",
                    {
                        "source": "department manager team",
                        "self_approval": "handed from wang to the department manager",
                    },
                )
            },
        ),
    ],
)
def test_self_approval_policies(world, policy, people):
    world.install(
        f"""
        - approval: pick
          approvers: {{department_manager: team}}
          self_approval: {policy}
        - approval: final
          approvers: {{user: zhou}}
        """
    )
    inst = world.submit("wang")
    tasks = {
        t.assignee: (t.status, t.reason) for t in world.instance(inst.id).tasks if t.node == "pick"
    }
    assert tasks == people
    if policy == "skip":  # the engine approved for wang: the flow moved on
        assert set(world.pending(inst.id)) == {"zhou"}
        task = next(t for t in world.instance(inst.id).tasks if t.node == "pick")
        assert task.acted_by == "system"
    # someone else's request is not affected
    other = world.submit("xiao")
    assert set(world.pending(other.id)) == {"wang"}


DEDUPE = """
- approval: lead
  approvers: {manager: 1}
- approval: board
  approvers: {users: [wang, li]}
  mode: all
"""


def test_cross_node_dedupe_passes_someone_who_already_approved(world):
    world.install(DEDUPE, dedupe="true")
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    board = {
        t.assignee: (t.status, t.reason) for t in world.instance(inst.id).tasks if t.node == "board"
    }
    assert board == {
        "wang": (
            "approved",
            {"source": "named user wang, li", "dedupe": "already approved this request"},
        ),
        "li": ("pending", {"source": "named user wang, li"}),
    }
    world.approve(inst.id, "li")
    assert world.instance(inst.id).status == "approved"


def test_a_send_back_asks_the_target_again_despite_dedupe(world):
    world.install(
        """
        - approval: lead
          approvers: {manager: 1}
        - approval: head
          approvers: {manager: 2}
        - approval: finance
          approvers: {users: [zhao, li]}
          mode: all
        """,
        dedupe="true",
    )
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    world.approve(inst.id, "li")
    assert world.statuses(inst.id, "finance") == {"zhao": "pending", "li": "approved"}  # dedupe
    world.send_back(inst.id, "zhao", to="previous")
    # li is asked again at head: the send back is not passed through by dedupe
    assert world.statuses(inst.id, "head") == {"li": "pending"}
    world.approve(inst.id, "li")
    # at finance li's fresh approval counts again; wang's (at lead) was never forgotten
    assert world.statuses(inst.id, "finance") == {"zhao": "pending", "li": "approved"}
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).status == "approved"


def test_without_dedupe_the_same_person_approves_again(world):
    world.install(DEDUPE)
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    assert set(world.pending(inst.id)) == {"wang", "li"}


def test_a_node_may_turn_the_flows_dedupe_off(world):
    world.install(DEDUPE + "  dedupe: false\n", dedupe="true")
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    assert set(world.pending(inst.id)) == {"wang", "li"}


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_delegation_replaces_the_approver_while_it_runs(world, clock):
    _one_node(world, "{manager: 1}")
    delegation = world.flows.delegate(as_("wang"), "sun", _at(2026, 1, 5), _at(2026, 1, 10))
    inside = world.submit("xiao")
    assert _people(world, inside.id) == {
        "sun": {"source": "manager level 1 of the submitter", "delegated_from": "wang"}
    }
    assert set(world.pending(inside.id)) == {"sun"}
    world.approve(inside.id, "sun")
    assert world.instance(inside.id).status == "approved"

    clock.set(2026, 1, 10, 0, 0)  # the end is exclusive
    after = world.submit("xiao")
    assert set(world.pending(after.id)) == {"wang"}

    clock.set(2026, 1, 6, 9, 0)
    assert world.flows.revoke_delegation(as_("wang"), delegation) is True
    revoked = world.submit("xiao")
    assert set(world.pending(revoked.id)) == {"wang"}


def test_delegation_follows_chains_but_never_loops(world):
    _one_node(world, "{manager: 1}")
    window = (_at(2026, 1, 1), _at(2026, 2, 1))
    world.flows.delegate(as_("wang"), "sun", *window)
    world.flows.delegate(as_("sun"), "chen", *window)
    world.flows.delegate(as_("chen"), "wang", *window)
    inst = world.submit("xiao")
    assert _people(world, inst.id) == {
        "chen": {"source": "manager level 1 of the submitter", "delegated_from": "wang"}
    }


def test_a_delegate_disabled_since_is_passed_over(world):
    _one_node(world, "{manager: 1}")
    world.flows.delegate(as_("wang"), "sun", _at(2026, 1, 1), _at(2026, 2, 1))
    world.service.org.set_active(as_("admin"), "sun", False)
    inst = world.submit("xiao")
    assert _people(world, inst.id) == {"wang": {"source": "manager level 1 of the submitter"}}


def test_delegation_refusals(world):
    window = (_at(2026, 1, 1), _at(2026, 2, 1))
    with pytest.raises(InvalidArgumentError):
        world.flows.delegate(as_("wang"), "wang", *window)
    with pytest.raises(InvalidArgumentError):
        world.flows.delegate(as_("wang"), "sun", window[1], window[0])
    with pytest.raises(FlowActionError, match=r"^there is no user ghost$"):
        world.flows.delegate(as_("wang"), "ghost", *window)
    with pytest.raises(FlowActionError, match=r"^only an administrator may do this$"):
        world.flows.delegate(as_("xiao"), "sun", *window, login="wang")
    assert world.flows.delegate(as_("admin"), "sun", *window, login="wang") > 0
