"""SQLAlchemy tables for one published form version: the form table and its child tables.

Built once per form version (cached by the service) from the definition and the field
types' column specs, never by reflection. Index specs are computed here too so that
publishing can diff the indexes of two versions by name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.definitions.naming import form_table_name, subtable_table_name
from engine.fields import registry
from engine.fields.base import ColumnSpec, FieldType
from engine.store.engine_tables import IdType
from engine.store.types import AwareDateTime, column_type
from engine.store.unique_key_tables import key_columns, status_condition

MAX_IDENTIFIER = 63
LIVE_ROWS = "deleted_at IS NULL"


@dataclass(frozen=True)
class FieldColumns:
    """A field, its type and the physical columns that store it."""

    field: FieldDefinition
    type: FieldType
    specs: tuple[ColumnSpec, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(spec.name(self.field.key) for spec in self.specs)

    @cached_property
    def read(self) -> Callable[[Mapping[str, Any]], Any]:
        """The field's value from a stored row, as ``type.from_storage`` gives it.

        Made once per form version: a type that stores its value as is in one column
        reads it straight from the row, skipping the per-row work of finding the column
        (lists of 50 records read 500 values).
        """
        if type(self.type).from_storage is FieldType.from_storage and len(self.specs) == 1:
            name = self.names[0]
            return lambda row: row.get(name)
        field_type, field_def = self.type, self.field
        return lambda row: field_type.from_storage(field_def, row)


@dataclass(frozen=True)
class IndexSpec:
    """An index by name: the table, its columns, whether unique among live rows.

    ``live`` makes it a partial index over the live rows (``deleted_at IS NULL``, the
    condition of every list query): a count over a range of it reads the index alone.
    ``descending`` names the columns kept in descending order (a list sort that mixes
    directions).
    """

    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool = False
    live: bool = False
    descending: frozenset[str] = frozenset()
    #: more of the partial index's condition (a normalized unique rule's statuses)
    where: str | None = None
    #: what a person is told the index is over, when not its columns (a hidden key)
    label: str | None = None

    def build(self, table: sa.Table) -> sa.Index:
        cols = [table.c[c].desc() if c in self.descending else table.c[c] for c in self.columns]
        if not (self.unique or self.live):
            return sa.Index(self.name, *cols)
        live = sa.text(LIVE_ROWS if self.where is None else f"{LIVE_ROWS} AND {self.where}")
        return sa.Index(
            self.name, *cols, unique=self.unique, sqlite_where=live, postgresql_where=live
        )


@dataclass
class FormTables:
    """The tables of one form version and how its fields map onto them."""

    app_key: str
    form: FormDefinition
    table: sa.Table
    fields: dict[str, FieldColumns]
    children: dict[str, sa.Table] = field(default_factory=dict)
    child_fields: dict[str, dict[str, FieldColumns]] = field(default_factory=dict)
    indexes: list[IndexSpec] = field(default_factory=list)

    def all_tables(self) -> Iterator[sa.Table]:
        yield self.table
        yield from self.children.values()

    def table_named(self, name: str) -> sa.Table:
        for table in self.all_tables():
            if table.name == name:
                return table
        raise KeyError(name)


def field_columns(field_def: FieldDefinition) -> FieldColumns:
    """The field type and column specs of one stored field."""
    field_type = registry.get(field_def.type)
    return FieldColumns(field_def, field_type, tuple(field_type.columns(field_def)))


def is_inline(field_def: FieldDefinition) -> bool:
    return registry.get(field_def.type).stored_inline


def index_name(prefix: str, table: str, columns: tuple[str, ...], separator: str = "_") -> str:
    """A deterministic index name that fits PostgreSQL's 63-byte identifiers."""
    name = f"{prefix}_{table}{separator}{separator.join(columns)}"
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_IDENTIFIER - 11]}_{digest}"


