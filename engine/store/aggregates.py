"""Grouped aggregates of a form's rows, in one SQL query (GROUP BY), within a scope.

Used by the record source (:meth:`engine.store.records.RecordSource.grouped`) for
declared batch jobs: the rows of a date range, optionally narrowed by a condition the
database applies (a checked expression, translated as permission row rules are), are
grouped by fields and summed, counted, averaged... Only live rows the scope admits are
read. Money stays exact: sums run on the stored exact decimals (minor units on SQLite,
NUMERIC on PostgreSQL) and come back as ``Decimal``; an average is the exact sum divided
by the count, in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.errors import NotFoundError
from engine.store.types import DEFAULT_TZ

if TYPE_CHECKING:
    from engine.store.records import RecordSource

#: system columns a range may be taken on (datetimes)
DATE_SYSTEM_COLUMNS = ("created_at", "updated_at")


@dataclass(frozen=True)
class AggregateColumn:
    """One aggregate asked for: its name, function (SUM, COUNT, MIN, MAX, AVG), field."""

    name: str
    function: str
    field: str | None = None


@dataclass(frozen=True)
class Group:
    """One group: the group fields' values and the aggregates' values."""

    key: dict[str, Any]
    values: dict[str, Any]
    rows: int


@dataclass(frozen=True)
class GroupedRows:
    """The groups of a grouped read, in group value order, and the rows they hold."""

    groups: list[Group]
    rows_read: int


def grouped_rows(
    source: RecordSource,
    *,
    group_by: Sequence[str],
    aggregates: Sequence[AggregateColumn],
    date_field: str,
    first_day: date,
    last_day: date,
    condition: Any | None = None,
) -> GroupedRows:
    """The groups of ``source``'s live rows in scope whose ``date_field`` falls in
    ``first_day..last_day`` (a datetime: in Asia/Shanghai days) and that meet
    ``condition`` (a SQL condition on the form's table, or None)."""
    tables = source.form.tables
    table = tables.table
    hidden = source.scope.hidden_fields(tables)
    wanted = [*group_by, *(a.field for a in aggregates if a.field), date_field]
    for key in wanted:
        if key in hidden:
            raise NotFoundError(f"{source.form.app}.{source.form.key} has no field {key!r}")
    group_columns = [_column(source, key) for key in group_by]
    selected: list[Any] = list(group_columns)
    selected.append(sa.func.count().label("__rows"))
    for i, aggregate in enumerate(aggregates):
        selected.extend(_aggregate(source, aggregate, i))
    conditions = [table.c.deleted_at.is_(None), *_in_range(source, date_field, first_day, last_day)]
    if condition is not None:
        conditions.append(condition)
    scoped = source.scope.condition(tables, table)
    if scoped is not None:
        conditions.append(scoped)
    stmt = sa.select(*selected).where(*conditions)
    if group_columns:
        stmt = stmt.group_by(*group_columns).order_by(*group_columns)
    groups: list[Group] = []
    rows_read = 0
    for row in source.conn.execute(stmt).mappings():
        count = int(row["__rows"])
        if count == 0:  # no group by and no rows: the one row of an empty aggregate
            continue
        rows_read += count
        key = {
            k: _read(source, k, row[c.name]) for k, c in zip(group_by, group_columns, strict=True)
        }
        values = {a.name: _value(a, row, i) for i, a in enumerate(aggregates)}
        groups.append(Group(key, values, count))
    return GroupedRows(groups, rows_read)


def _column(source: RecordSource, key: str) -> Any:
    table = source.form.tables.table
    if key in DATE_SYSTEM_COLUMNS:
        return table.c[key]
    fc = source.form.tables.fields.get(key)
    if fc is None or len(fc.names) != 1:
        raise NotFoundError(
            f"{source.form.app}.{source.form.key} has no single-column field {key!r}"
        )
    return table.c[fc.names[0]]


def _read(source: RecordSource, key: str, stored: Any) -> Any:
    """A group value as the field type reads it (a relation id, a date, a Decimal)."""
    fc = source.form.tables.fields[key]
    return fc.read({fc.names[0]: stored})


def _aggregate(source: RecordSource, aggregate: AggregateColumn, index: int) -> list[Any]:
    label = f"__a{index}"
    if aggregate.field is None:
        return [sa.func.count().label(label)]
    column = _column(source, aggregate.field)
    if aggregate.function == "COUNT":
        return [sa.func.count(column).label(label)]
    if aggregate.function == "AVG":
        # exact: the sum (in the column's own exact type) over the count of values
        return [
            sa.func.sum(column, type_=column.type).label(label),
            sa.func.count(column).label(f"{label}n"),
        ]
    function = {"SUM": sa.func.sum, "MIN": sa.func.min, "MAX": sa.func.max}[aggregate.function]
    # the column's type reads the result back (ExactDecimal: minor units -> Decimal)
    return [function(column, type_=column.type).label(label)]


def _value(aggregate: AggregateColumn, row: Mapping[str, Any], index: int) -> Any:
    value = row[f"__a{index}"]
    if aggregate.function == "COUNT":
        return Decimal(int(value or 0))
    if aggregate.function == "AVG":
        count = int(row[f"__a{index}n"] or 0)
        return None if value is None or count == 0 else Decimal(value) / count
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _in_range(source: RecordSource, key: str, first_day: date, last_day: date) -> list[Any]:
    column = _column(source, key)
    is_datetime = key in DATE_SYSTEM_COLUMNS or source.form.tables.fields[key].specs[0].kind == (
        "datetime"
    )
    if not is_datetime:
        return [column >= first_day, column <= last_day]
    start = datetime.combine(first_day, time(0), DEFAULT_TZ)
    after = datetime.combine(last_day + timedelta(days=1), time(0), DEFAULT_TZ)
    return [column >= start, column < after]
