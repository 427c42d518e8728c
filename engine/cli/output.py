"""Printing helpers for the command line: tables, JSON, and the failure type."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class CommandFailed(Exception):
    """A problem the person can fix; printed to stderr without a traceback."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


def to_json_text(data: Any) -> str:
    """Pretty JSON that keeps Chinese readable and Decimal/date values exact."""
    return json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def display_width(text: str) -> int:
    """Terminal columns taken by ``text``: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A plain text table whose columns line up with Chinese text too."""
    rows = [list(r) for r in rows]
    widths = [display_width(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], display_width(cell))

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c + " " * (w - display_width(c)) for c, w in zip(cells, widths, strict=True)
        )

    out = [line(headers), "  ".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    return "\n".join(s.rstrip() for s in out)


def error_lines(errors: Any, indent: str = "  ") -> str:
    """One indented line per error (a refused record, a refused file)."""
    return "\n".join(f"{indent}{e}" for e in errors)
