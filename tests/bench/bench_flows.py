"""Benchmark: complete approval instances/s through service.flows vs SpiffWorkflow and hand-written Core.

One instance: an expense record is submitted (``service.flows.submit``: the record and
its flow start in one transaction), then three approval nodes in a row, one user each
(alice, bob, carol: ``approvers: {user: ...}``, so no organisation is needed, and no
timeouts), each approved with ``service.flows.approve`` in its own transaction, and
the instance ends ``approved``. Only the submit and approve calls are timed: the id of
the task each approver acts on is looked up between them with ``service.flows.tasks``
(untimed: bench_inbox.py measures the inbox).

Baselines, in the same run, on the same database:

* SpiffWorkflow (``pip install SpiffWorkflow``, for this benchmark only; skipped with a
  message when missing): the same process as BPMN (``THREE_APPROVALS_BPMN``: a start
  event, three user tasks, an end event). Submit inserts the record row, starts the
  workflow, runs it to the first user task, serialises it (``BpmnWorkflowSerializer``
  JSON) and inserts it into ``bench_spiff_workflows`` (a table of this benchmark);
  each step completes the ready user task, runs the engine steps, serialises and
  updates that row; one transaction per submit and per step. The workflow stays in
  memory between steps (the baseline as specified); a second Spiff line
  deserialises it from the row before every step (what a request handling the approval
  would have to do) and is printed for information.
* Hand-written SQLAlchemy Core writing the rows the engine writes for the same work, in
  the same transactions (one per submit, one per approve). Submit: the record row
  (status ``in_approval``), the instance row (its state JSON), the submission
  snapshot, the first task, two timeline rows (submit, enter), the record's revision,
  audit entry and three outbox events (record.created, flow.started, task.created).
  Each approve: the instance row read ``FOR UPDATE`` (PostgreSQL; SQLite's write
  transaction is ``BEGIN IMMEDIATE``), the task updated (``WHERE status = 'pending'``,
  one row or refused), the next task inserted, two timeline rows, the instance's state
  and version updated, two outbox events (task.completed and task.created, or
  flow.approved), and at the last step the record's status ``approved``. Each row is
  written once with its final content and nothing else is read or written: whatever
  statements the engine sends beyond these (docs/benchmarks.md lists them) are its
  overhead. The warm-up checks that one instance of this side adds as many rows to
  every table as one of the engine's.

Approving a task created by this process skips the read that finds the task's
instance and app (the engine remembers where its tasks live); a task created by
another process costs that read transaction more.

The sides take turns in ``--rounds`` rounds (each: submit a round's instances, then
alice, bob and carol approve theirs) and the medians of the rounds are compared.
Targets: ours / Spiff >= 3x, ours / hand-written >= 0.6 (instances/s). Printed, never
asserted.

    python tests/bench/bench_flows.py [--instances 1000] [--rounds 10] [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FLOW, FLOW_APP, FLOW_APP_KEY, FLOW_FORM, machine  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402
from engine.store.engine_tables import audit_log, outbox, record_revisions  # noqa: E402
from engine.store.flow_tables import (  # noqa: E402
    flow_instances,
    flow_snapshots,
    flow_tasks,
    flow_timeline,
)

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
APP, FORM = FLOW_APP_KEY, FLOW_FORM
SUBMITTER = Actor("bench.user")
NODES = ("first", "second", "third")
APPROVERS = ("alice", "bob", "carol")
#: the inbox returns at most 500 tasks a page
PAGE = 500


THREE_APPROVALS_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="bench_definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:collaboration id="bench_collaboration">
    <bpmn:participant id="approvers" processRef="three_approvals"/>
  </bpmn:collaboration>
  <bpmn:process id="three_approvals" name="Three approvals" isExecutable="true">
    <bpmn:laneSet id="people">
      <bpmn:lane id="alice" name="alice"><bpmn:flowNodeRef>first</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="bob" name="bob"><bpmn:flowNodeRef>second</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="carol" name="carol">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>third</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>to_first</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first" name="First approval">
      <bpmn:incoming>to_first</bpmn:incoming><bpmn:outgoing>to_second</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="second" name="Second approval">
      <bpmn:incoming>to_second</bpmn:incoming><bpmn:outgoing>to_third</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="third" name="Third approval">
      <bpmn:incoming>to_third</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_first" sourceRef="start" targetRef="first"/>
    <bpmn:sequenceFlow id="to_second" sourceRef="first" targetRef="second"/>
    <bpmn:sequenceFlow id="to_third" sourceRef="second" targetRef="third"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="third" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""

#: the table the Spiff baseline keeps its serialised workflows in (one row per instance)
spiff_metadata = sa.MetaData()
spiff_workflows = sa.Table(
    "bench_spiff_workflows",
    spiff_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("workflow", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

#: a side: (first instance number, how many) -> (seconds submitting, seconds approving)
Side = Callable[[int, int], tuple[float, float]]


def payload(n: int) -> dict[str, Any]:
    return {"item": f"expense {n:06d}", "amount": "128.50"}


# -- our engine ---------------------------------------------------------------------------------


def engine_side(service: Service) -> Side:
    """Submit ``size`` records, then alice, bob and carol approve their task of each."""

    def pending(who: Actor, size: int) -> list[int]:
        ids: list[int] = []
        page = 1
        while len(ids) < size:
            found = service.flows.tasks(who, page=page, page_size=PAGE)
            ids += [t.id for t in found.items]
            if len(found.items) < PAGE:
                break
            page += 1
        assert len(ids) == size, (who.user_id, len(ids), size)  # only this round's tasks
        return sorted(ids)

    def side(first: int, size: int) -> tuple[float, float]:
        start = time.perf_counter()
        for n in range(first, first + size):
            service.flows.submit(SUBMITTER, APP, FORM, payload(n))
        submitting = time.perf_counter() - start
        approving = 0.0
        for login in APPROVERS:
            who = Actor(login)
            task_ids = pending(who, size)  # untimed: bench_inbox.py measures the inbox
            start = time.perf_counter()
            for task_id in task_ids:
                service.flows.approve(who, task_id)
            approving += time.perf_counter() - start
        return submitting, approving

    return side


# -- SpiffWorkflow ------------------------------------------------------------------------------


def spiff_sides(service: Service, record: sa.Table) -> tuple[Side, Side] | None:
    """The Spiff baseline, workflows kept in memory between steps and reloaded at every
    step; None (with a message) when SpiffWorkflow is not installed."""
    try:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState
    except ImportError:
        print(
            "SpiffWorkflow is not installed: the Spiff baseline is skipped "
            "(`pip install SpiffWorkflow` to measure it; it is not a dependency of the engine)"
        )
        return None
    parser = BpmnParser()
    parser.add_bpmn_str(THREE_APPROVALS_BPMN.encode(), "three_approvals.bpmn")
    spec = parser.get_spec("three_approvals")
    serializer = BpmnWorkflowSerializer()
    database = service._database
    spiff_metadata.create_all(database.engine)
    insert_record = record.insert().returning(record.c.id)
    insert_workflow = spiff_workflows.insert().returning(spiff_workflows.c.id)
    load_workflow = sa.select(spiff_workflows.c.workflow).where(
        spiff_workflows.c.id == sa.bindparam("wid")
    )
    store_workflow = (
        spiff_workflows.update()
        .where(spiff_workflows.c.id == sa.bindparam("wid"))
        .values(
            workflow=sa.bindparam("workflow"),
            version=spiff_workflows.c.version + 1,
            updated_at=sa.bindparam("at"),
        )
    )

    def submit(n: int) -> tuple[int, Any]:
        with database.write() as conn:
            record_id = conn.execute(insert_record, record_row(n)).scalar_one()
            workflow = BpmnWorkflow(spec)
            workflow.data["record_id"] = record_id
            workflow.do_engine_steps()
            row = {
                "record_id": record_id,
                "workflow": serializer.serialize_json(workflow),
                "version": 1,
                "updated_at": NOW,
            }
            return conn.execute(insert_workflow, row).scalar_one(), workflow

    def step(wid: int, workflow: Any, login: str, reload: bool) -> Any:
        with database.write() as conn:
            if reload:
                text = conn.execute(load_workflow, {"wid": wid}).scalar_one()
                workflow = serializer.deserialize_json(text)
            task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
            task.data["approved_by"] = login
            task.run()
            workflow.do_engine_steps()
            text = serializer.serialize_json(workflow)
            conn.execute(store_workflow, {"wid": wid, "workflow": text, "at": NOW})
        return workflow

    def make(reload: bool) -> Side:
        def side(first: int, size: int) -> tuple[float, float]:
            start = time.perf_counter()
            started = [submit(n) for n in range(first, first + size)]
            submitting = time.perf_counter() - start
            start = time.perf_counter()
            for login in APPROVERS:
                started = [(w, step(w, wf, login, reload)) for w, wf in started]
            approving = time.perf_counter() - start
            assert all(wf.is_completed() for _, wf in started)
            return submitting, approving

        return side

    return make(False), make(True)


# -- hand-written Core --------------------------------------------------------------------------


def record_row(n: int) -> dict[str, Any]:
    """The expense row (the Decimal is stored through the column's own type, as the
    engine stores it)."""
    values = payload(n)
    return {
        "status": "in_approval",
        "version": 1,
        "title": values["item"],
        "created_at": NOW,
        "created_by": SUBMITTER.user_id,
        "updated_at": NOW,
        "updated_by": SUBMITTER.user_id,
        "deleted_at": None,
        "item": values["item"],
        "amount": Decimal(values["amount"]),
    }


def state(step: int) -> dict[str, Any]:
    """The instance state after ``step`` approvals, in the engine's layout."""
    done = list(NODES[:step])
    entered = NODES[: step + 1]
    return {
        "format": 1,
        "status": "approved" if step == len(NODES) else "running",
        "cycle": 1,
        "active": {NODES[step]: 1} if step < len(NODES) else {},
        "gateways": {},
        "visited": done,
        "entries": {node: 1 for node in entered},
        "return_to": {},
        "approved_by": list(APPROVERS[:step]),
        "sent_back_from": None,
        "acted": step > 0,
        "suspended_from": None,
        "deadlines": {},
        "approved_at": NOW.isoformat() if step == len(NODES) else None,
    }


