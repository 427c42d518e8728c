"""From formula text to a Python syntax tree, within the size limits.

Python's own parser reads the text (the language is Python-like on purpose), but only
after the length check, and with its failures (syntax errors, "too many nested
parentheses", RecursionError on deeply nested input) turned into located
:class:`ExpressionError` values. Positions are 1-based character columns in the
original text, so a loader can add them to the YAML position of the string.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from engine.errors import ExpressionError
from engine.expressions.limits import MAX_NODES, MAX_SOURCE_LENGTH

_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


@dataclass(frozen=True)
class SourceMap:
    """Turns parser positions (line, UTF-8 byte offset) into character columns."""

    source: str
    lead: int  # characters of leading whitespace removed before parsing
    line_starts: tuple[int, ...]  # character offset of each line of the parsed text
    lines: tuple[str, ...]

    @classmethod
    def of(cls, source: str) -> tuple[SourceMap, str]:
        text = source.strip()
        lead = len(source) - len(source.lstrip())
        # Python's tokenizer ends lines at \r\n, \r or \n (not at the other characters
        # str.splitlines knows), so positions must be counted the same way.
        pieces = _LINE_BREAK.split(text)
        lines, starts, offset = pieces[0::2], [], 0
        breaks = pieces[1::2] + [""]
        for line, brk in zip(lines, breaks, strict=True):
            starts.append(offset)
            offset += len(line) + len(brk)
        return cls(source, lead, tuple(starts), tuple(lines)), text

    @property
    def lines_text(self) -> str:
        """The text the parser read (the source without surrounding whitespace)."""
        return "\n".join(self.lines)

    def column(self, lineno: int, byte_offset: int) -> int:
        """1-based character column in the original source of a parser position."""
        line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        chars = len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
        return self.lead + self.line_starts[max(lineno - 1, 0)] + chars + 1

    def node_column(self, node: ast.AST) -> int:
        return self.column(getattr(node, "lineno", 1), getattr(node, "col_offset", 0))


def fail(message: str, column: int | None = None, hint: str | None = None) -> ExpressionError:
    """The one way checks build a located error (callers ``raise fail(...)``)."""
    return ExpressionError(message, column=column, hint=hint)


def parse(source: str) -> tuple[ast.expr, SourceMap]:
    """Parse formula text into a Python expression tree, enforcing the size limits."""
    if not isinstance(source, str):
        raise fail(f"a formula must be text, got {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise fail(
            f"the formula is {len(source):,} characters long; the limit is {MAX_SOURCE_LENGTH:,}",
            column=MAX_SOURCE_LENGTH + 1,
            hint="split it into several computed fields",
        )
    source_map, text = SourceMap.of(source)
    if not text:
        raise fail(
            "the formula is empty", column=1, hint='write an expression such as "qty * price"'
        )
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        column = None
        if error.lineno is not None and error.offset is not None:
            line = (
                source_map.lines[error.lineno - 1] if error.lineno <= len(source_map.lines) else ""
            )
            char_offset = min(max(error.offset - 1, 0), len(line))
            column = source_map.lead + source_map.line_starts[error.lineno - 1] + char_offset + 1
        raise fail(f"syntax error: {error.msg}", column=column, hint=_syntax_hint(text)) from None
    except (RecursionError, MemoryError, ValueError) as error:
        raise fail(
            "the formula is nested too deeply or is too complex to read",
            column=1,
            hint="split it into several computed fields",
        ) from error
    count = sum(1 for node in ast.walk(tree) if isinstance(node, ast.expr))
    if count > MAX_NODES:
        raise fail(
            f"the formula has {count} parts; the limit is {MAX_NODES}",
            column=1,
            hint="split it into several computed fields",
        )
    return tree.body, source_map


def _syntax_hint(text: str) -> str | None:
    if "=" in text.replace("==", "").replace("!=", "").replace("<=", "").replace(">=", ""):
        return "compare with == (a single = is not allowed)"
    if "&&" in text or "||" in text:
        return "write and / or instead of && / ||"
    return None
