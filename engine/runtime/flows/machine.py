"""The flow state machine: one command on one instance, and what it changes.

A :class:`FlowRun` holds an instance's state and its live tasks (those of running
nodes). Each public method is one command; it checks the state it needs (else raises
:class:`FlowRefusal`), changes the state and tasks, and collects timeline entries,
events and timers for the store to write in the same transaction. Who may run a
command is the service's decision; the run only checks the actor against the task.

Nodes are entered when reached: a task node resolves its people (engine/runtime/flows/
resolve.py) and creates tasks; a gateway evaluates its conditions (recording what it
saw) and enters its branches; cc, action and end nodes act and move on at once.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.definitions.durations import Duration
from engine.definitions.flows import FlowNode
from engine.runtime.flows.refusals import FlowRefusal
from engine.runtime.flows.resolve import Assignment, Directory, Resolver
from engine.runtime.flows.state import VOTES, InstanceState, Task, Timer
from engine.runtime.flows.tree import FlowTree

SYSTEM_ACTOR = "system"

#: the record's status for each instance status
RECORD_STATUS = {
    "running": "in_approval",
    "suspended": "in_approval",
    "sent_back": "sent_back",
    "approved": "approved",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "terminated": "terminated",
}
FINISHED = ("approved", "rejected", "withdrawn", "terminated")


@dataclass
class RunContext:
    """What a run needs from outside: the moment, the record, the people, the clock."""

    now: datetime
    values: Mapping[str, Any]
    submitter: str
    directory: Directory
    form: str
    #: evaluate(expression, values) -> value (conditions, action values, expr sources)
    evaluate: Callable[[str, Mapping[str, Any]], Any]
    #: deadline(duration, start) -> moment (working time); None: no timers (simulation)
    deadline: Callable[[Duration, datetime], datetime] | None = None
    #: node key -> logins the submitter chose
    choices: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass
class Entry:
    """One timeline entry: who did what at which node, with comment and details."""

    action: str
    actor: str
    node: str | None = None
    task: Task | None = None
    comment: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


class FlowRun:
    """One command's work on one instance."""

    def __init__(
        self,
        tree: FlowTree,
        state: InstanceState,
        tasks: list[Task],
        ctx: RunContext,
    ):
        self.tree, self.state, self.ctx = tree, state, ctx
        self.tasks: list[Task] = list(tasks)
        self.timeline: list[Entry] = []
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.arm: list[Timer] = []
        #: nodes whose unfired timers are cancelled (None in the set: every node)
        self.disarm: set[str | None] = set()
        #: field values set by action nodes (written to the record by the service)
        self.sets: dict[str, Any] = {}
        self._at_start = False

    # -- reading --------------------------------------------------------------------------
    @property
    def record_status(self) -> str:
        return RECORD_STATUS[self.state.status]

    def node_tasks(self, key: str) -> list[Task]:
        """The tasks of the running entry of node ``key``."""
        entry = self.state.active.get(key)
        return [
            t
            for t in self.tasks
            if t.node == key and t.entry == entry and t.live and t.kind != "cc"
        ]

    def task(self, task_id: int) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise FlowRefusal("task_unknown", task=task_id)

    # -- commands -------------------------------------------------------------------------
    def start(self, actor: str) -> None:
        """Start the instance: enter the first node (the people of a node that refuses an
        empty list are checked now, so a submit with nobody to approve is refused)."""
        self._at_start = True
        self._log("submit", actor)
        self._event("flow.started", actor=actor)
        first = self.tree.first()
        if first is None:
            self._finish("approved", actor)
        else:
            self._enter(first)
        self._at_start = False

    def approve(
        self, task: Task, actor: str, comment: str | None = None, signature: str | None = None
    ) -> None:
        node = self._actionable(task, actor)
        self._require_comment(node, comment, "approve")
        if node.signature and not signature:
            raise FlowRefusal("signature_required", node=node.key, node_name=node.name)
        task.signature = signature
        self._decide(task, "approved", actor, comment)

    def reject(self, task: Task, actor: str, comment: str | None = None) -> None:
        node = self._actionable(task, actor)
        if node.kind == "handler":
            raise FlowRefusal("handler_cannot_reject", node=node.key, node_name=node.name)
        self._require_comment(node, comment, "reject")
        self._decide(task, "rejected", actor, comment)

    def send_back(
        self, task: Task, actor: str, target: str = "previous", comment: str | None = None
    ) -> str:
        """Send the request back from ``task``'s node; returns the node (or "start")."""
        node = self._actionable(task, actor)
        self._require_comment(node, comment, "reject")
        resolved = self._send_back_target(node, target)
        task.close("sent_back", at=self.ctx.now, by=actor)
        task.comment = comment
        self.state.acted = True
        self._log("send_back", actor, node.key, task, comment, {"to": resolved})
        self._event("task.completed", task=task, outcome="sent_back", actor=actor)
        if resolved == "start":
            self._leave_everything()
        else:
            # only the branch holding both nodes is left: sibling branches of a parallel
            # or inclusive gateway keep running, and the join still waits for them
            self._leave_within(self.tree.shared_branch(resolved, node.key))
        settings = node.send_back or self.tree.flow.send_back
        if resolved == "start":
            self.state.status = "sent_back"
            self.state.sent_back_from = node.key if settings.resubmit == "return" else None
            self._event("flow.sent_back", actor=actor, node=node.key, to="start")
        else:
            self._forget_approvals(resolved)
            if settings.resubmit == "return":
                self.state.return_to[resolved] = node.key
            self._event("flow.sent_back", actor=actor, node=node.key, to=resolved)
            self._jump(resolved)
        return resolved

    def resubmit(self, actor: str) -> None:
        """The submitter sends a sent-back request again (a new cycle)."""
        if self.state.status != "sent_back":
            raise FlowRefusal("not_sent_back", status=self.state.status)
        back_to = self.state.sent_back_from
        self.state.status = "running"
        self.state.cycle += 1
        self.state.visited, self.state.approved_by = [], []
        self.state.approvers_of = {}
        self.state.acted, self.state.sent_back_from = False, None
        self._log("resubmit", actor, detail={"cycle": self.state.cycle})
        self._event("flow.started", actor=actor, resubmitted=True)
        if back_to:
            self._jump(back_to)
        else:
            first = self.tree.first()
            if first is None:
                self._finish("approved", actor)
            else:
                self._enter(first)

    def withdraw(self, actor: str, withdraw_days: int | None) -> None:
        """The submitter takes the request back (before anyone acted, or within N days of
        approval when the flow allows it)."""
        status = self.state.status
        if status in ("running", "sent_back", "suspended"):
            if self.state.acted and status != "sent_back":
                raise FlowRefusal("already_acted")
        elif status == "approved":
            approved_at = (
                datetime.fromisoformat(self.state.approved_at) if self.state.approved_at else None
            )
            if withdraw_days is None or approved_at is None:
                raise FlowRefusal("withdraw_after_approval_not_allowed")
            if self.ctx.now - approved_at > timedelta(days=withdraw_days):
                raise FlowRefusal("withdraw_too_late", days=withdraw_days)
        else:
            raise FlowRefusal("finished", status=status)
        self._leave_everything()
        self.state.status = "withdrawn"
        self._log("withdraw", actor)
        self._event("flow.withdrawn", actor=actor)

    def transfer(
        self, task: Task, actor: str, to: str, comment: str | None = None, *, system: bool = False
    ) -> Task:
        node = self._actionable(task, actor, system=system)
        if to == task.assignee:
            raise FlowRefusal("transfer_to_self")
        if any(t.assignee == to and t.open for t in self.node_tasks(node.key)):
            raise FlowRefusal("already_assignee", user=to)
        task.close("transferred", at=self.ctx.now, by=actor)
        task.comment = comment
        new = self._new_task(
            node,
            Assignment(to, {"source": f"transferred from {task.assignee}"}),
            task.slot,
            task.stage,
            task.stage_mode,
        )
        new.status = "pending"
        self._log("transfer", actor, node.key, task, comment, {"to": to})
        self._event("task.completed", task=task, outcome="transferred", actor=actor)
        self._event("task.created", task=new)
        return new

    def add_signer(
        self,
        task: Task,
        actor: str,
        logins: Sequence[str],
        position: str,
        mode: str = "all",
        comment: str | None = None,
    ) -> list[Task]:
        """加签: people act before, after or alongside ``task`` (as all, any or one by one)."""
        node = self._actionable(task, actor)
        if position not in ("before", "after", "parallel"):
            raise FlowRefusal("bad_position", position=position)
        if mode not in ("all", "any", "sequential"):
            raise FlowRefusal("bad_mode", mode=mode)
        current = self.node_tasks(node.key)
        taken = {t.assignee for t in current if t.open}
        wanted = [login for login in dict.fromkeys(logins) if login not in taken]
        if not wanted:
            raise FlowRefusal("no_new_signer")
        groups = [[login] for login in wanted] if mode == "sequential" else [wanted]
        stage_mode = "any" if mode == "any" else "all"
        slot_tasks = [t for t in current if t.slot == task.slot]
        created: list[Task] = []
        reason = {"source": f"added by {actor} ({position}, {mode})"}
        if position == "parallel":
            slot = max((t.slot for t in current), default=0) + 1
            stages = range(len(groups))
            pairs = [(slot, stage) for stage in stages]
        elif position == "before":
            low = min(t.stage for t in slot_tasks)
            pairs = [(task.slot, low - len(groups) + i) for i in range(len(groups))]
        else:
            high = max(t.stage for t in slot_tasks)
            pairs = [(task.slot, high + 1 + i) for i in range(len(groups))]
        for (slot, stage), group in zip(pairs, groups, strict=True):
            for login in group:
                created.append(
                    self._new_task(node, Assignment(login, dict(reason)), slot, stage, stage_mode)
                )
        self._log(
            "add_signer",
            actor,
            node.key,
            task,
            comment,
            {"signers": wanted, "position": position, "mode": mode},
        )
        self._refresh(node)
        return created

    def comment(self, actor: str, text: str, mentions: Sequence[str]) -> None:
        self._log("comment", actor, comment=text, detail={"mentions": list(mentions)})
        self._event("flow.commented", actor=actor, comment=text, mentions=list(mentions))

    def remind(self, actor: str) -> list[Task]:
        """催办: every pending task is reminded (events for notifications)."""
        if self.state.status != "running":
            raise FlowRefusal("not_running", status=self.state.status)
        pending = [t for t in self.tasks if t.status == "pending" and t.live]
        self._log("remind", actor, detail={"to": [t.assignee for t in pending]})
        for t in pending:
            self._event("task.reminded", task=t, actor=actor)
        return pending

    def terminate(self, actor: str, comment: str | None = None) -> None:
        if self.state.status in FINISHED:
            raise FlowRefusal("finished", status=self.state.status)
        self._leave_everything()
        self.state.status = "terminated"
        self._log("terminate", actor, comment=comment)
        self._event("flow.terminated", actor=actor)

    def suspend(self, actor: str, comment: str | None = None) -> None:
        if self.state.status not in ("running", "sent_back"):
            raise FlowRefusal("not_running", status=self.state.status)
        self.state.suspended_from, self.state.status = self.state.status, "suspended"
        self._log("suspend", actor, comment=comment)
        self._event("flow.suspended", actor=actor)

    def reactivate(self, actor: str, comment: str | None = None) -> None:
        if self.state.status != "suspended":
            # the message catalogue words this one: "the flow is {status}: this action
            # is not possible" (there is no separate "not suspended" message)
            raise FlowRefusal("not_running", status=self.state.status)
        self.state.status = self.state.suspended_from or "running"
        self.state.suspended_from = None
        self._log("reactivate", actor, comment=comment)
        self._event("flow.reactivated", actor=actor)

    def fire(self, timer: Timer) -> bool:
        """Act on a due timer; False when it no longer applies (its node entry is over)."""
        if self.state.status != "running" or self.state.active.get(timer.node) != timer.entry:
            return False
        node = self.tree.node(timer.node)
        pending = [t for t in self.node_tasks(node.key) if t.status == "pending"]
        if timer.kind == "remind":
            self._log(
                "remind", SYSTEM_ACTOR, node.key, detail={"to": [t.assignee for t in pending]}
            )
            for t in pending:
                self._event("task.reminded", task=t, actor=SYSTEM_ACTOR)
            self._arm_reminder(node, timer.entry, timer.due)
            return True
        action = node.timeout.then if node.timeout else None
        self._log(
            "timeout", SYSTEM_ACTOR, node.key, detail={"then": action.kind if action else None}
        )
        self._event("node.timeout", node=node.key, then=action.kind if action else None)
        if action is None or not pending:
            return True
        if action.kind == "approve":
            for t in pending:
                if t.open and self.state.active.get(node.key) == timer.entry:
                    t.auto = True
                    self._decide(t, "approved", SYSTEM_ACTOR, "timeout")
        elif action.kind == "reject":
            self._decide(pending[0], "rejected", SYSTEM_ACTOR, "timeout")
        elif action.kind == "send_back":
            target = "previous" if self._previous(node) else "start"
            self.send_back(pending[0], SYSTEM_ACTOR, target, "timeout")
        else:
            for t in pending:
                if action.kind == "escalate":
                    people = [
                        m for m in self.ctx.directory.managers(t.assignee, 1) if m != t.assignee
                    ]
                else:
                    people = [a.login for a in self._resolver().sources(action.to, node)]
                people = [p for p in people if p in self.ctx.directory.active(people)]
                if people and people[0] != t.assignee:
                    new = self.transfer(t, SYSTEM_ACTOR, people[0], "timeout", system=True)
                    new.reason = {**new.reason, "timeout": f"{action.kind} from {t.assignee}"}
        return True

    # -- deciding -------------------------------------------------------------------------
    def _actionable(self, task: Task, actor: str, *, system: bool = False) -> FlowNode:
        """The task's node, when ``actor`` may act on ``task`` now; else a refusal.

        A task someone already decided says who and when first: that is the answer two
        people acting at once need, whatever the instance did next.
        """
        if task.status not in ("pending", "waiting") and task.acted_by:
            raise FlowRefusal(
                "task_handled", by=task.acted_by, at=task.acted_at, status=task.status
            )
        if self.state.status == "suspended":
            raise FlowRefusal("suspended")
        if self.state.status != "running":
            raise FlowRefusal("not_running", status=self.state.status)
        if not task.live or task.status != "pending":
            raise FlowRefusal("task_not_pending", status=task.status)
        if actor != task.assignee and not system and actor != SYSTEM_ACTOR:
            raise FlowRefusal("not_assignee", assignee=task.assignee)
        return self.tree.node(task.node)

    @staticmethod
    def _require_comment(node: FlowNode, comment: str | None, action: str) -> None:
        if (comment or "").strip():
            return
        if node.comment == "always" or (node.comment == "reject" and action == "reject"):
            raise FlowRefusal("comment_required", node=node.key, node_name=node.name)

    def _decide(self, task: Task, outcome: str, actor: str, comment: str | None) -> None:
        task.close(outcome, at=self.ctx.now, by=actor)
        task.comment = comment
        if actor != SYSTEM_ACTOR and not task.auto:
            self.state.acted = True
        node = self.tree.node(task.node)
        action = {
            "approved": "complete" if node.kind == "handler" else "approve",
            "rejected": "reject",
        }[outcome]
        self._log(action, actor, node.key, task, comment)
        self._event("task.completed", task=task, outcome=outcome, actor=actor)
        self._refresh(node)

    def _refresh(self, node: FlowNode) -> None:
        """Judge the node on its tasks: decide it, or activate the tasks whose turn it is."""
        tasks = self.node_tasks(node.key)
        outcome = _node_outcome(node, tasks)
        if outcome is not None:
            self._node_done(node, outcome)
            return
        slots = _by_slot(tasks)
        for number in sorted(slots):
            state = _slot_outcome(slots[number])
            if state is not None:
                continue
            stages = _by_stage(slots[number])
            current = next(s for s in sorted(stages) if _stage_outcome(stages[s]) is None)
            for stage, members in stages.items():
                for t in members:
                    if t.open:
                        self._set_open(t, "pending" if stage == current else "waiting")
            if node.mode == "sequential":
                # later slots wait for this one
                for later in sorted(slots):
                    if later > number:
                        for t in slots[later]:
                            if t.open:
                                self._set_open(t, "waiting")
                break

    def _set_open(self, task: Task, status: str) -> None:
        if task.status != status:
            task.status, task.changed = status, True
            if status == "pending":
                self._event("task.created", task=task)

    def _node_done(self, node: FlowNode, outcome: str) -> None:
        for t in self.node_tasks(node.key):
            if t.open:
                t.close("not_needed", at=self.ctx.now)
        for t in self.tasks:
            if t.node == node.key and t.live:
                t.live, t.changed = False, True
        self.state.active.pop(node.key, None)
        self.state.deadlines.pop(node.key, None)
        self.disarm.add(node.key)
        if outcome == "rejected":
            self._finish("rejected", SYSTEM_ACTOR)
            return
        self.state.visited.append(node.key)
        for t in self.tasks:
            done = t.node == node.key and t.status == "approved" and not t.auto
            if done and t.acted_by and t.acted_by not in self.state.approved_by:
                self.state.approved_by.append(t.acted_by)
            if done and t.acted_by:
                given = self.state.approvers_of.setdefault(node.key, [])
                if t.acted_by not in given:
                    given.append(t.acted_by)
        self._after(node.key)

    # -- moving through the tree ------------------------------------------------------------
    def _after(self, key: str) -> None:
        """``key`` is done: its sequence goes on, or its branch ends."""
        if self.state.status != "running":
            return
        back = self.state.return_to.pop(key, None)
        if back is not None:
            self._jump(back)
            return
        place = self.tree.places[key]
        if place.index + 1 < len(place.sequence):
            self._enter(place.sequence[place.index + 1])
        elif place.gateway is None:
            self._finish("approved", SYSTEM_ACTOR)
        else:
            self._branch_done(place.gateway, place.branch or 0)

    def _branch_done(self, gateway: str, branch: int) -> None:
        run = self.state.gateways.get(gateway)
        if run is None:
            return
        if branch not in run["done"]:
            run["done"].append(branch)
        if set(run["running"]) <= set(run["done"]):
            del self.state.gateways[gateway]
            self.state.visited.append(gateway)
            self._after(gateway)

    def _jump(self, key: str) -> None:
        """Enter ``key`` directly (a send-back target, or back to the sender): gateways that
        are not running its branch run only that branch; a gateway already running it
        (a send back inside one branch) keeps its other branches."""
        for gateway, branch in self.tree.ancestors(key):
            run = self.state.gateways.get(gateway)
            if run is not None and branch in run["running"] and branch not in run["done"]:
                continue
            self.state.gateways[gateway] = {"running": [branch], "done": []}
        self._enter(key)

    def _enter(self, key: str) -> None:
        if self.state.status != "running":
            return
        node = self.tree.node(key)
        entry = self.state.entries.get(key, 0) + 1
        self.state.entries[key] = entry
        if node.kind in ("branches", "inclusive", "parallel"):
            self._enter_gateway(node)
        elif node.kind in ("approval", "handler"):
            self._enter_task_node(node, entry)
        elif node.kind == "cc":
            found = self._resolver().resolve(node)
            for a in found.assignments:
                task = self._new_task(node, a, 0, 0, "all")
                task.kind, task.status, task.live = "cc", "cc", False
                self._event("task.created", task=task)
            self._log("cc", SYSTEM_ACTOR, key, detail={"to": [a.login for a in found.assignments]})
            self.state.visited.append(key)
            self._after(key)
        elif node.kind == "action":
            values = ChainMap(self.sets, self.ctx.values)
            for field_key, expression in node.set.items():
                self.sets[field_key] = self.ctx.evaluate(expression, values)
            self._log(
                "action", SYSTEM_ACTOR, key, detail={"set": dict(self.sets), "emit": node.emit}
            )
            if node.emit:
                self._event("flow.action", node=key, name=node.emit)
            self.state.visited.append(key)
            self._after(key)
        elif node.kind == "end":
            self.state.visited.append(key)
            self._finish(node.outcome, SYSTEM_ACTOR)

    def _enter_gateway(self, node: FlowNode) -> None:
        values = ChainMap(self.sets, self.ctx.values)
        seen: list[dict[str, Any]] = []
        chosen: list[int] = []
        for index, branch in enumerate(node.branches):
            if node.kind == "parallel":
                chosen.append(index)
                continue
            if branch.otherwise:
                result = not chosen
                seen.append({"branch": index, "otherwise": True, "result": result})
            else:
                if node.kind == "branches" and chosen:
                    break
                result = _truthy(self.ctx.evaluate(branch.when or "", values))
                seen.append(
                    {
                        "branch": index,
                        "when": branch.when,
                        "result": result,
                        "values": _seen_values(branch.when or "", values),
                    }
                )
            if result:
                chosen.append(index)
        if node.kind != "parallel":
            self._log(
                "route",
                SYSTEM_ACTOR,
                node.key,
                detail={"kind": node.kind, "evaluated": seen, "chosen": chosen},
            )
        if not chosen:
            self.state.visited.append(node.key)
            self._after(node.key)
            return
        self.state.gateways[node.key] = {"running": list(chosen), "done": []}
        for index in chosen:
            if self.state.status != "running" or node.key not in self.state.gateways:
                return
            nodes = node.branches[index].nodes
            if nodes:
                self._enter(nodes[0].key)
            else:
                self._branch_done(node.key, index)

    def _enter_task_node(self, node: FlowNode, entry: int) -> None:
        self.state.active[node.key] = entry
        resolution = self._resolver().resolve(node, at_start=self._at_start)
        people = resolution.assignments
        if not people:
            self.state.active.pop(node.key, None)
            policy = resolution.empty or "pass"
            self._log(
                "auto_" + ("reject" if policy == "reject" else "pass"),
                SYSTEM_ACTOR,
                node.key,
                detail={"reason": "nobody to approve"},
            )
            if policy == "reject":
                self._finish("rejected", SYSTEM_ACTOR)
            else:
                self.state.visited.append(node.key)
                self._after(node.key)
            return
        for slot, a in enumerate(people):
            task = self._new_task(node, a, slot, 0, "all")
            if a.auto:
                task.status, task.auto = "approved", True
                task.acted_at, task.acted_by = self.ctx.now, SYSTEM_ACTOR
                self._log("auto_pass", SYSTEM_ACTOR, node.key, task, detail={"reason": a.reason})
        self._log(
            "enter",
            SYSTEM_ACTOR,
            node.key,
            detail={"people": [{"login": a.login, "reason": a.reason} for a in people]},
        )
        self._arm_timeout(node, entry)
        self._refresh(node)

    def _new_task(
        self, node: FlowNode, a: Assignment, slot: int, stage: int, stage_mode: str
    ) -> Task:
        task = Task(
            node=node.key,
            assignee=a.login,
            kind=node.kind if node.kind in ("approval", "handler") else "cc",
            status="waiting",
            slot=slot,
            stage=stage,
            stage_mode=stage_mode,
            entry=self.state.entries.get(node.key, 1),
            cycle=self.state.cycle,
            reason=dict(a.reason),
            created_at=self.ctx.now,
        )
        self.tasks.append(task)
        return task

    def _finish(self, outcome: str, actor: str) -> None:
        self._leave_everything()
        self.state.status = outcome
        if outcome == "approved":
            self.state.approved_at = self.ctx.now.isoformat()
        self._log(outcome, actor)
        self._event(f"flow.{outcome}", actor=actor)

    def _leave_within(self, scope: list[tuple[str, int]]) -> None:
        """Close the running nodes inside one gateway branch (``scope``: the chain of
        (gateway, branch) holding it; empty: everything). Other branches keep running."""
        if not scope:
            self._leave_everything()
            return

        def inside(key: str) -> bool:
            return self.tree.ancestors(key)[: len(scope)] == scope

        left = {key for key in self.state.active if inside(key)}
        for t in self.tasks:
            if t.node in left and t.live:
                if t.open:
                    t.close("not_needed", at=self.ctx.now)
                t.live, t.changed = False, True
        for key in left:
            self.state.active.pop(key, None)
            self.state.deadlines.pop(key, None)
            self.disarm.add(key)
        for key in [g for g in self.state.gateways if inside(g)]:
            del self.state.gateways[key]
        for key in [k for k in self.state.return_to if inside(k)]:
            del self.state.return_to[key]

    def _leave_everything(self) -> None:
        """Close every open task and running node (cancel case)."""
        for t in self.tasks:
            if t.open:
                t.close("not_needed", at=self.ctx.now)
            if t.live:
                t.live, t.changed = False, True
        self.state.active.clear()
        self.state.gateways.clear()
        self.state.deadlines.clear()
        self.state.return_to.clear()
        self.disarm.add(None)

    # -- send back -----------------------------------------------------------------------
    def _previous(self, node: FlowNode) -> str | None:
        for key in reversed(self.state.visited):
            if (
                key != node.key
                and self.tree.node(key).kind in ("approval", "handler")
                and self.tree.before(key, node.key)
                and self.tree.on_path(key, node.key)
            ):
                return key
        return None

    def _send_back_target(self, node: FlowNode, target: str) -> str:
        allowed = (node.send_back or self.tree.flow.send_back).to
        if target == "previous":
            if "previous" not in allowed and "any" not in allowed:
                raise FlowRefusal("send_back_not_allowed", to=target, allowed=list(allowed))
            found = self._previous(node)
            return found if found else self._start_allowed(allowed, target)
        if target == "start":
            return self._start_allowed(allowed, target)
        if target not in self.tree.places:
            raise FlowRefusal("unknown_node", node=target)
        visited = target in self.state.visited
        earlier = self.tree.before(target, node.key) and self.tree.on_path(target, node.key)
        is_task = self.tree.node(target).kind in ("approval", "handler")
        if not (visited and earlier and is_task):
            raise FlowRefusal("send_back_not_reached", to=target)
        if target not in allowed and "any" not in allowed:
            raise FlowRefusal("send_back_not_allowed", to=target, allowed=list(allowed))
        return target

    def _forget_approvals(self, target: str) -> None:
        """A send back to ``target`` asks its people again: the approvals given at it and
        at later nodes no longer pass anyone through cross-node dedupe."""
        dropped = [
            key for key in self.state.approvers_of if key == target or self.tree.before(target, key)
        ]
        forgotten = {login for key in dropped for login in self.state.approvers_of.pop(key)}
        kept = {login for logins in self.state.approvers_of.values() for login in logins}
        self.state.approved_by = [
            login for login in self.state.approved_by if login not in forgotten or login in kept
        ]

    @staticmethod
    def _start_allowed(allowed: Sequence[str], target: str) -> str:
        if "start" in allowed or "any" in allowed:
            return "start"
        raise FlowRefusal("send_back_not_allowed", to=target, allowed=list(allowed))

    # -- timers ---------------------------------------------------------------------------
    def _arm_timeout(self, node: FlowNode, entry: int) -> None:
        timeout = node.timeout
        if timeout is None or self.ctx.deadline is None:
            return
        due: datetime | None = None
        if timeout.after is not None:
            due = self.ctx.deadline(timeout.after, self.ctx.now)
        elif timeout.field:
            due = _field_deadline(self.ctx.values.get(timeout.field), self.ctx.now)
        if due is not None:
            self.arm.append(Timer(node.key, entry, "timeout", due))
            self.state.deadlines[node.key] = due.isoformat()
        self._arm_reminder(node, entry, self.ctx.now)

    def _arm_reminder(self, node: FlowNode, entry: int, since: datetime) -> None:
        timeout = node.timeout
        if timeout is None or timeout.remind_every is None or self.ctx.deadline is None:
            return
        due = self.ctx.deadline(timeout.remind_every, since)
        limit = self.state.deadlines.get(node.key)
        if limit is None or due < datetime.fromisoformat(limit):
            self.arm.append(Timer(node.key, entry, "remind", due))

    # -- journal ----------------------------------------------------------------------------
    def _resolver(self) -> Resolver:
        return Resolver(
            self.ctx.directory,
            self.ctx.form,
            ChainMap(self.sets, self.ctx.values),
            self.ctx.submitter,
            self.ctx.choices,
            self.ctx.evaluate,
            self.ctx.now,
            tuple(self.state.approved_by),
            self.tree.flow.dedupe,
        )

    def _log(
        self,
        action: str,
        actor: str,
        node: str | None = None,
        task: Task | None = None,
        comment: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        self.timeline.append(Entry(action, actor, node, task, comment, detail or {}))

    def _event(self, topic: str, task: Task | None = None, **payload: Any) -> None:
        if task is not None:
            payload = {
                "node": task.node,
                "task": task,
                "assignee": task.assignee,
                "kind": task.kind,
                **payload,
            }
        self.events.append((topic, payload))


# -- counting votes ------------------------------------------------------------------------


def _by_slot(tasks: list[Task]) -> dict[int, list[Task]]:
    out: dict[int, list[Task]] = {}
    for t in tasks:
        if t.status in ("transferred", "not_needed", "cancelled"):
            continue
        out.setdefault(t.slot, []).append(t)
    return out


def _by_stage(tasks: list[Task]) -> dict[int, list[Task]]:
    out: dict[int, list[Task]] = {}
    for t in tasks:
        out.setdefault(t.stage, []).append(t)
    return out


def _stage_outcome(tasks: list[Task]) -> str | None:
    mode = tasks[0].stage_mode
    approvals = sum(t.status == "approved" for t in tasks)
    rejects = sum(t.status in ("rejected", "sent_back") for t in tasks)
    if mode == "any":
        if approvals:
            return "approved"
        return "rejected" if rejects == len(tasks) else None
    if rejects:
        return "rejected"
    return "approved" if approvals == len(tasks) else None


def _slot_outcome(tasks: list[Task]) -> str | None:
    stages = _by_stage(tasks)
    for stage in sorted(stages):
        outcome = _stage_outcome(stages[stage])
        if outcome != "approved":
            return outcome
    return "approved"


def _node_outcome(node: FlowNode, tasks: list[Task]) -> str | None:
    slots = [_slot_outcome(members) for members in _by_slot(tasks).values()]
    if not slots:
        return None
    approvals = slots.count("approved")
    rejects = slots.count("rejected")
    undecided = slots.count(None)
    if node.mode in ("sequential", "all"):
        if rejects:
            return "rejected"
        return "approved" if approvals == len(slots) else None
    if node.mode == "any":
        if rejects and node.reject == "any":
            return "rejected"
        if approvals:
            return "approved"
        return "rejected" if rejects == len(slots) else None
    needed = node.needed(len(slots))
    if approvals >= needed:
        return "approved"
    if (rejects and node.reject == "any") or approvals + undecided < needed:
        return "rejected"
    return None


def _truthy(value: Any) -> bool:
    return bool(value) and value is not None


def _seen_values(expression: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The record values an expression names (for the routing explanation)."""
    import re

    names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression))
    return {k: _plain(values[k]) for k in sorted(names) if k in values}


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)


def _field_deadline(value: Any, now: datetime) -> datetime | None:
    """A date field's deadline is the end of that day (the next midnight) in the business
    time zone, Asia/Shanghai, whatever zone ``now`` is in; a datetime's is itself (a
    naive one is read as Shanghai time)."""
    from datetime import date, time

    from engine.runtime.working_time import BUSINESS_TZ

    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=BUSINESS_TZ)
    if isinstance(value, date):
        return datetime.combine(value + timedelta(days=1), time(), tzinfo=BUSINESS_TZ)
    return None


__all__ = ["FINISHED", "RECORD_STATUS", "SYSTEM_ACTOR", "VOTES", "Entry", "FlowRun", "RunContext"]
