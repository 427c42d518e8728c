"""Simulation: the route a record would take and who would approve, writing nothing.

The flow is run on a throw-away state with every task approved by its assignee as
soon as it is pending, so each node on the path is reached with the people the
pipeline resolves for it (and why). Timers are not armed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.runtime.flows.machine import FlowRun, RunContext
from engine.runtime.flows.state import InstanceState
from engine.runtime.flows.tree import FlowTree

#: a flow that needs more approvals than this is not a flow people can run
MAX_STEPS = 1000


@dataclass
class SimulatedNode:
    """One node on the simulated path: its people with reasons, or what it did."""

    key: str
    kind: str
    name: str
    people: list[dict[str, Any]] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


def simulate(
    tree: FlowTree, ctx: RunContext, locale: str = "zh-CN"
) -> tuple[list[SimulatedNode], str]:
    """The path (nodes in the order reached) and the outcome (``approved``/``rejected``)."""
    ctx.deadline = None
    run = FlowRun(tree, InstanceState(), [], ctx)
    run.start(ctx.submitter)
    for _ in range(MAX_STEPS):
        pending = [t for t in run.tasks if t.status == "pending" and t.live]
        if run.state.status != "running" or not pending:
            break
        task = pending[0]
        run.approve(task, task.assignee, comment="simulated", signature="simulated")
    path: list[SimulatedNode] = []
    for entry in run.timeline:
        if entry.node is None:
            continue
        node = tree.node(entry.node)
        name = node.label(locale)
        if entry.action == "enter":
            path.append(SimulatedNode(node.key, node.kind, name, entry.detail["people"]))
        elif entry.action == "route":
            path.append(SimulatedNode(node.key, node.kind, name, detail=entry.detail))
        elif entry.action == "cc":
            people = [{"login": login, "reason": {"source": "cc"}} for login in entry.detail["to"]]
            path.append(SimulatedNode(node.key, node.kind, name, people))
        elif entry.action in ("auto_pass", "auto_reject", "action") and entry.task is None:
            path.append(
                SimulatedNode(
                    node.key, node.kind, name, detail={"action": entry.action, **entry.detail}
                )
            )
        elif entry.action == "auto_pass" and entry.task is not None:
            for simulated in reversed(path):
                if simulated.key == node.key:
                    break
    outcome = run.state.status if run.state.status != "running" else "running"
    return path, outcome
