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
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from engine.store.driver import BoundedCache
from engine.store.form_tables import FormTables
from engine.store.limits import INT64_RANGE, MAX_PAGE_SIZE
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
from engine.store.query_values import (
    SYSTEM_COERCE,
    SYSTEM_INTEGERS,
    Target,
    coerce_value,
    column_bounds,
    field_coercion,
    refused,
    search_text,
)

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
    #: the values of this call's named binds: pass them when executing ``rows``/``count``
    #: (a statement taken from the cache still holds the values of the call that built it)
    params: dict[str, Any] = field(default_factory=dict)
    #: the statements are kept for reuse (worth preparing once for the driver's fast path)
    reusable: bool = False


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


#: the rows of a table (or of an alias of it) the actor may see: a SQL condition, or
#: None for every row; the record source supplies it (engine/store/records.py)
RowCondition = Callable[[FormTables, Any], Any]
#: the fields of a form the actor may not see: for the query they do not exist
HiddenFields = Callable[[FormTables], frozenset[str]]


def _no_hidden(tables: FormTables) -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True)
class _Compiler:
    """What the compilation of one query needs at every step."""

    tables: FormTables
    related: Callable[[str], FormTables]
    joins: dict[str, _Join]
    visible: RowCondition | None
    locale: object
    hidden: HiddenFields = _no_hidden


#: built queries kept for reuse, (scope, shape) -> (rows, count, joins): a BoundedCache
QueryCache = BoundedCache[Hashable, tuple[Any, Any, dict[str, Any]]]


def build_query(
    tables: FormTables,
    related: Callable[[str], FormTables],
    *,
    visible: RowCondition | None = None,
    hidden: HiddenFields | None = None,
    filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]] = (),
    sort: str | Sequence[str] | None = None,
    page: int = 1,
    page_size: int = 50,
    search: str | None = None,
    locale: object = "zh-CN",
    cache: QueryCache | None = None,
    scope_key: Hashable | None = None,
    after: Mapping[str, Any] | None = None,
    nulls_low: bool = True,
) -> RecordQuery:
    """Compile filters, search, sort and page into select statements over ``tables``.

    ``related(form_key)`` gives the tables of a relation's target form (same app);
    ``visible(tables, table)`` the row condition of the actor's scope for a table or
    alias, applied to the form's own rows and to every joined related row (which must
    also be live: a deleted supplier is no supplier); ``hidden(tables)`` the fields the
    actor may not see, which filters, sort and search treat as absent. Refusals are
    :class:`QueryError` (an :class:`~engine.errors.InvalidArgumentError`) in ``locale``.

    Values are named binds (``q0``, ``q1a``, ``qsearch``, ``qlimit``...) whose values of
    this call are in :attr:`RecordQuery.params`. With a ``cache`` and a ``scope_key``
    (what ``visible`` and ``hidden`` depend on: who, for which action, as of which
    organisation), a query of the same shape (fields, operators, which values are blank,
    sort, search or not) is built once and reused with new values: building the
    statements costs more than an indexed page of a few thousand rows takes to run.

    ``after`` (keyset paging, for walks over every page such as exports) is the last
    row of the previous page as the rows statement returned it: the rows come after it
    in the sort order, with no OFFSET, each page one index range read however deep the
    walk. When the rows after it are not one range of the first order column (its NULLs
    follow every value, as ascending on PostgreSQL or descending on SQLite) ``after`` is
    ignored and ``page`` gives the OFFSET, so callers pass both. ``nulls_low`` says where
    the database sorts NULL: lowest (SQLite) or highest (PostgreSQL). The count ignores
    ``after``.
    """
    page, page_size = read_page(page, page_size, locale)
    wanted = read_filters(filters, locale)
    keys = read_sort(sort, locale)
    text = read_search(search, locale)
    hidden = hidden or _no_hidden
    values = [_coerced(tables, related, hidden, flt, locale, cache) for flt in wanted]
    params: dict[str, Any] = {"qlimit": page_size, "qoffset": (page - 1) * page_size}
    for index, (flt, value) in enumerate(zip(wanted, values, strict=True)):
        params.update(_named(index, flt, value))
    if text:
        params["qsearch"] = _escaped(text)
    # keyset paging: which of the previous row's sort values are NULL shapes the query
    order: list[tuple[Any, bool]] = []
    after_shape: tuple[bool, ...] | None = None
    if after is not None:
        order = _order_columns(tables, keys, locale, hidden(tables))
        if not _seekable(order, after, nulls_low):
            after = None  # the rows after it are no one index range: OFFSET is as good
    if after is not None:
        params["qoffset"] = 0  # the keyset is the position: never an OFFSET as well
        after_values = [after.get(column.key) for column, _descending in order]
        after_shape = tuple(v is None for v in after_values)
        params.update({f"qk{i}": v for i, v in enumerate(after_values) if v is not None})
    key: Hashable | None = None
    if cache is not None and scope_key is not None:
        shape = tuple(
            (flt.field, flt.op, _rejects_missing(flt), value is None)
            for flt, value in zip(wanted, values, strict=True)
        )
        key = (scope_key, shape, None if keys is None else tuple(keys), bool(text))
        if after_shape is not None:  # keyed apart: other queries keep their cache keys
            key = (*key, "after", after_shape, nulls_low)
        found = cache.get(key)
        if found is not None:
            rows, count, joined = found
            return RecordQuery(rows, count, page, page_size, joined, params, reusable=True)
    rows, count, joined = _statements(
        tables,
        related,
        visible,
        hidden,
        wanted,
        values,
        keys,
        bool(text),
        locale,
        keyset=None if after_shape is None else (order, after_shape, nulls_low),
    )
    if key is not None and cache is not None:
        cache.put(key, (rows, count, joined))
    reusable = key is not None and cache is not None
    return RecordQuery(rows, count, page, page_size, joined, params, reusable=reusable)


