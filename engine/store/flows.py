"""SQL of approval flows: versions, instances under a row lock, tasks, timeline, timers,
snapshots and delegations (tables in engine/store/flow_tables.py).

Every change of an instance runs in one write transaction that first locks the
instance row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's write transactions are
``BEGIN IMMEDIATE``, so they already run one at a time) and then reads the live tasks:
two people acting at once are serialised here, and the second sees the first's result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.driver import DriverStatement, defer_until_commit
from engine.store.flow_tables import (
    flow_delegations,
    flow_instances,
    flow_snapshots,
    flow_tasks,
    flow_timeline,
    flow_timers,
    flow_versions,
)
from engine.store.forms import StoredForm


def _write_only(conn: sa.Connection, statement: DriverStatement, params: Mapping[str, Any]) -> None:
    """A write nothing in the command reads back: on PostgreSQL it leaves with the COMMIT
    (no round trip of its own; a failure still rolls the whole command back), elsewhere
    it runs now. Only for statements whose order against later reads does not matter."""
    if not defer_until_commit(conn, statement, params):
        statement.run(conn, params)


# -- versions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlowVersionRow:
    app: str
    flow: str
    form: str
    content_hash: str
    definition: Mapping[str, Any]
    format_version: int


def publish_flows(
    conn: sa.Connection,
    app: str,
    flows: Sequence[tuple[str, str, str, Mapping[str, Any], int]],
    *,
    by: str,
    now: datetime,
) -> list[str]:
    """Make ``flows`` (key, form, hash, definition, format) the app's current versions.

    A version already stored (same hash) is reused; flows the app no longer has stop
    being current. Instances keep the version they started on. Returns the keys of
    flows whose current version changed.
    """
    t = flow_versions
    stored = conn.execute(
        sa.select(t.c.flow, t.c.content_hash, t.c.current).where(t.c.app == app)
    ).all()
    current = {row.flow: row.content_hash for row in stored if row.current}
    known = {(row.flow, row.content_hash) for row in stored}
    changed = []
    for key, form, digest, definition, format_version in flows:
        if current.get(key) == digest:
            continue
        changed.append(key)
        conn.execute(t.update().where(t.c.app == app, t.c.flow == key).values(current=False))
        if (key, digest) in known:
            conn.execute(
                t.update()
                .where(t.c.app == app, t.c.flow == key, t.c.content_hash == digest)
                .values(current=True)
            )
        else:
            conn.execute(
                t.insert().values(
                    app=app,
                    flow=key,
                    form=form,
                    content_hash=digest,
                    definition=dict(definition),
                    format_version=format_version,
                    published_at=now,
                    published_by=by,
                    current=True,
                )
            )
    gone = set(current) - {key for key, *_ in flows}
    for key in gone:
        conn.execute(t.update().where(t.c.app == app, t.c.flow == key).values(current=False))
        changed.append(key)
    return changed


def current_flows(conn: sa.Connection, app: str) -> dict[str, FlowVersionRow]:
    """The current flow version of each form of ``app``, by form key."""
    t = flow_versions
    rows = conn.execute(sa.select(t).where(t.c.app == app, t.c.current.is_(True))).mappings()
    return {row["form"]: _version(row) for row in rows}


def flow_version(conn: sa.Connection, app: str, flow: str, digest: str) -> FlowVersionRow | None:
    t = flow_versions
    row = (
        conn.execute(
            sa.select(t).where(t.c.app == app, t.c.flow == flow, t.c.content_hash == digest)
        )
        .mappings()
        .first()
    )
    return _version(row) if row else None


def _version(row: Mapping[str, Any]) -> FlowVersionRow:
    return FlowVersionRow(
        row["app"],
        row["flow"],
        row["form"],
        row["content_hash"],
        row["definition"],
        row["format_version"],
    )


# -- instances ------------------------------------------------------------------------------

_INSTANCE_COLUMNS = [c for c in flow_instances.c]


_INSERT_INSTANCE = DriverStatement(flow_instances.insert().returning(flow_instances.c.id))


def insert_instance(conn: sa.Connection, row: Mapping[str, Any]) -> int:
    found = _INSERT_INSTANCE.first(conn, dict(row))
    assert found is not None  # INSERT ... RETURNING gives the row
    return int(found[0])


# built once: the hot path of every command (SQLAlchemy caches the compiled SQL, but
# building the statement objects per call cost as much as running them on SQLite)
_SELECT_INSTANCE = sa.select(*_INSTANCE_COLUMNS).where(
    flow_instances.c.id == sa.bindparam("instance_id")
)
# the commands' statements run on the driver's fast path (engine/store/driver.py): each
# saves the ~35 us of Core bookkeeping a Connection.execute costs, and a command runs
# half a dozen of them
_LOCK_INSTANCE = DriverStatement(_SELECT_INSTANCE.with_for_update())


def instance(
    conn: sa.Connection, instance_id: int, *, lock: bool = False
) -> Mapping[str, Any] | None:
    """An instance row; ``lock`` takes the per-instance row lock (PostgreSQL)."""
    if lock:
        return _LOCK_INSTANCE.mapping(conn, {"instance_id": instance_id})
    return conn.execute(_SELECT_INSTANCE, {"instance_id": instance_id}).mappings().first()


def instance_of_record(
    conn: sa.Connection, app: str, form: str, record_id: int, *, lock: bool = False
) -> Mapping[str, Any] | None:
    """The newest instance of a record (a withdrawn request may be submitted again)."""
    t = flow_instances
    stmt = (
        sa.select(*_INSTANCE_COLUMNS)
        .where(t.c.app == app, t.c.form == form, t.c.record_id == record_id)
        .order_by(t.c.id.desc())
        .limit(1)
    )
    if lock:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().first()


def instances_of_records(
    conn: sa.Connection, app: str, form: str, record_ids: Sequence[int]
) -> dict[int, Mapping[str, Any]]:
    """The newest instance of each record (one query)."""
    if not record_ids:
        return {}
    t = flow_instances
    rows = conn.execute(
        sa.select(*_INSTANCE_COLUMNS)
        .where(t.c.app == app, t.c.form == form, t.c.record_id.in_(list(record_ids)))
        .order_by(t.c.id)
    ).mappings()
    return {row["record_id"]: row for row in rows}


_UPDATE_INSTANCE_COLUMNS = (
    "status",
    "cycle",
    "state",
    "format_version",
    "updated_at",
    "finished_at",
)
_UPDATE_INSTANCE = DriverStatement(
    flow_instances.update()
    .where(flow_instances.c.id == sa.bindparam("instance_id"))
    .values(
        {
            **{name: sa.bindparam(name) for name in _UPDATE_INSTANCE_COLUMNS},
            "version": flow_instances.c.version + 1,
        }
    )
)


def update_instance(conn: sa.Connection, instance_id: int, values: Mapping[str, Any]) -> None:
    """Write an instance's status, cycle, state and times (and move its version on)."""
    if set(values) == set(_UPDATE_INSTANCE_COLUMNS):
        _write_only(conn, _UPDATE_INSTANCE, {"instance_id": instance_id, **values})
        return
    conn.execute(
        flow_instances.update()
        .where(flow_instances.c.id == instance_id)
        .values(**values, version=flow_instances.c.version + 1)
    )


