"""Values that travel between a dashboard and its callers: filter and point values
checked before they reach SQL, group keys as JSON, and a drill's conditions as the
list page's ``where`` texts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.service import arguments as check
from engine.store import reports as store

#: most values an "others" or "reached" point, or a filter, may list
MAX_LISTED = 1000
_INT64 = 2**63


def plain_value(argument: str, value: Any, locale: str) -> Any:
    """A filter or point value: blank, a whole number a column holds, or short text
    (no NUL, no lone surrogate); anything else an InvalidArgumentError naming it."""
    if value is None or isinstance(value, Decimal | date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64:
        return value
    if isinstance(value, str) and len(value) <= 200 and "\x00" not in value and _utf8(value):
        return value
    raise check.invalid(locale, argument, value, "text of at most 200 characters or a whole number")


def _utf8(text: str) -> bool:
    """Whether ``text`` can be sent to a database (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def plain_list(argument: str, value: Any, locale: str) -> list[Any]:
    """A list of at most MAX_LISTED plain values (each checked as plain_value)."""
    if not isinstance(value, list | tuple) or len(value) > MAX_LISTED:
        raise check.invalid(locale, argument, value, f"a list of at most {MAX_LISTED} values")
    return [plain_value(f"{argument}[{i}]", v, locale) for i, v in enumerate(value)]


def json_key(key: Any) -> Any:
    """A group key as JSON (exact decimals as text, dates in ISO form)."""
    if isinstance(key, Decimal):
        return format(key, "f")
    if isinstance(key, date):
        return key.isoformat()
    return key


def list_where(conditions: Sequence[store.Condition]) -> list[str] | None:
    """Conditions as the list page's ``where`` texts (FIELD OP VALUE), or None when one
    of them has no such form."""
    out: list[str] = []
    for cond in conditions:
        if cond.path.count(".") > 1 or "\n" in str(cond.value):
            return None
        if cond.op == "bucket":
            first, last = store.bucket_days(cond.bucket or "day", str(cond.value))
            out += [f"{cond.path}>={first}", f"{cond.path}<{last + timedelta(days=1)}"]
        elif cond.op == "between":
            low, high = cond.value
            out += [f"{cond.path}>={low}"] if low is not None else []
            out += [f"{cond.path}<{high + timedelta(days=1)}"] if high is not None else []
        elif cond.op == "eq" and cond.value is not None:
            out.append(f"{cond.path}={cond.value}")
        elif cond.op == "in" and len(cond.value) == 1 and cond.value[0] is not None:
            out.append(f"{cond.path}={cond.value[0]}")
        else:
            return None
    return out