def hand_side(service: Service, record: sa.Table, flow_hash: str) -> Side:
    """The engine's rows for the same work, written with Core, one transaction per call."""
    database = service._database
    insert_record = record.insert().returning(record.c.id)
    insert_instance = flow_instances.insert().returning(flow_instances.c.id)
    insert_task = flow_tasks.insert().returning(flow_tasks.c.id)
    lock_instance = (
        sa.select(flow_instances.c.version)
        .where(flow_instances.c.id == sa.bindparam("iid"))
        .with_for_update()
    )
    close_task = (
        flow_tasks.update()
        .where(flow_tasks.c.id == sa.bindparam("tid"), flow_tasks.c.status == "pending")
        .values(
            status="approved",
            live=False,
            acted_at=sa.bindparam("at"),
            acted_by=sa.bindparam("who"),
        )
    )
    update_instance = (
        flow_instances.update()
        .where(flow_instances.c.id == sa.bindparam("iid"))
        .values(
            status=sa.bindparam("status"),
            state=sa.bindparam("state"),
            updated_at=sa.bindparam("at"),
            finished_at=sa.bindparam("finished"),
            version=flow_instances.c.version + 1,
        )
    )
    record_status = (
        record.update().where(record.c.id == sa.bindparam("rid")).values(status="approved")
    )
    subject = {"app": APP, "form": FORM}

    def event(topic: str, key: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "topic": topic,
            "payload": body,
            "idempotency_key": key,
            "created_at": NOW,
            "available_at": NOW,
            "delivered_at": None,
            "attempts": 0,
            "last_error": None,
            "claimed_by": None,
            "claimed_until": None,
            "dead_at": None,
        }

    def task_row(iid: int, step: int) -> dict[str, Any]:
        return {
            "instance_id": iid,
            "node": NODES[step],
            "kind": "approval",
            "assignee": APPROVERS[step],
            "status": "pending",
            "slot": 0,
            "stage": 0,
            "stage_mode": "all",
            "entry": 1,
            "cycle": 1,
            "live": True,
            "auto": False,
            "reason": {"source": f"named user {APPROVERS[step]}"},
            "created_at": NOW,
            "acted_at": None,
            "acted_by": None,
            "comment": None,
            "signature": None,
        }

    def timeline(iid: int, actor: str, action: str, node: str | None, **extra: Any) -> dict:
        return {
            "instance_id": iid,
            "at": NOW,
            "actor": actor,
            "action": action,
            "node": node,
            "task_id": extra.get("task_id"),
            "cycle": 1,
            "comment": None,
            "detail": extra.get("detail", {}),
        }

    def entered(iid: int, step: int) -> dict[str, Any]:
        who = APPROVERS[step]
        people = [{"login": who, "reason": {"source": f"named user {who}"}}]
        return timeline(iid, "system", "enter", NODES[step], detail={"people": people})

    def task_event(rid: int, iid: int, tid: int, step: int, **more: Any) -> dict:
        body = {**subject, "id": rid, "node": NODES[step], "task": tid}
        body.update(assignee=APPROVERS[step], kind="approval", **more, instance=iid, flow=FLOW)
        return body

    def submit(n: int) -> tuple[int, int, int]:
        values = payload(n)
        data = {"item": values["item"], "amount": values["amount"]}
        changes = {k: {"old": None, "new": v} for k, v in sorted(data.items())}
        with database.write() as conn:
            rid = conn.execute(insert_record, record_row(n)).scalar_one()
            iid = conn.execute(
                insert_instance,
                {
                    "app": APP,
                    "form": FORM,
                    "record_id": rid,
                    "flow": FLOW,
                    "flow_hash": flow_hash,
                    "status": "running",
                    "submitter": SUBMITTER.user_id,
                    "title": values["item"],
                    "cycle": 1,
                    "state": state(0),
                    "format_version": 1,
                    "started_at": NOW,
                    "updated_at": NOW,
                    "finished_at": None,
                    "version": 2,
                },
            ).scalar_one()
            conn.execute(
                flow_snapshots.insert(),
                {
                    "instance_id": iid,
                    "cycle": 1,
                    "data": data,
                    "record_version": 1,
                    "taken_at": NOW,
                },
            )
            tid = conn.execute(insert_task, task_row(iid, 0)).scalar_one()
            conn.execute(
                flow_timeline.insert(),
                [timeline(iid, SUBMITTER.user_id, "submit", None), entered(iid, 0)],
            )
            conn.execute(
                record_revisions.insert(),
                {
                    **subject,
                    "record_id": rid,
                    "revision_no": 1,
                    "action": "created",
                    "data": data,
                    "changes": changes,
                    "actor": SUBMITTER.user_id,
                    "at": NOW,
                    "form_version": 1,
                },
            )
            conn.execute(
                audit_log.insert(),
                {
                    "at": NOW,
                    "actor": SUBMITTER.user_id,
                    "action": "record.created",
                    **subject,
                    "record_id": rid,
                    "detail": {"version": 1, "fields": sorted(data)},
                },
            )
            created = {**subject, "id": rid, "version": 1, "form_version": 1, "changes": changes}
            conn.execute(
                outbox.insert(),
                [
                    event(
                        "record.created",
                        f"record.created:{APP}.{FORM}:{rid}:v1",
                        {**created, "actor": SUBMITTER.user_id},
                    ),
                    event(
                        "flow.started",
                        f"flow.started:flow{iid}:v0:0",
                        {**subject, "id": rid, "actor": SUBMITTER.user_id, "instance": iid}
                        | {"flow": FLOW},
                    ),
                    event(
                        "task.created",
                        f"task.created:flow{iid}:v0:1",
                        task_event(rid, iid, tid, 0) | {"actor": SUBMITTER.user_id},
                    ),
                ],
            )
        return rid, iid, tid

    def approve(rid: int, iid: int, tid: int, step: int) -> int:
        who = APPROVERS[step]
        last = step == len(NODES) - 1
        with database.write() as conn:
            version = conn.execute(lock_instance, {"iid": iid}).scalar_one()
            closed = conn.execute(close_task, {"tid": tid, "at": NOW, "who": who})
            if closed.rowcount != 1:
                raise RuntimeError(f"task {tid} is not pending")
            next_tid = (
                0 if last else conn.execute(insert_task, task_row(iid, step + 1)).scalar_one()
            )
            rows = [timeline(iid, who, "approve", NODES[step], task_id=tid)]
            rows.append(
                timeline(iid, "system", "approved", None) if last else entered(iid, step + 1)
            )
            conn.execute(flow_timeline.insert(), rows)
            conn.execute(
                update_instance,
                {
                    "iid": iid,
                    "status": "approved" if last else "running",
                    "state": state(step + 1),
                    "at": NOW,
                    "finished": NOW if last else None,
                },
            )
            if last:
                conn.execute(record_status, {"rid": rid})
            completed = task_event(rid, iid, tid, step, outcome="approved")
            events = [
                event(
                    "task.completed",
                    f"task.completed:flow{iid}:v{version}:0",
                    completed | {"actor": who},
                )
            ]
            if last:
                body = {**subject, "id": rid, "actor": "system", "instance": iid, "flow": FLOW}
                events.append(event("flow.approved", f"flow.approved:flow{iid}:v{version}:1", body))
            else:
                body = task_event(rid, iid, next_tid, step + 1) | {"actor": who}
                events.append(event("task.created", f"task.created:flow{iid}:v{version}:1", body))
            conn.execute(outbox.insert(), events)
        return next_tid

    def side(first: int, size: int) -> tuple[float, float]:
        start = time.perf_counter()
        started = [submit(n) for n in range(first, first + size)]
        submitting = time.perf_counter() - start
        start = time.perf_counter()
        for step in range(len(NODES)):
            started = [(rid, iid, approve(rid, iid, tid, step)) for rid, iid, tid in started]
        approving = time.perf_counter() - start
        return submitting, approving

    return side


