"""Workflow control-flow patterns, each with the people of tests/flows/conftest.py.

Sequence; parallel split + synchronisation; exclusive choice + simple merge (with the
routing explanation); multi-choice + structured synchronising merge; multiple instances
with and without run-time knowledge (role members, add-signer); partial join (votes);
cancel task and cancel case (reject, withdraw, terminate, suspend).
"""

from __future__ import annotations

import pytest

from engine.errors import FlowActionError
from tests.flows.conftest import as_

ADMIN = as_("admin")


def test_sequence_runs_one_node_after_the_other(world):
    world.install(
        """
        - approval: lead
          approvers: {manager: 1}
        - approval: head
          approvers: {manager: 2}
        - approval: finance
          approvers: {role: finance}
        """
    )
    inst = world.submit("xiao", amount=100)
    assert (inst.status, inst.record_status, inst.active_nodes) == (
        "running",
        "in_approval",
        ["lead"],
    )
    assert world.pending(inst.id) == {"wang": world.task_of(inst.id, "wang")}

    world.approve(inst.id, "wang")
    assert set(world.pending(inst.id)) == {"li"}
    world.approve(inst.id, "li")
    assert set(world.pending(inst.id)) == {"zhao", "qian", "feng"}
    world.approve(inst.id, "qian")

    view = world.instance(inst.id)
    assert (view.status, view.record_status, view.active_nodes) == ("approved", "approved", [])
    assert view.finished_at is not None
    assert world.describe(inst.id) == [
        ("lead", "wang", "approved"),
        ("head", "li", "approved"),
        ("finance", "feng", "not_needed"),
        ("finance", "qian", "approved"),
        ("finance", "zhao", "not_needed"),
    ]
    assert world.record(inst.id).status == "approved"
    decisions = [(a, n, who) for a, n, who in world.actions(inst.id) if a in ("approve", "submit")]
    assert decisions == [
        ("submit", None, "xiao"),
        ("approve", "lead", "wang"),
        ("approve", "head", "li"),
        ("approve", "finance", "qian"),
    ]


PARALLEL = """
- parallel:
    - nodes:
        - approval: legal
          approvers: {role: legal}
    - nodes:
        - approval: budget
          approvers: {user: zhao}
        - approval: treasury
          approvers: {user: qian}
  key: checks
- approval: final
  approvers: {user: zhou}
"""


def test_parallel_split_runs_every_branch_and_the_join_waits_for_all(world):
    world.install(PARALLEL)
    inst = world.submit("xiao")
    assert inst.active_nodes == ["budget", "legal"]
    assert set(world.pending(inst.id)) == {"lu", "zhao"}

    world.approve(inst.id, "lu")  # one branch done: the join still waits
    assert world.instance(inst.id).active_nodes == ["budget"]
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).active_nodes == ["treasury"]
    assert "zhou" not in world.pending(inst.id)
    world.approve(inst.id, "qian")  # the last branch ends: synchronised, final runs
    assert world.pending(inst.id) == {"zhou": world.task_of(inst.id, "zhou")}
    world.approve(inst.id, "zhou")
    assert world.instance(inst.id).status == "approved"
    # a parallel gateway evaluates no condition: no routing decision is recorded
    assert world.instance(inst.id).routes == []


EXCLUSIVE = """
- branches:
    - name: {zh-CN: 大额, en: Big}
      when: "amount > 10000"
      nodes:
        - approval: ceo
          approvers: {user: zhou}
    - when: "category == 'travel'"
      nodes:
        - approval: travel
          approvers: {role: hr}
    - otherwise:
        - approval: lead
          approvers: {manager: 1}
  key: route
- cc: notify
  to: {role: finance}
"""


