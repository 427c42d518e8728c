"""Located documents: plain data plus where every value came from.

A :class:`Source` is one YAML document of one file after parsing. Every check reports a
problem through :meth:`Source.fail` (like Jinja's ``fail(msg, lineno)``), so no check
formats a position by hand and every error carries file, line, column and path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import DefinitionError

PathPart = str | int
Path = tuple[PathPart, ...]

#: the YAML 1.1 words PyYAML reads as booleans besides true/false
YAML11_BOOLEAN_WORDS = frozenset({"yes", "no", "on", "off", "y", "n"})


@dataclass(frozen=True)
class NodeSpan:
    """Where one YAML node starts (1-based), the key that led to it, and how it was written."""

    line: int
    column: int
    key_line: int | None = None
    key_column: int | None = None
    style: str | None = None
    raw: str | None = None
    single_line: bool = True


def format_path(path: Path) -> str:
    """``("layout", 0, "fields", 2)`` -> ``layout[0].fields[2]``: the path shown in errors."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> Path:
    """The inverse of :func:`format_path` (used for paths reported by field types)."""
    parts: list[PathPart] = []
    for name, index in _PATH_PART.findall(text):
        parts.append(int(index) if index else name)
    return tuple(parts)


class Source:
    """One document of one definition file: its data and the span of every node in it."""

    def __init__(self, file: str, data: Any, spans: Mapping[Path, NodeSpan]):
        self.file = file
        self.data = data
        self.spans = dict(spans)

    def get(self, path: Path, default: Any = None) -> Any:
        """The value at ``path`` in the data, or ``default`` when any step is missing."""
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return default
        return value

    def span(self, path: Path) -> NodeSpan:
        """The span of the node at ``path``, or of its nearest ancestor that exists."""
        for end in range(len(path), -1, -1):
            found = self.spans.get(path[:end])
            if found is not None:
                return found
        return NodeSpan(1, 1)

    def fail(
        self,
        path: Path,
        message: str,
        hint: str | None = None,
        *,
        at_key: bool = False,
        text_column: int | None = None,
    ) -> DefinitionError:
        """A located error for the value at ``path``; the one way checks create errors.

        ``at_key`` points at the mapping key instead of its value (unknown or duplicate
        keys). ``text_column`` is a 1-based column inside a one-line scalar (an
        expression's error column), added to the scalar's own position.
        """
        span = self.span(path)
        line, column = span.line, span.column
        if at_key and span.key_line is not None and span.key_column is not None:
            line, column = span.key_line, span.key_column
        elif text_column is not None and span.single_line and span.style not in ("|", ">"):
            quote = 1 if span.style in ("'", '"') else 0
            column = span.column + quote + max(text_column, 1) - 1
        return DefinitionError(self.file, line, column, format_path(path), message, hint)

    def boolean_word(self, path: Path) -> str | None:
        """The text as written when YAML 1.1 read a word like ``NO`` or ``yes`` as a boolean."""
        if not isinstance(self.get(path), bool):
            return None
        raw = self.span(path).raw
        if raw is not None and raw.lower() in YAML11_BOOLEAN_WORDS:
            return raw
        return None


def file_error(file: str, message: str, hint: str | None = None, line: int = 1, column: int = 1):
    """An error about a whole file (missing, too large, not UTF-8): no path inside it."""
    return DefinitionError(file, line, column, "", message, hint)
