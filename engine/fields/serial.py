"""Serial numbers (``serial``): ``PR-{YYYYMMDD}-{0000}``, ``DL-{region}-{0000}``.

A pattern is literal text around tokens: date tokens (``{YYYY} {YY} {MM} {DD}
{YYYYMMDD} {YYYYMM} {YYMMDD}``, lower case accepted), exactly one sequence token
(``{0000}``: width = number of zeros, or ``{seq:6}``) and field tokens (``{region}``)
that insert a field's value. The store keeps one counter per *period key*: the reset
period plus the values of the field tokens, so each region counts on its own.

``reset`` may be coarser than the date the pattern shows (a running number next to the
day is still unique) but not finer: ``reset: day`` on ``PR-{YYYYMM}-{0000}`` would give
``PR-202601-0001`` every day of January, so it is reported at load time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource, OptionProblem
from engine.fields.common import fail, is_blank_input, plain_text

SERIAL_LENGTH = 64
MAX_SEQUENCE_WIDTH = 12
RESETS = ("never", "year", "month", "day")
_RANK = {name: rank for rank, name in enumerate(RESETS)}
#: token -> (strftime format, the units it shows)
DATE_TOKENS: dict[str, tuple[str, frozenset[str]]] = {
    "YYYY": ("%Y", frozenset({"year"})),
    "YY": ("%y", frozenset({"year"})),
    "MM": ("%m", frozenset({"month"})),
    "DD": ("%d", frozenset({"day"})),
    "YYYYMMDD": ("%Y%m%d", frozenset({"year", "month", "day"})),
    "YYYYMM": ("%Y%m", frozenset({"year", "month"})),
    "YYMMDD": ("%y%m%d", frozenset({"year", "month", "day"})),
}
_FIELD_KEY = re.compile(r"[a-z][a-z0-9_]*")
_SEQ = re.compile(r"seq:(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class SerialPart:
    """One piece of a pattern: ``kind`` is literal, date, sequence or field."""

    kind: str
    value: str
    width: int = 0


@dataclass(frozen=True)
class SerialPattern:
    """A parsed pattern; render numbers with :meth:`render`, bucket counters with :meth:`period_key`."""

    text: str
    parts: tuple[SerialPart, ...]

    @property
    def field_refs(self) -> tuple[str, ...]:
        """Field keys the pattern inserts, in order of appearance."""
        return tuple(dict.fromkeys(p.value for p in self.parts if p.kind == "field"))

    @property
    def sequence_width(self) -> int:
        return next(p.width for p in self.parts if p.kind == "sequence")

    @property
    def date_grain(self) -> str:
        """The finest period the shown date identifies: never, year, month or day.

        ``{MM}`` without a year identifies no period (January repeats every year).
        """
        shown: set[str] = set()
        for part in self.parts:
            if part.kind == "date":
                shown |= DATE_TOKENS[part.value][1]
        grain = "never"
        for unit in ("year", "month", "day"):
            if unit not in shown:
                break
            grain = unit
        return grain

    def render(self, when: date, seq: int, values: Mapping[str, Any]) -> str:
        """The serial number for sequence value ``seq`` on day ``when``."""
        out = []
        for part in self.parts:
            if part.kind == "literal":
                out.append(part.value)
            elif part.kind == "date":
                out.append(when.strftime(DATE_TOKENS[part.value][0]))
            elif part.kind == "sequence":
                out.append(str(seq).zfill(part.width))
            else:
                value = values.get(part.value)
                out.append("" if value is None else str(value))
        return "".join(out)

    def period_key(self, when: date, reset: str, values: Mapping[str, Any]) -> str:
        """The counter bucket: ``2026-01`` for a monthly reset, ``2026-01|region=east``
        with a field token, ``all`` when nothing splits the count."""
        formats = {"never": "", "year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d"}
        if reset not in formats:
            raise ValueError(f"unknown reset {reset!r}: use one of {', '.join(RESETS)}")
        pieces = [when.strftime(formats[reset])] if formats[reset] else []
        for key in self.field_refs:
            value = values.get(key)
            pieces.append(f"{key}={'' if value is None else value}")
        return "|".join(pieces) or "all"


def _token(content: str, position: int) -> SerialPart:
    upper = content.upper()
    if upper in DATE_TOKENS:
        return SerialPart("date", upper)
    if content and set(content) == {"0"}:
        return SerialPart("sequence", "", len(content))
    if match := _SEQ.fullmatch(content):
        width = int(match.group(1))
        if not 1 <= width <= MAX_SEQUENCE_WIDTH:
            raise ValueError(f"{{{content}}}: the width must be 1 to {MAX_SEQUENCE_WIDTH}")
        return SerialPart("sequence", "", width)
    if _FIELD_KEY.fullmatch(content):
        return SerialPart("field", content)
    raise ValueError(
        f"unknown token {{{content}}} at position {position + 1}: use a date ({{YYYY}}, "
        "{MM}, {DD}, {YYYYMMDD}...), a sequence ({0000} or {seq:4}) or a field key ({region})"
    )


def parse_serial_pattern(text: str) -> SerialPattern:
    """Parse a serial pattern; ValueError names the token that is wrong."""
    if not isinstance(text, str) or not text:
        raise ValueError("a serial pattern is text such as PR-{YYYYMMDD}-{0000}")
    return _parse_pattern_text(text)


# cached: every new record of a numbered form asks for its pattern, and the result is
# frozen (a failed parse raises and is not cached)
@functools.lru_cache(maxsize=256)
def _parse_pattern_text(text: str) -> SerialPattern:
    parts: list[SerialPart] = []
    literal: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "}":
            raise ValueError(f"unmatched }} at position {index + 1} of {text!r}")
        if char != "{":
            literal.append(char)
            index += 1
            continue
        end = text.find("}", index)
        nested = text.find("{", index + 1)
        if end < 0 or (0 <= nested < end):
            raise ValueError(f"unclosed {{ at position {index + 1} of {text!r}")
        if literal:
            parts.append(SerialPart("literal", "".join(literal)))
            literal = []
        parts.append(_token(text[index + 1 : end], index))
        index = end + 1
    if literal:
        parts.append(SerialPart("literal", "".join(literal)))
    sequences = sum(1 for p in parts if p.kind == "sequence")
    if sequences != 1:
        found = "none" if not sequences else f"{sequences}"
        raise ValueError(
            f"a serial pattern needs exactly one sequence token such as {{0000}}; found {found}"
        )
    return SerialPattern(text, tuple(parts))


class SerialType(FieldType):
    name = "serial"
    option_properties = {
        "pattern": {"type": "string"},
        "reset": {"enum": list(RESETS), "default": "never"},
        "start": {"type": "integer", "minimum": 0, "default": 1},
        # an import (source excel/import) may keep the numbers records already had
        "keep_imported": {"type": "boolean", "default": False},
    }
    required_options = ("pattern",)

    def pattern(self, field: FieldDefinition) -> SerialPattern:
        """The field's parsed pattern (checked at load time)."""
        return parse_serial_pattern(field.option("pattern"))

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        try:
            pattern = self.pattern(field)
        except ValueError as exc:
            return [OptionProblem("pattern", str(exc))]
        reset = field.option("reset", "never")
        if reset in _RANK and _RANK[reset] > _RANK[pattern.date_grain]:
            token = {"year": "{YYYY}", "month": "{YYYYMM}", "day": "{YYYYMMDD}"}[reset]
            return [
                OptionProblem(
                    "reset",
                    f"reset: {reset} restarts the count but the pattern does not show the {reset}, "
                    "so numbers would repeat",
                    f"add {token} to the pattern or choose a coarser reset",
                )
            ]
        return []

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("string", length=SERIAL_LENGTH, indexed=True)]

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {"type": "string", "maxLength": SERIAL_LENGTH, "readOnly": True}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        # Numbers are issued by the store; the runtime refuses a client's number except
        # a legacy one in an import to a field with keep_imported (runtime/forms/intake).
        if is_blank_input(raw):
            return None
        text = plain_text(raw, source)
        if len(text) > SERIAL_LENGTH:
            raise fail(
                f"at most {SERIAL_LENGTH} characters", f"最多 {SERIAL_LENGTH} 个字符", "max_length"
            )
        return text


FIELD_TYPES: tuple[FieldType, ...] = (SerialType(),)