def _statements(
    tables: FormTables,
    related: Callable[[str], FormTables],
    visible: RowCondition | None,
    hidden: HiddenFields,
    wanted: list[Filter],
    values: list[Any],
    keys: list[str] | None,
    searching: bool,
    locale: object,
    keyset: tuple[list[tuple[Any, bool]], tuple[bool, ...], bool] | None = None,
) -> tuple[Any, Any, dict[str, Any]]:
    """The rows and count statements (named binds) and the joins of one query shape;
    ``keyset`` (order columns, which previous values are NULL, NULL sorts lowest): the
    rows after the previous page's last row (binds ``qk0``...)."""
    table = tables.table
    compiler = _Compiler(tables, related, {}, visible, locale, hidden)
    conditions: list[Any] = [table.c.deleted_at.is_(None)]
    own = visible(tables, table) if visible is not None else None
    if own is not None:
        conditions.append(own)
    for index, (flt, value) in enumerate(zip(wanted, values, strict=True)):
        conditions.append(_condition(compiler, flt, index, value))
    if searching:
        conditions.append(_search(tables, hidden(tables)))
    source: Any = table
    # each step joins against its parent's alias; a prefix is added after its parent
    for join in compiler.joins.values():
        source = source.join(join.alias, join.onclause, isouter=not join.inner)
    where = sa.and_(*conditions)
    order = _order_by(tables, keys, locale, hidden(tables))
    row_where = where if keyset is None else sa.and_(where, _after_condition(*keyset))
    rows = (
        sa.select(table)
        .select_from(source)
        .where(row_where)
        .order_by(*order)
        .limit(sa.bindparam("qlimit", type_=sa.Integer))
        .offset(sa.bindparam("qoffset", type_=sa.Integer))
    )
    count = sa.select(sa.func.count()).select_from(source).where(where)
    joined = {k: j.alias for k, j in compiler.joins.items()}
    return rows, count, joined


