"""Normalized unique rules at run time: the key of a record, the release of expired
holders, the sweep, and the backfill when a rule is published.

A rule's key (engine.definitions.normalizers) is written into its hidden column
(:mod:`engine.store.unique_key_tables`) by every write of the record. It is NULL when
the record does not count: a ``where`` field outside its values, or the ``until`` date
past. The system ``status`` is not part of the key: it is in the partial index's
condition, so a flow moving the status needs no rewrite.

Time cannot be in an index, so an expired holder keeps its key until something releases
it. The write path releases the holders of the key it is about to check
(:func:`release_expired`, same transaction, before the check), so a holder the sweep
has not reached never blocks; :func:`sweep_expired` releases all of them (scheduled or
run by hand) so the table does not carry stale keys.

``until`` on a date field protects through the end of that day in Asia/Shanghai (the
record stops counting at 00:00 the next day); on a datetime field, through that instant.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from engine.definitions.model import FieldDefinition, FormDefinition, UniqueConstraint
from engine.definitions.normalizers import normalized_key
from engine.store.form_tables import FormTables

#: the zone of dates (CHANNEL_DOMAIN conventions: Asia/Shanghai)
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

#: rows a publish backfills per UPDATE batch
BACKFILL_BATCH = 1_000


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _until_is_date(field: FieldDefinition) -> bool:
    kind = field.option("result", "number") if field.type == "formula" else field.type
    return kind == "date"


def _cutoff(form: FormDefinition, rule: UniqueConstraint, now: datetime) -> date | datetime:
    """The ``until`` value below which a record no longer counts at ``now``."""
    assert rule.until is not None
    if _until_is_date(form.field(rule.until)):
        return now.astimezone(LOCAL_TZ).date()  # a date protects through its whole day
    return now


def counts(
    form: FormDefinition, rule: UniqueConstraint, values: Mapping[str, Any], now: datetime
) -> bool:
    """Whether a record with ``values`` holds the rule's key at ``now`` (status aside)."""
    for name, allowed in rule.where:
        if name == "status":
            continue  # in the index condition (unique_key_tables.status_condition)
        value = values.get(name)
        if value is None or _as_text(value) not in allowed:
            return False
    if rule.until is not None:
        until = values.get(rule.until)
        if until is not None and until < _cutoff(form, rule, now):
            return False
    return True


def rule_key(
    form: FormDefinition, rule: UniqueConstraint, values: Mapping[str, Any], now: datetime
) -> str | None:
    """The key the record holds for ``rule`` at ``now``, or None when it does not count."""
    if not counts(form, rule, values, now):
        return None
    return normalized_key([values.get(f) for f in rule.fields], rule.normalize)


def record_keys(form: FormDefinition, values: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Every hidden key column of a record's row: column -> key (or None)."""
    return {
        rule.key_column: rule_key(form, rule, values, now) for rule in form.unique if rule.keyed
    }


def status_counts(rule: UniqueConstraint, status: str | None) -> bool:
    """Whether a record in ``status`` is under the rule's index (a ``where: {status}``)."""
    for name, allowed in rule.where:
        if name == "status":
            return status in allowed
    return True


def release_expired(
    conn: sa.Connection,
    tables: FormTables,
    rule: UniqueConstraint,
    key: str,
    now: datetime,
) -> int:
    """Release ``key`` from the live records whose ``until`` is past; how many there were.

    Run by the write path just before it checks the key, in the same transaction, so an
    expired holder the sweep has not reached yet does not block.
    """
    if rule.until is None:
        return 0
    table = tables.table
    until = table.c[tables.fields[rule.until].names[0]]
    column = table.c[rule.key_column]
    result = conn.execute(
        table.update()
        .where(
            column == key,
            table.c.deleted_at.is_(None),
            until < _cutoff(tables.form, rule, now),
        )
        .values({rule.key_column: None})
    )
    return result.rowcount or 0


def sweep_expired(conn: sa.Connection, tables: FormTables, now: datetime) -> int:
    """Release every key whose holder's ``until`` is past (all rules of the form)."""
    released = 0
    table = tables.table
    for rule in tables.form.unique:
        if not rule.keyed or rule.until is None:
            continue
        until = table.c[tables.fields[rule.until].names[0]]
        column = table.c[rule.key_column]
        result = conn.execute(
            table.update()
            .where(column.is_not(None), until < _cutoff(tables.form, rule, now))
            .values({rule.key_column: None})
        )
        released += result.rowcount or 0
    return released


def backfill_keys(
    conn: sa.Connection,
    tables: FormTables,
    previous: FormDefinition | None,
    new_tables: list[str],
    now: datetime | None = None,
) -> None:
    """Add the key columns a publish introduces and compute them for existing records.

    A rule the previous version did not have (by its content, so a changed normalizer
    list counts as new) gets its column (created if missing) recomputed for every live
    record; the unique index is created afterwards by the publish, which lists records
    that share a key (MigrationError) instead of failing on them.
    """
    table = tables.table
    if table.name in new_tables:
        return  # created with the table, and empty
    now = now or datetime.now(UTC)
    before = {r.key_column for r in previous.unique if r.keyed} if previous else set()
    rules = [r for r in tables.form.unique if r.keyed and r.key_column not in before]
    rules = list({r.key_column: r for r in rules}.values())
    if not rules:
        return
    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    quote = conn.dialect.identifier_preparer.quote
    for rule in rules:
        if rule.key_column not in present:
            col_type = table.c[rule.key_column].type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(
                f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(rule.key_column)} {col_type}"
            )
    needed = {f for r in rules for f in (*r.fields, *(n for n, _ in r.where), r.until) if f}
    needed.discard("status")
    columns = [table.c.id] + [table.c[c] for f in sorted(needed) for c in tables.fields[f].names]
    rows = conn.execute(sa.select(*columns).where(table.c.deleted_at.is_(None))).mappings()
    update = (
        table.update()
        .where(table.c.id == sa.bindparam("_row_id"))
        .values({r.key_column: sa.bindparam(f"_k_{r.key_column}") for r in rules})
    )
    batch: list[dict[str, Any]] = []
    for row in rows.all():
        values = {f: tables.fields[f].read(row) for f in needed}
        params: dict[str, Any] = {"_row_id": row["id"]}
        for rule in rules:
            params[f"_k_{rule.key_column}"] = rule_key(tables.form, rule, values, now)
        batch.append(params)
        if len(batch) >= BACKFILL_BATCH:
            conn.execute(update, batch)
            batch = []
    if batch:
        conn.execute(update, batch)


def holder_values(conn: sa.Connection, tables: FormTables, record_id: int) -> dict[str, Any]:
    """The inline field values of a live record, unscoped: a unique rule's message shows
    only what its author chose (empty when the record is gone)."""
    table = tables.table
    row = (
        conn.execute(sa.select(table).where(table.c.id == record_id, table.c.deleted_at.is_(None)))
        .mappings()
        .first()
    )
    if row is None:
        return {}
    values = {key: fc.read(row) for key, fc in tables.fields.items()}
    values.update(id=row["id"], status=row["status"], title=row["title"])
    return values
