"""The one transactional path for record changes.

Every create, update and delete writes, inside one transaction: the form row, its child
rows, a revision (full snapshot + diff), an audit entry and an outbox event. Any failure
rolls all of it back, so no event is ever sent for a change that did not happen. An
update that changes nothing writes nothing: no row, no revision, no event, no version.

The SQL is the store's (engine/store/record_writes.py, journal.py); this module decides
what to write and when, and calls the hook points of :mod:`engine.service.hooks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import (
    ConflictError,
    NotFoundError,
    RecordError,
    RecordValidationError,
)
from engine.fields import registry
from engine.runtime.forms import RecordEnvironment
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.service.files import attach_files, claim_files
from engine.service.forms import FormRuntime
from engine.service.hooks import Hooks, RecordChange
from engine.service.ledgers import ledger_reader
from engine.service.locks import aggregate_reader, relock, take_lock
from engine.service.lookups import best_match_reader
from engine.service.permissions import Access
from engine.service.reading import row_values, to_record
from engine.service.results import Record
from engine.service.transactions import Transaction
from engine.service.unique_messages import keyed_message
from engine.service.write_access import check_org_fields, refuse_locked, require_in_scope
from engine.store.journal import Journal, Subject
from engine.store.messages import message as catalogue
from engine.store.record_writes import (
    UniqueViolation,
    insert_record,
    replace_children,
    unique_backstop,
    unique_clashes,
    update_guarded,
)
from engine.store.records import RecordSource
from engine.store.rows import diff, inline_row, values_to_json
from engine.store.serials import request_serial, serial_value
from engine.store.types import DEFAULT_TZ
from engine.store.unique_keys import record_keys

TITLE_LENGTH = 500


@dataclass
class WriteContext:
    """One write: its transaction, form, actor, moment, record source and journal."""

    tx: Transaction
    runtime: FormRuntime
    actor: Actor
    now: datetime
    source: RecordSource
    journal: Journal
    hooks: Hooks
    #: ``time.monotonic()`` by which preparation must be done (None: unbounded)
    deadline: float | None = None
    #: what the actor may do (engine/service/permissions.py); None: the engine itself
    access: Access | None = None
    #: how an attached approval flow treats this write (engine/service/flows.py):
    #: {"draft": True} saves without starting it, {"choices": {...}} starts it with the
    #: submitter's picks, {"edit": node} is an approver's edit at a node
    flow: dict[str, Any] | None = None
    #: leave the journal queued after each change: a batch (an import's chunk) writes
    #: every revision, audit entry and event of its records with one executemany per
    #: table when it calls ``journal.flush`` itself, before its transaction commits
    defer_journal: bool = False

    def env(self) -> RecordEnvironment:
        who = self.access.principal if self.access is not None else None
        return RecordEnvironment(
            self.now,
            self.actor.user_id,
            who.department if who is not None else self.actor.department,
            self.source.related_record,
            find_options=self.source.option_records,
            locale=self.actor.locale,
            deadline=self.deadline,
            dealer=who.dealer if who is not None else None,
            region=who.region if who is not None else None,
            aggregate=aggregate_reader(self.source, self.runtime.definition),
            # MATCH: one query per distinct lookup through this actor's source
            best_match=best_match_reader(self.source),
            ledger=ledger_reader(self.tx),  # BALANCE / AVAILABLE (docs/ledgers.md)
        )

    def scoped(self, action: str) -> RecordSource:
        """The record source of this form for ``action`` (read on related forms)."""
        if self.access is None:
            return self.source
        return self.tx.source(self.runtime.key, self.access.scope(self.runtime.key, action))

    def require(self, action: str) -> None:
        """Refuse unless the actor may ``action`` this form (PermissionDeniedError)."""
        if self.access is not None:
            self.access.require(self.runtime.definition, action, self.actor.locale)


def create_record(ctx: WriteContext, data: Mapping[str, Any], source: str) -> Record:
    """Validate, compute, number and insert a new record with its revision, audit and event."""
    runtime, conn = ctx.runtime, ctx.tx.conn
    action = "import" if source in ("import", "excel") else "create"
    ctx.require(action)
    refuse_locked(ctx, action, data, None)
    data = ctx.hooks.before_prepare(ctx, data, None)
    locked = take_lock(ctx, data, None, source)  # before any aggregate is read
    env = ctx.env()
    values = runtime.compiled.prepare(data, existing=None, env=env, source=source)
    if relock(ctx, values, locked):  # a default named another row: read after its lock
        values = runtime.compiled.prepare(data, existing=None, env=ctx.env(), source=source)
    check_org_fields(ctx, values, None)
    new_files = _attach_files(ctx, values, None, None)
    numbering = request_serials(ctx, values)
    if numbering and _unique_on(runtime, {field.key for field, *_ in numbering}):
        assign_serials(numbering, values)  # the check needs the numbers first
    # a form with an approval flow says in which status its records start
    status = (ctx.flow or {}).get("status", "active")
    # on PostgreSQL the serial counters go out with the check: one round trip for both
    check_unique(ctx, values, None, status)
    assign_serials(numbering, values)
    title = render_title(runtime, values, env)
    row = inline_row(runtime.tables, values)
    row.update(record_keys(runtime.definition, values, ctx.now))  # normalized unique keys
    row.update(
        status=status,
        version=1,
        title=title,
        created_at=ctx.now,
        created_by=ctx.actor.user_id,
        updated_at=ctx.now,
        updated_by=ctx.actor.user_id,
    )
    skip = bool(runtime.stored.unique_checks)
    record_id, child_ids = insert_record(conn, runtime.stored, row, values, skip_on_conflict=skip)
    if record_id is None:
        # a concurrent writer won the race past check_unique: name the clash
        check_unique(ctx, values, None, status)
        # the clash is gone (the other record was deleted meanwhile): a plain insert
        # either succeeds or raises the database's own IntegrityError
        record_id, child_ids = insert_record(
            conn, runtime.stored, row, values, skip_on_conflict=False
        )
    require_in_scope(ctx, action, record_id)
    claim_files(conn, new_files, record_id)
    record = new_record(ctx, record_id, child_ids, row, values)
    snapshot = record.json_values
    after_write(ctx, "record.created", record, {}, snapshot)
    return record


def update_record(
    ctx: WriteContext,
    record_id: int,
    changes: Mapping[str, Any],
    expected_version: int | None,
    source: str = "json",
) -> Record:
    """Apply changes (written as ``source`` says) under an optimistic lock; ConflictError
    when someone saved first.

    A change that leaves every value as it was writes nothing and returns the record.
    """
    runtime, conn = ctx.runtime, ctx.tx.conn
    ctx.require("update")
    current = ctx.scoped("update").row(record_id, for_update=True)
    _check_version(runtime, current, expected_version, ctx.actor.locale)
    children = ctx.source.children([record_id])[record_id]
    existing = row_values(runtime, current, children)
    existing.update({c: current[c] for c in ("id", "status", "title", "version")})
    refuse_locked(ctx, "update", changes, values_to_json(runtime.tables, existing))
    changes = ctx.hooks.before_prepare(ctx, changes, existing)
    locked = take_lock(ctx, changes, existing, source)  # before any aggregate is read
    env = ctx.env()
    values = runtime.compiled.prepare(changes, existing=existing, env=env, source=source)
    if relock(ctx, values, locked):  # a formula named another row: read after its lock
        env = ctx.env()
        values = runtime.compiled.prepare(changes, existing=existing, env=env, source=source)
    check_org_fields(ctx, values, existing)
    new_files = _attach_files(ctx, values, existing, record_id)
    before = values_to_json(runtime.tables, existing)
    proposed = values_to_json(runtime.tables, values)
    title = render_title(runtime, values, env)
    if _same(before, proposed) and title == current["title"] and not new_files:
        return to_record(runtime, current, children)
    check_unique(ctx, values, record_id, current["status"])
    version = current["version"] + 1
    row = inline_row(runtime.tables, values)
    row.update(record_keys(runtime.definition, values, ctx.now))  # normalized unique keys
    row.update(title=title, version=version, updated_at=ctx.now, updated_by=ctx.actor.user_id)
    try:
        with unique_backstop(conn, runtime.stored):
            moved = not update_guarded(conn, runtime.stored, record_id, current["version"], row)
    except UniqueViolation as exc:
        check_unique(ctx, values, record_id, current["status"])  # names the race's winner
        form = f"{runtime.app}.{runtime.key}"
        raise ConflictError(
            catalogue("record.unique_race", ctx.actor.locale, form=form, record_id=record_id)
        ) from exc
    if moved:
        raise _conflict(runtime, ctx.source.row(record_id), ctx.actor.locale)
    require_in_scope(ctx, "update", record_id)
    claim_files(conn, new_files, record_id)
    changed_subtables = [k for k in runtime.tables.children if before.get(k) != proposed.get(k)]
    if changed_subtables:
        replace_children(conn, runtime.stored, record_id, values, children, changed_subtables)
    record = _reload(ctx, record_id)
    after_write(ctx, "record.updated", record, before, record.json_values)
    return record


def delete_record(ctx: WriteContext, record_id: int, expected_version: int | None) -> Record:
    """Soft delete: the row stays (``deleted_at`` set) with its history; lists skip it."""
    runtime, conn = ctx.runtime, ctx.tx.conn
    ctx.require("delete")
    current = ctx.scoped("delete").row(record_id, for_update=True)
    _check_version(runtime, current, expected_version, ctx.actor.locale)
    children = ctx.source.children([record_id])[record_id]
    record = to_record(runtime, current, children)
    version = current["version"] + 1
    row = {
        "deleted_at": ctx.now,
        "version": version,
        "updated_at": ctx.now,
        "updated_by": ctx.actor.user_id,
    }
    if not update_guarded(conn, runtime.stored, record_id, current["version"], row):
        raise _conflict(runtime, ctx.source.row(record_id), ctx.actor.locale)
    record.version = version
    record.updated_at, record.updated_by = ctx.now, ctx.actor.user_id
    snapshot = record.json_values
    extra = {"deleted_at": {"old": None, "new": ctx.now.isoformat()}}
    after_write(ctx, "record.deleted", record, snapshot, snapshot, extra)
    return record


def _same(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    return all(before.get(key) == value for key, value in after.items())


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
        ctx.tx.conn,
        runtime.app,
        runtime.key,
        runtime.file_fields,
        values,
        existing,
        record_id,
        locale=ctx.actor.locale,
        # a person attaches only their own uploads; the engine itself (installs, rules
        # acting for someone) may attach any
        uploader=None if ctx.actor == SYSTEM_ACTOR else ctx.actor.user_id,
    )


#: a serial number being allocated: (field, pattern, date, counter request)
_Numbering = tuple[Any, Any, Any, Any]


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
            ctx.tx.conn,
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
    return any(keys.intersection(c.rule.fields) for c in runtime.stored.unique_checks)


def check_unique(
    ctx: WriteContext,
    values: Mapping[str, Any],
    record_id: int | None,
    status: str | None = None,
) -> None:
    """Refuse values that repeat a live record's, naming that record (checked before write).

    ``status`` is the record's status after the write (a normalized rule may count only
    some statuses: docs/uniqueness.md).
    """
    clashes = unique_clashes(
        ctx.tx.conn, ctx.runtime.stored, values, record_id, status=status, now=ctx.now
    )
    if not clashes:
        return
    locale = ctx.actor.locale
    errors = []
    for clash in clashes:
        rule = clash.check.rule
        names = " + ".join(rule.fields)
        if rule.keyed and rule.message is not None:
            # the author's message alone: its placeholders choose what of the holding
            # record is shown (a registration says the date, never the other party)
            text = keyed_message(ctx.tx.conn, ctx.runtime.stored, rule, clash.record_id, locale)
            errors.append(RecordError(rule.fields[0], text, "unique"))
            continue
        if _readable(ctx, clash.record_id):
            # the stored title may show what the actor may not see: then the id only
            shows_hidden = ctx.access is not None and "title" in ctx.access.hidden(
                ctx.runtime.definition
            )
            who = clash.title or f"#{clash.record_id}"
            if shows_hidden:
                seen = ctx.source.related_record(ctx.runtime.key, clash.record_id) or {}
                who = ctx.runtime.compiled.render_title(seen) or f"#{clash.record_id}"
            message = catalogue("record.unique", locale, fields=names, holder=who)
        else:  # never name a record the actor may not see (another dealer's, say)
            message = catalogue("record.unique_unseen", locale, fields=names)
        if rule.message is not None:
            message = f"{rule.message.get(locale)} ({message})"
        errors.append(RecordError(rule.fields[0], message, "unique"))
    raise RecordValidationError(errors)


def _readable(ctx: WriteContext, record_id: int) -> bool:
    try:
        ctx.source.row(record_id)
    except NotFoundError:
        return False
    return True


def render_title(runtime: FormRuntime, values: Mapping[str, Any], env: RecordEnvironment) -> str:
    """The record's title from its prepared values, cut to the column's length."""
    return runtime.compiled.render_title(values, env=env)[:TITLE_LENGTH]


def _check_version(
    runtime: FormRuntime, current: Mapping[str, Any], expected: int | None, locale: str
) -> None:
    if expected is not None and current["version"] != expected:
        raise _conflict(runtime, current, locale)


def _conflict(runtime: FormRuntime, current: Mapping[str, Any], locale: str) -> ConflictError:
    at = current["updated_at"].astimezone(DEFAULT_TZ).strftime("%Y-%m-%d %H:%M:%S")
    return ConflictError(
        catalogue(
            "record.conflict",
            locale,
            form=f"{runtime.app}.{runtime.key}",
            record_id=current["id"],
            by=current["updated_by"],
            at=at,
            version=current["version"],
        )
    )


def new_record(
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
        _json=values_to_json(tables, out),
    )


def after_write(
    ctx: WriteContext,
    topic: str,
    record: Record,
    before: dict[str, Any],
    after: dict[str, Any],
    extra_changes: dict[str, Any] | None = None,
) -> None:
    """Journal the change (revision, audit, event), run the after-write hooks, flush."""
    runtime = ctx.runtime
    changes = diff(before, after)
    changes.update(extra_changes or {})
    subject = Subject(runtime.app, runtime.key, record.id)
    action = topic.removeprefix("record.")
    ctx.journal.revision(subject, action, record.version, after, changes, runtime.version_no)
    ctx.journal.audit(subject, topic, {"version": record.version, "fields": sorted(changes)})
    ctx.journal.event(
        topic,
        subject,
        {"version": record.version, "form_version": runtime.version_no, "changes": changes},
        f"{topic}:{runtime.app}.{runtime.key}:{record.id}:v{record.version}",
    )
    ctx.hooks.after_write(
        ctx,
        RecordChange(topic, runtime.app, runtime.key, record.id, record.version, changes, record),
    )
    if not ctx.defer_journal:
        ctx.journal.flush(ctx.tx.conn)


def _reload(ctx: WriteContext, record_id: int) -> Record:
    row = ctx.source.row(record_id)
    return to_record(ctx.runtime, row, ctx.source.children([record_id])[record_id])
