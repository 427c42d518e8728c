"""The one transactional path for record changes.

Every create, update and delete writes, on one connection inside one transaction: the
form row, its child rows, a revision (full snapshot + diff), an audit entry and an
outbox event. Any failure rolls all of it back, so no event is ever sent for a change
that did not happen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.errors import ConflictError, RecordError, RecordValidationError
from engine.fields import registry
from engine.runtime.forms import RecordEnvironment
from engine.service.actor import Actor
from engine.service.files import attach_files, claim_files
from engine.service.forms import FormRuntime
from engine.service.journal import flush_journal, write_audit, write_outbox, write_revision
from engine.service.reading import load_children, load_row, row_values, to_record
from engine.service.results import Record
from engine.store.driver import Ahead, first_rows
from engine.store.rows import child_row, diff, inline_row, values_to_json
from engine.store.serials import request_serial, serial_value
from engine.store.types import DEFAULT_TZ

TITLE_LENGTH = 500


@dataclass
class WriteContext:
    """One write: its connection (inside a transaction), form, actor and moment."""

    conn: sa.Connection
    runtime: FormRuntime
    actor: Actor
    now: datetime
    fetch: Callable[[str, int], Mapping[str, Any] | None]
    #: ``find_options`` for options taken from another form (read on ``conn``)
    find_options: Callable[[str, str, str], Any] | None = None
    #: journal rows (revision, audit, outbox) queued for :func:`flush_journal`
    journal: list[tuple[str, dict[str, Any]]] = dataclass_field(default_factory=list)

    def env(self) -> RecordEnvironment:
        return RecordEnvironment(
            self.now,
            self.actor.user_id,
            self.actor.department,
            self.fetch,
            find_options=self.find_options,
            locale=self.actor.locale,
        )


def create_record(ctx: WriteContext, data: Mapping[str, Any], source: str) -> Record:
    """Validate, compute, number and insert a new record with its revision, audit and event."""
    runtime, conn = ctx.runtime, ctx.conn
    env = ctx.env()
    values = runtime.compiled.prepare(data, existing=None, env=env, source=source)
    new_files = _attach_files(ctx, values, None, None)
    numbering = request_serials(ctx, values)
    if numbering and _unique_on(runtime, {field.key for field, *_ in numbering}):
        assign_serials(numbering, values)  # the check needs the numbers first
    # on PostgreSQL the serial counters go out with the check: one round trip for both
    check_unique(conn, runtime, values, None, ctx.actor.locale)
    assign_serials(numbering, values)
    title = _title(runtime, values, env)
    row = inline_row(runtime.tables, values)
    row.update(
        status="active",
        version=1,
        title=title,
        created_at=ctx.now,
        created_by=ctx.actor.user_id,
        updated_at=ctx.now,
        updated_by=ctx.actor.user_id,
    )
    record_id, child_ids = _insert_new(ctx, row, values)
    claim_files(conn, new_files, record_id)
    record = _new_record(ctx, record_id, child_ids, row, values)
    snapshot = record.json_values
    _after_write(ctx, "record.created", record_id, 1, snapshot, diff({}, snapshot))
    return record


def update_record(
    ctx: WriteContext, record_id: int, changes: Mapping[str, Any], expected_version: int | None
) -> Record:
    """Apply changes under an optimistic lock; ConflictError when someone saved first."""
    runtime, conn = ctx.runtime, ctx.conn
    current = load_row(conn, runtime, record_id, for_update=True)
    _check_version(runtime, current, expected_version)
    children = load_children(conn, runtime, [record_id])[record_id]
    existing = row_values(runtime, current, children)
    existing.update({c: current[c] for c in ("id", "status", "title", "version")})
    env = ctx.env()
    values = runtime.compiled.prepare(changes, existing=existing, env=env)
    new_files = _attach_files(ctx, values, existing, record_id)
    check_unique(conn, runtime, values, record_id, ctx.actor.locale)
    before = values_to_json(runtime.tables, existing)
    version = current["version"] + 1
    row = inline_row(runtime.tables, values)
    row.update(
        title=_title(runtime, values, env),
        version=version,
        updated_at=ctx.now,
        updated_by=ctx.actor.user_id,
    )
    with _unique_backstop(ctx, values, record_id):
        _guarded_update(ctx, current, row)
    claim_files(conn, new_files, record_id)
    proposed = values_to_json(runtime.tables, values)
    changed_subtables = [k for k in runtime.tables.children if before.get(k) != proposed.get(k)]
    if changed_subtables:
        _replace_children(ctx, record_id, values, children, changed_subtables)
    record = _reload(ctx, record_id)
    after = record.json_values
    _after_write(ctx, "record.updated", record_id, version, after, diff(before, after))
    return record


def delete_record(ctx: WriteContext, record_id: int, expected_version: int | None) -> Record:
    """Soft delete: the row stays (``deleted_at`` set) with its history; lists skip it."""
    runtime, conn = ctx.runtime, ctx.conn
    current = load_row(conn, runtime, record_id, for_update=True)
    _check_version(runtime, current, expected_version)
    children = load_children(conn, runtime, [record_id])[record_id]
    record = to_record(runtime, current, children)
    version = current["version"] + 1
    _guarded_update(
        ctx,
        current,
        {
            "deleted_at": ctx.now,
            "version": version,
            "updated_at": ctx.now,
            "updated_by": ctx.actor.user_id,
        },
    )
    changes = {"deleted_at": {"old": None, "new": ctx.now.isoformat()}}
    _after_write(ctx, "record.deleted", record_id, version, record.json_values, changes)
    record.version = version
    record.updated_at, record.updated_by = ctx.now, ctx.actor.user_id
    return record


def _attach_files(
    ctx: WriteContext,
    values: dict[str, Any],
    existing: Mapping[str, Any] | None,
    record_id: int | None,
) -> Any:
    """Check attachment values against the ``files`` table (no query without files)."""
    if not ctx.runtime.file_fields:
        return {}
    runtime = ctx.runtime
    return attach_files(
        ctx.conn,
        runtime.app,
        runtime.key,
        runtime.file_fields,
        values,
        existing,
        record_id,
        locale=ctx.actor.locale,
    )


#: a serial number being allocated: (field, pattern, date, counter request)
_Numbering = tuple[Any, Any, Any, Ahead]


def request_serials(ctx: WriteContext, values: Mapping[str, Any]) -> list[_Numbering]:
    """Move the counters of a new record's blank serial fields on, in this transaction.

    The numbers are read by :func:`assign_serials`; until then the requests may wait to
    go out with the next query (PostgreSQL), so nothing else may run in between.
    """
    if not ctx.runtime.serial_fields:
        return []
    serial_type = registry.get("serial")
    when = ctx.now.astimezone(DEFAULT_TZ).date()
    out = []
    for field in ctx.runtime.serial_fields:
        if values.get(field.key) not in (None, ""):
            continue
        pattern = serial_type.pattern(field)
        period = pattern.period_key(when, field.option("reset", "never"), values)
        requested = request_serial(
            ctx.conn,
            ctx.runtime.app,
            ctx.runtime.key,
            field.key,
            period,
            int(field.option("start", 1)),
        )
        out.append((field, pattern, when, requested))
    return out


def assign_serials(numbering: list[_Numbering], values: dict[str, Any]) -> None:
    """Render the requested numbers into their fields (once; later calls change nothing)."""
    for field, pattern, when, requested in numbering:
        if values.get(field.key) in (None, ""):
            values[field.key] = pattern.render(when, serial_value(requested), values)


def _unique_on(runtime: FormRuntime, keys: set[str]) -> bool:
    return any(keys.intersection(rule.fields) for rule, *_ in runtime.unique_checks)


def check_unique(
    conn: sa.Connection,
    runtime: FormRuntime,
    values: Mapping[str, Any],
    record_id: int | None,
    locale: str = "zh-CN",
) -> None:
    """Refuse values that repeat a live record's, naming that record (checked before write)."""
    rules, checks = [], []
    for rule, columns, check_new, check_update in runtime.unique_checks:
        stored: dict[str, Any] = {}
        for key in rule.fields:
            fc = runtime.tables.fields[key]
            stored.update(fc.type.to_storage(fc.field, values.get(key)))
        if any(stored.get(c) is None for c in columns):
            continue  # blanks never clash, as in the partial unique index
        params = {f"u_{c}": stored[c] for c in columns}
        rules.append(rule)
        if record_id is None:
            checks.append((check_new, params))
        else:
            checks.append((check_update, {**params, "record_id": record_id}))
    if not checks:
        return
    errors = []
    # every rule's check in one call: one round trip on PostgreSQL
    for rule, clash in zip(rules, first_rows(conn, checks), strict=True):
        if clash is not None:
            names = " + ".join(rule.fields)
            clash_id, clash_title = clash
            who = clash_title or f"#{clash_id}"
            if locale.startswith("en"):
                message = f"unique: {names} already used by {who}"
            else:
                message = f"唯一性：{names} 已被 {who} 使用"
            if rule.message is not None:
                message = f"{rule.message.get(locale)} ({message})"
            errors.append(RecordError(rule.fields[0], message, "unique"))
    if errors:
        raise RecordValidationError(errors)