def _reading(flt: Filter, locale: object) -> tuple[str, Callable[..., Any]]:
    try:
        return OPERATORS[flt.op]
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


def _coerced(
    tables: FormTables,
    related: Callable[[str], FormTables],
    hidden: HiddenFields,
    flt: Filter,
    locale: object,
    cache: QueryCache | None = None,
) -> Any:
    """The filter's value as its column stores it (checked), before any SQL is built.

    A list for ``in``/``not_in``/``between``, the text for ``contains``/``startswith``,
    None for ``blank``/``not_blank``. Resolving the field path here (on a scratch
    compiler: its joins are dropped) also refuses unknown fields and JSON misuse.
    """
    reading, _build = _reading(flt, locale)
    target = _target(tables, related, hidden, flt.field, locale, cache)
    if target.json and reading != "none":
        raise refused(locale, "query.json_operator", flt)
    if reading == "none":
        return None
    if reading == "text":
        return search_text(flt, locale)
    if reading == "many":
        values = flt.value if isinstance(flt.value, VALUE_LISTS) else [flt.value]
        return [coerce_value(target, flt, v, locale) for v in values]
    if reading == "two":
        if not isinstance(flt.value, (list, tuple)) or len(flt.value) != 2:
            raise refused(locale, "query.two_values", flt, field=flt.field)
        return [coerce_value(target, flt, v, locale) for v in flt.value]
    if isinstance(flt.value, VALUE_LISTS):
        reason = message("query.one_value", locale)
        raise refused(locale, "query.value", flt, given=shorten(flt.value), reason=reason)
    return coerce_value(target, flt, flt.value, locale)


def _target(
    tables: FormTables,
    related: Callable[[str], FormTables],
    hidden: HiddenFields,
    path: str,
    locale: object,
    cache: QueryCache | None,
) -> Target:
    """How a field path's values are coerced and checked (kept with the form's queries).

    Only a path that resolved is kept (a refusal is made again, in the caller's locale);
    the hidden fields along the path are part of the key.
    """
    secret = frozenset(hidden(tables))
    key = ("target", path, secret, _hidden_along(tables, related, hidden, path))
    found = cache.get(key) if cache is not None else None
    if found is None:
        found = _resolve(_Compiler(tables, related, {}, None, locale, hidden), path)
        if cache is not None:
            cache.put(key, found)
    return found  # type: ignore[return-value]


def _hidden_along(
    tables: FormTables, related: Callable[[str], FormTables], hidden: HiddenFields, path: str
) -> tuple[frozenset[str], ...]:
    """The hidden fields of each related form a relation path passes through."""
    out = []
    for head in path.split(".")[:-1]:
        fc = tables.fields.get(head)
        if fc is None or fc.field.type != "relation":
            break
        tables = related(fc.field.option("to"))
        out.append(frozenset(hidden(tables)))
    return tuple(out)


def _named(index: int, flt: Filter, value: Any) -> dict[str, Any]:
    """The named bind values of the ``index``-th filter (see :func:`_condition`)."""
    reading = OPERATORS[flt.op][0]
    if reading == "none" or value is None:
        return {}
    if reading == "two":
        return {f"q{index}a": value[0], f"q{index}b": value[1]}
    if reading == "text":
        return {f"q{index}": _escaped(value)}
    return {f"q{index}": value}


#: the LIKE escape character of contains / startswith / search
ESCAPE = "/"


