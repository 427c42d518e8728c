"""The dry run of a form change: what publishing a new version would do to the tables.

``plan_form_change`` compares the new definition with the published one and the
recorded column state (``form_columns``), then converts every existing value of a field
whose type changed through the new type's ``coerce`` (and, for a relation, checks that
each id names a live record of the target form). Rows that would not convert are
listed (record id, value, reason) before anything changes; the same plan, computed again
inside the publishing transaction, is what :mod:`engine.store.publish` applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FormDefinition
from engine.definitions.naming import form_table_name
from engine.fields.base import ColumnSpec, FieldValueError
from engine.store.definition_data import stored_form
from engine.store.engine_tables import form_columns, form_versions
from engine.store.form_tables import FieldColumns, FormTables, build_form_tables

#: how many problem rows a MigrationError message spells out before summarising
SHOWN_PROBLEMS = 20

#: how many record ids one existence query of a relation check binds
ID_BATCH = 500

#: the largest id a BIGINT id column can hold; a larger "id" names no record
MAX_RECORD_ID = 2**63 - 1

#: type-specific options that change how a value is shown, never what it means: a field
#: added back with only these changed gets its hidden values back without a check
DISPLAY_OPTIONS = frozenset({"display", "unit", "shown_places", "pattern_message", "fill_from"})


@dataclass(frozen=True)
class ConversionProblem:
    """An existing value that the new field type does not accept."""

    record_id: int
    field: str
    value: Any
    #: in English, like the rest of a migration report
    reason: str
    row: int | None = None
    #: the reason per locale (``zh-CN``, ``en``), for a report in the reader's language
    reasons: Mapping[str, str] = field(default_factory=dict, compare=False)

    def reason_in(self, locale: str) -> str:
        """The reason in ``locale`` (English when there is no such text)."""
        return self.reasons.get(locale, self.reason)

    def __str__(self) -> str:
        where = self.field if self.row is None else f"{self.field} (row {self.row + 1})"
        return f"record {self.record_id} {where} = {self.value!r}: {self.reason}"


@dataclass(frozen=True)
class FieldChange:
    """A field whose type or storage changes; ``columns_changed`` means a new column."""

    table: str
    field: str
    old_type: str
    new_type: str
    columns_changed: bool
    rows_checked: int


@dataclass
class MigrationPlan:
    """What publishing ``form`` would do; ``ok`` is False when some values would not convert."""

    app: str
    form: str
    from_version: int | None
    to_version: int
    content_hash: str
    new_tables: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    changed: list[FieldChange] = field(default_factory=list)
    problems: list[ConversionProblem] = field(default_factory=list)
    #: indexes the publish creates and drops (names; see form_tables.list_indexes)
    indexes_added: list[str] = field(default_factory=list)
    indexes_dropped: list[str] = field(default_factory=list)
    # (table, field path) -> [(row id, new storage columns)], applied by publish
    conversions: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = field(
        default_factory=dict, repr=False
    )

    @property
    def ok(self) -> bool:
        return not self.problems

    def describe_problems(self) -> str:
        """A message for a person: which rows block the change and how to proceed."""
        shown = "\n".join(f"  - {p}" for p in self.problems[:SHOWN_PROBLEMS])
        more = len(self.problems) - SHOWN_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        return (
            f"form {self.app}.{self.form}: {len(self.problems)} existing value(s) would not "
            f"convert to the new field type:\n{shown}{tail}\n"
            "Fix those records first, or publish with allow_blank=True to blank them "
            "(the old values stay in the retired column)."
        )


@dataclass(frozen=True)
class ColumnState:
    """One row of ``form_columns``."""

    table: str
    column: str
    field_key: str
    spec: Mapping[str, Any]
    state: str


def spec_data(spec: ColumnSpec) -> dict[str, Any]:
    """The part of a column spec that decides the physical column type."""
    return {
        "kind": spec.kind,
        "length": spec.length,
        "precision": spec.precision,
        "scale": spec.scale,
    }


def load_column_states(
    conn: sa.Connection, app: str, form: str
) -> dict[tuple[str, str], ColumnState]:
    """The recorded physical columns of a form's tables, keyed by (table, column)."""
    rows = conn.execute(
        sa.select(form_columns).where(form_columns.c.app == app, form_columns.c.form == form)
    ).mappings()
    return {
        (r["table_name"], r["column"]): ColumnState(
            r["table_name"], r["column"], r["field_key"], r["spec"], r["state"]
        )
        for r in rows
    }


def field_layout(tables: FormTables) -> dict[str, tuple[str, FieldColumns]]:
    """Field path (``qty`` or ``lines.qty``) -> (table name, its columns) for a version."""
    layout = {key: (tables.table.name, fc) for key, fc in tables.fields.items()}
    for sub, fields in tables.child_fields.items():
        child = tables.children[sub].name
        layout.update({f"{sub}.{key}": (child, fc) for key, fc in fields.items()})
    return layout