@contextmanager
def _unique_backstop(
    ctx: WriteContext, values: Mapping[str, Any], record_id: int | None
) -> Iterator[None]:
    """Turn a unique-index violation (a concurrent writer won the race after our check)
    into the same RecordValidationError that names the clashing record."""
    if not ctx.runtime.unique_checks:
        yield
        return
    try:
        if ctx.conn.dialect.name == "sqlite":
            # a failed statement leaves a SQLite transaction usable: no savepoint needed
            yield
        else:
            # a savepoint keeps the transaction usable on PostgreSQL after the violation
            with ctx.conn.begin_nested():
                yield
    except sa.exc.IntegrityError:
        check_unique(ctx.conn, ctx.runtime, values, record_id, ctx.actor.locale)
        raise


def _insert_new(
    ctx: WriteContext, row: dict[str, Any], values: Mapping[str, Any]
) -> tuple[int, dict[str, list[int]]]:
    """Insert the form row and child rows; a unique-index clash names the clashing record.

    With unique rules the row is inserted with ON CONFLICT DO NOTHING instead of inside
    a savepoint (two round trips fewer on PostgreSQL): when it is skipped, a concurrent
    writer won the race past :func:`check_unique`, which is run again to name the clash.
    """
    runtime, conn = ctx.runtime, ctx.conn
    tables = runtime.tables
    children = {
        key: [child_row(fields, r) for r in values.get(key) or []]
        for key, fields in tables.child_fields.items()
    }
    skip = bool(runtime.unique_checks)
    record_id, child_ids = runtime.inserter.insert(conn, row, children, skip_on_conflict=skip)
    if record_id is None:
        check_unique(conn, runtime, values, None, ctx.actor.locale)
        # the clash is gone (the other record was deleted meanwhile): a plain insert
        # either succeeds or raises the database's own IntegrityError
        record_id, child_ids = runtime.inserter.insert(conn, row, children, skip_on_conflict=False)
    return record_id, child_ids


