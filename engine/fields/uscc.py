"""``uscc``: the unified social credit code (统一社会信用代码) of a Chinese organisation.

18 characters from ``0-9A-HJ-NPQRTUWXY`` (no I, O, S, V, Z); characters 3-8 are the
region code (digits); the last is a check character per GB 32100-2015, computed with
python-stdnum. Each rule has its own message so a person knows what to fix.
"""

from __future__ import annotations

from typing import Any

from stdnum.cn import uscc as stdnum_uscc

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource
from engine.fields.common import fail, is_blank_input, normalize_text, plain_text

USCC_ALPHABET = frozenset("0123456789ABCDEFGHJKLMNPQRTUWXY")


def check_uscc(code: str) -> str:
    """The code trimmed and upper-cased, or a FieldValueError naming the failed rule."""
    code = "".join(normalize_text(code).split()).replace("-", "").upper()
    if len(code) != 18:
        raise fail(
            f"a unified social credit code has 18 characters ({len(code)} given)",
            f"统一社会信用代码应为 18 位（当前 {len(code)} 位）",
            "length",
        )
    bad = sorted({c for c in code if c not in USCC_ALPHABET})
    if bad:
        raise fail(
            f"{''.join(bad)} cannot appear in a unified social credit code (no I, O, S, V, Z)",
            f"含非法字符 {''.join(bad)}（统一社会信用代码不使用 I、O、S、V、Z）",
            "pattern",
        )
    if not code[2:8].isdigit():
        raise fail(
            "characters 3-8 of the code are the region code and must be digits",
            "第 3-8 位为行政区划码，应为数字",
            "pattern",
        )
    expected = stdnum_uscc.calc_check_digit(code[:17])
    if code[17] != expected:
        raise fail(
            f"the check character (the last one) does not match: expected {expected}; "
            "a character was mistyped",
            f"校验位错误：最后一位应为 {expected}，请检查是否输错",
            "checksum",
        )
    return code


class UsccType(FieldType):
    name = "uscc"

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("string", length=18, indexed=True)]

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {
            "type": "string",
            "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
        }

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        return check_uscc(plain_text(raw, source))


FIELD_TYPES: tuple[FieldType, ...] = (UsccType(),)
