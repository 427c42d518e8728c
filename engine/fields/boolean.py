"""Yes/no: ``boolean``. Reads the many ways a person or a spreadsheet writes it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource
from engine.fields.common import fail, is_blank_input, normalize_text

#: text -> value; "on" is what a browser sends for a ticked checkbox
BOOLEAN_WORDS: dict[str, bool] = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "on", "是", "对", "真", "√", "✓"), True),
    **dict.fromkeys(("false", "f", "no", "n", "0", "off", "否", "错", "假", "×", "✗"), False),
}


class BooleanType(FieldType):
    name = "boolean"

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("boolean")]

    def from_storage(self, field: FieldDefinition, row: Any) -> bool | None:
        stored = row.get(field.key)
        return None if stored is None else bool(stored)

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {"type": "boolean"}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if isinstance(raw, bool):
            return raw
        if is_blank_input(raw):
            return None
        if isinstance(raw, Decimal) and not raw.is_finite():
            pass  # NaN would signal in the comparison below; refused as any other word
        elif isinstance(raw, (int, float, Decimal)) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            word = normalize_text(raw).lower()
            if word in BOOLEAN_WORDS:
                return BOOLEAN_WORDS[word]
        raise fail(
            f"expected yes or no (true/false, 是/否), got {raw!r}",
            f"应为是或否（true/false、是/否），收到 {raw!r}",
        )

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        if value is None:
            return ""
        if locale.startswith("en"):
            return "Yes" if value else "No"
        return "是" if value else "否"


FIELD_TYPES: tuple[FieldType, ...] = (BooleanType(),)
