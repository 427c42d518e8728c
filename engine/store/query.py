"""Record queries compiled from declarative filters into parameterised SQL.

A filter is ``(field, op, value)``; ``field`` is a stored field, a system column, or a
relation path (``supplier.name``: joins the supplier form's table). Values are coerced
through the field type first, so ``"2026-01-05"`` works for a date and ``"12.5"`` for
money. Identifiers come only from the validated definition; values are bound parameters.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.errors import ServiceError
from engine.fields.base import FieldValueError
from engine.store.form_tables import FieldColumns, FormTables
from engine.store.types import DEFAULT_TZ

MAX_PAGE_SIZE = 500


class QueryError(ServiceError):
    """A filter, sort or page that cannot be run; the message says what to change."""


@dataclass(frozen=True)
class Filter:
    """One condition: ``field op value`` (``value`` unused by ``blank``/``not_blank``)."""

    field: str
    op: str
    value: Any = None


@dataclass
class RecordQuery:
    """The compiled statements of one query: the page of rows and the total count."""

    rows: sa.Select[Any]
    count: sa.Select[Any]
    page: int
    page_size: int
    #: relation path prefix (``supplier``, ``supplier.region``) -> the alias joined for it
    joins: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Join:
    """One join of a relation path: the target alias, its condition, inner or outer.

    Outer by default, so a record without the related value still meets a filter such
    as ``supplier.name blank``. A filter that can never hold for a missing related row
    (``supplier.name startswith 'S'``) makes it inner: the result is the same, and
    SQLite's planner, which never reorders an outer join, may then start from the
    smaller table.
    """

    alias: Any
    onclause: Any
    inner: bool = False


def _parse_datetime(raw: Any) -> datetime:
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    return value if value.tzinfo else value.replace(tzinfo=DEFAULT_TZ)


#: system columns filterable and sortable on every form, with their value coercion
SYSTEM_COERCE: dict[str, Callable[[Any], Any]] = {
    "id": int,
    "version": int,
    "status": str,
    "title": str,
    "created_by": str,
    "updated_by": str,
    "created_at": _parse_datetime,
    "updated_at": _parse_datetime,
}

_TEXT_KINDS = frozenset({"text", "string"})


def _ne(col: Any, v: Any) -> Any:
    # "not equal" keeps blank values, as a person reading "status != closed" expects
    return sa.or_(col != v, col.is_(None))


def _blank(col: Any, text: bool) -> Any:
    return sa.or_(col.is_(None), col == "") if text else col.is_(None)


def _not_blank(col: Any, text: bool) -> Any:
    return sa.and_(col.is_not(None), col != "") if text else col.is_not(None)


#: op -> (how the value is read: one|many|two|text|none, clause builder)
OPERATORS: dict[str, tuple[str, Callable[..., Any]]] = {
    "eq": ("one", lambda col, v: col.is_(None) if v is None else col == v),
    "ne": ("one", _ne),
    "lt": ("one", lambda col, v: col < v),
    "le": ("one", lambda col, v: col <= v),
    "gt": ("one", lambda col, v: col > v),
    "ge": ("one", lambda col, v: col >= v),
    "in": ("many", lambda col, v: col.in_(v)),
    "not_in": ("many", lambda col, v: sa.or_(col.not_in(v), col.is_(None))),
    "between": ("two", lambda col, v: col.between(v[0], v[1])),
    "contains": ("text", lambda col, v: col.icontains(v, autoescape=True)),
    "startswith": ("text", lambda col, v: col.startswith(v, autoescape=True)),
    "blank": ("none", _blank),
    "not_blank": ("none", _not_blank),
}


@dataclass(frozen=True)
class _Target:
    """A resolved filter or sort target: the column, its value coercion, text or not."""

    column: Any
    coerce: Callable[[Any], Any]
    text: bool
    label: str


#: the rows of a table (or of an alias of it) the actor may see: a SQL condition, or
#: None for every row; the record source supplies it (engine/store/records.py)
RowCondition = Callable[[FormTables, Any], Any]


def build_query(
    tables: FormTables,
    related: Callable[[str], FormTables],
    *,
    visible: RowCondition | None = None,
    filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]] = (),
    sort: str | Sequence[str] | None = None,
    page: int = 1,
    page_size: int = 50,
    search: str | None = None,
) -> RecordQuery:
    """Compile filters, search, sort and page into select statements over ``tables``.

    ``related(form_key)`` gives the tables of a relation's target form (same app);
    ``visible(tables, table)`` the row condition of the actor's scope for a table or
    alias, applied to the form's own rows and to every joined related row (which must
    also be live: a deleted supplier is no supplier).
    """
    if page < 1:
        raise QueryError(f"page must be 1 or more, got {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise QueryError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")
    table = tables.table
    joins: dict[str, _Join] = {}
    conditions: list[Any] = [table.c.deleted_at.is_(None)]
    own = visible(tables, table) if visible is not None else None
    if own is not None:
        conditions.append(own)
    for item in filters:
        conditions.append(_condition(tables, related, joins, _as_filter(item), visible))
    if search and search.strip():
        conditions.append(_search(tables, search.strip()))
    source: Any = table
    # each step joins against its parent's alias; a prefix is added after its parent
    for join in joins.values():
        source = source.join(join.alias, join.onclause, isouter=not join.inner)
    where = sa.and_(*conditions)
    order = _order_by(tables, sort)
    rows = (
        sa.select(table)
        .select_from(source)
        .where(where)
        .order_by(*order)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    count = sa.select(sa.func.count()).select_from(source).where(where)
    return RecordQuery(rows, count, page, page_size, {k: j.alias for k, j in joins.items()})


def _as_filter(item: Filter | Sequence[Any] | Mapping[str, Any]) -> Filter:
    if isinstance(item, Filter):
        return item
    if isinstance(item, Mapping):
        return Filter(item["field"], item["op"], item.get("value"))
    if isinstance(item, Sequence) and not isinstance(item, str) and len(item) in (2, 3):
        return Filter(*item)
    raise QueryError(f"a filter is (field, op, value), got {item!r}")


def _condition(
    tables: FormTables,
    related: Callable[[str], FormTables],
    joins: dict[str, _Join],
    flt: Filter,
    visible: RowCondition | None = None,
) -> Any:
    try:
        reading, build = OPERATORS[flt.op]
    except KeyError:
        raise QueryError(
            f"filter on {flt.field}: unknown operator {flt.op!r}{_did_you_mean(flt.op, OPERATORS)}"
            f"; use one of {', '.join(OPERATORS)}"
        ) from None
    target = _resolve(tables, related, joins, flt.field, visible)
    if _rejects_missing(flt):
        steps = flt.field.split(".")
        for depth in range(1, len(steps)):
            joins[".".join(steps[:depth])].inner = True
    if reading == "none":
        return build(target.column, target.text)
    if reading == "text":
        if flt.value is None or flt.value == "":
            raise QueryError(f"filter {flt.field} {flt.op}: give the text to look for")
        return build(target.column, str(flt.value))
    if reading == "many":
        values = flt.value if isinstance(flt.value, (list, tuple, set, frozenset)) else [flt.value]
        return build(target.column, [_coerce(target, flt, v) for v in values])
    if reading == "two":
        if not isinstance(flt.value, (list, tuple)) or len(flt.value) != 2:
            raise QueryError(f"filter {flt.field} between: give two values [low, high]")
        return build(target.column, [_coerce(target, flt, v) for v in flt.value])
    return build(target.column, _coerce(target, flt, flt.value))


#: operators that are false on a missing (NULL) value, whatever value they compare with
_NULL_REJECTING = frozenset({"lt", "le", "gt", "ge", "between", "contains", "startswith"})


def _rejects_missing(flt: Filter) -> bool:
    """True when ``flt`` can never hold for a record whose related row is missing."""
    if flt.op in _NULL_REJECTING or flt.op == "not_blank":
        return True
    return flt.op == "eq" and flt.value is not None and str(flt.value) != ""


def _coerce(target: _Target, flt: Filter, raw: Any) -> Any:
    if raw is None:
        return None
    try:
        return target.coerce(raw)
    except FieldValueError as exc:
        raise QueryError(f"filter {flt.field} {flt.op} {raw!r}: {exc.message}") from exc
    except (TypeError, ValueError) as exc:
        raise QueryError(f"filter {flt.field} {flt.op} {raw!r}: {exc}") from exc


def _resolve(
    tables: FormTables,
    related: Callable[[str], FormTables],
    joins: dict[str, _Join],
    path: str,
    visible: RowCondition | None = None,
) -> _Target:
    """The column a field path names, adding one outer join per relation step.

    Joins are keyed by the path prefix (``supplier``, ``supplier.region``), so each step
    joins against its parent's alias and a same-named field elsewhere never collides.
    """
    steps = path.split(".")
    table: Any = tables.table
    for depth, head in enumerate(steps[:-1]):
        prefix = ".".join(steps[: depth + 1])
        fc = tables.fields.get(head)
        if fc is None or fc.field.type != "relation" or fc.field.option("many"):
            where = "" if depth == 0 else f" (reached through {'.'.join(steps[:depth])})"
            raise QueryError(
                f"{path}: {head!r} is not a single relation of form {tables.form.key}{where}, "
                f"so it cannot be followed{_did_you_mean(head, _relations(tables))}"
            )
        target_tables = related(fc.field.option("to"))
        join = joins.get(prefix)
        if join is None:
            alias = target_tables.table.alias(f"rel_{len(joins) + 1}")
            onclause = [alias.c.id == table.c[fc.names[0]], alias.c.deleted_at.is_(None)]
            scoped = visible(target_tables, alias) if visible is not None else None
            if scoped is not None:
                onclause.append(scoped)
            join = joins[prefix] = _Join(alias, sa.and_(*onclause))
        tables, table = target_tables, join.alias
    head = steps[-1]
    if head in SYSTEM_COERCE:
        column = table.c[head]
        return _Target(column, SYSTEM_COERCE[head], head in ("status", "title"), head)
    fc = tables.fields.get(head)
    if fc is None:
        known = [*tables.fields, *SYSTEM_COERCE]
        where = "" if len(steps) == 1 else f" (filter {path})"
        raise QueryError(
            f"form {tables.form.key} has no field {head!r}{where}{_did_you_mean(head, known)}"
        )
    if len(fc.specs) != 1:
        raise QueryError(f"{path}: field {head} is stored in several columns; filter one of them")
    return _Target(table.c[fc.names[0]], _field_coercion(fc), fc.specs[0].kind in _TEXT_KINDS, head)


def _field_coercion(fc: FieldColumns) -> Callable[[Any], Any]:
    column = fc.names[0]

    def coerce(raw: Any) -> Any:
        value = fc.type.coerce(fc.field, raw, "json")
        return fc.type.to_storage(fc.field, value).get(column)

    return coerce


def _relations(tables: FormTables) -> list[str]:
    return [k for k, fc in tables.fields.items() if fc.field.type == "relation"]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _search(tables: FormTables, text: str) -> Any:
    table = tables.table
    columns = [table.c.title] + [
        table.c[name]
        for fc in tables.fields.values()
        if fc.type.searchable
        for name, spec in zip(fc.names, fc.specs, strict=True)
        if spec.kind in _TEXT_KINDS
    ]
    return sa.or_(*(col.icontains(text, autoescape=True) for col in columns))


def _order_by(tables: FormTables, sort: str | Sequence[str] | None) -> list[Any]:
    keys = tables.form.list_sort if sort is None else sort
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    table = tables.table
    order: list[Any] = []
    last_desc = True
    for key in keys:
        descending = key.startswith("-")
        name = key.lstrip("-+")
        if name in SYSTEM_COERCE:
            column = table.c[name]
        elif name in tables.fields and len(tables.fields[name].specs) == 1:
            column = table.c[tables.fields[name].names[0]]
        else:
            known = [*tables.fields, *SYSTEM_COERCE]
            raise QueryError(
                f"cannot sort form {tables.form.key} by {name!r}{_did_you_mean(name, known)}"
            )
        order.append(column.desc() if descending else column.asc())
        last_desc = descending
    # a unique tie-breaker keeps pages stable when sort values repeat
    order.append(table.c.id.desc() if last_desc else table.c.id.asc())
    return order