# -- tasks ----------------------------------------------------------------------------------

TASK_FIELDS = (
    "node",
    "kind",
    "assignee",
    "status",
    "slot",
    "stage",
    "stage_mode",
    "entry",
    "cycle",
    "live",
    "auto",
    "reason",
    "created_at",
    "acted_at",
    "acted_by",
    "comment",
    "signature",
)


_LIVE_TASKS = (
    sa.select(flow_tasks)
    .where(flow_tasks.c.instance_id == sa.bindparam("instance_id"), flow_tasks.c.live.is_(True))
    .order_by(flow_tasks.c.id)
)


def live_tasks(conn: sa.Connection, instance_id: int) -> list[Mapping[str, Any]]:
    """The tasks of the instance's running nodes (and open ones), oldest first."""
    return list(conn.execute(_LIVE_TASKS, {"instance_id": instance_id}).mappings())


_INSERT_TASK = DriverStatement(flow_tasks.insert().returning(flow_tasks.c.id))
_INSERT_TIMELINE = DriverStatement(flow_timeline.insert())
_INSERT_SNAPSHOT = flow_snapshots.insert()


def insert_tasks(
    conn: sa.Connection, instance_id: int, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Insert tasks; their ids in the order given."""
    if not rows:
        return []
    ids = []
    for row in rows:  # a command creates a few tasks: one fast INSERT each
        found = _INSERT_TASK.first(conn, {"instance_id": instance_id, **row})
        assert found is not None  # INSERT ... RETURNING gives the row
        ids.append(int(found[0]))
    return ids


_UPDATE_TASK = DriverStatement(
    flow_tasks.update()
    .where(flow_tasks.c.id == sa.bindparam("task_id"))
    .values(
        status=sa.bindparam("status"),
        live=sa.bindparam("live"),
        auto=sa.bindparam("auto"),
        reason=sa.bindparam("reason"),
        acted_at=sa.bindparam("acted_at"),
        acted_by=sa.bindparam("acted_by"),
        comment=sa.bindparam("comment"),
        signature=sa.bindparam("signature"),
    )
)


def update_tasks(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write changed tasks (each row: task_id plus the changeable columns)."""
    for row in rows:
        _write_only(conn, _UPDATE_TASK, row)


_SELECT_TASK = sa.select(flow_tasks).where(flow_tasks.c.id == sa.bindparam("task_id"))
_APP_OF_TASK = (
    sa.select(flow_tasks.c.instance_id, flow_instances.c.app)
    .join_from(flow_tasks, flow_instances, flow_instances.c.id == flow_tasks.c.instance_id)
    .where(flow_tasks.c.id == sa.bindparam("task_id"))
)


def task(conn: sa.Connection, task_id: int) -> Mapping[str, Any] | None:
    return conn.execute(_SELECT_TASK, {"task_id": task_id}).mappings().first()


def app_of_task(conn: sa.Connection, task_id: int) -> tuple[int, str] | None:
    """(instance id, app) of a task, or None when there is no such task."""
    row = conn.execute(_APP_OF_TASK, {"task_id": task_id}).first()
    return (int(row[0]), str(row[1])) if row else None


def tasks_of_instance(conn: sa.Connection, instance_id: int) -> list[Mapping[str, Any]]:
    t = flow_tasks
    return list(
        conn.execute(sa.select(t).where(t.c.instance_id == instance_id).order_by(t.c.id)).mappings()
    )


#: the inbox's columns; engine/service/flows.py (_inbox_view) unpacks rows by position
_INBOX_COLUMNS = (
    flow_tasks.c.id,
    flow_tasks.c.node,
    flow_tasks.c.kind,
    flow_tasks.c.assignee,
    flow_tasks.c.status,
    flow_tasks.c.created_at,
    flow_tasks.c.acted_at,
    flow_tasks.c.acted_by,
    flow_tasks.c.comment,
    flow_tasks.c.reason,
    flow_instances.c.id.label("instance_id"),
    flow_instances.c.app,
    flow_instances.c.form,
    flow_instances.c.record_id,
    flow_instances.c.flow,
    flow_instances.c.flow_hash,
    flow_instances.c.title,
    flow_instances.c.submitter,
    flow_instances.c.status.label("instance_status"),
)
#: (number of statuses, with an app filter, with a title search) -> (page statement,
#: count statement), built once: the inbox is the page people open most, and building
#: Core statements per call cost more than running them on SQLite
_INBOX: dict[tuple[int, bool, bool], tuple[sa.Select, sa.Select]] = {}


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere (``%``, ``_`` and ``/`` escaped with ``/``)."""
    escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


def _inbox_statements(
    statuses: int, by_app: bool, by_title: bool = False
) -> tuple[sa.Select, sa.Select]:
    found = _INBOX.get((statuses, by_app, by_title))
    if found is None:
        t, i = flow_tasks, flow_instances
        where = [
            t.c.assignee == sa.bindparam("login"),
            sa.or_(*(t.c.status == sa.bindparam(f"status{n}") for n in range(statuses))),
        ]
        if by_app:
            where.append(i.c.app == sa.bindparam("app"))
        if by_title:
            where.append(i.c.title.like(sa.bindparam("pattern"), escape="/"))
        joined = t.join(i, i.c.id == t.c.instance_id)
        page = (
            sa.select(*_INBOX_COLUMNS)
            .select_from(joined)
            .where(*where)
            .order_by(t.c.id.desc())
            .limit(sa.bindparam("limit"))
            .offset(sa.bindparam("offset"))
        )
        count = (
            sa.select(sa.func.count())
            .select_from(joined if by_app or by_title else t)
            .where(*where)
        )
        found = _INBOX[(statuses, by_app, by_title)] = (page, count)
    return found


def inbox(
    conn: sa.Connection,
    login: str,
    *,
    statuses: Sequence[str] = ("pending",),
    app: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Mapping[str, Any]], int]:
    """A person's tasks (newest first) with their instance's record and title, and the
    count; rows have the columns of ``_INBOX_COLUMNS`` as attributes. ``search`` keeps
    the tasks whose instance's title contains it."""
    page, count = _inbox_statements(len(statuses), app is not None, bool(search))
    params: dict[str, Any] = {"login": login, "limit": limit, "offset": offset}
    params.update({f"status{n}": status for n, status in enumerate(statuses)})
    if app is not None:
        params["app"] = app
    if search:
        params["pattern"] = like_pattern(search)
    # plain rows (attribute access): a page is read on every inbox view
    rows = list(conn.execute(page, params))
    total = conn.execute(count, params).scalar_one()
    return rows, int(total)


def started_by(
    conn: sa.Connection,
    login: str,
    *,
    statuses: Sequence[str] | None = None,
    app: str | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Mapping[str, Any]], int]:
    """The instances a person submitted (newest first) and their count, on
    ``ix_flow_instances_submitter`` (submitter, status); ``search`` is a substring of the
    title (LIKE, its wildcards escaped)."""
    t = flow_instances
    where = [t.c.submitter == login]
    if statuses:
        where.append(t.c.status.in_(list(statuses)))
    if app is not None:
        where.append(t.c.app == app)
    if search:
        where.append(t.c.title.like(like_pattern(search), escape="/"))
    columns = [c for c in _INSTANCE_COLUMNS if c.name != "version"]
    rows = list(
        conn.execute(
            sa.select(*columns).where(*where).order_by(t.c.id.desc()).limit(limit).offset(offset)
        ).mappings()
    )
    total = conn.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one()
    return rows, int(total)