def _title(runtime: FormRuntime, values: Mapping[str, Any], env: RecordEnvironment) -> str:
    return runtime.compiled.render_title(values, env=env)[:TITLE_LENGTH]


def _check_version(runtime: FormRuntime, current: Mapping[str, Any], expected: int | None) -> None:
    if expected is not None and current["version"] != expected:
        raise _conflict(runtime, current)


def _conflict(runtime: FormRuntime, current: Mapping[str, Any]) -> ConflictError:
    at = current["updated_at"].astimezone(DEFAULT_TZ).strftime("%Y-%m-%d %H:%M:%S")
    return ConflictError(
        f"{runtime.app}.{runtime.key} record {current['id']} was changed by "
        f"{current['updated_by']} at {at} (now version {current['version']}); reload it and "
        "apply your change again"
    )


def _guarded_update(ctx: WriteContext, current: Mapping[str, Any], row: Mapping[str, Any]) -> None:
    table = ctx.runtime.tables.table
    result = ctx.conn.execute(
        table.update()
        .where(table.c.id == current["id"], table.c.version == current["version"])
        .values(**row)
    )
    if result.rowcount != 1:
        fresh = load_row(ctx.conn, ctx.runtime, current["id"])
        raise _conflict(ctx.runtime, fresh)


def _new_record(
    ctx: WriteContext,
    record_id: int,
    child_ids: Mapping[str, list[int]],
    row: Mapping[str, Any],
    values: Mapping[str, Any],
) -> Record:
    """Build the Record from what was written (no read-back)."""
    tables = ctx.runtime.tables
    out = {key: values.get(key) for key in tables.fields}
    for key, fields in tables.child_fields.items():
        rows = values.get(key) or []
        out[key] = [
            {"id": child_id, **{k: r.get(k) for k in fields}}
            for child_id, r in zip(child_ids.get(key, ()), rows, strict=True)
        ]
    return Record(
        app=ctx.runtime.app,
        form=ctx.runtime.key,
        id=record_id,
        version=1,
        status=row["status"],
        title=row["title"],
        values=out,
        created_at=ctx.now,
        created_by=ctx.actor.user_id,
        updated_at=ctx.now,
        updated_by=ctx.actor.user_id,
        json_values=values_to_json(tables, out),
    )


def _replace_children(
    ctx: WriteContext,
    record_id: int,
    values: Mapping[str, Any],
    stored: Mapping[str, list[dict[str, Any]]],
    keys: list[str],
) -> None:
    # stored rows keep their id (so links to a row survive); others are inserted anew
    tables = ctx.runtime.tables
    for key in keys:
        table, fields = tables.children[key], tables.child_fields[key]
        rows = values.get(key) or []
        kept = {r["id"] for r in rows if r.get("id") is not None}
        gone = [r["id"] for r in stored.get(key, []) if r["id"] not in kept]
        if gone:
            ctx.conn.execute(table.delete().where(table.c.id.in_(gone)))
        for index, r in enumerate(rows):
            data = {**child_row(fields, r), "row_index": index}
            if r.get("id") is not None:
                ctx.conn.execute(table.update().where(table.c.id == r["id"]).values(**data))
            else:
                ctx.conn.execute(table.insert().values(parent_id=record_id, **data))


def _after_write(
    ctx: WriteContext,
    topic: str,
    record_id: int,
    version: int,
    snapshot: dict[str, Any],
    changes: dict[str, Any],
) -> None:
    write_revision(ctx, topic, record_id, version, snapshot, changes)
    write_audit(ctx, topic, record_id, version, changes)
    write_outbox(ctx, topic, record_id, version)
    flush_journal(ctx)


def _reload(ctx: WriteContext, record_id: int) -> Record:
    row = load_row(ctx.conn, ctx.runtime, record_id)
    return to_record(ctx.runtime, row, load_children(ctx.conn, ctx.runtime, [record_id])[record_id])