def _escaped(text: str) -> str:
    """``text`` with LIKE's wildcards (and the escape character) taken literally."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def _condition(compiler: _Compiler, flt: Filter, index: int, value: Any) -> Any:
    """The clause of the ``index``-th filter, its value a named bind (``q0``, ``q1a``...)."""
    reading, build = _reading(flt, compiler.locale)
    target = _resolve(compiler, flt.field)
    if _rejects_missing(flt):
        steps = flt.field.split(".")
        for depth in range(1, len(steps)):
            compiler.joins[".".join(steps[:depth])].inner = True
    column = target.column
    if reading == "none":
        return build(column, target.text)
    if reading == "text":
        bind = sa.bindparam(f"q{index}", _escaped(value), type_=sa.String)
        if flt.op == "contains":
            return column.icontains(bind, escape=ESCAPE)
        return column.startswith(bind, escape=ESCAPE)
    if reading == "many":
        return build(column, sa.bindparam(f"q{index}", value, type_=column.type, expanding=True))
    if reading == "two":
        low = sa.bindparam(f"q{index}a", value[0], type_=column.type)
        high = sa.bindparam(f"q{index}b", value[1], type_=column.type)
        return build(column, [low, high])
    if value is None:  # eq/ne blank: IS NULL, no bind (a part of the query's shape)
        return build(column, None)
    return build(column, sa.bindparam(f"q{index}", value, type_=column.type))


#: operators that are false on a missing (NULL) value, whatever value they compare with
_NULL_REJECTING = frozenset({"lt", "le", "gt", "ge", "between", "contains", "startswith"})


def _rejects_missing(flt: Filter) -> bool:
    """True when ``flt`` can never hold for a record whose related row is missing."""
    if flt.op in _NULL_REJECTING or flt.op == "not_blank":
        return True
    return flt.op == "eq" and flt.value is not None and flt.value != ""


def _resolve(compiler: _Compiler, path: str) -> Target:
    """The column a field path names, adding one outer join per relation step.

    Joins are keyed by the path prefix (``supplier``, ``supplier.region``), so each step
    joins against its parent's alias and a same-named field elsewhere never collides.
    """
    tables, locale, joins = compiler.tables, compiler.locale, compiler.joins
    steps = path.split(".")
    table: Any = tables.table
    for depth, head in enumerate(steps[:-1]):
        prefix = ".".join(steps[: depth + 1])
        fc = None if head in compiler.hidden(tables) else tables.fields.get(head)
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
    if head in SYSTEM_COERCE and head not in compiler.hidden(tables):
        bounds = INT64_RANGE if head in SYSTEM_INTEGERS else None
        text = head in ("status", "title")
        return Target(table.c[head], SYSTEM_COERCE[head], text, head, bounds)
    secret = compiler.hidden(tables)
    fc = None if head in secret else tables.fields.get(head)
    if fc is None:
        known = [k for k in (*tables.fields, *SYSTEM_COERCE) if k not in secret]
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
    return Target(column, field_coercion(fc), text, head, column_bounds(spec), spec.kind == "json")


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


def _relations(tables: FormTables) -> list[str]:
    return [k for k, fc in tables.fields.items() if fc.field.type == "relation"]


def _did_you_mean(word: str, choices: Iterable[str], locale: object) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return message("query.did_you_mean", locale, word=repr(close[0])) if close else ""


def _search(tables: FormTables, hidden: frozenset[str]) -> Any:
    """Any text column (or the title) contains the search text (the ``qsearch`` bind)."""
    table = tables.table
    text = sa.bindparam("qsearch", type_=sa.String)
    # "title" is hidden when the title shows a hidden field
    columns = ([] if "title" in hidden else [table.c.title]) + [
        table.c[name]
        for fc in tables.fields.values()
        if fc.type.searchable and fc.field.key not in hidden
        for name, spec in zip(fc.names, fc.specs, strict=True)
        if spec.kind in _TEXT_KINDS
    ]
    return sa.or_(*(col.icontains(text, escape=ESCAPE) for col in columns))


def _sortable(tables: FormTables, name: str) -> bool:
    """A field stored in one column that has an order (not JSON: lists have none)."""
    fc = tables.fields.get(name)
    return fc is not None and len(fc.specs) == 1 and fc.specs[0].kind != "json"


def _order_by(
    tables: FormTables, sort: list[str] | None, locale: object, hidden: frozenset[str]
) -> list[Any]:
    return [
        column.desc() if descending else column.asc()
        for column, descending in _order_columns(tables, sort, locale, hidden)
    ]


def _after_condition(
    order: list[tuple[Any, bool]], nulls: tuple[bool, ...], nulls_low: bool
) -> Any:
    """Rows after the one whose sort values are the binds ``qk0``... (``nulls[i]``: that
    value is NULL) in the order ``order``: equal on the first i keys and past it on
    key i, for some i. NULL sorts lowest (``nulls_low``: SQLite) or highest (PostgreSQL),
    as the ORDER BY puts it, so the walk sees every row once."""
    options = []
    for index, (column, descending) in enumerate(order):
        same = [
            order[j][0].is_(None) if nulls[j] else order[j][0] == _key_bind(j, order[j][0])
            for j in range(index)
        ]
        # past the value on this key: higher in ascending order, lower in descending
        higher = not descending
        if nulls[index]:
            # past NULL: the non-NULL values when NULL is at the start of the walk
            if higher == nulls_low and column.nullable:
                beyond = column.is_not(None)
            else:
                continue  # NULL is the end of this key's walk: nothing past it
        else:
            value = _key_bind(index, column)
            beyond = column > value if higher else column < value
            if _nulls_after(column, descending, nulls_low):  # NULLs follow every value
                beyond = sa.or_(beyond, column.is_(None))
        options.append(sa.and_(*same, beyond))
    if not options:
        return sa.false()
    return sa.and_(_leading_range(order, nulls), sa.or_(*options))


def _nulls_after(column: Any, descending: bool, nulls_low: bool) -> bool:
    """Whether the NULLs of an order column come at the end of the walk."""
    return bool(column.nullable) and (not descending) != nulls_low


def _seekable(order: list[tuple[Any, bool]], after: Mapping[str, Any], nulls_low: bool) -> bool:
    """Whether the rows after ``after`` are one index range on the first order column
    (its values past the previous one, or its NULLs when they close the walk): then
    keyset paging seeks there; otherwise (the NULLs follow every value) the condition
    would be an OR that the planners scan from the start, no better than an OFFSET."""
    column, descending = order[0]
    nulls_after = _nulls_after(column, descending, nulls_low)
    return nulls_after if after.get(column.key) is None else not nulls_after


def _leading_range(order: list[tuple[Any, bool]], nulls: tuple[bool, ...]) -> Any:
    """The index range on the first order column that holds every row after the
    previous one (redundant with the exact condition; it lets the planner seek)."""
    column, descending = order[0]
    if nulls[0]:
        return column.is_(None)
    value = _key_bind(0, column)
    return column <= value if descending else column >= value


def _key_bind(index: int, column: Any) -> Any:
    return sa.bindparam(f"qk{index}", type_=column.type)


def _order_columns(
    tables: FormTables, sort: list[str] | None, locale: object, hidden: frozenset[str]
) -> list[tuple[Any, bool]]:
    """(column, descending) of the ORDER BY, ending with the ``id`` tie-breaker."""
    if sort is None:  # the form's own list sort: keys hidden from the actor are left out
        keys = [k for k in tables.form.list_sort if k.lstrip("-+") not in hidden]
    else:
        keys = sort
    table = tables.table
    order: list[Any] = []
    last_desc = True
    for key in keys:
        descending = key.startswith("-")
        name = key.lstrip("-+")
        if name in SYSTEM_COERCE and name not in hidden:
            column = table.c[name]
        elif name not in hidden and _sortable(tables, name):
            column = table.c[tables.fields[name].names[0]]
        else:
            known = [k for k in (*tables.fields, *SYSTEM_COERCE) if k not in hidden]
            # a field that exists but has no one ordered column: say why, not "did you mean"
            hint = (
                message("query.unordered", locale)
                if name in tables.fields and name not in hidden
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
        order.append((column, descending))
        last_desc = descending
    # a unique tie-breaker keeps pages stable when sort values repeat
    order.append((table.c.id, last_desc))
    return order
