"""An instance's state and its tasks and timers, as the machine reads and changes them.

The state is stored as JSON (``flow_instances.state``) with ``STATE_FORMAT_VERSION``:
an instance started under an older engine is read by :meth:`InstanceState.from_data`,
which upgrades older layouts (SpiffWorkflow versions its serialised workflows the same
way), so it keeps running after an upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: the layout of ``InstanceState.to_data``; bump it with an upgrade step in from_data
STATE_FORMAT_VERSION = 1

#: task statuses: open ones wait for people; the rest are final
OPEN = ("pending", "waiting")
VOTES = ("approved", "rejected")


@dataclass
class InstanceState:
    """Where an instance is: its status, running nodes, gateways and memory of the cycle."""

    status: str = "running"
    cycle: int = 1
    #: running task nodes -> their entry number (re-entering a node counts up)
    active: dict[str, int] = field(default_factory=dict)
    #: running gateways -> {"running": [branch...], "done": [branch...]}
    gateways: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    #: nodes completed in this cycle, in order
    visited: list[str] = field(default_factory=list)
    #: how often each node was entered (timers remember the entry they belong to)
    entries: dict[str, int] = field(default_factory=dict)
    #: send-back with ``resubmit: return``: when the key completes, jump to the value
    return_to: dict[str, str] = field(default_factory=dict)
    #: who approved in this cycle (cross-node dedupe)
    approved_by: list[str] = field(default_factory=list)
    #: node -> who approved it in this cycle: a send back to a node forgets the approvals
    #: of that node and the nodes after it, so they are asked again (absent in states
    #: written before it was kept: nothing is forgotten then)
    approvers_of: dict[str, list[str]] = field(default_factory=dict)
    #: the node that sent the request back to the submitter (resubmit: return)
    sent_back_from: str | None = None
    #: whether a person acted (approved, rejected, sent back) in this cycle
    acted: bool = False
    #: the status an instance was suspended from
    suspended_from: str | None = None
    #: deadlines of running nodes (ISO text), for reminders
    deadlines: dict[str, str] = field(default_factory=dict)
    approved_at: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT_VERSION,
            "status": self.status,
            "cycle": self.cycle,
            "active": self.active,
            "gateways": self.gateways,
            "visited": self.visited,
            "entries": self.entries,
            "return_to": self.return_to,
            "approved_by": self.approved_by,
            "approvers_of": self.approvers_of,
            "sent_back_from": self.sent_back_from,
            "acted": self.acted,
            "suspended_from": self.suspended_from,
            "deadlines": self.deadlines,
            "approved_at": self.approved_at,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> InstanceState:
        version = data.get("format", 1)
        if version > STATE_FORMAT_VERSION:
            raise ValueError(
                f"flow state format {version} is newer than this engine's"
                f" ({STATE_FORMAT_VERSION}): upgrade the engine"
            )
        # format 1 is the current layout; older layouts get an upgrade step here
        return cls(
            status=data["status"],
            cycle=data.get("cycle", 1),
            active=dict(data.get("active") or {}),
            gateways={
                k: {"running": list(v["running"]), "done": list(v["done"])}
                for k, v in (data.get("gateways") or {}).items()
            },
            visited=list(data.get("visited") or []),
            entries=dict(data.get("entries") or {}),
            return_to=dict(data.get("return_to") or {}),
            approved_by=list(data.get("approved_by") or []),
            approvers_of={k: list(v) for k, v in (data.get("approvers_of") or {}).items()},
            sent_back_from=data.get("sent_back_from"),
            acted=bool(data.get("acted")),
            suspended_from=data.get("suspended_from"),
            deadlines=dict(data.get("deadlines") or {}),
            approved_at=data.get("approved_at"),
        )


@dataclass(eq=False)
class Task:
    """One person's work item at a node: approve, handle, or a copy (cc)."""

    node: str
    assignee: str
    kind: str
    status: str = "waiting"
    #: votes of a node are counted per slot; tasks of one slot act in stages
    slot: int = 0
    stage: int = 0
    #: how the tasks of one stage decide: "all" or "any"
    stage_mode: str = "all"
    entry: int = 1
    cycle: int = 1
    reason: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    created_at: datetime | None = None
    acted_at: datetime | None = None
    acted_by: str | None = None
    comment: str | None = None
    signature: str | None = None
    #: decided by the engine (auto-pass, dedupe, timeout), not by the assignee
    auto: bool = False
    #: still part of a running node (False once the node is left)
    live: bool = True
    #: needs writing (new, or changed by this command)
    changed: bool = True

    @property
    def open(self) -> bool:
        return self.status in OPEN

    def close(self, status: str, *, at: datetime, by: str | None = None) -> None:
        self.status, self.acted_at, self.changed = status, at, True
        if by is not None:
            self.acted_by = by


@dataclass
class Timer:
    """A deadline or reminder of a node entry, stored until fired or cancelled."""

    node: str
    entry: int
    kind: str  # "remind" or "timeout"
    due: datetime
    id: int | None = None