def participants(conn: sa.Connection, instance_id: int) -> set[str]:
    """Everyone who holds or held a task (or a copy) of the instance."""
    t = flow_tasks
    return set(
        conn.execute(sa.select(t.c.assignee).where(t.c.instance_id == instance_id)).scalars()
    )


# -- timeline, snapshots ----------------------------------------------------------------------


def insert_timeline(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    for row in rows:
        _write_only(conn, _INSERT_TIMELINE, row)


def timeline(conn: sa.Connection, instance_id: int) -> list[Mapping[str, Any]]:
    t = flow_timeline
    return list(
        conn.execute(sa.select(t).where(t.c.instance_id == instance_id).order_by(t.c.id)).mappings()
    )


def save_snapshot(
    conn: sa.Connection,
    instance_id: int,
    cycle: int,
    data: Mapping[str, Any],
    version: int,
    at: datetime,
) -> None:
    conn.execute(
        _INSERT_SNAPSHOT,
        {
            "instance_id": instance_id,
            "cycle": cycle,
            "data": dict(data),
            "record_version": version,
            "taken_at": at,
        },
    )


def snapshots(conn: sa.Connection, instance_id: int) -> list[Mapping[str, Any]]:
    s = flow_snapshots
    return list(
        conn.execute(
            sa.select(s).where(s.c.instance_id == instance_id).order_by(s.c.cycle)
        ).mappings()
    )


# -- timers ---------------------------------------------------------------------------------


def arm_timers(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(flow_timers.insert(), [{"state": "pending", **row} for row in rows])


def cancel_timers(conn: sa.Connection, instance_id: int, nodes: Iterable[str | None]) -> None:
    """Cancel the pending timers of ``nodes`` (None among them: of every node)."""
    t = flow_timers
    nodes = set(nodes)
    if not nodes:
        return
    where = [t.c.instance_id == instance_id, t.c.state == "pending"]
    if None not in nodes:
        where.append(t.c.node.in_(sorted(n for n in nodes if n is not None)))
    conn.execute(t.update().where(*where).values(state="cancelled"))


def due_timers(conn: sa.Connection, now: datetime, limit: int = 100) -> list[Mapping[str, Any]]:
    """Pending timers due at ``now``, earliest first."""
    t = flow_timers
    return list(
        conn.execute(
            sa.select(t)
            .where(t.c.state == "pending", t.c.due_at <= now)
            .order_by(t.c.due_at, t.c.id)
            .limit(limit)
        ).mappings()
    )


def timer(conn: sa.Connection, timer_id: int) -> Mapping[str, Any] | None:
    return (
        conn.execute(sa.select(flow_timers).where(flow_timers.c.id == timer_id)).mappings().first()
    )


def mark_timer_fired(conn: sa.Connection, timer_id: int, now: datetime) -> bool:
    """Mark a pending timer fired; False when it was not pending (fired or cancelled)."""
    t = flow_timers
    result = conn.execute(
        t.update()
        .where(t.c.id == timer_id, t.c.state == "pending")
        .values(state="fired", fired_at=now)
    )
    return result.rowcount == 1


def timers_of_instance(conn: sa.Connection, instance_id: int) -> list[Mapping[str, Any]]:
    t = flow_timers
    return list(
        conn.execute(sa.select(t).where(t.c.instance_id == instance_id).order_by(t.c.id)).mappings()
    )


# -- delegations ----------------------------------------------------------------------------


def add_delegation(conn: sa.Connection, row: Mapping[str, Any]) -> int:
    result = conn.execute(
        flow_delegations.insert().returning(flow_delegations.c.id), [{"revoked": False, **row}]
    )
    return int(result.scalar_one())


def delegate_of(conn: sa.Connection, login: str, at: datetime) -> str | None:
    """Who stands in for ``login`` at ``at`` (the newest active delegation), or None."""
    d = flow_delegations
    return conn.execute(
        sa.select(d.c.delegate)
        .where(d.c.login == login, d.c.revoked.is_(False), d.c.starts_at <= at, d.c.ends_at > at)
        .order_by(d.c.id.desc())
        .limit(1)
    ).scalar()


def delegations(
    conn: sa.Connection, login: str | None = None, *, active_only: bool = False
) -> list[Mapping[str, Any]]:
    """Delegations (given or received by ``login``), oldest first; ``active_only``: not
    revoked and not over."""
    d = flow_delegations
    stmt = sa.select(d).order_by(d.c.id)
    if active_only:
        stmt = stmt.where(d.c.revoked.is_(False))
    if login is not None:
        stmt = stmt.where(sa.or_(d.c.login == login, d.c.delegate == login))
    return list(conn.execute(stmt).mappings())


def revoke_delegation(conn: sa.Connection, delegation_id: int) -> bool:
    d = flow_delegations
    result = conn.execute(
        d.update().where(d.c.id == delegation_id, d.c.revoked.is_(False)).values(revoked=True)
    )
    return result.rowcount == 1


# -- the record -------------------------------------------------------------------------------


#: form table -> its status update (a table belongs to one published form version)
_STATUS_UPDATES: dict[sa.Table, Any] = {}


def set_record_status(conn: sa.Connection, form: StoredForm, record_id: int, status: str) -> None:
    """The record's status column follows its flow (draft, in_approval, approved...)."""
    table = form.tables.table
    stmt = _STATUS_UPDATES.get(table)
    if stmt is None:
        if len(_STATUS_UPDATES) > 256:
            _STATUS_UPDATES.clear()
        stmt = _STATUS_UPDATES[table] = DriverStatement(
            table.update()
            .where(table.c.id == sa.bindparam("record_id"))
            .values(status=sa.bindparam("new_status"))
        )
    _write_only(conn, stmt, {"record_id": record_id, "new_status": status})
