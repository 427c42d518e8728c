"""Record queries compiled from declarative filters into parameterised SQL.

A filter is ``(field, op, value)``; ``field`` is a stored field, a system column, or a
relation path (``supplier.name``: joins the supplier form's table). Values are coerced
through the field type first, so ``"2026-01-05"`` works for a date and ``"12.5"`` for
money, and must fit the column (a number beyond its range is refused, not sent).
Identifiers come only from the validated definition; values are bound parameters.
The arguments are read and checked first (:mod:`engine.store.query_input`); every
refusal is a :class:`QueryError` in the caller's locale (:mod:`engine.store.messages`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.fields.base import ColumnSpec, FieldValueError
from engine.store.form_tables import FieldColumns, FormTables
from engine.store.limits import INT64_RANGE, MAX_FILTER_TEXT, MAX_PAGE_SIZE, refuse_bad_text
from engine.store.messages import message, shorten
from engine.store.query_input import (
    VALUE_LISTS,
    Filter,
    QueryError,
    read_filters,
    read_page,
    read_search,
    read_sort,
)
from engine.store.types import DEFAULT_TZ

__all__ = ["MAX_PAGE_SIZE", "OPERATORS", "Filter", "QueryError", "RecordQuery", "build_query"]


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


class _NotA(ValueError):
    """A system column's coercion refused a value; ``args[0]`` is the message code."""


_WHOLE = re.compile(r"[+-]?\d{1,19}")


def _whole(raw: Any) -> int:
    # strict on purpose: int(1.6) is 1, and PostgreSQL rounds 1.6 to 2, so an id filter
    # of 1.6 would find a different record on each database
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and _WHOLE.fullmatch(raw.strip()):
        return int(raw)
    if isinstance(raw, Decimal) and raw.is_finite() and raw == raw.to_integral_value():
        return int(raw)
    raise _NotA("query.whole")


def _text(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    raise _NotA("query.text")


def _parse_datetime(raw: Any) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise _NotA("query.datetime") from None
    else:
        raise _NotA("query.datetime")
    return value if value.tzinfo else value.replace(tzinfo=DEFAULT_TZ)


#: system columns filterable and sortable on every form, with their value coercion
SYSTEM_COERCE: dict[str, Callable[[Any], Any]] = {
    "id": _whole,
    "version": _whole,
    "status": _text,
    "title": _text,
    "created_by": _text,
    "updated_by": _text,
    "created_at": _parse_datetime,
    "updated_at": _parse_datetime,
}
_SYSTEM_INTEGERS = frozenset({"id", "version"})

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
    """A resolved filter or sort target: the column, its value coercion, text or not,
    and for a number column the lowest and highest value it holds."""

    column: Any
    coerce: Callable[[Any], Any]
    text: bool
    label: str
    bounds: tuple[Any, Any] | None = None
    #: stored as JSON (a multiselect, files): no order and no equality on PostgreSQL
    json: bool = False


#: the rows of a table (or of an alias of it) the actor may see: a SQL condition, or
#: None for every row; the record source supplies it (engine/store/records.py)
RowCondition = Callable[[FormTables, Any], Any]


@dataclass(frozen=True)
class _Compiler:
    """What the compilation of one query needs at every step."""

    tables: FormTables
    related: Callable[[str], FormTables]
    joins: dict[str, _Join]
    visible: RowCondition | None
    locale: object


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
    locale: object = "zh-CN",
) -> RecordQuery:
    """Compile filters, search, sort and page into select statements over ``tables``.

    ``related(form_key)`` gives the tables of a relation's target form (same app);
    ``visible(tables, table)`` the row condition of the actor's scope for a table or
    alias, applied to the form's own rows and to every joined related row (which must
    also be live: a deleted supplier is no supplier). Refusals are :class:`QueryError`
    (an :class:`~engine.errors.InvalidArgumentError`) in ``locale``.
    """
    page, page_size = read_page(page, page_size, locale)
    wanted = read_filters(filters, locale)
    keys = read_sort(sort, locale)
    text = read_search(search, locale)
    table = tables.table
    compiler = _Compiler(tables, related, {}, visible, locale)
    conditions: list[Any] = [table.c.deleted_at.is_(None)]
    own = visible(tables, table) if visible is not None else None
    if own is not None:
        conditions.append(own)
    for flt in wanted:
        conditions.append(_condition(compiler, flt))
    if text:
        conditions.append(_search(tables, text))
    source: Any = table
    # each step joins against its parent's alias; a prefix is added after its parent
    for join in compiler.joins.values():
        source = source.join(join.alias, join.onclause, isouter=not join.inner)
    where = sa.and_(*conditions)
    order = _order_by(tables, keys, locale)
    rows = (
        sa.select(table)
        .select_from(source)
        .where(where)
        .order_by(*order)
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    count = sa.select(sa.func.count()).select_from(source).where(where)
    joined = {k: j.alias for k, j in compiler.joins.items()}
    return RecordQuery(rows, count, page, page_size, joined)


def _condition(compiler: _Compiler, flt: Filter) -> Any:
    locale = compiler.locale
    try:
        reading, build = OPERATORS[flt.op]
    except KeyError:
        raise QueryError(
            message(
                "query.unknown_operator",
                locale,
                field=flt.field,
                op=shorten(flt.op),
                hint=_did_you_mean(flt.op, OPERATORS, locale),
                known=", ".join(OPERATORS),
            ),
            argument="filters",
            given=shorten(flt.op),
            code="unknown_operator",
        ) from None
    target = _resolve(compiler, flt.field)
    if target.json and reading != "none":
        raise _refused(locale, "query.json_operator", flt)
    if _rejects_missing(flt):
        steps = flt.field.split(".")
        for depth in range(1, len(steps)):
            compiler.joins[".".join(steps[:depth])].inner = True
    if reading == "none":
        return build(target.column, target.text)
    if reading == "text":
        return build(target.column, _search_text(flt, locale))
    if reading == "many":
        values = flt.value if isinstance(flt.value, VALUE_LISTS) else [flt.value]
        return build(target.column, [_coerce(target, flt, v, locale) for v in values])
    if reading == "two":
        if not isinstance(flt.value, (list, tuple)) or len(flt.value) != 2:
            raise _refused(locale, "query.two_values", flt, field=flt.field)
        return build(target.column, [_coerce(target, flt, v, locale) for v in flt.value])
    if isinstance(flt.value, VALUE_LISTS):
        reason = message("query.one_value", locale)
        raise _refused(locale, "query.value", flt, given=shorten(flt.value), reason=reason)
    return build(target.column, _coerce(target, flt, flt.value, locale))


def _refused(locale: object, code: str, flt: Filter, **params: Any) -> QueryError:
    params.setdefault("field", flt.field)
    params.setdefault("op", flt.op)
    return QueryError(
        message(code, locale, **params),
        argument="filters",
        given=shorten(flt.value),
        code=code.removeprefix("query."),
    )


def _search_text(flt: Filter, locale: object) -> str:
    """The text a contains / startswith filter looks for (a number is looked for as text)."""
    value = flt.value
    if value is None or value == "":
        raise _refused(locale, "query.text_needed", flt)
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal, float)):
        raise _refused(locale, "query.text_type", flt, given=shorten(value))
    try:
        text = str(value)
    except ValueError:  # an int too long to print as text
        raise _refused(locale, "query.text_type", flt, given=shorten(value)) from None
    refuse_bad_text("filters", text, MAX_FILTER_TEXT, locale, error=QueryError)
    return text