def test_exclusive_choice_takes_the_first_true_branch_and_records_why(world):
    world.install(EXCLUSIVE)
    big = world.submit("xiao", amount=20000, category="travel")
    assert world.pending(big.id).keys() == {"zhou"}
    (route,) = world.instance(big.id).routes
    assert route["node"] == "route" and route["kind"] == "branches" and route["chosen"] == [0]
    # the first branch held: later conditions were not evaluated
    assert route["evaluated"] == [
        {"branch": 0, "when": "amount > 10000", "result": True, "values": {"amount": 20000}}
    ]

    travel = world.submit("xiao", amount=500, category="travel")
    assert world.pending(travel.id).keys() == {"song"}
    (route,) = world.instance(travel.id).routes
    assert route["chosen"] == [1]
    assert route["evaluated"] == [
        {"branch": 0, "when": "amount > 10000", "result": False, "values": {"amount": 500}},
        {
            "branch": 1,
            "when": "category == 'travel'",
            "result": True,
            "values": {"category": "travel"},
        },
        {"branch": 2, "otherwise": True, "result": False},
    ]

    other = world.submit("xiao", category="other")  # amount blank: not > 10000
    assert world.pending(other.id).keys() == {"wang"}
    (route,) = world.instance(other.id).routes
    assert route["chosen"] == [2]
    assert route["evaluated"][0] == {
        "branch": 0,
        "when": "amount > 10000",
        "result": False,
        "values": {"amount": None},
    }
    # the route is on the timeline too, with the same explanation
    entries = [e for e in world.instance(other.id).timeline if e.action == "route"]
    assert [e.detail["chosen"] for e in entries] == [[2]]


def test_simple_merge_continues_after_whichever_branch_ran(world):
    world.install(EXCLUSIVE)
    big = world.submit("xiao", amount=20000)
    other = world.submit("xiao", amount=5)
    world.approve(big.id, "zhou")
    world.approve(other.id, "wang")
    for inst in (big, other):
        view = world.instance(inst.id)
        assert view.status == "approved"
        copies = sorted(t.assignee for t in view.tasks if t.node == "notify")
        assert copies == ["feng", "qian", "zhao"]
        assert {t.status for t in view.tasks if t.node == "notify"} == {"cc"}
    assert [t.node for t in world.flows.tasks(as_("qian"), status="cc").items] == [
        "notify",
        "notify",
    ]


INCLUSIVE = """
- inclusive:
    - when: "amount > 1000"
      nodes:
        - approval: budget
          approvers: {user: zhao}
    - when: "category == 'equipment'"
      nodes:
        - approval: legal
          approvers: {user: lu}
    - when: "days > 5"
      nodes:
        - approval: hr
          approvers: {role: hr}
  key: checks
- approval: final
  approvers: {user: zhou}
"""


def test_multi_choice_runs_every_true_branch_and_the_join_waits_only_for_those(world):
    world.install(INCLUSIVE)
    inst = world.submit("xiao", amount=5000, category="equipment", days=1)
    (route,) = world.instance(inst.id).routes
    assert route["kind"] == "inclusive" and route["chosen"] == [0, 1]
    assert [e["result"] for e in route["evaluated"]] == [True, True, False]
    assert route["evaluated"][2]["values"] == {"days": 1}
    assert set(world.pending(inst.id)) == {"zhao", "lu"}

    world.approve(inst.id, "lu")
    assert world.instance(inst.id).active_nodes == ["budget"]  # waits for budget only
    world.approve(inst.id, "zhao")  # hr never ran and is not waited for
    assert set(world.pending(inst.id)) == {"zhou"}
    assert "hr" not in {t.node for t in world.instance(inst.id).tasks}


def test_multi_choice_with_one_true_branch_and_with_none(world):
    world.install(INCLUSIVE)
    one = world.submit("xiao", days=10)
    assert set(world.pending(one.id)) == {"song"}
    world.approve(one.id, "song")
    assert set(world.pending(one.id)) == {"zhou"}

    none = world.submit("xiao", amount=1)  # no branch holds and none is otherwise
    assert set(world.pending(none.id)) == {"zhou"}
    assert world.instance(none.id).routes[0]["chosen"] == []


@pytest.mark.parametrize(
    ("mode", "approvers", "after_two", "outcome"),
    [
        ("all", ["zhao", "qian"], "running", ["approved", "approved", "approved"]),
        ("any", ["zhao"], "approved", ["not_needed", "not_needed", "approved"]),
    ],
)
def test_multiple_instances_from_a_role_known_when_the_node_starts(
    world, mode, approvers, after_two, outcome
):
    world.install(
        f"""
        - approval: finance
          approvers: {{role: finance}}
          mode: {mode}
        """
    )
    inst = world.submit("xiao")
    assert set(world.pending(inst.id)) == {"zhao", "qian", "feng"}
    for login in approvers:
        world.approve(inst.id, login)
    assert world.instance(inst.id).status == after_two
    if after_two == "running":
        assert set(world.pending(inst.id)) == {"feng"}
        world.approve(inst.id, "feng")
    view = world.instance(inst.id)
    assert view.status == "approved"
    statuses = world.statuses(inst.id, "finance")
    assert [statuses[p] for p in ("feng", "qian", "zhao")] == outcome


