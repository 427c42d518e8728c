"""Every action where it is allowed and where it is refused, with the message people read.

approve, reject, send back, transfer and add signer on handled, waiting and closed
tasks, by someone else, on finished instances; withdraw before and after someone acted
and within or after ``withdraw: {after_approval_days: N}``; resubmit only after a send
back to the start; required comments and signatures; remind; comments on the timeline.
"""

from __future__ import annotations

import pytest

from engine.errors import FlowActionError, InvalidArgumentError
from tests.flows.conftest import as_

TWO_STEPS = """
- approval: lead
  approvers: {manager: 1}
  comment: reject
- approval: finance
  approvers: {role: finance}
"""

ADMIN = as_("admin")


@pytest.fixture
def two_steps(world):
    world.install(TWO_STEPS)
    return world


def test_approve_by_the_holder_and_refused_to_anyone_else(two_steps, clock):
    world = two_steps
    inst = world.submit("xiao")
    task = world.task_of(inst.id, "wang")
    with pytest.raises(FlowActionError, match=r"^this task belongs to wang, not to you$"):
        world.flows.approve(as_("li"), task)
    with pytest.raises(FlowActionError, match=r"^there is no task 999$"):
        world.flows.approve(as_("wang"), 999)
    clock.set(2026, 1, 5, 11, 30)
    view = world.flows.approve(as_("wang"), task, comment="ok")
    assert (view.status, view.acted_by, view.comment) == ("approved", "wang", "ok")
    assert view.acted_at == clock.now
    clock.set(2026, 1, 5, 14, 0)
    handled = r"^already handled by wang at 2026-01-05 11:30 \(approved\)$"
    for action in (
        lambda: world.flows.approve(as_("wang"), task),
        lambda: world.flows.reject(as_("wang"), task, comment="changed my mind"),
        lambda: world.flows.send_back(as_("wang"), task, to="start", comment="x"),
        lambda: world.flows.transfer(as_("wang"), task, "li"),
        lambda: world.flows.add_signer(as_("wang"), task, ["li"]),
    ):
        with pytest.raises(FlowActionError, match=handled):
            action()
    zh = as_("wang", locale="zh-CN")
    with pytest.raises(
        FlowActionError, match=r"^该任务已由 wang 于 2026-01-05 11:30 处理（已同意）$"
    ):
        world.flows.approve(zh, task)


def test_a_task_a_sibling_decided_says_who_decided_it(two_steps, clock):
    world = two_steps
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    zhao = world.task_of(inst.id, "zhao")
    clock.set(2026, 1, 6, 9, 15)
    world.approve(inst.id, "qian")  # 或签: zhao's task is no longer needed
    assert world.statuses(inst.id, "finance")["zhao"] == "not_needed"
    with pytest.raises(FlowActionError, match=r"^already handled by qian at 2026-01-06 09:15"):
        world.flows.approve(as_("zhao"), zhao)


def test_actions_on_a_finished_instance_are_refused(two_steps):
    world = two_steps
    inst = world.submit("xiao")
    task = world.task_of(inst.id, "wang")
    world.flows.withdraw(as_("xiao"), "t", inst.id)
    assert world.statuses(inst.id, "lead") == {"wang": "not_needed"}
    with pytest.raises(
        FlowActionError, match=r"^the flow is withdrawn: this action is not possible$"
    ):
        world.flows.approve(as_("wang"), task)
    with pytest.raises(FlowActionError, match=r"^the flow has ended \(withdrawn\)$"):
        world.flows.withdraw(as_("xiao"), "t", inst.id)
    with pytest.raises(FlowActionError, match=r"^the flow has ended \(withdrawn\)$"):
        world.flows.terminate(ADMIN, "t", inst.id)
    with pytest.raises(FlowActionError, match=r"^the flow is withdrawn: this action"):
        world.flows.suspend(ADMIN, "t", inst.id)


