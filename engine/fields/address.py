"""``address``: province, city, district and street detail, one column each.

Separate columns let a report group by province or city with plain SQL. Text input
("浙江省 杭州市 西湖区 文三路 1 号") is split on whitespace: the first three parts are
province, city and district, the rest is the detail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource
from engine.fields.common import check_text, fail, is_blank_input, shown

PARTS = ("province", "city", "district", "detail")
PART_LENGTH = {"province": 32, "city": 32, "district": 32, "detail": 255}


def _trimmed(value: Any, part: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(f"address {part}: expected text", f"地址{part}：应为文本")
    text = " ".join(check_text(value).split())
    if len(text) > PART_LENGTH[part]:
        raise fail(
            f"address {part}: at most {PART_LENGTH[part]} characters",
            f"地址{part}：最多 {PART_LENGTH[part]} 个字符",
            "max_length",
        )
    return text or None


class AddressType(FieldType):
    name = "address"

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [
            ColumnSpec("string", suffix=part, length=PART_LENGTH[part], indexed=part != "detail")
            for part in PARTS
        ]

    def to_storage(self, field: FieldDefinition, value: Any) -> dict[str, Any]:
        return {f"{field.key}__{part}": (value or {}).get(part) for part in PARTS}

    def from_storage(self, field: FieldDefinition, row: Mapping[str, Any]) -> Any:
        value = {part: row.get(f"{field.key}__{part}") for part in PARTS}
        return None if all(v is None for v in value.values()) else value

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                part: {"type": ["string", "null"], "maxLength": PART_LENGTH[part]} for part in PARTS
            },
            "additionalProperties": False,
        }

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        if isinstance(raw, str):
            words = check_text(raw).split()  # str.split also splits on the full-width space
            raw = dict(zip(PARTS[:3], words[:3], strict=False))
            if len(words) > 3:
                raw["detail"] = " ".join(words[3:])
        if not isinstance(raw, Mapping):
            raise fail(
                "expected an address: {province, city, district, detail} or text",
                "应为地址：{province, city, district, detail} 或文本",
            )
        unknown = sorted(map(shown, set(raw) - set(PARTS)))
        if unknown:
            raise fail(
                f"unknown address part {', '.join(unknown)}: use province, city, district, detail",
                f"未知的地址部分 {', '.join(unknown)}：可用 province、city、district、detail",
            )
        value = {part: _trimmed(raw.get(part), part) for part in PARTS}
        return None if all(v is None for v in value.values()) else value

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return None if value is None else {part: value.get(part) for part in PARTS}

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        return "" if not value else " ".join(value[p] for p in PARTS if value.get(p))


FIELD_TYPES: tuple[FieldType, ...] = (AddressType(),)