#: operators that are false on a missing (NULL) value, whatever value they compare with
_NULL_REJECTING = frozenset({"lt", "le", "gt", "ge", "between", "contains", "startswith"})


def _rejects_missing(flt: Filter) -> bool:
    """True when ``flt`` can never hold for a record whose related row is missing."""
    if flt.op in _NULL_REJECTING or flt.op == "not_blank":
        return True
    return flt.op == "eq" and flt.value is not None and flt.value != ""


def _coerce(target: _Target, flt: Filter, raw: Any, locale: object) -> Any:
    if raw is None:
        return None
    given = shorten(raw)
    reason = ""
    try:
        value = target.coerce(raw)
    except _NotA as exc:
        reason = message(exc.args[0], locale)
    except FieldValueError as exc:
        reason = exc.in_locale(locale if isinstance(locale, str) else "zh-CN")
    except ArithmeticError:  # decimal.InvalidOperation, OverflowError: too big to hold
        value = math.inf
    except (TypeError, ValueError) as exc:
        reason = str(exc)[:200]
    if reason:
        raise _refused(locale, "query.value", flt, given=given, reason=reason)
    if not _fits(target.bounds, value):
        low, high = DATETIME_RANGE if isinstance(value, datetime) else target.bounds or ("", "")
        raise _refused(locale, "query.out_of_range", flt, given=given, low=low, high=high)
    return value


#: the times every database holds once stored as UTC (a day inside Python's own range)
DATETIME_RANGE = ("0001-01-02", "9999-12-30")


def _fits(bounds: tuple[Any, Any] | None, value: Any) -> bool:
    """Whether a coerced number lies in its column's range, and a time can be stored as UTC
    (0001-01-01 00:00 in Shanghai is in year 0 in UTC: an OverflowError when bound)."""
    if isinstance(value, datetime):
        try:
            value.astimezone(UTC)
        except (OverflowError, ValueError):
            return False
        return value.tzinfo is not None  # a naive time is refused by the store's type
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return True
    if isinstance(value, (float, Decimal)) and not math.isfinite(value):
        return False
    return bounds is None or bounds[0] <= value <= bounds[1]


def _bounds(spec: ColumnSpec) -> tuple[Any, Any] | None:
    """The lowest and highest value a number column holds (None: not a number column)."""
    if spec.kind == "integer":
        return INT64_RANGE
    if spec.kind == "decimal":
        # the same defaults as engine/store/types.py gives the column
        precision, scale = spec.precision or 20, spec.scale if spec.scale is not None else 2
        high = Decimal(10) ** (precision - scale) - Decimal(10) ** -scale
        return -high, high
    return None