def plan_form_change(
    conn: sa.Connection,
    app: str,
    form: FormDefinition,
    previous: FormDefinition | None,
    from_version: int | None,
) -> MigrationPlan:
    """Dry run: diff ``form`` against ``previous`` and test-convert changed fields' values."""
    new_tables = build_form_tables(app, form)
    plan = MigrationPlan(app, form.key, from_version, (from_version or 0) + 1, form.content_hash)
    states = load_column_states(conn, app, form.key)
    known_tables = {table for table, _ in states}
    plan.new_tables = [t.name for t in new_tables.all_tables() if t.name not in known_tables]
    old_tables = build_form_tables(app, previous) if previous else None
    old_layout = field_layout(old_tables) if old_tables else {}
    new_layout = field_layout(new_tables)
    last_layouts = _LastLayouts(conn, app, form.key)
    for path, (table, fc) in new_layout.items():
        recorded = [states.get((table, name)) for name in fc.names]
        if all(s is None for s in recorded):
            plan.added.append(path)
            continue
        same_spec = all(
            s is not None and dict(s.spec) == spec_data(spec)
            for s, spec in zip(recorded, fc.specs, strict=True)
        )
        old = old_layout.get(path)
        if old is None or any(s is not None and s.state != "active" for s in recorded):
            # a removed field comes back: with its data when the storage and the value
            # meaning are the same; a same-storage column last written by another type
            # (or other value options) is checked like a type change and retired; a
            # different storage retires the hidden column and adds a fresh one
            if not same_spec:
                plan.added.append(path)
                continue
            last = (
                (old_tables.table_named(old[0]), old[1])
                if old is not None and old_tables is not None
                else last_layouts.get(path)
            )
            if last is None or _same_values(last[1], fc):
                plan.restored.append(path)
                continue
            _check_conversion(conn, plan, path, last[0], last[1], fc, True)
            continue
        _, old_fc = old
        if same_spec and old_fc.field.type == fc.field.type:
            continue
        old_table = old_tables.table_named(table) if old_tables else None
        _check_conversion(conn, plan, path, old_table, old_fc, fc, not same_spec)
    plan.hidden = [
        path
        for path, (table, fc) in old_layout.items()
        if path not in new_layout
        and any(states.get((table, n)) and states[(table, n)].state == "active" for n in fc.names)
    ]
    existing = index_names(
        conn, [t.name for t in new_tables.all_tables() if t.name not in plan.new_tables]
    )
    wanted = {i.name for i in new_tables.indexes}
    plan.indexes_added = sorted(wanted - existing)
    plan.indexes_dropped = sorted(
        name for name in existing if name.startswith(MANAGED_INDEX_PREFIXES) and name not in wanted
    )
    return plan


#: name prefixes of the indexes the engine makes (form_tables.index_name); others are
#: left alone
MANAGED_INDEX_PREFIXES = ("ix_", "uq_")


def index_names(conn: sa.Connection, table_names: list[str]) -> set[str]:
    """Names of the indexes that exist on these tables (missing tables have none)."""
    inspector = sa.inspect(conn)
    names: set[str] = set()
    for table_name in table_names:
        if inspector.has_table(table_name):
            names |= {i["name"] for i in inspector.get_indexes(table_name) if i.get("name")}
    return names


def _same_values(old: FieldColumns, new: FieldColumns) -> bool:
    """Whether stored values of ``old`` mean the same under ``new`` (type and value options)."""

    def meaning(fc: FieldColumns) -> tuple[str, dict[str, Any]]:
        options = {k: v for k, v in fc.field.options.items() if k not in DISPLAY_OPTIONS}
        return fc.field.type, options

    return meaning(old) == meaning(new)


class _LastLayouts:
    """Field path -> (table, columns) in the last published version that had the field.

    A hidden column holds the values of that version's field (a storage change renames
    the column away), so it says how to read them. Versions are read lazily, newest first.
    """

    def __init__(self, conn: sa.Connection, app: str, form: str):
        self._conn, self._app, self._form = conn, app, form
        self._rows: Any = None
        self._found: dict[str, tuple[Any, FieldColumns]] = {}

    def get(self, path: str) -> tuple[Any, FieldColumns] | None:
        if path in self._found:
            return self._found[path]
        if self._rows is None:
            self._rows = iter(
                self._conn.execute(
                    sa.select(
                        form_versions.c.definition,
                        form_versions.c.format_version,
                        form_versions.c.version_no,
                    )
                    .where(form_versions.c.app == self._app, form_versions.c.form == self._form)
                    .order_by(form_versions.c.version_no.desc())
                ).all()
            )
        for definition, format_version, version_no in self._rows:
            where = f"{self._app}.{self._form} version {version_no}"
            tables = build_form_tables(
                self._app, stored_form(definition, format_version, where=where)
            )
            for key, (table, fc) in field_layout(tables).items():
                self._found.setdefault(key, (tables.table_named(table), fc))
            if path in self._found:
                return self._found[path]
        return None