def test_sequential_mode_hands_the_task_on_in_order(world):
    world.install(
        """
        - approval: chain
          approvers: {users: [li, chen, zhou]}
          mode: sequential
        """
    )
    inst = world.submit("xiao")
    assert world.statuses(inst.id, "chain") == {
        "li": "pending",
        "chen": "waiting",
        "zhou": "waiting",
    }
    world.approve(inst.id, "li")
    assert world.statuses(inst.id, "chain") == {
        "li": "approved",
        "chen": "pending",
        "zhou": "waiting",
    }
    with pytest.raises(FlowActionError, match=r"cannot be acted on now \(waiting\)"):
        world.flows.approve(as_("zhou"), world.task_of(inst.id, "zhou", "waiting"))
    world.approve(inst.id, "chen")
    world.approve(inst.id, "zhou")
    assert world.instance(inst.id).status == "approved"


ONE_REVIEWER = """
- approval: review
  approvers: {user: li}
  mode: {mode}
- approval: final
  approvers: {user: zhou}
"""


def _review(world, mode="all"):
    world.install(ONE_REVIEWER.replace("{mode}", mode))
    inst = world.submit("xiao")
    return inst, world.task_of(inst.id, "li")


def test_add_signer_before_puts_the_new_people_first(world):
    inst, task = _review(world)
    added = world.flows.add_signer(as_("li"), task, ["zhao"], position="before", mode="all")
    assert added.status == "waiting"  # li now waits for zhao
    assert world.statuses(inst.id, "review") == {"li": "waiting", "zhao": "pending"}
    signer = next(t for t in world.instance(inst.id).tasks if t.assignee == "zhao")
    assert signer.reason == {"source": "added by li (before, all)"}
    world.approve(inst.id, "zhao")
    assert world.statuses(inst.id, "review") == {"li": "pending", "zhao": "approved"}
    world.approve(inst.id, "li")
    assert set(world.pending(inst.id)) == {"zhou"}
    entry = next(e for e in world.instance(inst.id).timeline if e.action == "add_signer")
    assert entry.detail == {"signers": ["zhao"], "position": "before", "mode": "all"}


def test_add_signer_after_as_any_needs_one_of_them_after_the_adder(world):
    inst, task = _review(world)
    world.flows.add_signer(as_("li"), task, ["zhao", "qian"], position="after", mode="any")
    assert world.statuses(inst.id, "review") == {
        "li": "pending",
        "zhao": "waiting",
        "qian": "waiting",
    }
    world.approve(inst.id, "li")
    assert world.statuses(inst.id, "review") == {
        "li": "approved",
        "zhao": "pending",
        "qian": "pending",
    }
    world.approve(inst.id, "qian")
    assert world.statuses(inst.id, "review")["zhao"] == "not_needed"
    assert set(world.pending(inst.id)) == {"zhou"}


def test_add_signer_after_as_all_needs_every_one_of_them(world):
    inst, task = _review(world)
    world.flows.add_signer(as_("li"), task, ["zhao", "qian"], position="after", mode="all")
    world.approve(inst.id, "li")
    world.approve(inst.id, "zhao")
    assert world.statuses(inst.id, "review")["qian"] == "pending"
    assert "zhou" not in world.pending(inst.id)
    world.approve(inst.id, "qian")
    assert set(world.pending(inst.id)) == {"zhou"}


def test_add_signer_in_parallel_one_by_one_on_an_all_node(world):
    inst, task = _review(world, "all")
    world.flows.add_signer(
        as_("li"), task, ["zhao", "qian"], position="parallel", mode="sequential"
    )
    # li keeps acting; alongside, zhao then qian
    assert world.statuses(inst.id, "review") == {
        "li": "pending",
        "zhao": "pending",
        "qian": "waiting",
    }
    world.approve(inst.id, "li")
    assert "zhou" not in world.pending(inst.id)
    world.approve(inst.id, "zhao")
    assert world.statuses(inst.id, "review")["qian"] == "pending"
    world.approve(inst.id, "qian")
    assert set(world.pending(inst.id)) == {"zhou"}


def test_add_signer_in_parallel_as_any_on_an_any_node_lets_a_signer_decide(world):
    inst, task = _review(world, "any")
    world.flows.add_signer(as_("li"), task, ["zhao", "qian"], position="parallel", mode="any")
    assert world.statuses(inst.id, "review") == {
        "li": "pending",
        "zhao": "pending",
        "qian": "pending",
    }
    world.approve(inst.id, "zhao")  # 或签: one approval of the node is enough
    assert world.statuses(inst.id, "review") == {
        "li": "not_needed",
        "zhao": "approved",
        "qian": "not_needed",
    }
    assert set(world.pending(inst.id)) == {"zhou"}


