"""The arguments of a record query, read and checked before anything is compiled.

``filters``, ``sort``, ``search``, ``page`` and ``page_size`` come from callers (the
service API, the CLI, later the web and REST API); this module turns them into plain
values or refuses them with a :class:`QueryError` in the caller's language, the same on
SQLite and PostgreSQL. Which fields and operators exist is judged later, against the
form (:mod:`engine.store.query`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from engine.errors import InvalidArgumentError
from engine.store.limits import (
    MAX_FILTER_TEXT,
    MAX_FILTER_VALUES,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    MAX_PATH,
    MAX_SEARCH,
    check_text,
    check_whole,
    refuse_bad_text,
    wrong,
)
from engine.store.messages import message, shorten

#: one value a filter compares with (a list of them for in / not_in / between)
SCALARS = (str, int, float, Decimal, date, datetime, time)
#: containers a filter value may be, for operators that take several values
VALUE_LISTS = (list, tuple, set, frozenset)
#: sort keys one query may have
MAX_SORT_KEYS = 20


class QueryError(InvalidArgumentError):
    """A filter, sort, search or page that cannot be run; the message says what to change."""


@dataclass(frozen=True)
class Filter:
    """One condition: ``field op value`` (``value`` unused by ``blank``/``not_blank``)."""

    field: str
    op: str
    value: Any = None


def read_page(page: object, page_size: object, locale: object) -> tuple[int, int]:
    """``page`` (1..MAX_PAGE) and ``page_size`` (1..MAX_PAGE_SIZE) as ints, or refused."""
    return (
        check_whole("page", page, 1, MAX_PAGE, locale),
        check_whole("page_size", page_size, 1, MAX_PAGE_SIZE, locale),
    )


def read_search(search: object, locale: object) -> str | None:
    """The search text without surrounding blanks (None when there is none)."""
    if search is None:
        return None
    text = check_text("search", search, MAX_SEARCH, locale, expected="expect.search")
    return text.strip() or None


def read_sort(sort: object, locale: object) -> list[str] | None:
    """Sort keys (``name``, ``-total``) from text (comma-separated) or a list; None: default."""
    if sort is None:
        return None
    if isinstance(sort, str):
        refuse_bad_text("sort", sort, MAX_PATH * MAX_SORT_KEYS, locale, error=QueryError)
        return [k.strip() for k in sort.split(",") if k.strip()]
    if not isinstance(sort, Sequence) or len(sort) > MAX_SORT_KEYS:
        raise wrong("sort", sort, locale, "expect.sort", error=QueryError)
    keys = []
    for index, key in enumerate(sort):
        argument = f"sort[{index}]"
        keys.append(
            check_text(argument, key, MAX_PATH, locale, expected="expect.sort", error=QueryError)
        )
    return keys


def read_filters(filters: object, locale: object) -> list[Filter]:
    """Each filter as a :class:`Filter` with a text field path, a text operator and a value
    the database can compare with (text checked for NUL, surrogates and length).
    ``None`` is no filters."""
    if filters is None:
        return []
    if isinstance(filters, (str, bytes, Mapping, Filter)) or not isinstance(filters, Iterable):
        raise wrong("filters", filters, locale, "expect.filters", error=QueryError)
    return [_read_filter(f"filters[{i}]", item, locale) for i, item in enumerate(filters)]


def _read_filter(argument: str, item: object, locale: object) -> Filter:
    if isinstance(item, Filter):
        flt = item
    elif isinstance(item, Mapping):
        keys = set(item)
        if not {"field", "op"} <= keys or not keys <= {"field", "op", "value"}:
            shown = ", ".join(sorted(shorten(k) for k in keys)) or "-"
            raise QueryError(
                message("query.filter_keys", locale, argument=argument, keys=shown),
                argument=argument,
                given=shorten(item),
                code="filter_shape",
            )
        flt = Filter(item["field"], item["op"], item.get("value"))
    elif isinstance(item, Sequence) and not isinstance(item, (str, bytes)) and len(item) in (2, 3):
        flt = Filter(*item)
    else:
        given = shorten(item)
        raise QueryError(
            message("query.filter_shape", locale, argument=argument, given=given),
            argument=argument,
            given=given,
            code="filter_shape",
        )
    check_text(f"{argument}.field", flt.field, MAX_PATH, locale, error=QueryError)
    check_text(f"{argument}.op", flt.op, MAX_PATH, locale, error=QueryError)
    _check_value(f"{argument}.value", flt, locale)
    return flt


def _check_value(argument: str, flt: Filter, locale: object) -> None:
    """A value is one scalar, or a flat list of scalars; its text is storable text."""
    value = flt.value
    if isinstance(value, VALUE_LISTS):
        if len(value) > MAX_FILTER_VALUES:
            raise QueryError(
                message(
                    "query.too_many_values",
                    locale,
                    field=flt.field,
                    op=flt.op,
                    limit=MAX_FILTER_VALUES,
                    count=len(value),
                ),
                argument=argument,
                given=shorten(value),
                code="too_many_values",
            )
        for index, item in enumerate(value):
            _check_scalar(f"{argument}[{index}]", flt, item, locale)
    else:
        _check_scalar(argument, flt, value, locale)


def _check_scalar(argument: str, flt: Filter, value: object, locale: object) -> None:
    if value is None:
        return
    if not isinstance(value, SCALARS):
        given = shorten(value)
        reason = message("expect.filter_value", locale)
        raise QueryError(
            message("query.value", locale, field=flt.field, op=flt.op, given=given, reason=reason),
            argument=argument,
            given=given,
            code="type",
        )
    if isinstance(value, str):
        refuse_bad_text(argument, value, MAX_FILTER_TEXT, locale, error=QueryError)