def _resolve(compiler: _Compiler, path: str) -> _Target:
    """The column a field path names, adding one outer join per relation step.

    Joins are keyed by the path prefix (``supplier``, ``supplier.region``), so each step
    joins against its parent's alias and a same-named field elsewhere never collides.
    """
    tables, locale, joins = compiler.tables, compiler.locale, compiler.joins
    steps = path.split(".")
    table: Any = tables.table
    for depth, head in enumerate(steps[:-1]):
        prefix = ".".join(steps[: depth + 1])
        fc = tables.fields.get(head)
        if fc is None or fc.field.type != "relation" or fc.field.option("many"):
            through = ".".join(steps[:depth])
            where = message("query.reached_through", locale, path=through) if depth else ""
            raise _path_error(
                "query.not_relation",
                locale,
                path,
                head=shorten(head),
                form=tables.form.key,
                where=where,
                hint=_did_you_mean(head, _relations(tables), locale),
            )
        target_tables = compiler.related(fc.field.option("to"))
        join = joins.get(prefix)
        if join is None:
            alias = target_tables.table.alias(f"rel_{len(joins) + 1}")
            onclause = [alias.c.id == table.c[fc.names[0]], alias.c.deleted_at.is_(None)]
            scoped = compiler.visible(target_tables, alias) if compiler.visible else None
            if scoped is not None:
                onclause.append(scoped)
            join = joins[prefix] = _Join(alias, sa.and_(*onclause))
        tables, table = target_tables, join.alias
    head = steps[-1]
    if head in SYSTEM_COERCE:
        bounds = INT64_RANGE if head in _SYSTEM_INTEGERS else None
        text = head in ("status", "title")
        return _Target(table.c[head], SYSTEM_COERCE[head], text, head, bounds)
    fc = tables.fields.get(head)
    if fc is None:
        known = [*tables.fields, *SYSTEM_COERCE]
        where = "" if len(steps) == 1 else message("query.in_filter", locale, path=_shown(path))
        raise _path_error(
            "query.no_field",
            locale,
            path,
            head=shorten(head),
            form=tables.form.key,
            where=where,
            hint=_did_you_mean(head, known, locale),
        )
    if len(fc.specs) != 1:
        raise _path_error("query.several_columns", locale, path, head=head)
    spec = fc.specs[0]
    column = table.c[fc.names[0]]
    text = spec.kind in _TEXT_KINDS
    return _Target(column, _field_coercion(fc), text, head, _bounds(spec), spec.kind == "json")


def _shown(path: str) -> str:
    """A field path as written (control characters escaped, long paths cut), unquoted."""
    text = shorten(path)
    return text[1:-1] if text[:1] in "'\"" and text[-1:] == text[:1] else text


def _path_error(code: str, locale: object, path: str, **params: Any) -> QueryError:
    return QueryError(
        message(code, locale, path=_shown(path), **params),
        argument="filters",
        given=shorten(path),
        code=code.removeprefix("query."),
    )


def _field_coercion(fc: FieldColumns) -> Callable[[Any], Any]:
    column = fc.names[0]

    def coerce(raw: Any) -> Any:
        value = fc.type.coerce(fc.field, raw, "json")
        return fc.type.to_storage(fc.field, value).get(column)

    return coerce


def _relations(tables: FormTables) -> list[str]:
    return [k for k, fc in tables.fields.items() if fc.field.type == "relation"]


def _did_you_mean(word: str, choices: Iterable[str], locale: object) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return message("query.did_you_mean", locale, word=repr(close[0])) if close else ""


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


def _sortable(tables: FormTables, name: str) -> bool:
    """A field stored in one column that has an order (not JSON: lists have none)."""
    fc = tables.fields.get(name)
    return fc is not None and len(fc.specs) == 1 and fc.specs[0].kind != "json"


def _order_by(tables: FormTables, sort: list[str] | None, locale: object) -> list[Any]:
    keys = tables.form.list_sort if sort is None else sort
    table = tables.table
    order: list[Any] = []
    last_desc = True
    for key in keys:
        descending = key.startswith("-")
        name = key.lstrip("-+")
        if name in SYSTEM_COERCE:
            column = table.c[name]
        elif _sortable(tables, name):
            column = table.c[tables.fields[name].names[0]]
        else:
            known = [*tables.fields, *SYSTEM_COERCE]
            # a field that exists but has no one ordered column: say why, not "did you mean"
            hint = (
                message("query.unordered", locale)
                if name in tables.fields
                else _did_you_mean(name, known, locale)
            )
            raise QueryError(
                message(
                    "query.cannot_sort", locale, form=tables.form.key, name=shorten(name), hint=hint
                ),
                argument="sort",
                given=shorten(key),
                code="cannot_sort",
            )
        order.append(column.desc() if descending else column.asc())
        last_desc = descending
    # a unique tie-breaker keeps pages stable when sort values repeat
    order.append(table.c.id.desc() if last_desc else table.c.id.asc())
    return order