P, W, A, N = "pending", "waiting", "approved", "not_needed"


@pytest.mark.parametrize(
    ("position", "mode", "right_after", "order", "at_the_end"),
    [
        ("before", "all", (W, P, P), ["zhao", "qian", "li"], (A, A, A)),
        ("before", "any", (W, P, P), ["qian", "li"], (A, N, A)),
        ("before", "sequential", (W, P, W), ["zhao", "qian", "li"], (A, A, A)),
        ("after", "all", (P, W, W), ["li", "qian", "zhao"], (A, A, A)),
        ("after", "any", (P, W, W), ["li", "zhao"], (A, A, N)),
        ("after", "sequential", (P, W, W), ["li", "zhao", "qian"], (A, A, A)),
        ("parallel", "all", (P, P, P), ["zhao", "li", "qian"], (A, A, A)),
        ("parallel", "any", (P, P, P), ["qian", "li"], (A, N, A)),
        ("parallel", "sequential", (P, P, W), ["zhao", "li", "qian"], (A, A, A)),
    ],
)
def test_add_signer_every_position_and_mode(world, position, mode, right_after, order, at_the_end):
    """li (a 会签 node of one) adds zhao and qian; (li, zhao, qian) statuses, then the
    order in which they can approve; the node passes with the last of them."""
    inst, task = _review(world, "all")
    world.flows.add_signer(as_("li"), task, ["zhao", "qian"], position=position, mode=mode)
    statuses = world.statuses(inst.id, "review")
    assert (statuses["li"], statuses["zhao"], statuses["qian"]) == right_after
    for number, login in enumerate(order, start=1):
        assert world.statuses(inst.id, "review")[login] == "pending", (
            login,
            world.describe(inst.id),
        )
        assert ("zhou" in world.pending(inst.id)) is False
        world.approve(inst.id, login)
        assert ("zhou" in world.pending(inst.id)) is (number == len(order))
    statuses = world.statuses(inst.id, "review")
    assert (statuses["li"], statuses["zhao"], statuses["qian"]) == at_the_end


def test_add_signer_refusals(world):
    inst, task = _review(world)
    with pytest.raises(FlowActionError, match="nobody new to add"):
        world.flows.add_signer(as_("li"), task, ["li"], position="after")
    with pytest.raises(FlowActionError, match="there is no user ghost"):
        world.flows.add_signer(as_("li"), task, ["ghost"], position="after")
    with pytest.raises(FlowActionError, match="this task belongs to li, not to you"):
        world.flows.add_signer(as_("zhao"), task, ["qian"], position="after")
    world.approve(inst.id, "li")
    with pytest.raises(FlowActionError, match=r"already handled by li at 2026-01-05 10:00"):
        world.flows.add_signer(as_("li"), task, ["qian"], position="after")


VOTE = """
- approval: board
  approvers: {role: finance}
  mode: vote
  vote: {vote}
  {reject}
- approval: final
  approvers: {user: zhou}
"""


def _vote(world, vote: str, reject: str = ""):
    world.install(VOTE.replace("{vote}", vote).replace("{reject}", reject))
    return world.submit("xiao")


def test_vote_by_count_passes_at_the_count_despite_a_reject(world):
    inst = _vote(world, "{count: 2}")  # reject: unreachable is the default of a vote
    world.approve(inst.id, "zhao")
    world.reject(inst.id, "qian")
    assert world.instance(inst.id).status == "running"  # feng can still make it 2
    world.approve(inst.id, "feng")
    assert world.statuses(inst.id, "board") == {
        "feng": "approved",
        "qian": "rejected",
        "zhao": "approved",
    }
    assert set(world.pending(inst.id)) == {"zhou"}


def test_vote_by_count_rejects_once_the_count_is_unreachable(world):
    inst = _vote(world, "{count: 2}")
    world.reject(inst.id, "zhao")
    assert world.instance(inst.id).status == "running"
    world.reject(inst.id, "qian")  # 2 needed, only feng left
    view = world.instance(inst.id)
    assert view.status == "rejected"
    assert world.statuses(inst.id, "board")["feng"] == "not_needed"