def test_reject_needs_a_comment_where_the_node_says_so(two_steps):
    world = two_steps
    inst = world.submit("xiao")
    task = world.task_of(inst.id, "wang")
    for blank in (None, "", "   "):
        with pytest.raises(FlowActionError, match=r"^node lead requires a comment$"):
            world.flows.reject(as_("wang"), task, comment=blank)
    with pytest.raises(FlowActionError, match=r"^node lead requires a comment$"):
        world.flows.send_back(as_("wang"), task, to="start")
    world.flows.approve(as_("wang"), task)  # approving needs none at comment: reject
    world.flows.reject(as_("zhao"), world.task_of(inst.id, "zhao"))  # never: none needed
    assert world.instance(inst.id).status == "rejected"


def test_comment_always_and_signature(world):
    world.install(
        """
        - approval: finance
          approvers: {user: zhao}
          comment: always
          signature: true
        """
    )
    inst = world.submit("xiao")
    task = world.task_of(inst.id, "zhao")
    with pytest.raises(FlowActionError, match=r"^node finance requires a comment$"):
        world.flows.approve(as_("zhao"), task, signature="file-17")
    with pytest.raises(FlowActionError, match=r"^node finance requires a signature$"):
        world.flows.approve(as_("zhao"), task, comment="fine")
    with pytest.raises(FlowActionError, match=r"^node finance requires a signature$"):
        world.flows.approve(as_("zhao"), task, comment="fine", signature="")
    world.flows.approve(as_("zhao"), task, comment="fine", signature="file-17")
    assert world.rows("select signature, comment from flow_tasks where id = :i", i=task) == [
        ("file-17", "fine")
    ]
    assert world.instance(inst.id).status == "approved"


def test_a_handler_completes_but_cannot_reject(world):
    world.install(
        """
        - handler: fill_in
          approvers: {user: zhao}
        """
    )
    inst = world.submit("xiao")
    task = world.task_of(inst.id, "zhao")
    with pytest.raises(FlowActionError, match=r"^handler node fill_in cannot reject"):
        world.flows.reject(as_("zhao"), task, comment="no")
    world.flows.approve(as_("zhao"), task)
    assert [a for a, n, _ in world.actions(inst.id) if n == "fill_in"][-1] == "complete"
    assert world.instance(inst.id).status == "approved"


def test_transfer_hands_the_task_over(two_steps, clock):
    world = two_steps
    inst = world.submit("xiao")
    task = world.task_of(inst.id, "wang")
    with pytest.raises(FlowActionError, match=r"^cannot transfer a task to its own assignee$"):
        world.flows.transfer(as_("wang"), task, "wang")
    with pytest.raises(FlowActionError, match=r"^there is no user ghost$"):
        world.flows.transfer(as_("wang"), task, "ghost")
    with pytest.raises(FlowActionError, match=r"^this task belongs to wang, not to you$"):
        world.flows.transfer(as_("li"), task, "li")
    clock.set(2026, 1, 5, 10, 20)
    world.flows.transfer(as_("wang"), task, "li", comment="I am on leave")
    assert world.statuses(inst.id, "lead") == {"wang": "transferred", "li": "pending"}
    moved = next(t for t in world.instance(inst.id).tasks if t.assignee == "li")
    assert moved.reason == {"source": "transferred from wang"}
    with pytest.raises(FlowActionError, match=r"^already handled by wang at 2026-01-05 10:20"):
        world.flows.approve(as_("wang"), task)
    world.approve(inst.id, "li")
    assert set(world.pending(inst.id)) == {"zhao", "qian", "feng"}
    # a person who already holds a task at the node cannot receive another
    with pytest.raises(FlowActionError, match=r"^qian already has a task at this node$"):
        world.flows.transfer(as_("zhao"), world.task_of(inst.id, "zhao"), "qian")


def test_withdraw_before_anyone_acted_only(two_steps):
    world = two_steps
    early = world.submit("xiao")
    with pytest.raises(FlowActionError, match=r"^only the submitter xiao may do this$"):
        world.flows.withdraw(as_("wang"), "t", early.id)
    assert world.flows.withdraw(as_("xiao"), "t", early.id).status == "withdrawn"

    late = world.submit("xiao")
    world.approve(late.id, "wang")
    with pytest.raises(
        FlowActionError, match=r"^someone has already acted: it can no longer be withdrawn$"
    ):
        world.flows.withdraw(as_("xiao"), "t", late.id)
    assert world.instance(late.id).status == "running"


