"""Published forms ready for use: definition, tables, compiled runtime, prepared statements.

Built once per form version and kept in memory, so a record write does no reflection,
no DDL check and no definition parsing. Publishing through this process drops the entry;
another process publishing is picked up on restart (or by :meth:`FormCache.clear`).
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.errors import NotFoundError
from engine.runtime.forms import CompiledForm, compile_form
from engine.service.files import FileField, file_fields
from engine.store.database import Database
from engine.store.driver import DriverStatement
from engine.store.engine_tables import form_versions
from engine.store.form_tables import FormTables, build_form_tables
from engine.store.publish import latest_version
from engine.store.record_insert import RecordInserter


@dataclass
class FormRuntime:
    """Everything the write and read paths need for one published form version."""

    app: str
    version_no: int
    definition: FormDefinition
    tables: FormTables
    compiled: CompiledForm
    serial_fields: tuple[FieldDefinition, ...]
    insert: Any
    child_inserts: dict[str, Any] = field(default_factory=dict)
    #: live row by ``record_id`` (bound at execution)
    select_live: Any = None
    #: ``select_live`` as a DriverStatement, for reads on the write path (related records)
    fetch_live: DriverStatement | None = None
    #: per unique rule: (rule, stored columns, check for a new record, check for an update),
    #: the checks as DriverStatements selecting (id, title) of a clashing live record
    unique_checks: tuple[tuple[Any, tuple[str, ...], DriverStatement, DriverStatement], ...] = ()
    #: writes a new record's row and child rows (one round trip on PostgreSQL)
    inserter: RecordInserter | None = None
    #: options-from lookups by value field, built on first use (see reading.option_select)
    option_selects: dict[str, Any] = field(default_factory=dict)
    #: attachment/image fields and columns, whose values the write path checks
    file_fields: tuple[FileField, ...] = ()

    @property
    def key(self) -> str:
        return self.definition.key


def build_runtime(app: str, version_no: int, form: FormDefinition) -> FormRuntime:
    """Compile a form version once: tables, runtime and insert statements."""
    tables = build_form_tables(app, form)
    inserter = RecordInserter(tables)
    select_live = sa.select(tables.table).where(
        tables.table.c.id == sa.bindparam("record_id"), tables.table.c.deleted_at.is_(None)
    )
    return FormRuntime(
        app=app,
        version_no=version_no,
        definition=form,
        tables=tables,
        compiled=compile_form(form),
        serial_fields=tuple(f for f in form.fields if f.type == "serial"),
        insert=tables.table.insert(),
        child_inserts=inserter.child_inserts,
        select_live=select_live,
        # DriverStatement: Core's per-call overhead cost more than SQLite's primary-key
        # read, and on PostgreSQL the first read of a write carries the BEGIN along
        fetch_live=DriverStatement(select_live),
        unique_checks=tuple(_unique_check(tables, rule) for rule in form.unique),
        inserter=inserter,
        file_fields=file_fields(form),
    )


def _unique_check(
    tables: FormTables, rule: Any
) -> tuple[Any, tuple[str, ...], DriverStatement, DriverStatement]:
    table = tables.table
    columns = tuple(c for key in rule.fields for c in tables.fields[key].names)
    new = (
        sa.select(table.c.id, table.c.title)
        .where(
            table.c.deleted_at.is_(None), *(table.c[c] == sa.bindparam(f"u_{c}") for c in columns)
        )
        .limit(1)
    )
    update = new.where(table.c.id != sa.bindparam("record_id"))
    # DriverStatement: ~40 us of Core bookkeeping per check, more than the indexed read
    return rule, columns, DriverStatement(new), DriverStatement(update)


class FormCache:
    """(app, form) -> FormRuntime of the published version, loaded on first use."""

    def __init__(self, database: Database):
        self._database = database
        self._runtimes: dict[tuple[str, str], FormRuntime] = {}
        self._lock = threading.Lock()

    def get(self, app: str, form: str) -> FormRuntime:
        """The runtime of the published form; NotFoundError when it was never published."""
        runtime = self._runtimes.get((app, form))
        if runtime is not None:
            return runtime
        with self._database.read() as conn:
            stored = latest_version(conn, app, form)
            if stored is None:
                raise NotFoundError(self._not_found(conn, app, form))
        runtime = build_runtime(app, stored.version_no, stored.definition)
        with self._lock:
            self._runtimes[(app, form)] = runtime
        return runtime

    def forget(self, app: str, form: str | None = None) -> None:
        """Drop cached runtimes after a publish (one form, or every form of an app)."""
        with self._lock:
            for key in [k for k in self._runtimes if k[0] == app and form in (None, k[1])]:
                del self._runtimes[key]

    def clear(self) -> None:
        with self._lock:
            self._runtimes.clear()

    @staticmethod
    def _not_found(conn: sa.Connection, app: str, form: str) -> str:
        known = (
            conn.execute(
                sa.select(form_versions.c.form).where(form_versions.c.app == app).distinct()
            )
            .scalars()
            .all()
        )
        if not known:
            return f"app {app!r} has no published forms; install it first"
        close = difflib.get_close_matches(form, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; it has {', '.join(sorted(known))}"
        return f"app {app!r} has no form {form!r}{hint}"
