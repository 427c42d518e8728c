"""Creating and updating many records in one transaction: the write path of an import.

Every record goes through exactly what a single write does (engine/service/writer.py):
the actor's permission, locked-field refusal, the ``before_prepare`` hooks, preparation
(coercion, defaults, formulas, validations), organisation-field checks, serial numbers,
unique rules, the row-scope check after the write, the ``after_write`` hooks (rules)
and the journal (revision, audit entry, outbox event). What a batch saves is round trips
and per-statement overhead:

- the unique rules are checked for the whole batch at once (one query per rule, plus a
  check of the batch against itself), not one query per record;
- the rows go in with one ``executemany`` per table (engine/store/record_batches.py);
- the journal rows of every record go in with one ``executemany`` per table.

Forms that need the single-record path (a ``lock:``, file fields, a normalized unique
rule) are written record by record, still with one journal flush per batch. A record
that fails comes back as its :class:`RecordValidationError` in its place of the result;
the others are written. An error that is not about one record's values (the actor may
not import at all, the database refused the batch) propagates and the caller's
transaction rolls back as a whole.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine.errors import PermissionDeniedError, RecordError, RecordValidationError
from engine.service import writer
from engine.service.results import Record
from engine.service.write_access import check_org_fields, refuse_locked, require_in_scope
from engine.store.messages import message as catalogue
from engine.store.record_batches import held_values, insert_records
from engine.store.record_writes import UniqueViolation
from engine.store.rows import inline_row
from engine.store.unique_keys import record_keys

#: what a batch returns per item: the written record, or why it was refused
Outcome = Record | RecordValidationError


def create_records(
    ctx: writer.WriteContext, items: Sequence[Mapping[str, Any]], source: str = "import"
) -> list[Outcome]:
    """Create a record from each item in ``ctx``'s transaction; per item its Record or error.

    ``source`` is the writer's (``import``/``excel`` check the ``import`` grant and let
    a serial field with ``keep_imported`` keep the file's number).
    """
    action = "import" if source in ("import", "excel") else "create"
    ctx.require(action)
    # the context's deadline is a budget per record: each record gets it afresh
    budget = None if ctx.deadline is None else max(ctx.deadline - time.monotonic(), 0.0)
    deferred = ctx.defer_journal
    ctx.defer_journal = True
    try:
        if _one_by_one(ctx):
            outcomes = [_create_one(ctx, data, source, budget) for data in items]
        else:
            outcomes = _create_batch(ctx, items, source, action, budget)
        ctx.journal.flush(ctx.tx.conn)
    finally:
        ctx.defer_journal = deferred
    return outcomes


def update_records(
    ctx: writer.WriteContext, items: Sequence[tuple[int, Mapping[str, Any]]], source: str = "import"
) -> list[tuple[Outcome, bool]]:
    """Apply ``(record_id, changes)`` items; per item (Record or error, whether it changed).

    Each goes through :func:`writer.update_record` (its row lock, version and revision);
    a change that leaves every value as it was writes nothing and reports False.
    """
    deferred = ctx.defer_journal
    ctx.defer_journal = True
    out: list[tuple[Outcome, bool]] = []
    try:
        for record_id, changes in items:
            queued = len(ctx.journal.rows)
            try:
                record = writer.update_record(ctx, record_id, changes, None, source)
            except RecordValidationError as exc:
                out.append((exc, False))
                continue
            out.append((record, len(ctx.journal.rows) > queued))
        ctx.journal.flush(ctx.tx.conn)
    finally:
        ctx.defer_journal = deferred
    return out


def _one_by_one(ctx: writer.WriteContext) -> bool:
    """Whether this form's records must be written by the single-record path."""
    runtime = ctx.runtime
    return (
        runtime.definition.lock is not None
        or bool(runtime.file_fields)
        or ctx.flow is not None
        or any(check.rule.keyed for check in runtime.stored.unique_checks)
    )


def _create_one(
    ctx: writer.WriteContext, data: Mapping[str, Any], source: str, budget: float | None
) -> Outcome:
    """One record by the single-record path, in a savepoint: a refused record leaves
    nothing behind (not even a serial counter moved), as its own transaction would. A
    record the actor could write but not keep (outside their rows) is refused as code
    ``scope``."""
    _restart_budget(ctx, budget)
    try:
        with ctx.tx.conn.begin_nested():
            return writer.create_record(ctx, data, source)
    except RecordValidationError as exc:
        return exc
    except PermissionDeniedError as exc:  # the written row fell outside the actor's rows
        return RecordValidationError([RecordError(None, str(exc), "scope")])


def _restart_budget(ctx: writer.WriteContext, budget: float | None) -> None:
    if budget is not None:
        ctx.deadline = time.monotonic() + budget


