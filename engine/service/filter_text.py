"""Filters written as text, ``FIELD OPERATOR VALUE`` (``total>=100``, ``name^=杭州``): the
one reading the command line (``lowcode records list --where``) and the REST API
(``?where=``) share."""

from __future__ import annotations

import re

#: longest operators first, so '>=' is not read as '>' followed by '=...'
FILTER_OPERATORS = (
    (">=", "ge"),
    ("<=", "le"),
    ("!=", "ne"),
    ("^=", "startswith"),
    ("=", "eq"),
    (">", "gt"),
    ("<", "lt"),
    ("~", "contains"),
)
#: the operators as people write them, for messages
FILTER_SYNTAX = "= != > >= < <= ~ ^="
_FIELD = re.compile(r"^\s*([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s*")


def read_filter(text: str) -> tuple[str, str, str] | None:
    """``'total>=100'`` -> ``('total', 'ge', '100')``; None when it cannot be read."""
    match = _FIELD.match(text)
    if match:
        rest = text[match.end() :]
        for symbol, op in FILTER_OPERATORS:
            if rest.startswith(symbol):
                return match.group(1), op, rest[len(symbol) :].strip()
    return None