def test_vote_by_percent_rounds_up(world):
    inst = _vote(world, "{percent: 34}")  # 34% of 3 people: 1.02 -> 2 approvals
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).active_nodes == ["board"]
    world.approve(inst.id, "feng")
    assert world.instance(inst.id).active_nodes == ["final"]
    assert world.statuses(inst.id, "board")["qian"] == "not_needed"


def test_vote_with_reject_any_ends_at_the_first_reject(world):
    inst = _vote(world, "{percent: 50}", "reject: any")
    world.approve(inst.id, "zhao")
    world.reject(inst.id, "feng")
    assert world.instance(inst.id).status == "rejected"


def test_a_reject_ends_the_case_and_closes_every_other_task(world):
    world.install(PARALLEL)
    inst = world.submit("xiao")
    world.reject(inst.id, "lu", comment="contract is missing")
    view = world.instance(inst.id)
    assert (view.status, view.record_status, view.active_nodes) == ("rejected", "rejected", [])
    assert world.describe(inst.id) == [
        ("legal", "lu", "rejected"),
        ("budget", "zhao", "not_needed"),
    ]
    assert world.flows.tasks(as_("zhao")).total == 0
    assert world.record(inst.id).status == "rejected"
    rejected = next(e for e in view.timeline if e.action == "reject")
    assert (rejected.actor, rejected.comment) == ("lu", "contract is missing")


def test_withdraw_cancels_the_case(world):
    world.install(PARALLEL)
    inst = world.submit("xiao")
    view = world.flows.withdraw(as_("xiao"), "t", inst.id)
    assert (view.status, view.record_status) == ("withdrawn", "withdrawn")
    assert {t.status for t in view.tasks} == {"not_needed"}
    assert world.flows.tasks(as_("lu")).total == 0


def test_an_administrator_terminates_a_case(world):
    world.install(PARALLEL)
    inst = world.submit("xiao")
    with pytest.raises(FlowActionError, match="only an administrator may do this"):
        world.flows.terminate(as_("xiao"), "t", inst.id)
    view = world.flows.terminate(ADMIN, "t", inst.id, comment="duplicate")
    assert (view.status, view.record_status) == ("terminated", "terminated")
    assert {t.status for t in view.tasks} == {"not_needed"}
    entry = view.timeline[-1]
    assert (entry.action, entry.actor, entry.comment) == ("terminate", "admin", "duplicate")
    with pytest.raises(FlowActionError, match=r"the flow has ended \(terminated\)"):
        world.flows.terminate(ADMIN, "t", inst.id)


def test_a_suspended_case_refuses_task_actions_until_reactivated(world):
    world.install(PARALLEL)
    inst = world.submit("xiao")
    lu = world.task_of(inst.id, "lu")
    with pytest.raises(FlowActionError, match="only an administrator may do this"):
        world.flows.suspend(as_("xiao"), "t", inst.id)
    view = world.flows.suspend(ADMIN, "t", inst.id, comment="audit")
    assert (view.status, view.record_status) == ("suspended", "in_approval")
    suspended = "the flow is suspended: an administrator must reactivate it first"
    with pytest.raises(FlowActionError, match=suspended):
        world.flows.approve(as_("lu"), lu)
    with pytest.raises(FlowActionError, match=suspended):
        world.flows.reject(as_("lu"), lu, comment="x")
    with pytest.raises(FlowActionError, match=suspended):
        world.flows.transfer(as_("lu"), lu, "song")
    with pytest.raises(FlowActionError, match=suspended):
        world.flows.add_signer(as_("lu"), lu, ["song"])
    with pytest.raises(FlowActionError, match=suspended):
        world.flows.send_back(as_("lu"), lu, to="start")
    with pytest.raises(FlowActionError, match=r"the flow is suspended: this action"):
        world.flows.remind(as_("xiao"), "t", inst.id)
    with pytest.raises(FlowActionError, match=r"the flow is suspended: this action"):
        world.flows.suspend(ADMIN, "t", inst.id)
    assert world.statuses(inst.id, "legal") == {"lu": "pending"}  # nothing moved

    view = world.flows.reactivate(ADMIN, "t", inst.id)
    assert view.status == "running"
    world.flows.approve(as_("lu"), lu)
    assert world.statuses(inst.id, "legal") == {"lu": "approved"}
    with pytest.raises(FlowActionError, match=r"^the flow is in approval: this action is not"):
        world.flows.reactivate(ADMIN, "t", inst.id)