def build_form_tables(app_key: str, form: FormDefinition) -> FormTables:
    """Tables (in their own MetaData) for the current definition of a form."""
    metadata = sa.MetaData()
    name = form_table_name(app_key, form.key)
    inline = {f.key: field_columns(f) for f in form.fields if is_inline(f)}
    # AUTOINCREMENT on SQLite: ids of deleted rows are never handed out again
    table = sa.Table(
        name,
        metadata,
        *_system_columns(),
        *_field_columns(inline.values()),
        *key_columns(form),
        sqlite_autoincrement=True,
    )
    tables = FormTables(app_key, form, table, inline)
    tables.indexes += [
        IndexSpec(index_name("ix", name, (c,)), name, (c,)) for c in ("created_at", "status")
    ]
    # A serial column gets a unique index among live rows (below) instead of a plain one.
    serials = [fc for fc in inline.values() if fc.field.type == "serial"]
    tables.indexes += _field_indexes(name, [fc for fc in inline.values() if fc not in serials])
    for sub in form.fields:
        if is_inline(sub):
            continue
        child_name = subtable_table_name(app_key, form.key, sub.key)
        child_fields = {f.key: field_columns(f) for f in sub.fields}
        tables.children[sub.key] = sa.Table(
            child_name,
            metadata,
            sa.Column("id", IdType, primary_key=True, autoincrement=True),
            sa.Column(
                "parent_id",
                IdType,
                sa.ForeignKey(table.c.id, ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("row_index", sa.Integer, nullable=False),
            *_field_columns(child_fields.values()),
            sqlite_autoincrement=True,
        )
        tables.child_fields[sub.key] = child_fields
        tables.indexes.append(
            IndexSpec(index_name("ix", child_name, ("parent_id",)), child_name, ("parent_id",))
        )
        tables.indexes += _field_indexes(child_name, child_fields.values())
    unique_columns = [tuple(fc.names) for fc in serials]
    unique_columns += [
        tuple(c for key in constraint.fields for c in inline[key].names)
        for constraint in form.unique
        if not constraint.keyed
    ]
    for cols in dict.fromkeys(unique_columns):  # `unique: true` on a serial adds nothing
        tables.indexes.append(IndexSpec(index_name("uq", name, cols), name, cols, unique=True))
    for rule in form.unique:  # a normalized rule: its hidden key column (unique_keys.py)
        if rule.keyed:
            cols = (rule.key_column,)
            where = status_condition(rule)
            label = f"the normalized key of {' + '.join(rule.fields)}"
            tables.indexes.append(
                IndexSpec(
                    index_name("uq", name, cols), name, cols, unique=True, where=where, label=label
                )
            )
    tables.indexes += list_indexes(name, form, inline)
    return tables


#: system columns a list sorts and filters by (the stored column has the same name)
SYSTEM_LIST_COLUMNS = frozenset(
    {"id", "version", "status", "title", "created_at", "updated_at", "created_by", "updated_by"}
)


def _list_column(form_fields: Mapping[str, FieldColumns], name: str) -> str | None:
    """The one ordered column a list sorts or filters ``name`` by, or None when it has none.

    JSON (a list: no order) and long text (may not fit a PostgreSQL index entry) are
    left unindexed, like the definition checks say.
    """
    if name in SYSTEM_LIST_COLUMNS:
        return name
    fc = form_fields.get(name)
    if fc is None or len(fc.specs) != 1 or fc.specs[0].kind in ("json", "text"):
        return None
    return fc.names[0]


def list_indexes(
    table_name: str, form: FormDefinition, form_fields: Mapping[str, FieldColumns]
) -> list[IndexSpec]:
    """The indexes a form's list view reads: its sort, its filters, its indexed fields.

    Each is a partial index over the live rows ending with ``id``, the tie-breaker of
    every list's ORDER BY (engine.store.query._order_by), so a page filtered by one
    column, or sorted by the list sort, is a walk of one index range with no sort step
    and its total a count of that range. The sort index keeps the sort's directions
    (the id in the direction of the last key), written from the first key ascending:
    both databases walk an index backwards, so ``-total`` and ``total`` share one.
    """
    specs: list[IndexSpec] = []
    keys = [(key.lstrip("-+"), key.startswith("-")) for key in form.list_sort]
    columns = [(_list_column(form_fields, name), desc) for name, desc in keys]
    if columns and all(column is not None for column, _ in columns):
        last_desc = columns[-1][1]
        ordered: dict[str, bool] = {}
        for column, desc in columns:  # a column sorted twice: its first direction
            if column != "id":
                ordered.setdefault(column, desc)
        if ordered:  # a sort by id alone is served by the primary key
            ordered["id"] = last_desc
            flip = next(iter(ordered.values()))
            specs.append(_live_index(table_name, [(c, d != flip) for c, d in ordered.items()]))
    wanted = [*form.list_filters, *(f.key for f in form.fields if f.index)]
    for name in dict.fromkeys(wanted):
        column = _list_column(form_fields, name)
        if column is not None and column != "id":
            specs.append(_live_index(table_name, [(column, False), ("id", False)]))
    unique: dict[str, IndexSpec] = {}
    for spec in specs:  # `index: true` on the sort field: the same index, made once
        unique.setdefault(spec.name, spec)
    return list(unique.values())


def _live_index(table_name: str, columns: list[tuple[str, bool]]) -> IndexSpec:
    """A partial index over live rows, named ``ix_<table>__<column>__id``.

    The double underscore (which no field key contains) keeps these names apart from the
    single-column ``ix_<table>_<column>`` ones; a descending column reads ``<column>_desc``.
    """
    names = tuple(c for c, _ in columns)
    descending = frozenset(c for c, desc in columns if desc)
    label = tuple(f"{c}_desc" if c in descending else c for c in names)
    return IndexSpec(
        index_name("ix", table_name, label, separator="__"),
        table_name,
        names,
        live=True,
        descending=descending,
    )


def _system_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(30), nullable=False, server_default="active"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("title", sa.String(500)),
        sa.Column("created_at", AwareDateTime, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("updated_at", AwareDateTime, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("deleted_at", AwareDateTime),
    ]


def _field_columns(fields: Any) -> list[sa.Column[Any]]:
    return [
        sa.Column(spec.name(fc.field.key), column_type(spec), nullable=True)
        for fc in fields
        for spec in fc.specs
    ]


def _field_indexes(table_name: str, fields: Any) -> list[IndexSpec]:
    return [
        IndexSpec(
            index_name("ix", table_name, (spec.name(fc.field.key),)),
            table_name,
            (spec.name(fc.field.key),),
        )
        for fc in fields
        for spec in fc.specs
        if spec.indexed
    ]
