"""Values the flow service returns: tasks, instances with timeline, simulations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


@dataclass
class TaskView:
    """One task as its holder (or a reader of the instance) sees it."""

    id: int
    instance_id: int
    app: str
    form: str
    record_id: int
    flow: str
    node: str
    node_name: str
    kind: str
    assignee: str
    status: str
    reason: dict[str, Any]
    created_at: datetime
    title: str | None = None
    submitter: str | None = None
    acted_at: datetime | None = None
    acted_by: str | None = None
    comment: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _json(asdict(self))


@dataclass
class TaskPage:
    items: list[TaskView]
    total: int


@dataclass
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    node: str | None
    node_name: str | None
    comment: str | None
    detail: dict[str, Any]
    cycle: int
    task_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return _json(asdict(self))


@dataclass
class InstanceView:
    """A flow instance: its state, tasks, timeline and routing decisions."""

    id: int
    app: str
    form: str
    record_id: int
    flow: str
    flow_hash: str
    status: str
    record_status: str
    submitter: str
    cycle: int
    started_at: datetime
    finished_at: datetime | None
    title: str | None
    active_nodes: list[str]
    tasks: list[TaskView]
    timeline: list[TimelineEntry]
    #: routing decisions: which condition was evaluated on which values, and the result
    routes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = _json({k: v for k, v in asdict(self).items() if k not in ("tasks", "timeline")})
        data["tasks"] = [t.to_json() for t in self.tasks]
        data["timeline"] = [e.to_json() for e in self.timeline]
        return data


@dataclass
class TaskDetail:
    """A task with the record as its node shows it: hidden fields left out."""

    task: TaskView
    instance: InstanceView
    values: dict[str, Any]
    editable: list[str]
    readonly: list[str]
    comment: str
    signature: bool


@dataclass
class SimulationStep:
    node: str
    kind: str
    name: str
    people: list[dict[str, Any]]
    detail: dict[str, Any]


@dataclass
class Simulation:
    flow: str
    outcome: str
    path: list[SimulationStep]

    def to_json(self) -> dict[str, Any]:
        return _json(asdict(self))


@dataclass
class BatchItem:
    """One task of a batch approval: done, or why not."""

    task_id: int
    ok: bool
    error: str | None = None


@dataclass
class TimerRun:
    """What firing due timers did."""

    fired: int
    skipped: int
    failed: list[tuple[int, str]] = field(default_factory=list)
