"""Best-match lookups in SQL: the one best row, and the rows that would tie.

:func:`best_match` answers MATCH with ONE query over the target form's live rows within
the actor's scope (through :class:`~engine.store.records.RecordSource`): equality where a
blank target value matches anything, range bounds where a blank bound is open, validity
dates with the END INCLUSIVE, the lookup's ``where``, ordered by the specificity
(``rank``) and ``LIMIT 1``. The ``id`` is the last ORDER BY key so the answer is
deterministic even for rows that tie (which writes refuse, see :func:`tie_rows`).

Which indexes make it fast: the equality fields that every row names (``required:
true``) are compared with a plain ``=`` so an ``index: true`` on the most selective of
them (a SKU) is one index range walk; a field that may be blank is compared with
``(col = ? OR col IS NULL)``, which both databases answer with two index probes.

A match field declared over an organisation tree (``{value, tree: region}``) also
matches the ANCESTORS of the record's value: ``col = ? OR col IN (SELECT ancestor FROM
<tree>_paths WHERE descendant = ?)`` over the organisation's closure table, and ranks the
nearest node first (the closure row's depth, 0 for the node itself). Plain match fields
compile to exactly the SQL they did before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from engine.fields.base import FieldValueError
from engine.store.forms import StoredForm
from engine.store.org_tables import org_dealer_paths, org_department_paths, org_region_paths

#: field types stored as the text itself, and as a number, compared without coercion
_TEXT_TYPES = frozenset({"text", "select", "radio", "textarea", "email", "phone", "uscc"})
_NUMBER_TYPES = frozenset({"money", "percent"})  # number: an integer column when precision 0
_LE = {"at_most": "<=", "below": "<", "at_least": ">=", "above": ">"}
#: a match field's tree (engine.definitions.lookups.MATCH_TREES) -> its closure table
_TREE_PATHS = {
    "region": org_region_paths,
    "department": org_department_paths,
    "dealer": org_dealer_paths,
}
#: no actor functions in a lookup's where: they read as blank
_NOBODY = SimpleNamespace(login=None, department=None, dealer=None, region=None)


class _Unmatchable(Exception):
    """A value that no stored row can equal (text where the field is a number)."""


def _column(target: StoredForm, key: str) -> tuple[Any, Any]:
    """(column, FieldColumns or None) of a field or a system column of the target."""
    table = target.tables.table
    fc = target.tables.fields.get(key)
    if fc is None:
        return table.c[key], None
    return table.c[fc.names[0]], fc


def _stored(fc: Any, value: Any) -> Any:
    """``value`` as the column stores it (a Decimal for money, a date for a date...)."""
    if value is None or value == "" or fc is None:
        return None if value == "" else value
    if isinstance(value, datetime) and fc.field.type == "date":
        value = value.date()
    if isinstance(value, (date, bool)):
        return value
    kind = fc.field.type
    if isinstance(value, str) and kind in _TEXT_TYPES:
        return value  # stored as the text itself: no coercion on the hot path
    if isinstance(value, Decimal) and kind in _NUMBER_TYPES and value.is_finite():
        return value
    try:
        typed = fc.type.coerce(fc.field, value, "json")
        return fc.type.to_storage(fc.field, typed).get(fc.names[0])
    except (FieldValueError, TypeError, ValueError):
        raise _Unmatchable from None


def _where(target: StoredForm, lookup: Any) -> Any | None:
    if not lookup.where:
        return None
    from engine.expressions import compile_expression
    from engine.store.row_scopes import _Translator

    tree = compile_expression(lookup.where).to_json()["tree"]
    return _Translator(target.tables, target.tables.table, _NOBODY).condition(tree)


def _blank(column: Any) -> Any:
    return column.is_(None)


def _ancestors(tree: str, value: Any) -> Any:
    """SELECT of the codes at or above ``value`` (a bind parameter) in an organisation tree."""
    paths = _TREE_PATHS[tree]
    return sa.select(paths.c.ancestor).where(paths.c.descendant == value)


def _depth(tree: str, column: Any, value: Any) -> Any:
    """How far above ``value`` the node in ``column`` is (0: the node itself, or a code the
    tree does not know that equals the value; only matching rows are ordered)."""
    paths = _TREE_PATHS[tree]
    depth = (
        sa.select(paths.c.depth)
        .where(paths.c.ancestor == column, paths.c.descendant == value)
        .scalar_subquery()
    )
    return sa.func.coalesce(depth, 0)


def _order(target: StoredForm, lookup: Any) -> list[Any]:
    """ORDER BY of the specificity: earlier rank entries weigh more."""
    ranges = {r.field: r.operator for r in lookup.ranges}
    effective_from = lookup.effective.from_field if lookup.effective else None
    trees = dict(lookup.trees)
    # the bind parameter eq<i> of a match field: query.equals follows lookup.match's order
    positions = {key: i for i, key in enumerate(lookup.match)}
    keys: list[Any] = []
    for key in lookup.rank:
        column, _fc = _column(target, key)
        named_first = sa.case((_blank(column), 1), else_=0)
        keys.append(named_first)
        if key in trees:
            # the nearest node first: a row naming the record's own region before its 大区
            value = sa.bindparam(f"eq{positions[key]}", type_=column.type)
            keys.append(_depth(trees[key], column, value))
        elif key in ranges:
            # the tighter bound first: the largest minimum, the smallest maximum
            tighter = column.desc() if ranges[key] in ("at_most", "below") else column.asc()
            keys.append(tighter)
        elif key == effective_from and key not in lookup.match:
            keys.append(column.desc())  # the latest start first
    keys.append(target.tables.table.c.id)
    return keys


def _shape(target: StoredForm, query: Any) -> tuple[tuple[bool, ...], dict[str, Any]] | None:
    """Which values are blank (the statement's shape) and the bind values; None when a
    value cannot be stored in its column (no row can match it)."""
    blanks: list[bool] = []
    params: dict[str, Any] = {}
    try:
        for i, (key, value) in enumerate(query.equals):
            stored = _stored(_column(target, key)[1], value)
            blanks.append(stored is None)
            params[f"eq{i}"] = stored
        for i, (key, _operator, value) in enumerate(query.bounds):
            stored = _stored(_column(target, key)[1], value)
            blanks.append(stored is None)
            params[f"bd{i}"] = stored
    except _Unmatchable:
        return None
    if query.lookup.effective is not None:
        params["on"] = query.on
    return tuple(blanks), params


def _conditions(target: StoredForm, query: Any, blanks: tuple[bool, ...]) -> list[Any]:
    """The WHERE of a lookup query, with bind parameters eq<i>, bd<i> and on."""
    lookup = query.lookup
    table = target.tables.table
    conditions: list[Any] = [table.c.deleted_at.is_(None)]
    flags = iter(blanks)
    trees = dict(lookup.trees)
    for i, (key, _value) in enumerate(query.equals):
        column, fc = _column(target, key)
        value = sa.bindparam(f"eq{i}", type_=column.type)
        if next(flags):
            conditions.append(_blank(column))
        elif key in trees:
            # the value itself (also a code the tree does not know) or one of its ancestors
            named = sa.or_(column == value, column.in_(_ancestors(trees[key], value)))
            required = fc is not None and fc.field.required
            conditions.append(named if required else sa.or_(named, _blank(column)))
        elif fc is not None and fc.field.required:
            conditions.append(column == value)  # never blank: a plain index probe
        else:
            conditions.append(sa.or_(column == value, _blank(column)))
    for i, (key, operator, _value) in enumerate(query.bounds):
        column, _fc = _column(target, key)
        value = sa.bindparam(f"bd{i}", type_=column.type)
        if next(flags):
            conditions.append(_blank(column))
            continue
        compare = {
            "<=": column <= value,
            "<": column < value,
            ">=": column >= value,
            ">": column > value,
        }[_LE[operator]]
        conditions.append(sa.or_(compare, _blank(column)))
    if lookup.effective is not None:
        if lookup.effective.from_field:
            column, _fc = _column(target, lookup.effective.from_field)
            on = sa.bindparam("on", type_=column.type)
            conditions.append(sa.or_(column <= on, _blank(column)))
        if lookup.effective.to_field:
            column, _fc = _column(target, lookup.effective.to_field)
            on = sa.bindparam("on", type_=column.type)
            # the end is inclusive: valid "until 06-30" still serves 06-30
            conditions.append(sa.or_(column >= on, _blank(column)))
    where = _where(target, lookup)
    if where is not None:
        conditions.append(where)
    return conditions


def best_match_statement(target: StoredForm, query: Any) -> Any | None:
    """The SELECT ... ORDER BY specificity LIMIT 1 of a lookup query with its values
    bound (None: no row can match); for tools and the benchmark's plan check."""
    shape = _shape(target, query)
    if shape is None:
        return None
    blanks, params = shape
    table = target.tables.table
    stmt = sa.select(table).where(*_conditions(target, query, blanks))
    stmt = stmt.order_by(*_order(target, query.lookup)).limit(1)
    return stmt.params(**params)


def _prepared(source: Any, target: StoredForm, query: Any, blanks: tuple[bool, ...]) -> Any:
    """The lookup's statement for this shape, compiled once per form version, scope and
    shape (kept on the lookup definition, which lives as long as its form version)."""
    from engine.store.driver import BoundedCache, DriverStatement

    lookup = query.lookup
    table = target.tables.table
    condition = source.scope.condition(target.tables, table)
    # every row visible (no row rules on the target): one statement serves every actor
    scope_key = ("every row",) if condition is None else source.scope.cache_key()
    # lookup.trees changes the SQL (ancestor matches, depth order): part of the shape
    key = (target.app, target.key, target.version_no, blanks, lookup.trees, scope_key)
    cache = lookup.__dict__.get("_statements")
    if cache is None:
        cache = BoundedCache()
        object.__setattr__(lookup, "_statements", cache)  # a frozen value's private memo
    found = cache.get(key) if scope_key is not None else None
    if found is None:
        stmt = sa.select(table).where(*_conditions(target, query, blanks))
        stmt = stmt.order_by(*_order(target, lookup)).limit(1)
        if condition is not None:
            stmt = stmt.where(condition)
        found = DriverStatement(stmt)
        if scope_key is not None:
            cache.put(key, found)
    return found


def best_match(source: Any, target: StoredForm, query: Any) -> Mapping[str, Any] | None:
    """The best row's values (fields and sub-tables, plus id, status, title, version), or
    None when no live row visible to the actor matches."""
    from engine.store.records import _related_values

    shape = _shape(target, query)
    if shape is None:
        return None
    blanks, params = shape
    row = _prepared(source, target, query, blanks).mapping(source.conn, params)
    if row is None:
        return None
    values = _related_values(target, row)
    if target.tables.children:
        # a sub-table value (a tier table) is what MATCH may be asked for: one more query
        from engine.store.records import RecordSource

        rows = RecordSource(source.conn, target, source.scope, source._related)
        values.update(rows.children([row["id"]])[row["id"]])
    hidden = source.scope.hidden_fields(target.tables)
    return {k: v for k, v in values.items() if k not in hidden} if hidden else values


# -- ties ---------------------------------------------------------------------------------
def _same(column: Any, other: Any) -> Any:
    """NULL-safe equality of two columns (both blank counts as the same)."""
    return sa.or_(column == other, sa.and_(column.is_(None), other.is_(None)))


def _tie_conditions(target: StoredForm, lookup: Any, a: Any, b: Any) -> list[Any]:
    """Conditions under which rows ``a`` and ``b`` (aliases) both match some record and
    neither ranks above the other."""

    def col(alias: Any, key: str) -> Any:
        fc = target.tables.fields.get(key)
        return alias.c[fc.names[0] if fc is not None else key]

    ranked = set(lookup.rank)
    trees = dict(lookup.trees)
    out: list[Any] = []
    for key in lookup.match:
        x, y = col(a, key), col(b, key)
        if key in ranked:
            # named vs blank ranks; both named must be equal. In a tree, two different
            # nodes never tie: both match a record only when one is above the other, and
            # then the nearer one ranks first.
            out.append(_same(x, y))
        elif key in trees:
            # not ranked: any two nodes on one path to the root both match its lowest node
            paths = _TREE_PATHS[trees[key]]
            out.append(
                sa.or_(
                    x == y,
                    x.is_(None),
                    y.is_(None),
                    sa.exists().where(paths.c.ancestor == x, paths.c.descendant == y),
                    sa.exists().where(paths.c.ancestor == y, paths.c.descendant == x),
                )
            )
        else:
            out.append(sa.or_(x == y, x.is_(None), y.is_(None)))
    for item in lookup.ranges:
        if item.field in ranked:
            out.append(_same(col(a, item.field), col(b, item.field)))
    effective = lookup.effective
    if effective is not None:
        if effective.from_field and effective.to_field:
            fa, ta = col(a, effective.from_field), col(a, effective.to_field)
            fb, tb = col(b, effective.from_field), col(b, effective.to_field)
            # validity ranges overlap (ends inclusive, blank ends open)
            out.append(sa.or_(fa <= tb, fa.is_(None), tb.is_(None)))
            out.append(sa.or_(fb <= ta, fb.is_(None), ta.is_(None)))
        if effective.from_field in ranked and effective.from_field not in lookup.match:
            out.append(_same(col(a, effective.from_field), col(b, effective.from_field)))
    for alias in (a, b):
        out.append(alias.c.deleted_at.is_(None))
        where = _where_on(target, lookup, alias)
        if where is not None:
            out.append(where)
    return out


def _where_on(target: StoredForm, lookup: Any, alias: Any) -> Any | None:
    if not lookup.where:
        return None
    from engine.expressions import compile_expression
    from engine.store.row_scopes import _Translator

    tree = compile_expression(lookup.where).to_json()["tree"]
    return _Translator(target.tables, alias, _NOBODY).condition(tree)


def tie_rows(conn: sa.Connection, target: StoredForm, lookup: Any, record_id: int) -> list[int]:
    """Ids of the live rows that would tie with record ``record_id`` under ``lookup``
    (none when the record itself does not pass the lookup's ``where``)."""
    table = target.tables.table
    a, b = table.alias("tie_a"), table.alias("tie_b")
    stmt = (
        sa.select(b.c.id)
        .where(a.c.id == record_id, b.c.id != record_id, *_tie_conditions(target, lookup, a, b))
        .order_by(b.c.id)
    )
    return [row[0] for row in conn.execute(stmt)]


def all_ties(conn: sa.Connection, target: StoredForm, lookup: Any) -> list[tuple[int, int]]:
    """Every pair of live rows of ``target`` that tie under ``lookup``, (lower id, higher)."""
    table = target.tables.table
    a, b = table.alias("tie_a"), table.alias("tie_b")
    stmt = (
        sa.select(a.c.id, b.c.id)
        .where(a.c.id < b.c.id, *_tie_conditions(target, lookup, a, b))
        .order_by(a.c.id, b.c.id)
    )
    return [(row[0], row[1]) for row in conn.execute(stmt)]


# -- versions -----------------------------------------------------------------------------
def overlapped_versions(
    conn: sa.Connection,
    target: StoredForm,
    versions: Any,
    values: Mapping[str, Any],
    record_id: int,
) -> list[Mapping[str, Any]]:
    """The other live versions of the same series (``versions.key`` fields equal) that
    start before this record's ``effective_from`` and are still valid on it: the ones
    whose end a newly activated version closes. Values with system columns, by id."""
    from engine.store.records import _related_values

    table = target.tables.table
    start = values.get(versions.effective_from)
    if start is None:
        return []
    conditions = [table.c.deleted_at.is_(None), table.c.id != record_id]
    for key in versions.key:
        column, fc = _column(target, key)
        try:
            stored = _stored(fc, values.get(key))
        except _Unmatchable:
            return []
        conditions.append(column.is_(None) if stored is None else column == stored)
    begin, _fc = _column(target, versions.effective_from)
    conditions.append(begin < start)
    if versions.effective_to:
        end, _fc = _column(target, versions.effective_to)
        conditions.append(sa.or_(end.is_(None), end >= start))
    stmt = sa.select(table).where(*conditions).order_by(table.c.id)
    return [_related_values(target, row) for row in conn.execute(stmt).mappings()]
