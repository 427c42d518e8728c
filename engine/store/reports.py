"""Report queries: a widget's groups and aggregates, or its detail rows, as one SQL query.

A report reads one form's live rows within the actor's scope, like every other read
(:class:`engine.store.records.RecordSource`): the scope's condition is applied to the
form's table in the WHERE clause and to every related form joined for a path in the
join's ON clause (so an out-of-scope supplier reads as blank; it never adds rows and
never shows its values). A path (``supplier.region``, ``lines.product.category``) adds
one LEFT JOIN per relation step and an inner join of the sub-table it passes through
(the widget then counts lines: engine/definitions/dashboards.py).

Time buckets are computed by the database in the app's zone (Asia/Shanghai: no daylight
saving, so SQLite's fixed offset is exact) and come back as text that sorts in time
order: ``2026-03-05`` (day), ``2026-03-02`` (the Monday of a week), ``2026-03``,
``2026-Q1``, ``2026``. Money stays exact: sums run on the stored exact decimals (minor
units on SQLite, NUMERIC on PostgreSQL) and come back as ``Decimal``; an average is the
exact sum over the count, divided in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.definitions.permissions import RowRule
from engine.errors import InvalidArgumentError, NotFoundError
from engine.fields.base import FieldValueError
from engine.org.principal import Principal
from engine.store.form_tables import FieldColumns, FormTables
from engine.store.query_values import field_coercion
from engine.store.row_scopes import rule_condition
from engine.store.types import DEFAULT_TZ, AwareDateTime

if TYPE_CHECKING:
    from engine.store.records import RecordSource

#: system columns a path may end in (on a form's table)
SYSTEM_PATHS = ("id", "status", "title", "created_at", "updated_at", "created_by")
#: the exact-decimal system columns: none; datetime ones
_DATETIME_SYSTEM = ("created_at", "updated_at")
#: how a bucket label reads back as days (first and last day of the bucket)
BUCKETS = ("day", "week", "month", "quarter", "year")


class ReportPathError(NotFoundError):
    """A path the stored form does not have, or that the actor may not see (``hidden``:
    the field exists and the actor's grants hide it; ``field`` names it)."""

    def __init__(self, message: str, *, field: str = "", hidden: bool = False):
        super().__init__(message)
        self.field = field
        self.hidden = hidden


class ReportValueError(InvalidArgumentError):
    """A filter or drill value the field cannot hold (a date that is no date...)."""


@dataclass(frozen=True)
class Column:
    """A value of the rows: a path, optionally bucketed in time."""

    path: str
    bucket: str | None = None


@dataclass(frozen=True)
class Condition:
    """``path op value``: eq, in (a list), between (two inclusive bounds, either blank),
    blank, not_in (a list; blank values kept), bucket (``value`` is a bucket label)."""

    path: str
    op: str
    value: Any = None
    bucket: str | None = None


@dataclass(frozen=True)
class AggregateColumn:
    """One aggregate: COUNT (path None: rows), COUNT_DISTINCT, SUM, AVG, MIN, MAX."""

    function: str
    path: str | None = None


@dataclass(frozen=True)
class ReportQuery:
    """What one widget reads: grouped by ``dimensions`` (none: one row of totals)."""

    dimensions: tuple[Column, ...] = ()
    aggregates: tuple[AggregateColumn, ...] = ()
    #: checked row conditions (the widget's filter) on the source form's own columns
    where: tuple[str, ...] = ()
    conditions: tuple[Condition, ...] = ()
    #: ("dimension" | "aggregate", index, descending); empty: dimension order
    order: tuple[tuple[str, int, bool], ...] = ()
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class GroupRow:
    """One group: its dimension values (a bucket label, an id, a code...), their labels
    where the database has one (a related record's title), and the aggregates."""

    keys: tuple[Any, ...]
    labels: tuple[str | None, ...]
    values: tuple[Any, ...]


@dataclass
class _Target:
    """What a path resolved to."""

    expr: Any
    columns: FieldColumns | None  # None: a system column
    system: str | None = None
    #: the related record's title, when the path ends in a relation
    title: Any = None
    kind: str = "string"  # the column kind: date, datetime, decimal, integer, string...


@dataclass
class _Compiler:
    """Resolves paths of one query, joining each relation step and sub-table once."""

    source: RecordSource
    who: Principal
    joins: dict[str, tuple[Any, Any, bool]] = field(default_factory=dict)  # prefix -> alias
    child: str | None = None

    @property
    def tables(self) -> FormTables:
        return self.source.form.tables

    def resolve(self, path: str, *, title: bool = True) -> _Target:
        """The column ``path`` names, joining what it passes through; a relation at its
        end also joins the related record for its title unless ``title`` is False (a
        condition compares the id: the join would cost a lookup per row for nothing)."""
        steps = path.split(".")
        tables, table = self.tables, self.tables.table
        fields: Mapping[str, FieldColumns] = tables.fields
        in_child = False
        for depth, head in enumerate(steps):
            last = depth == len(steps) - 1
            prefix = ".".join(steps[: depth + 1])
            if head in self.source.scope.hidden_fields(tables) and not in_child:
                raise ReportPathError(
                    f"{tables.form.key}.{head} is hidden from the actor", field=head, hidden=True
                )
            if not in_child and head in SYSTEM_PATHS and last:
                kind = "datetime" if head in _DATETIME_SYSTEM else "string"
                kind = "integer" if head == "id" else kind
                return _Target(table.c[head], None, head, kind=kind)
            if in_child and head == "id" and last:
                return _Target(table.c.id, None, "id", kind="integer")
            fc = fields.get(head)
            if fc is None and not in_child and head in tables.children and not last:
                if self.child not in (None, head):
                    raise ReportPathError(f"a widget reads one sub-table; {path} reads another")
                self.child = head
                alias = tables.children[head]
                if prefix not in self.joins:
                    onclause = alias.c.parent_id == self.tables.table.c.id
                    self.joins[prefix] = (alias, onclause, True)
                table, fields, in_child = alias, tables.child_fields[head], True
                continue
            if fc is None or len(fc.specs) != 1:
                raise self._missing(path, head)
            column = table.c[fc.names[0]]
            if last:
                target = _Target(column, fc, kind=fc.specs[0].kind)
                if title and fc.field.type == "relation" and not fc.field.option("many"):
                    related, alias = self._join(f"{prefix}.", fc, column)
                    target.title = alias.c.title
                return target
            if fc.field.type != "relation" or fc.field.option("many"):
                raise ReportPathError(
                    f"{path}: {head} is not a relation or sub-table, so nothing follows it"
                )
            tables, table = self._join(prefix, fc, column)
            fields, in_child = tables.fields, False
        raise self._missing(path, path)

    def _join(self, prefix: str, fc: FieldColumns, column: Any) -> tuple[FormTables, Any]:
        target = self.source._related(fc.field.option("to")).tables
        found = self.joins.get(prefix)
        if found is None:
            alias = target.table.alias(f"rep_{len(self.joins) + 1}")
            onclause = [alias.c.id == column, alias.c.deleted_at.is_(None)]
            scoped = self.source.scope.condition(target, alias)
            if scoped is not None:
                onclause.append(scoped)
            found = self.joins[prefix] = (alias, sa.and_(*onclause), False)
        return target, found[0]

    def _missing(self, path: str, head: str) -> ReportPathError:
        form = self.source.form
        return ReportPathError(
            f"{form.app}.{form.key} has no field {head!r} (in {path!r})", field=head
        )

    def from_clause(self) -> Any:
        joined: Any = self.tables.table
        for alias, onclause, inner in self.joins.values():
            joined = joined.join(alias, onclause) if inner else joined.outerjoin(alias, onclause)
        return joined

    def base_conditions(self, query: ReportQuery) -> list[Any]:
        table = self.tables.table
        out = [table.c.deleted_at.is_(None)]
        scoped = self.source.scope.condition(self.tables, table)
        if scoped is not None:
            out.append(scoped)
        for text in query.where:
            out.append(rule_condition(RowRule("expr", expr=text), self.tables, table, self.who))
        out.extend(self.condition(c) for c in query.conditions)
        return out

    def condition(self, cond: Condition) -> Any:
        head = cond.path.split(".")[0]
        if head in self.tables.children and head not in self.tables.fields and self.child != head:
            return self._any_line(head, cond)
        target = self.resolve(cond.path, title=False)
        column = target.expr
        if cond.op == "bucket":
            first, last = bucket_days(cond.bucket or "day", str(cond.value))
            return sa.and_(*self._days(target, first, last))
        if cond.op == "blank":
            return column.is_(None)
        if cond.op == "between":
            low, high = cond.value
            if target.kind in ("date", "datetime"):
                return sa.and_(*self._days(target, low, high))
            parts = []
            if low is not None:
                parts.append(column >= self._stored(target, low))
            if high is not None:
                parts.append(column <= self._stored(target, high))
            return sa.and_(sa.true(), *parts)
        if cond.op in ("in", "not_in"):
            values = list(cond.value)
            known = [self._stored(target, v) for v in values if v is not None]
            blank = any(v is None for v in values)
            inside = sa.or_(
                column.in_(known) if known else sa.false(),
                column.is_(None) if blank else sa.false(),
            )
            if cond.op == "in":
                return inside
            # not_in: the rows outside the listed values, blank rows included unless listed
            return sa.or_(
                sa.and_(column.is_not(None), column.not_in(known) if known else sa.true()),
                sa.false() if blank else column.is_(None),
            )
        if cond.op == "eq":
            if cond.value is None:
                return column.is_(None)
            return column == self._stored(target, cond.value)
        raise ValueError(f"unknown condition operator {cond.op!r}")

    def _any_line(self, head: str, cond: Condition) -> Any:
        """A condition on a sub-table's column where the query reads whole records: the
        records with at least one such line (``id IN (SELECT parent_id ...)``), so a
        record is counted once however many of its lines match."""
        lines = _Compiler(self.source, self.who)
        inner = lines.condition_here(cond)
        child = self.tables.children[head]
        joined: Any = child
        for prefix, (alias, onclause, _inner) in lines.joins.items():
            if prefix != head:
                joined = joined.outerjoin(alias, onclause)
        parents = sa.select(child.c.parent_id).select_from(joined).where(inner)
        return self.tables.table.c.id.in_(parents)

    def condition_here(self, cond: Condition) -> Any:
        """The condition on this query's own joins (a sub-table's, when it reads lines)."""
        head = cond.path.split(".")[0]
        self.child = head if head in self.tables.children else self.child
        return self.condition(cond)

    def _days(self, target: _Target, first: date | None, last: date | None) -> list[Any]:
        column = target.expr
        parts: list[Any] = [sa.true()]
        if target.kind == "datetime":
            # the rows from 00:00 of the first day to before 00:00 after the last, in zone
            if first is not None:
                start = datetime.combine(first, time(0), DEFAULT_TZ)
                parts.append(column >= sa.literal(start, AwareDateTime()))
            if last is not None:
                after = datetime.combine(last + timedelta(days=1), time(0), DEFAULT_TZ)
                parts.append(column < sa.literal(after, AwareDateTime()))
            return parts
        if first is not None:
            parts.append(column >= first)
        if last is not None:
            parts.append(column <= last)
        return parts

    def _stored(self, target: _Target, value: Any) -> Any:
        """A condition's value as the column compares it (bound through its type)."""
        if target.columns is None:
            wanted = int if target.system == "id" else str
            if target.kind == "datetime" or (
                isinstance(value, wanted) and not isinstance(value, bool)
            ):
                return value
            raise ReportValueError(
                f"{target.system}: {value!r} is not {'a record id' if wanted is int else 'text'}",
                argument=target.system or "",
            )
        try:
            stored = field_coercion(target.columns)(value)
        except FieldValueError as exc:
            raise ReportValueError(
                f"{target.columns.field.key}: {exc}", argument=target.columns.field.key
            ) from None
        return sa.bindparam(None, stored, type_=target.expr.type)

    def bucketed(self, target: _Target, bucket: str) -> Any:
        if target.kind not in ("date", "datetime"):
            raise ReportPathError(f"a {bucket} bucket needs a date field")
        return bucket_expression(self.source.conn.dialect.name, target.expr, target.kind, bucket)


def bucket_expression(dialect: str, column: Any, kind: str, bucket: str) -> Any:
    """SQL giving a date or datetime column's bucket label, in the app's zone."""
    if dialect == "postgresql":
        value = column
        if kind == "datetime":
            value = sa.func.timezone(str(DEFAULT_TZ), column)
        if bucket == "week":
            return sa.func.to_char(sa.func.date_trunc("week", value), "YYYY-MM-DD")
        pattern = {"day": "YYYY-MM-DD", "month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}
        return sa.func.to_char(value, pattern[bucket])
    # SQLite: dates are 'YYYY-MM-DD' text, datetimes naive UTC text
    day: Any = column
    if kind == "datetime":
        offset = DEFAULT_TZ.utcoffset(datetime(2026, 1, 1)) or timedelta(0)
        hours = int(offset.total_seconds() // 3600)
        day = sa.func.date(column, f"{hours:+d} hours")
    if bucket == "day":
        return day if kind == "datetime" else sa.func.substr(day, 1, 10)
    if bucket == "month":
        return sa.func.substr(day, 1, 7)
    if bucket == "year":
        return sa.func.substr(day, 1, 4)
    if bucket == "quarter":
        month = sa.cast(sa.func.substr(day, 6, 2), sa.Integer)
        return sa.func.substr(day, 1, 4) + "-Q" + sa.cast((month + 2) // 3, sa.String)
    weekday = sa.cast(sa.func.strftime("%w", day), sa.Integer)  # 0 = Sunday
    back = sa.cast((weekday + 6) % 7, sa.String)
    return sa.func.date(day, "-" + back + " days")


def bucket_days(bucket: str, label: str) -> tuple[date, date]:
    """The first and last day of a bucket label (``2026-Q1`` -> Jan 1, Mar 31)."""
    if bucket == "year":
        year = int(label)
        return date(year, 1, 1), date(year, 12, 31)
    if bucket == "quarter":
        year_text, _, quarter = label.partition("-Q")
        year, q = int(year_text), int(quarter)
        first = date(year, 3 * q - 2, 1)
        return first, _month_end(year, 3 * q)
    if bucket == "month":
        year, month = (int(p) for p in label.split("-"))
        return date(year, month, 1), _month_end(year, month)
    day = date.fromisoformat(label)
    if bucket == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    return day, day


def _month_end(year: int, month: int) -> date:
    following = date(year + (month == 12), month % 12 + 1, 1)
    return following - timedelta(days=1)


def grouped(source: RecordSource, query: ReportQuery, who: Principal) -> list[GroupRow]:
    """The groups of ``source``'s live rows in scope meeting the query's conditions, with
    their aggregates: one GROUP BY query (no dimensions: one row of totals)."""
    compiler = _Compiler(source, who)
    dims: list[Any] = []
    titles: list[Any] = []
    targets: list[_Target] = []
    for column in query.dimensions:
        target = compiler.resolve(column.path)
        targets.append(target)
        expr = compiler.bucketed(target, column.bucket) if column.bucket else target.expr
        dims.append(expr)
        titles.append(None if column.bucket else target.title)
    selected: list[Any] = [d.label(f"d{i}") for i, d in enumerate(dims)]
    selected += [t.label(f"t{i}") for i, t in enumerate(titles) if t is not None]
    readers: list[Any] = []
    for i, aggregate in enumerate(query.aggregates):
        exprs, reader = _aggregate(compiler, aggregate, i)
        selected.extend(exprs)
        readers.append(reader)
    conditions = compiler.base_conditions(query)
    stmt = sa.select(*selected).select_from(compiler.from_clause()).where(*conditions)
    group_by = [*dims, *(t for t in titles if t is not None)]
    if group_by:
        stmt = stmt.group_by(*group_by)
    order = []
    for what, index, descending in query.order or tuple(
        ("dimension", i, False) for i in range(len(dims))
    ):
        expr = dims[index] if what == "dimension" else _sort_expr(compiler, query, index)
        order.append(sa.nulls_last(expr.desc()) if descending else sa.nulls_last(expr.asc()))
    if order:
        stmt = stmt.order_by(*order)
    if query.limit is not None:
        stmt = stmt.limit(query.limit)
    if query.offset:
        stmt = stmt.offset(query.offset)
    out: list[GroupRow] = []
    for row in source.conn.execute(stmt).mappings():
        keys = tuple(
            _key(target, column, row[f"d{i}"])
            for i, (column, target) in enumerate(zip(query.dimensions, targets, strict=True))
        )
        labels = tuple(
            (None if row[f"t{i}"] is None else str(row[f"t{i}"])) if t is not None else None
            for i, t in enumerate(titles)
        )
        values = tuple(reader(row) for reader in readers)
        out.append(GroupRow(keys, labels, values))
    return out


def _sort_expr(compiler: _Compiler, query: ReportQuery, index: int) -> Any:
    aggregate = query.aggregates[index]
    if aggregate.function == "AVG" and aggregate.path is not None:
        # the order only: the value itself is the exact sum over the count
        return sa.func.avg(compiler.resolve(aggregate.path).expr)
    exprs, _reader = _aggregate(compiler, aggregate, index)
    return exprs[0].element


def _key(target: _Target, column: Column, stored: Any) -> Any:
    """A group's dimension value as the field type reads it (a bucket: its label)."""
    if column.bucket or stored is None:
        return None if stored is None else str(stored)
    if target.columns is None:
        return stored
    fc = target.columns
    return fc.read({fc.names[0]: stored})


def _aggregate(
    compiler: _Compiler, aggregate: AggregateColumn, index: int
) -> tuple[list[Any], Any]:
    label = f"a{index}"
    if aggregate.path is None:
        expr = sa.func.count()
        return [expr.label(label)], lambda row: Decimal(int(row[label] or 0))
    target = compiler.resolve(aggregate.path)
    column = target.expr
    function = aggregate.function
    if function == "COUNT":
        return [sa.func.count(column).label(label)], lambda row: Decimal(int(row[label] or 0))
    if function == "COUNT_DISTINCT":
        expr = sa.func.count(sa.distinct(column))
        return [expr.label(label)], lambda row: Decimal(int(row[label] or 0))
    if function == "AVG":
        total = sa.func.sum(column, type_=column.type).label(label)
        count = sa.func.count(column).label(f"{label}n")

        def average(row: Mapping[str, Any]) -> Any:
            n = int(row[f"{label}n"] or 0)
            return None if n == 0 or row[label] is None else _decimal(row[label]) / n

        return [total, count], average
    sql = {"SUM": sa.func.sum, "MIN": sa.func.min, "MAX": sa.func.max}[function]
    if target.kind == "datetime" and function in ("MIN", "MAX"):
        expr = sql(column, type_=AwareDateTime()).label(label)
        return [expr], lambda row: row[label]
    expr = sql(column, type_=column.type).label(label)
    numeric = target.kind in ("decimal", "integer")
    return [expr], (lambda row: _decimal(row[label])) if numeric else (lambda row: row[label])


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def detail(
    source: RecordSource,
    paths: Sequence[str],
    query: ReportQuery,
    who: Principal,
    *,
    count: bool = True,
) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the matching rows (id, title and each path's value) and their number."""
    compiler = _Compiler(source, who)
    table = compiler.tables.table
    targets = [compiler.resolve(p) for p in paths]
    selected: list[Any] = [table.c.id.label("id"), table.c.title.label("title")]
    for i, target in enumerate(targets):
        selected.append(target.expr.label(f"c{i}"))
        if target.title is not None:
            selected.append(target.title.label(f"t{i}"))
    if compiler.child is not None:
        raise ReportPathError("a detail table lists records: it cannot read a sub-table column")
    conditions = compiler.base_conditions(query)
    base = sa.select(*selected).select_from(compiler.from_clause()).where(*conditions)
    order = []
    for _what, index, descending in query.order:
        # a required field (or a system column) has no blanks: plain ASC/DESC, which an
        # index walks (NULLS LAST on a descending PostgreSQL sort, or an ascending
        # SQLite one, would sort every row); an optional one puts blanks last on both
        # databases
        target = targets[index]
        plain = target.expr.desc() if descending else target.expr.asc()
        optional = target.columns is not None and not target.columns.field.required
        order.append(sa.nulls_last(plain) if optional else plain)
    order.append(table.c.id.desc())
    stmt = base.order_by(*order).limit(query.limit or 20).offset(query.offset)
    rows = []
    for row in source.conn.execute(stmt).mappings():
        values: dict[str, Any] = {"id": row["id"], "title": row["title"]}
        for i, (path, target) in enumerate(zip(paths, targets, strict=True)):
            stored = row[f"c{i}"]
            fc = target.columns
            values[path] = (
                stored if fc is None or stored is None else fc.read({fc.names[0]: stored})
            )
            if target.title is not None:
                values[f"{path}@title"] = row[f"t{i}"]
        rows.append(values)
    total = None
    if count:
        # counted with the joins the conditions need only (not the shown titles')
        counting = _Compiler(source, who)
        where = counting.base_conditions(query)
        counted = sa.select(sa.func.count()).select_from(counting.from_clause()).where(*where)
        total = int(source.conn.execute(counted).scalar() or 0)
    return rows, total


def data_marker(conn: sa.Connection, forms: Sequence[tuple[str, str]]) -> tuple[Any, ...]:
    """The newest revision id of each ``(app, form)``: it moves with every write the
    engine makes to the form's records (create, update, delete, status), in any process,
    so a cached report over these forms is stale exactly when it moves."""
    from engine.store.engine_tables import record_revisions

    out = []
    for app, form in forms:
        stmt = sa.select(sa.func.max(record_revisions.c.id)).where(
            record_revisions.c.app == app, record_revisions.c.form == form
        )
        out.append(conn.execute(stmt).scalar())
    return tuple(out)


__all__ = [
    "AggregateColumn",
    "Column",
    "Condition",
    "GroupRow",
    "ReportPathError",
    "ReportQuery",
    "ReportValueError",
    "bucket_days",
    "data_marker",
    "detail",
    "grouped",
]
