"""The SQL of record writes: insert, guarded update, soft delete, child rows, unique checks.

Called by the service's write path (engine/service/writer.py), which decides what to
write; this module only knows how, on the connection of the write's transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.driver import BoundedCache, DriverStatement, first_rows
from engine.store.forms import StoredForm, UniqueCheck
from engine.store.rows import child_row
from engine.store.unique_keys import release_expired, rule_key, status_counts


class UniqueViolation(Exception):
    """The database refused a row for a unique index (a concurrent writer won the race)."""


@dataclass(frozen=True)
class Clash:
    """A live record already holding a unique rule's values."""

    check: UniqueCheck
    record_id: int
    title: str | None


def unique_clashes(
    conn: sa.Connection,
    form: StoredForm,
    values: Mapping[str, Any],
    record_id: int | None,
    *,
    status: str | None = None,
    now: datetime | None = None,
) -> list[Clash]:
    """Live records that already hold the values of one of the form's unique rules.

    Blank values never clash (as in the partial unique index). Every rule's check goes
    out in one call: one round trip on PostgreSQL. A normalized rule (``now`` given)
    compares the record's key, after releasing holders whose protection is past.
    """
    checks, calls = [], []
    for check in form.unique_checks:
        stored: dict[str, Any] = {}
        if check.rule.keyed:
            if now is None or not status_counts(check.rule, status):
                continue
            key = rule_key(form.definition, check.rule, values, now)
            if key is not None:
                release_expired(conn, form.tables, check.rule, key, now)
            stored[check.rule.key_column] = key
        for key in () if check.rule.keyed else check.rule.fields:
            fc = form.tables.fields[key]
            stored.update(fc.type.to_storage(fc.field, values.get(key)))
        if any(stored.get(c) is None for c in check.columns):
            continue
        params = {f"u_{c}": stored[c] for c in check.columns}
        checks.append(check)
        if record_id is None:
            calls.append((check.for_new, params))
        else:
            calls.append((check.for_update, {**params, "record_id": record_id}))
    if not calls:
        return []
    return [
        Clash(check, row[0], row[1])
        for check, row in zip(checks, first_rows(conn, calls), strict=True)
        if row is not None
    ]


def insert_record(
    conn: sa.Connection,
    form: StoredForm,
    row: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    skip_on_conflict: bool,
) -> tuple[int | None, dict[str, list[int]]]:
    """Insert the form row and its child rows: (new id, child ids per sub-table).

    With ``skip_on_conflict`` a unique-index clash writes nothing and returns
    ``(None, {})`` (see :mod:`engine.store.record_insert`).
    """
    tables = form.tables
    children = {
        key: [child_row(fields, r) for r in values.get(key) or []]
        for key, fields in tables.child_fields.items()
    }
    return form.inserter.insert(conn, row, children, skip_on_conflict=skip_on_conflict)


#: (table, the columns set) -> the guarded UPDATE ... RETURNING id for them
_GUARDED: BoundedCache[tuple[int, tuple[str, ...]], tuple[sa.Table, DriverStatement]] = (
    BoundedCache()
)


def update_guarded(
    conn: sa.Connection, form: StoredForm, record_id: int, version: int, row: Mapping[str, Any]
) -> bool:
    """Update the record's row only if it is still at ``version``; False when it moved.

    One prepared ``UPDATE ... WHERE id = ? AND version = ? RETURNING id`` per table and
    set of columns, run through the driver fast path (engine/store/driver.py): building
    and compiling a Core UPDATE on every call was a third of a rule-triggered update.
    """
    table = form.tables.table
    columns = tuple(row)
    key = (id(table), columns)
    cached = _GUARDED.get(key)
    if cached is None or cached[0] is not table:
        statement = (
            table.update()
            .where(
                table.c.id == sa.bindparam("guard_id", type_=table.c.id.type),
                table.c.version == sa.bindparam("guard_version", type_=table.c.version.type),
            )
            .values({c: sa.bindparam(f"set_{c}", type_=table.c[c].type) for c in columns})
            .returning(table.c.id)
        )
        cached = _GUARDED.put(key, (table, DriverStatement(statement)))
    params = {f"set_{c}": v for c, v in row.items()}
    params.update(guard_id=record_id, guard_version=version)
    return cached[1].first(conn, params) is not None


@contextmanager
def unique_backstop(conn: sa.Connection, form: StoredForm) -> Iterator[None]:
    """Turn a unique-index violation inside the block into :class:`UniqueViolation`.

    On PostgreSQL the block runs in a savepoint, so the transaction stays usable after
    the violation; a failed statement leaves a SQLite transaction usable as it is.
    """
    if not form.unique_checks:
        yield
        return
    try:
        if conn.dialect.name == "sqlite":
            yield
        else:
            with conn.begin_nested():
                yield
    except sa.exc.IntegrityError as exc:
        raise UniqueViolation(str(exc.orig)) from exc


def replace_children(
    conn: sa.Connection,
    form: StoredForm,
    record_id: int,
    values: Mapping[str, Any],
    stored: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str],
) -> None:
    """Write the given sub-tables' rows of a record.

    Stored rows keep their id (so links to a row survive); others are inserted anew,
    and stored rows no longer listed are deleted.
    """
    tables = form.tables
    for key in keys:
        table, fields = tables.children[key], tables.child_fields[key]
        rows = values.get(key) or []
        kept = {r["id"] for r in rows if r.get("id") is not None}
        gone = [r["id"] for r in stored.get(key, []) if r["id"] not in kept]
        if gone:
            conn.execute(table.delete().where(table.c.id.in_(gone)))
        for index, r in enumerate(rows):
            data = {**child_row(fields, r), "row_index": index}
            if r.get("id") is not None:
                conn.execute(table.update().where(table.c.id == r["id"]).values(**data))
            else:
                conn.execute(table.insert().values(parent_id=record_id, **data))