def _create_batch(
    ctx: writer.WriteContext,
    items: Sequence[Mapping[str, Any]],
    source: str,
    action: str,
    budget: float | None,
) -> list[Outcome]:
    runtime = ctx.runtime
    outcomes: list[Outcome | None] = [None] * len(items)
    prepared: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for index, data in enumerate(items):
        _restart_budget(ctx, budget)
        try:
            values, row = _prepare(ctx, data, source)
        except RecordValidationError as exc:
            outcomes[index] = exc
            continue
        prepared.append((index, values, row))
    numbered_first = _unique_on_serials(ctx)
    if numbered_first:  # a unique rule holds a serial: its number must exist to check it
        for _index, values, row in prepared:
            _number(ctx, values, row)
    prepared = _unique_in_batch(ctx, prepared, outcomes)
    if not numbered_first:  # numbers only for the records that will be written: no gaps
        for _index, values, row in prepared:
            _number(ctx, values, row)
    try:
        with ctx.tx.conn.begin_nested():
            written = insert_records(
                ctx.tx.conn,
                runtime.stored,
                [r for _, _, r in prepared],
                [v for _, v, _ in prepared],
            )
            for record_id, _children in written:
                require_in_scope(ctx, action, record_id)
    except (UniqueViolation, PermissionDeniedError):
        # a concurrent writer took a value after the check, or a record falls outside
        # the actor's rows: nothing of the batch stays, and record by record names who
        for index, _values, _row in prepared:
            outcomes[index] = _create_one(ctx, items[index], source, budget)
        return [o for o in outcomes if o is not None]
    for (index, values, row), (record_id, child_ids) in zip(prepared, written, strict=True):
        record = writer.new_record(ctx, record_id, child_ids, row, values)
        writer.after_write(ctx, "record.created", record, {}, record.json_values)
        outcomes[index] = record
    return [o for o in outcomes if o is not None]


def _prepare(
    ctx: writer.WriteContext, data: Mapping[str, Any], source: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The prepared values and the form-table row of one new record (no write yet)."""
    runtime = ctx.runtime
    action = "import" if source in ("import", "excel") else "create"
    refuse_locked(ctx, action, data, None)
    data = ctx.hooks.before_prepare(ctx, data, None)
    env = ctx.env()
    values = runtime.compiled.prepare(data, existing=None, env=env, source=source)
    check_org_fields(ctx, values, None)
    row = {
        "status": "active",
        "version": 1,
        "created_at": ctx.now,
        "created_by": ctx.actor.user_id,
        "updated_at": ctx.now,
        "updated_by": ctx.actor.user_id,
    }
    if not runtime.serial_fields:
        _number(ctx, values, row, env)
    return values, row


def _unique_on_serials(ctx: writer.WriteContext) -> bool:
    serials = {field.key for field in ctx.runtime.serial_fields}
    return any(serials.intersection(c.rule.fields) for c in ctx.runtime.stored.unique_checks)


def _number(
    ctx: writer.WriteContext, values: dict[str, Any], row: dict[str, Any], env: Any = None
) -> None:
    """Give a prepared record its serial numbers, then its columns and title (once)."""
    if "title" in row:
        return
    runtime = ctx.runtime
    writer.assign_serials(writer.request_serials(ctx, values), values)
    row.update(inline_row(runtime.tables, values))
    row.update(record_keys(runtime.definition, values, ctx.now))
    row["title"] = writer.render_title(runtime, values, env if env is not None else ctx.env())


def _unique_in_batch(
    ctx: writer.WriteContext,
    prepared: list[tuple[int, dict[str, Any], dict[str, Any]]],
    outcomes: list[Outcome | None],
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """Drop (with their errors) the records whose unique values a live record or an
    earlier record of the batch holds."""
    stored = ctx.runtime.stored
    refused: set[int] = set()
    for check in stored.unique_checks:
        keys: dict[int, tuple[Any, ...]] = {}
        first: dict[tuple[Any, ...], int] = {}
        for position, (index, values, _row) in enumerate(prepared):
            key = _stored_key(ctx, check, values)
            if key is None:
                continue
            if key in first:  # the batch repeats a value: the earlier record keeps it
                _, earlier, earlier_row = prepared[first[key]]
                holder = earlier_row.get("title") or writer.render_title(
                    ctx.runtime, earlier, ctx.env()
                )
                outcomes[index] = _repeated(ctx, check, holder)
                refused.add(index)
                continue
            first[key] = position
            keys[index] = key
        held = held_values(ctx.tx.conn, stored, check, list(keys.values()))
        for index, key in keys.items():
            if key in held and index not in refused:
                values = next(v for i, v, _ in prepared if i == index)
                try:  # the single-record check words the error (who holds it, if seen)
                    writer.check_unique(ctx, values, None, "active")
                except RecordValidationError as exc:
                    outcomes[index] = exc
                    refused.add(index)
    return [item for item in prepared if item[0] not in refused]


def _stored_key(ctx: writer.WriteContext, check: Any, values: Mapping[str, Any]) -> tuple | None:
    """A plain unique rule's stored column values of a record (None: a blank never clashes)."""
    fields = ctx.runtime.tables.fields
    stored: dict[str, Any] = {}
    for key in check.rule.fields:
        fc = fields[key]
        stored.update(fc.type.to_storage(fc.field, values.get(key)))
    key = tuple(stored.get(c) for c in check.columns)
    return None if any(v is None for v in key) else key


def _repeated(ctx: writer.WriteContext, check: Any, holder: str) -> RecordValidationError:
    rule = check.rule
    names = " + ".join(rule.fields)
    text = catalogue("record.unique", ctx.actor.locale, fields=names, holder=holder)
    if rule.message is not None:
        text = f"{rule.message.get(ctx.actor.locale)} ({text})"
    return RecordValidationError([RecordError(rule.fields[0], text, "unique")])


__all__ = ["Outcome", "create_records", "update_records"]