def test_a_transfer_is_not_acting_so_the_submitter_may_still_withdraw(two_steps):
    world = two_steps
    inst = world.submit("xiao")
    world.flows.transfer(as_("wang"), world.task_of(inst.id, "wang"), "li")
    assert world.flows.withdraw(as_("xiao"), "t", inst.id).status == "withdrawn"


def test_withdraw_after_approval_only_within_the_flows_days(world, clock):
    world.install(
        """
        - approval: lead
          approvers: {manager: 1}
        """,
        withdraw="{after_approval_days: 3}",
    )
    inside = world.submit("xiao")
    outside = world.submit("xiao")
    clock.set(2026, 1, 5, 12, 0)
    world.approve(inside.id, "wang")
    world.approve(outside.id, "wang")
    assert world.instance(inside.id).status == "approved"

    clock.set(2026, 1, 8, 11, 59)  # 2 days 23:59 after the approval
    view = world.flows.withdraw(as_("xiao"), "t", inside.id)
    assert (view.status, view.record_status) == ("withdrawn", "withdrawn")
    assert world.record(inside.id).status == "withdrawn"

    clock.set(2026, 1, 8, 12, 1)
    with pytest.raises(
        FlowActionError, match=r"^the 3 days for withdrawing after approval have passed$"
    ):
        world.flows.withdraw(as_("xiao"), "t", outside.id)
    assert world.instance(outside.id).status == "approved"


def test_withdraw_after_approval_is_refused_without_the_setting(two_steps):
    world = two_steps
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    world.approve(inst.id, "zhao")
    with pytest.raises(
        FlowActionError, match=r"^this flow does not allow withdrawing after approval$"
    ):
        world.flows.withdraw(as_("xiao"), "t", inst.id)
    rejected = world.submit("xiao")
    world.reject(rejected.id, "wang", comment="no budget")
    with pytest.raises(FlowActionError, match=r"^the flow has ended \(rejected\)$"):
        world.flows.withdraw(as_("xiao"), "t", rejected.id)


def test_resubmit_only_after_a_send_back_to_the_start(two_steps):
    world = two_steps
    inst = world.submit("xiao")
    refused = r"^only a request that was sent back can be resubmitted \(now: in approval\)$"
    with pytest.raises(FlowActionError, match=refused):
        world.flows.resubmit(as_("xiao"), "t", inst.id)
    world.approve(inst.id, "wang")
    world.send_back(inst.id, "zhao", to="previous")  # back to a node: still running
    with pytest.raises(FlowActionError, match=refused):
        world.flows.resubmit(as_("xiao"), "t", inst.id)
    world.send_back(inst.id, "wang", to="start")
    with pytest.raises(FlowActionError, match=r"^only the submitter xiao may do this$"):
        world.flows.resubmit(as_("wang"), "t", inst.id)
    view = world.flows.resubmit(as_("xiao"), "t", inst.id)
    assert (view.status, view.cycle) == ("running", 2)


def test_send_back_targets_the_node_allows(world):
    world.install(
        """
        - approval: lead
          approvers: {manager: 1}
        - approval: head
          approvers: {manager: 2}
        - approval: finance
          approvers: {user: zhao}
          send_back: {to: [previous]}
        """
    )
    inst = world.submit("xiao")
    world.approve(inst.id, "wang")
    task = world.task_of(inst.id, "li")
    with pytest.raises(FlowActionError, match=r"^the flow has no node nowhere$"):
        world.flows.send_back(as_("li"), task, to="nowhere")
    with pytest.raises(
        FlowActionError, match=r"^cannot send back to finance: it was not reached before this node$"
    ):
        world.flows.send_back(as_("li"), task, to="finance")
    world.approve(inst.id, "li")
    task = world.task_of(inst.id, "zhao")
    with pytest.raises(FlowActionError, match=r"^cannot send back to start; allowed: previous$"):
        world.flows.send_back(as_("zhao"), task, to="start")
    with pytest.raises(FlowActionError, match=r"^cannot send back to lead; allowed: previous$"):
        world.flows.send_back(as_("zhao"), task, to="lead")


