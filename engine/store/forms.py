"""A published form version as the store uses it: its tables and prepared statements.

Built once per form version (the service caches it with the compiled runtime), so a
record write does no reflection, no DDL check and no definition parsing. Also the
read that tells which version is published.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FieldDefinition, FormDefinition, UniqueConstraint
from engine.store.driver import BoundedCache, DriverStatement
from engine.store.engine_tables import form_versions
from engine.store.form_tables import FormTables, build_form_tables
from engine.store.publish import StoredVersion, latest_version
from engine.store.record_insert import RecordInserter
from engine.store.unique_key_tables import status_condition

#: list-query shapes one form version keeps (engine.store.query.build_query)
MAX_QUERIES = 128


@dataclass(frozen=True)
class UniqueCheck:
    """One unique rule of a form: its stored columns and the clash lookups.

    ``for_new`` and ``for_update`` select ``(id, title)`` of a live record holding the
    same values (``for_update`` excludes the record itself).
    """

    rule: UniqueConstraint
    columns: tuple[str, ...]
    for_new: DriverStatement
    for_update: DriverStatement


@dataclass
class StoredForm:
    """Tables and prepared statements of one published form version."""

    app: str
    version_no: int
    definition: FormDefinition
    tables: FormTables
    serial_fields: tuple[FieldDefinition, ...]
    #: live row by ``record_id`` (bound at execution)
    select_live: Any
    #: ``select_live`` as a DriverStatement, for reads on the write path (related records)
    fetch_live: DriverStatement
    #: ``select_live ... FOR UPDATE`` as a DriverStatement: the first read of an update,
    #: so queued statements (the generation read) go out with it, in order
    lock_live: DriverStatement
    unique_checks: tuple[UniqueCheck, ...]
    #: writes a new record's row and child rows (one round trip on PostgreSQL)
    inserter: RecordInserter
    #: options-from lookups by value field, built on first use (see records.option_select)
    option_selects: dict[str, Any] = field(default_factory=dict)
    #: list queries by shape and scope, built on first use (see query.build_query)
    queries: BoundedCache[Any, Any] = field(default_factory=lambda: BoundedCache(MAX_QUERIES))
    #: those statements prepared for the driver's fast path: id -> (statement, prepared)
    prepared_queries: BoundedCache[int, Any] = field(
        default_factory=lambda: BoundedCache(2 * MAX_QUERIES)
    )

    @property
    def key(self) -> str:
        return self.definition.key


def build_stored_form(app: str, version_no: int, form: FormDefinition) -> StoredForm:
    """Build the tables and statements of a form version once."""
    tables = build_form_tables(app, form)
    select_live = sa.select(tables.table).where(
        tables.table.c.id == sa.bindparam("record_id"), tables.table.c.deleted_at.is_(None)
    )
    return StoredForm(
        app=app,
        version_no=version_no,
        definition=form,
        tables=tables,
        serial_fields=tuple(f for f in form.fields if f.type == "serial"),
        select_live=select_live,
        # DriverStatement: Core's per-call overhead cost more than SQLite's primary-key
        # read, and on PostgreSQL the first read of a write carries the BEGIN along
        fetch_live=DriverStatement(select_live),
        lock_live=DriverStatement(select_live.with_for_update()),
        unique_checks=tuple(_unique_check(tables, rule) for rule in _unique_rules(form)),
        inserter=RecordInserter(tables),
    )


def _unique_rules(form: FormDefinition) -> tuple[UniqueConstraint, ...]:
    """The form's unique rules, plus serial fields that may keep an imported number.

    The engine never hands out a number twice, but an imported legacy number may repeat
    one: checking it like a unique rule names the record instead of the index refusing.
    """
    imported = tuple(
        UniqueConstraint(fields=(f.key,))
        for f in form.fields
        if f.type == "serial" and f.option("keep_imported", False)
    )
    return tuple(form.unique) + imported


def _unique_check(tables: FormTables, rule: UniqueConstraint) -> UniqueCheck:
    table = tables.table
    columns = tuple(c for key in rule.fields for c in tables.fields[key].names)
    extra = []
    if rule.keyed:  # a normalized rule compares its hidden key column (unique_keys.py)
        columns = (rule.key_column,)
        condition = status_condition(rule)
        extra = [sa.text(condition)] if condition else []
    new = (
        sa.select(table.c.id, table.c.title)
        .where(
            table.c.deleted_at.is_(None),
            *(table.c[c] == sa.bindparam(f"u_{c}") for c in columns),
            *extra,
        )
        .limit(1)
    )
    update = new.where(table.c.id != sa.bindparam("record_id"))
    # DriverStatement: ~40 us of Core bookkeeping per check, more than the indexed read
    return UniqueCheck(rule, columns, DriverStatement(new), DriverStatement(update))


def published_version(conn: sa.Connection, app: str, form: str) -> StoredVersion | None:
    """The currently published version of a form, or None before its first publish."""
    return latest_version(conn, app, form)


def missing_form_message(conn: sa.Connection, app: str, form: str) -> str:
    """Why ``app.form`` cannot be used, naming the forms the app does have."""
    known = (
        conn.execute(sa.select(form_versions.c.form).where(form_versions.c.app == app).distinct())
        .scalars()
        .all()
    )
    if not known:
        return f"app {app!r} has no published forms; install it first"
    close = difflib.get_close_matches(form, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f"; it has {', '.join(sorted(known))}"
    return f"app {app!r} has no form {form!r}{hint}"