# -- running --------------------------------------------------------------------------------


def row_counts(service: Service, record: sa.Table) -> dict[str, int]:
    tables = {
        "record": record,
        "flow_instances": flow_instances,
        "flow_snapshots": flow_snapshots,
        "flow_tasks": flow_tasks,
        "flow_timeline": flow_timeline,
        "record_revisions": record_revisions,
        "audit_log": audit_log,
        "outbox": outbox,
    }
    with service._database.read() as conn:
        return {
            name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for name, table in tables.items()
        }


def added_rows(service: Service, record: sa.Table, action: Callable[[], object]) -> dict:
    before = row_counts(service, record)
    action()
    after = row_counts(service, record)
    return {name: after[name] - before[name] for name in after}


def run(url: str, instances: int, rounds: int) -> tuple[dict[str, list[tuple[float, float]]], str]:
    """Per-round (submit seconds, approve seconds) per instance of each side, and the
    server's version."""
    service = Service(url, clock=lambda: NOW)
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(FLOW_APP))
    # the bench reaches behind the facade on purpose: the baselines write the same tables
    with service._context.transactions.read(APP) as tx:
        record = tx.form(FORM).tables.table
    with service._database.read() as conn:
        flow_hash = conn.execute(
            sa.text("select content_hash from flow_versions where app = :app and flow = :flow"),
            {"app": APP, "flow": FLOW},
        ).scalar_one()

    sides: dict[str, Side] = {"engine": engine_side(service)}
    spiff = spiff_sides(service, record)
    if spiff is not None:
        sides["spiff"], sides["spiff_reload"] = spiff
    sides["hand"] = hand_side(service, record, flow_hash)

    # warm-up (caches, statement compilation), and the check that the hand-written side
    # writes as many rows to each table as the engine for the same work
    engine_rows = added_rows(service, record, lambda: sides["engine"](0, 1))
    hand_rows = added_rows(service, record, lambda: sides["hand"](0, 1))
    if engine_rows != hand_rows:
        raise SystemExit(f"rows added per instance differ: engine {engine_rows}, hand {hand_rows}")
    for name in sides:
        if name not in ("engine", "hand"):
            sides[name](0, 1)
    last = service.flows.instance_of(SUBMITTER, APP, FORM, _last_record(service, record))
    assert last.status == "approved", last.status

    size = max(1, instances // rounds)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
    for r in range(rounds):
        for name, side in sides.items():
            submitting, approving = side(1 + r * size, size)
            times[name].append((submitting / size, approving / size))
    with service._database.read() as conn:
        running = conn.execute(
            sa.select(sa.func.count())
            .select_from(flow_instances)
            .where(flow_instances.c.status != "approved")
        ).scalar_one()
    assert running == 0, f"{running} instances did not end approved"
    version = service._database.server_version()
    service._database.dispose()
    return times, version


def _last_record(service: Service, record: sa.Table) -> int:
    with service._database.read() as conn:
        return conn.execute(
            sa.select(flow_instances.c.record_id)
            .where(flow_instances.c.app == APP)
            .order_by(flow_instances.c.id.desc())
            .limit(1)
        ).scalar_one()


LABELS = {
    "engine": "service.flows",
    "spiff": "SpiffWorkflow (in memory between steps)",
    "spiff_reload": "SpiffWorkflow (reloaded every step)",
    "hand": "hand-written Core",
}


def report(label: str, times: dict[str, list[tuple[float, float]]]) -> None:
    per_instance = {name: [s + a for s, a in rows] for name, rows in times.items()}
    median = {name: statistics.median(values) for name, values in per_instance.items()}
    print(f"\n{label}")
    for name, rows in times.items():
        submit = statistics.median(s for s, _ in rows)
        approve = statistics.median(a for _, a in rows) / len(NODES)
        print(
            f"  {LABELS[name]:40} {1 / median[name]:8.1f} instances/s   "
            f"submit {submit * 1e6:7.0f} µs   approve {approve * 1e6:7.0f} µs"
        )

    def ratio(other: str, target: str) -> None:
        if other not in median:
            return
        rounds = sorted(
            o / e for e, o in zip(per_instance["engine"], per_instance[other], strict=True)
        )
        print(
            f"  ours / {LABELS[other]}: {median[other] / median['engine']:5.2f}x "
            f"(rounds {rounds[0]:.2f}x-{rounds[-1]:.2f}x; {target})"
        )

    ratio("spiff", "target >= 3x")
    ratio("spiff_reload", "for information")
    ratio("hand", "target >= 0.6")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--instances", type=int, default=1000, help="instances per side (default 1000)"
    )
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()

    results: dict[str, dict[str, list[tuple[float, float]]]] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        times, versions["sqlite"] = run(f"sqlite:///{folder}/flows.db", args.instances, args.rounds)
        results["SQLite (file, WAL)"] = times
    if args.postgres:
        server = sa.make_url(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"lowcode_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            times, versions["postgresql"] = run(url, args.instances, args.rounds)
            results["PostgreSQL"] = times
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    if any("spiff" in times for times in results.values()):
        from importlib.metadata import version

        versions["SpiffWorkflow"] = version("SpiffWorkflow")
    print(machine(versions))
    print(
        f"instances per side: {args.instances} in {args.rounds} alternating rounds; each: "
        "submit, then 3 approvals by 3 users, one transaction per call; medians of the rounds"
    )
    for label, times in results.items():
        report(label, times)


if __name__ == "__main__":
    main()