def _check_conversion(
    conn: sa.Connection,
    plan: MigrationPlan,
    path: str,
    table: Any,
    old_fc: FieldColumns,
    new_fc: FieldColumns,
    columns_changed: bool,
) -> None:
    # the old table object reads the old columns with their old types
    is_child = "." in path
    extra = [table.c.parent_id, table.c.row_index] if is_child else []
    stmt = sa.select(table.c.id, *extra, *(table.c[c] for c in old_fc.names))
    checked: list[tuple[Any, Any, Any]] = []  # (row, raw value or None if blank, new value)
    count = 0
    for row in conn.execute(stmt.order_by(table.c.id)).mappings():
        count += 1
        value = old_fc.type.from_storage(old_fc.field, row)
        if old_fc.type.is_blank(value):
            checked.append((row, None, None))
            continue
        raw = old_fc.type.to_json(old_fc.field, value)
        try:
            new_value = new_fc.type.coerce(new_fc.field, raw, "json")
        except FieldValueError as exc:
            # English, like the report around it (exc.message holds both languages)
            reasons = dict(exc.translations)
            _add_problem(plan, path, row, raw, reasons.get("en", exc.message), reasons)
            new_value = None
        checked.append((row, raw, new_value))
    # a relation must name live records of its target form; values already kept as
    # links to that same form (single <-> many) were checked when they were written
    retargeted = old_fc.field.type != "relation" or old_fc.field.option("to") != (
        new_fc.field.option("to")
    )
    if new_fc.field.type == "relation" and retargeted:
        checked = _check_relation_targets(conn, plan, path, new_fc, checked)
    plan.conversions[(table.name, path)] = [
        (row["id"], new_fc.type.to_storage(new_fc.field, new_value))
        for row, _raw, new_value in checked
    ]
    plan.changed.append(
        FieldChange(table.name, path, old_fc.field.type, new_fc.field.type, columns_changed, count)
    )


def _add_problem(
    plan: MigrationPlan,
    path: str,
    row: Any,
    raw: Any,
    reason: str,
    reasons: Mapping[str, str] | None = None,
) -> None:
    is_child = "." in path
    record_id = row["parent_id"] if is_child else row["id"]
    index = row["row_index"] if is_child else None
    plan.problems.append(ConversionProblem(record_id, path, raw, reason, index, reasons or {}))


def _check_relation_targets(
    conn: sa.Connection,
    plan: MigrationPlan,
    path: str,
    new_fc: FieldColumns,
    checked: list[tuple[Any, Any, Any]],
) -> list[tuple[Any, Any, Any]]:
    """Blank (and report) converted relation values naming no live record of the target."""
    target = new_fc.field.option("to")

    def ids_of(value: Any) -> list[int]:
        if value is None:
            return []
        return list(value) if isinstance(value, list) else [value]

    wanted = sorted({i for _, _, value in checked for i in ids_of(value)})
    live = _live_record_ids(conn, plan.app, target, wanted)
    result: list[tuple[Any, Any, Any]] = []
    for row, raw, value in checked:
        missing = [i for i in ids_of(value) if i not in live]
        if missing:
            shown = ", ".join(f"#{i}" for i in missing)
            _add_problem(plan, path, row, raw, f"no {target} record {shown}")
            value = None
        result.append((row, raw, value))
    return result


def _live_record_ids(conn: sa.Connection, app: str, form: str, ids: list[int]) -> set[int]:
    """Those of ``ids`` that are live (not deleted) records of ``app``.``form``.

    A form never published has no records; ids are looked up in batches of bound
    parameters.
    """
    if not ids:
        return set()
    published = conn.execute(
        sa.select(form_versions.c.version_no)
        .where(form_versions.c.app == app, form_versions.c.form == form)
        .limit(1)
    ).first()
    if published is None:
        return set()
    records = sa.table(
        form_table_name(app, form), sa.column("id", sa.BigInteger), sa.column("deleted_at")
    )
    candidates = [i for i in ids if 0 < i <= MAX_RECORD_ID]
    live: set[int] = set()
    for start in range(0, len(candidates), ID_BATCH):
        batch = candidates[start : start + ID_BATCH]
        rows = conn.execute(
            sa.select(records.c.id).where(records.c.id.in_(batch), records.c.deleted_at.is_(None))
        )
        live.update(int(i) for (i,) in rows)
    return live