def test_remind_by_the_submitter_or_an_administrator(two_steps):
    world = two_steps
    inst = world.submit("xiao")
    with pytest.raises(FlowActionError, match=r"^only the submitter xiao may do this$"):
        world.flows.remind(as_("li"), "t", inst.id)
    world.flows.remind(as_("xiao"), "t", inst.id)
    world.flows.remind(ADMIN, "t", inst.id)
    reminded = [p for t, p in world.events(inst.id) if t == "task.reminded"]
    assert [(p["assignee"], p["actor"]) for p in reminded] == [("wang", "xiao"), ("wang", "admin")]


def test_comments_with_mentions_from_anyone_who_sees_the_instance(two_steps):
    world = two_steps
    inst = world.submit("xiao")
    world.flows.comment(as_("wang"), "t", inst.id, "@li please look, @ghost too")
    entry = world.instance(inst.id).timeline[-1]
    assert (entry.action, entry.actor, entry.detail) == ("comment", "wang", {"mentions": ["li"]})
    (event,) = [p for t, p in world.events(inst.id) if t == "flow.commented"]
    assert event["mentions"] == ["li"]
    with pytest.raises(FlowActionError, match=r"^there is no flow instance 1$"):
        world.flows.comment(as_("gz.boss"), "t", inst.id, "hello")
    with pytest.raises(InvalidArgumentError):
        world.flows.comment(as_("wang"), "t", inst.id, "   ")


ACTIONS = {
    "approve": lambda flows, who, task: flows.approve(who, task),
    "reject": lambda flows, who, task: flows.reject(who, task, comment="no"),
    "send_back": lambda flows, who, task: flows.send_back(who, task, to="start", comment="x"),
    "transfer": lambda flows, who, task: flows.transfer(who, task, "song"),
    "add_signer": lambda flows, who, task: flows.add_signer(who, task, ["song"]),
}
SEQUENTIAL = """
- approval: chain
  approvers: {users: [li, chen]}
  mode: sequential
"""


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_task_action_is_refused_on_a_waiting_task(world, action):
    world.install(SEQUENTIAL)
    inst = world.submit("xiao")
    chen = world.task_of(inst.id, "chen", "waiting")
    with pytest.raises(FlowActionError, match=r"^this task cannot be acted on now \(waiting\)$"):
        ACTIONS[action](world.flows, as_("chen"), chen)
    assert world.statuses(inst.id, "chain") == {"li": "pending", "chen": "waiting"}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_every_task_action_is_refused_to_someone_else(world, action):
    world.install(SEQUENTIAL)
    inst = world.submit("xiao")
    li = world.task_of(inst.id, "li")
    for other in ("chen", "xiao", "admin"):
        with pytest.raises(FlowActionError, match=r"^this task belongs to li, not to you$"):
            ACTIONS[action](world.flows, as_(other), li)
    assert world.statuses(inst.id, "chain") == {"li": "pending", "chen": "waiting"}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize(
    ("end", "message"),
    [
        ("withdraw", "^the flow is withdrawn: this action is not possible$"),
        ("terminate", "^the flow is terminated: this action is not possible$"),
        # chen's turn never came: li's send back closed it, and chen hears who did it
        ("send_back", r"^already handled by li at 2026-01-05 10:00 \(sent back\)$"),
    ],
)
def test_every_task_action_is_refused_once_the_instance_stopped(world, action, end, message):
    world.install(SEQUENTIAL)
    inst = world.submit("xiao")
    li = world.task_of(inst.id, "li")
    if end == "withdraw":
        world.flows.withdraw(as_("xiao"), "t", inst.id)
        task, holder = li, "li"
    elif end == "terminate":
        world.flows.terminate(ADMIN, "t", inst.id)
        task, holder = li, "li"
    else:  # li sends it back to xiao: chen's waiting task is no longer needed
        task, holder = world.task_of(inst.id, "chen", "waiting"), "chen"
        world.send_back(inst.id, "li", to="start")
    with pytest.raises(FlowActionError, match=message):
        ACTIONS[action](world.flows, as_(holder), task)
