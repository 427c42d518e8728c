"""One flow command inside one write transaction: lock, load, run, write.

:class:`FlowSession` binds a transaction to the flow runtime: it finds the flow a form
uses now (or the version an instance is pinned to), builds the run's context (record
values, the organisation, the working calendar), and writes what the run changed:
tasks, instance state, timeline, timers, the record's status, and the outbox events
through the transaction's journal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from engine.definitions.durations import Duration
from engine.definitions.flows import FLOW_FORMAT_VERSION, FlowDefinition, flow_from_data
from engine.errors import DefinitionFormatError, NotFoundError
from engine.expressions import EvaluationContext, compile_expression
from engine.runtime.flows import FlowRun, FlowTree, InstanceState, RunContext, Task, Timer
from engine.runtime.flows.machine import FINISHED
from engine.runtime.flows.state import STATE_FORMAT_VERSION
from engine.service.flow_directory import TransactionDirectory
from engine.service.flow_messages import flow_error
from engine.service.locks import flow_aggregate_reader
from engine.service.reading import row_values
from engine.service.transactions import Transaction
from engine.service.unique_messages import refuse_held_keys
from engine.store import flows as store
from engine.store.flows import FlowVersionRow
from engine.store.journal import Journal, Subject
from engine.store.records import ALL_ROWS
from engine.store.rows import values_to_json

#: flow trees by (app, flow, content hash): a version never changes once stored
_trees: dict[tuple[str, str, str], FlowTree] = {}


def tree_of(version: FlowVersionRow) -> FlowTree:
    """The flow tree of a stored version (built once per version and process)."""
    key = (version.app, version.flow, version.content_hash)
    tree = _trees.get(key)
    if tree is None:
        if version.format_version > FLOW_FORMAT_VERSION:
            raise DefinitionFormatError(
                f"flow {version.app}.{version.flow} was stored in format"
                f" {version.format_version}, newer than this engine's ({FLOW_FORMAT_VERSION}):"
                " upgrade the engine"
            )
        tree = _trees[key] = FlowTree(flow_from_data(version.definition))
    return tree


_pinned: dict[tuple[str, str, str], FlowVersionRow] = {}


def state_of(row: Mapping[str, Any]) -> InstanceState:
    """The state of an instance row (an older format is upgraded as it is read).

    DefinitionFormatError, a ServiceError, when the row or its state JSON says a newer
    engine wrote it: this engine would misread it, so it refuses before any work.
    """
    data = row["state"]
    written = data.get("format", 1) if isinstance(data, Mapping) else 1
    found = max(int(row.get("format_version") or 1), int(written or 1))
    if found > STATE_FORMAT_VERSION:
        raise DefinitionFormatError(
            f"flow instance {row.get('id')} was saved in state format {found}, newer than"
            f" this engine's ({STATE_FORMAT_VERSION}): upgrade the engine"
        )
    return InstanceState.from_data(data)


@lru_cache(maxsize=1024)
def _compiled(text: str) -> Any:
    return compile_expression(text, None)


_MAX_TASK_HOMES = 100_000


def remember_task(
    homes: dict[int, tuple[int, str]], task_id: int, instance_id: int, app: str
) -> None:
    """Note where a task lives. ``homes`` belongs to one Service (one database): task
    ids of two databases are different tasks. A task never moves, so acting on one this
    process created needs no read before the write transaction."""
    if len(homes) >= _MAX_TASK_HOMES:
        for old in list(homes)[: _MAX_TASK_HOMES // 2]:
            homes.pop(old, None)
    homes[task_id] = (instance_id, app)


def pinned_tree(conn: Any, app: str, flow: str, digest: str) -> FlowTree:
    """The tree of the flow version an instance is pinned to (read once per process)."""
    key = (app, flow, digest)
    version = _pinned.get(key)
    if version is None:
        version = store.flow_version(conn, *key)
        if version is None:  # pragma: no cover - versions are never deleted
            raise NotFoundError(f"flow version {key} is missing")
        _pinned[key] = version
    return tree_of(version)


@dataclass
class Loaded:
    """An instance read under its lock: row, state, live tasks, tree."""

    row: Mapping[str, Any]
    state: InstanceState
    tasks: list[Task]
    tree: FlowTree

    @property
    def id(self) -> int:
        return int(self.row["id"])


class FlowSession:
    """Flow work in one transaction, for one actor."""

    def __init__(
        self,
        tx: Transaction,
        journal: Journal,
        now: datetime,
        locale: str,
        deadline: Callable[[Duration, datetime], datetime] | None,
    ):
        self.tx, self.journal, self.now, self.locale = tx, journal, now, locale
        self.deadline = deadline
        self._directory: TransactionDirectory | None = None
        #: the record's status after the instance this session started (if any)
        self.record_status: str | None = None
        #: called with (session, instance row, events) after ``save`` journalled them
        #: (the rules of flow events run here, in this transaction)
        self.on_events: Callable[[FlowSession, Mapping[str, Any], list[Any]], None] | None = None

    @property
    def directory(self) -> TransactionDirectory:
        """The organisation as resolution sees it (made on first use)."""
        if self._directory is None:
            self._directory = TransactionDirectory(self.tx)
        return self._directory

    # -- definitions --------------------------------------------------------------------
    def current(self, form: str) -> FlowVersionRow | None:
        """The flow version new submissions of ``form`` use (None: the form has no flow)."""
        flows = self.tx.catalog.extra(
            self.tx.conn, self.tx.app, "flows", lambda conn: store.current_flows(conn, self.tx.app)
        )
        return flows.get(form)

    def pinned(self, row: Mapping[str, Any]) -> FlowTree:
        return pinned_tree(self.tx.conn, row["app"], row["flow"], row["flow_hash"])

    # -- loading ------------------------------------------------------------------------
    def load(self, instance_id: int) -> Loaded:
        row = store.instance(self.tx.conn, instance_id, lock=True)
        if row is None or row["app"] != self.tx.app:
            raise flow_error("not_visible", self.locale, instance=instance_id)
        state = state_of(row)
        tasks = [_task(r) for r in store.live_tasks(self.tx.conn, instance_id)]
        return Loaded(row, state, tasks, self.pinned(row))

    def record_values(self, form: str, record_id: int) -> dict[str, Any]:
        """The record's current values (every row in scope: the engine's own read)."""
        runtime = self.tx.form(form)
        source = self.tx.source(form, ALL_ROWS)
        row = source.row(record_id)
        values = row_values(runtime, row, source.children([record_id])[record_id])
        values.update({c: row[c] for c in ("id", "status", "title", "created_by", "created_at")})
        return values

    def context(
        self,
        form: str,
        values: Mapping[str, Any],
        submitter: str,
        choices: Mapping[str, Any] | None = None,
    ) -> RunContext:
        # AGGREGATE in a condition: the form's declared aggregates, in this transaction
        aggregate = flow_aggregate_reader(self.tx, form)
        evaluation = EvaluationContext(now=self.now, user=submitter, aggregate=aggregate)

        def evaluate(text: str, names: Mapping[str, Any]) -> Any:
            return _compiled(text).evaluate(dict(names), evaluation)

        return RunContext(
            self.now,
            values,
            submitter,
            self.directory,
            form,
            evaluate,
            self.deadline,
            dict(choices or {}),
        )

    # -- writing ------------------------------------------------------------------------
    def create(
        self,
        version: FlowVersionRow,
        form: str,
        record_id: int,
        title: str | None,
        submitter: str,
        state: InstanceState | None = None,
    ) -> int:
        """Insert an instance, with the state its start reached (written once)."""
        state = state or InstanceState()
        return store.insert_instance(
            self.tx.conn,
            {
                "app": self.tx.app,
                "form": form,
                "record_id": record_id,
                "flow": version.flow,
                "flow_hash": version.content_hash,
                "status": state.status,
                "submitter": submitter,
                "title": (title or "")[:500] or None,
                "cycle": state.cycle,
                "state": state.to_data(),
                "format_version": STATE_FORMAT_VERSION,
                "started_at": self.now,
                "updated_at": self.now,
                "finished_at": self.now if state.status in FINISHED else None,
                "version": 1,
            },
        )

    def snapshot(
        self, instance_id: int, cycle: int, form: str, values: Mapping[str, Any], version: int
    ) -> None:
        runtime = self.tx.form(form)
        data = values_to_json(
            runtime.tables, {k: v for k, v in values.items() if runtime.definition.has_field(k)}
        )
        store.save_snapshot(self.tx.conn, instance_id, cycle, data, version, self.now)

    def save(
        self,
        instance_id: int,
        row: Mapping[str, Any],
        run: FlowRun,
        previous_status: str,
        *,
        record_status: str | None = None,
    ) -> None:
        """Write what ``run`` changed. ``previous_status`` ``"new"``: the instance was just
        inserted with its final state; ``record_status`` is the record's status as stored
        (None: unknown, written when the instance's status moved)."""
        conn = self.tx.conn
        new = [t for t in run.tasks if t.id is None]
        ids = store.insert_tasks(conn, instance_id, [_task_row(t) for t in new])
        for task, task_id in zip(new, ids, strict=True):
            task.id, task.changed = task_id, False
            remember_task(self.tx.catalog.task_homes, task_id, instance_id, self.tx.app)
        store.update_tasks(
            conn, [_task_update(t) for t in run.tasks if t.changed and t.id is not None]
        )
        store.insert_timeline(
            conn,
            [
                {
                    "instance_id": instance_id,
                    "at": self.now,
                    "actor": e.actor,
                    "action": e.action,
                    "node": e.node,
                    "task_id": e.task.id if e.task is not None else None,
                    "cycle": run.state.cycle,
                    "comment": e.comment,
                    "detail": _plain(e.detail),
                }
                for e in run.timeline
            ],
        )
        if run.tree.has_timers:
            store.cancel_timers(conn, instance_id, run.disarm)
        store.arm_timers(conn, [_timer_row(instance_id, self.tx.app, t) for t in run.arm])
        status = run.state.status
        if previous_status != "new":
            store.update_instance(
                conn,
                instance_id,
                {
                    "status": status,
                    "cycle": run.state.cycle,
                    "state": run.state.to_data(),
                    "format_version": STATE_FORMAT_VERSION,
                    "updated_at": self.now,
                    "finished_at": self.now if status in FINISHED else None,
                },
            )
        if record_status is not None:
            moved = record_status != run.record_status
        else:
            moved = status != previous_status
        if moved:
            stored = self.tx.stored(row["form"])
            record_id, status = int(row["record_id"]), run.record_status
            # a normalized unique rule may count only some statuses: entering one is
            # where a duplicate shows (docs/uniqueness.md)
            refuse_held_keys(conn, stored, record_id, status, self.now, self.locale)
            store.set_record_status(conn, stored, record_id, status)
        subject = Subject(self.tx.app, row["form"], int(row["record_id"]))
        base = int(row.get("version") or 0)
        for number, (topic, payload) in enumerate(run.events):
            body = {k: (v.id if isinstance(v, Task) else v) for k, v in payload.items()}
            body.update(instance=instance_id, flow=row["flow"])
            self.journal.event(
                topic, subject, _plain(body), f"{topic}:flow{instance_id}:v{base}:{number}"
            )
        if self.on_events is not None and run.events:
            self.on_events(self, {**row, "id": instance_id}, list(run.events))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _task(row: Mapping[str, Any]) -> Task:
    return Task(
        node=row["node"],
        assignee=row["assignee"],
        kind=row["kind"],
        status=row["status"],
        slot=row["slot"],
        stage=row["stage"],
        stage_mode=row["stage_mode"],
        entry=row["entry"],
        cycle=row["cycle"],
        reason=dict(row["reason"] or {}),
        id=row["id"],
        created_at=row["created_at"],
        acted_at=row["acted_at"],
        acted_by=row["acted_by"],
        comment=row["comment"],
        signature=row["signature"],
        auto=bool(row["auto"]),
        live=bool(row["live"]),
        changed=False,
    )


def _task_row(task: Task) -> dict[str, Any]:
    return {
        "node": task.node,
        "kind": task.kind,
        "assignee": task.assignee,
        "status": task.status,
        "slot": task.slot,
        "stage": task.stage,
        "stage_mode": task.stage_mode,
        "entry": task.entry,
        "cycle": task.cycle,
        "live": task.live,
        "auto": task.auto,
        "reason": _plain(task.reason),
        "created_at": task.created_at,
        "acted_at": task.acted_at,
        "acted_by": task.acted_by,
        "comment": task.comment,
        "signature": task.signature,
    }


def _task_update(task: Task) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "status": task.status,
        "live": task.live,
        "auto": task.auto,
        "reason": _plain(task.reason),
        "acted_at": task.acted_at,
        "acted_by": task.acted_by,
        "comment": task.comment,
        "signature": task.signature,
    }


def _timer_row(instance_id: int, app: str, timer: Timer) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "app": app,
        "node": timer.node,
        "entry": timer.entry,
        "kind": timer.kind,
        "due_at": timer.due,
    }


def flow_data(flow: FlowDefinition) -> dict[str, Any]:
    """The stored form of a flow version: its document as plain data."""
    from engine.definitions.flows import thaw

    return thaw(flow.data)