def test_any_mode_with_reject_all_needs_everyone_to_reject(world):
    world.install(
        """
        - approval: finance
          approvers: {users: [zhao, qian]}
          reject: all
        """
    )
    passed = world.submit("xiao")
    world.reject(passed.id, "zhao")
    assert world.instance(passed.id).status == "running"  # qian may still approve
    world.approve(passed.id, "qian")
    assert world.instance(passed.id).status == "approved"
    refused = world.submit("xiao")
    world.reject(refused.id, "zhao")
    world.reject(refused.id, "qian")
    assert world.instance(refused.id).status == "rejected"


NESTED = """
- parallel:
    - nodes:
        - branches:
            - when: "amount > 100"
              nodes:
                - approval: big
                  approvers: {user: zhou}
            - otherwise: []
          key: inner
        - approval: budget
          approvers: {user: zhao}
    - nodes:
        - approval: legal
          approvers: {user: lu}
        - branches:
            - when: "category == 'other'"
              nodes:
                - end: stop
                  outcome: rejected
            - otherwise: []
          key: screen
  key: outer
- approval: final
  approvers: {user: chen}
"""


def test_gateways_nest_and_a_send_back_into_an_inner_gateway_keeps_the_outer_one(world):
    world.install(NESTED)
    inst = world.submit("xiao", amount=300)
    assert world.instance(inst.id).active_nodes == ["big", "legal"]
    world.approve(inst.id, "zhou")
    assert world.instance(inst.id).active_nodes == ["budget", "legal"]
    world.send_back(inst.id, "zhao", to="previous")  # to big, inside the inner gateway
    assert world.instance(inst.id).active_nodes == ["big", "legal"]
    world.approve(inst.id, "zhou")
    world.approve(inst.id, "zhao")
    assert world.instance(inst.id).active_nodes == ["legal"]
    world.approve(inst.id, "lu")
    assert world.pending(inst.id).keys() == {"chen"}
    # the send back entered big directly: the inner condition was not evaluated again
    assert [r["node"] for r in world.instance(inst.id).routes] == ["inner", "screen"]


def test_an_end_node_in_a_branch_ends_the_whole_case(world):
    world.install(NESTED)
    inst = world.submit("xiao", amount=3, category="other")
    assert world.instance(inst.id).active_nodes == ["budget", "legal"]
    world.approve(inst.id, "lu")  # the screen gateway reaches end: rejected
    view = world.instance(inst.id)
    assert (view.status, view.record_status) == ("rejected", "rejected")
    assert world.statuses(inst.id, "budget") == {"zhao": "not_needed"}
    assert [t for t, _ in world.events(inst.id)][-1] == "flow.rejected"


def test_action_nodes_set_fields_and_emit_events(world):
    world.install(
        """
        - action: stamp
          set: {budget_code: "CONCAT('AUTO-', subject)", days: "amount * 2"}
          emit: request.stamped
        - approval: lead
          approvers: {manager: 1}
        - action: close
          set: {note: "'approved by lead'"}
        """
    )
    inst = world.submit("xiao", subject="laptop", amount=3)
    values = world.record(inst.id).values
    assert (values["budget_code"], values["days"], values["note"]) == ("AUTO-laptop", 6, None)
    (event,) = [p for t, p in world.events(inst.id) if t == "flow.action"]
    assert (event["node"], event["name"]) == ("stamp", "request.stamped")
    world.approve(inst.id, "wang")
    record = world.record(inst.id)
    assert (record.values["note"], record.status) == ("approved by lead", "approved")
    history = world.service.record_history(as_("admin"), "t", "request", inst.record_id)
    assert [(r.actor, sorted(r.changes)) for r in history[1:]] == [
        ("xiao", ["budget_code", "days"]),  # the action at submit, in the submit's name
        ("wang", ["note"]),  # the action after wang's approval, in his
    ]


def test_the_flow_api_refuses_a_form_without_a_flow(world):
    world.install(ONE_REVIEWER.replace("{mode}", "any"))
    before = world.counts(["f_t_store"])
    with pytest.raises(FlowActionError, match=r"^form store has no approval flow$"):
        world.flows.submit(as_("xiao"), "t", "store", {"name": "西湖店"})
    with pytest.raises(FlowActionError, match=r"^form store has no approval flow$"):
        world.flows.save_draft(as_("xiao"), "t", "store", {"name": "西湖店"})
    assert world.counts(["f_t_store"]) == before
    # records of such a form are created as usual
    assert (
        world.service.create_record(as_("xiao"), "t", "store", {"name": "西湖店"}).status
        == "active"
    )
