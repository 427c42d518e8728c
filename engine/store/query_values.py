"""How a filter value becomes a bound parameter that fits its column.

Values are coerced through the field type (``"2026-01-05"`` for a date, ``"12.5"`` for
money) or, for the system columns, strictly (``id`` takes whole numbers only), and then
must fit the column: a number beyond BIGINT or the decimal's precision, or a time that
cannot be stored as UTC, is a :class:`QueryError` naming the range, never a driver
error. A field type's refusal is shown with ``FieldValueError.in_locale``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from engine.fields.base import ColumnSpec, FieldValueError
from engine.store.form_tables import FieldColumns
from engine.store.limits import INT64_RANGE, MAX_FILTER_TEXT, refuse_bad_text
from engine.store.messages import message, shorten
from engine.store.query_input import Filter, QueryError
from engine.store.types import DEFAULT_TZ


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
SYSTEM_INTEGERS = frozenset({"id", "version"})


@dataclass(frozen=True)
class Target:
    """A resolved filter or sort target: the column, its value coercion, text or not,
    and for a number column the lowest and highest value it holds."""

    column: Any
    coerce: Callable[[Any], Any]
    text: bool
    label: str
    bounds: tuple[Any, Any] | None = None
    #: stored as JSON (a multiselect, files): no order and no equality on PostgreSQL
    json: bool = False


def refused(locale: object, code: str, flt: Filter, **params: Any) -> QueryError:
    """The QueryError of catalogue entry ``code`` about ``flt`` (its field and op filled in)."""
    params.setdefault("field", flt.field)
    params.setdefault("op", flt.op)
    return QueryError(
        message(code, locale, **params),
        argument="filters",
        given=shorten(flt.value),
        code=code.removeprefix("query."),
    )


def search_text(flt: Filter, locale: object) -> str:
    """The text a contains / startswith filter looks for (a number is looked for as text)."""
    value = flt.value
    if value is None or value == "":
        raise refused(locale, "query.text_needed", flt)
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal, float)):
        raise refused(locale, "query.text_type", flt, given=shorten(value))
    try:
        text = str(value)
    except ValueError:  # an int too long to print as text
        raise refused(locale, "query.text_type", flt, given=shorten(value)) from None
    refuse_bad_text("filters", text, MAX_FILTER_TEXT, locale, error=QueryError)
    return text


def coerce_value(target: Target, flt: Filter, raw: Any, locale: object) -> Any:
    """``raw`` as the column stores it, or a QueryError saying why it cannot be compared."""
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
        raise refused(locale, "query.value", flt, given=given, reason=reason)
    if not _fits(target.bounds, value):
        low, high = DATETIME_RANGE if isinstance(value, datetime) else target.bounds or ("", "")
        raise refused(locale, "query.out_of_range", flt, given=given, low=low, high=high)
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
    if isinstance(value, Decimal) and not value.is_finite():
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return bounds is None or bounds[0] <= value <= bounds[1]


def column_bounds(spec: ColumnSpec) -> tuple[Any, Any] | None:
    """The lowest and highest value a number column holds (None: not a number column)."""
    if spec.kind == "integer":
        return INT64_RANGE
    if spec.kind == "decimal":
        # the same defaults as engine/store/types.py gives the column
        precision, scale = spec.precision or 20, spec.scale if spec.scale is not None else 2
        high = Decimal(10) ** (precision - scale) - Decimal(10) ** -scale
        return -high, high
    return None


def field_coercion(fc: FieldColumns) -> Callable[[Any], Any]:
    """Coerce a filter value through the field type into its one storage column's value."""
    column = fc.names[0]

    def coerce(raw: Any) -> Any:
        value = fc.type.coerce(fc.field, raw, "json")
        return fc.type.to_storage(fc.field, value).get(column)

    return coerce
