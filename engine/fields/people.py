"""People and organisation: ``user``, ``department``, ``region`` and ``dealer`` hold codes.

A user field holds a login, the others the organisation's code of a department, region
or dealer. With ``many: true`` the value is a list of codes (a JSON column). The service
checks written codes against the organisation and shows names (engine/service/
org_values.py); this type only keeps the codes well-formed.
"""

from __future__ import annotations

import re
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource
from engine.fields.common import fail, is_blank_input, plain_text

ID_LENGTH = 64
_SPLIT = re.compile(r"\s*[,，;；、\n]\s*")


def coerce_id_list(raw: Any, source: InputSource, read_one: Any) -> list[Any] | None:
    """A list of ids from a list, or from text listing several ("a, b") on web/Excel input."""
    if isinstance(raw, str):
        items: list[Any] = [raw] if source == "json" else _SPLIT.split(raw.strip())
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        items = [raw]
    values: list[Any] = []
    for item in items:
        if is_blank_input(item):
            continue
        value = read_one(item, source)
        if value not in values:
            values.append(value)
    return values or None


class OrgReferenceType(FieldType):
    """A reference to a user or department by id."""

    option_properties = {"many": {"type": "boolean", "default": False}}
    what: tuple[str, str] = ("an id", "编号")

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        if field.option("many"):
            return [ColumnSpec("json")]
        return [ColumnSpec("string", length=ID_LENGTH, indexed=True)]

    def from_storage(self, field: FieldDefinition, row: Any) -> Any:
        stored = row.get(field.key)
        if field.option("many"):
            return list(stored) if stored else None
        return stored

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        one = {"type": "string", "maxLength": ID_LENGTH}
        return {"type": "array", "items": one, "uniqueItems": True} if field.option("many") else one

    def read_one(self, raw: Any, source: InputSource) -> str:
        """One id, as text."""
        if isinstance(raw, (list, tuple, dict)):
            raise fail(f"expected {self.what[0]}", f"应为{self.what[1]}")
        text = plain_text(raw, source)
        if len(text) > ID_LENGTH:
            raise fail(
                f"{self.what[0]} has at most {ID_LENGTH} characters",
                f"{self.what[1]}最多 {ID_LENGTH} 个字符",
                "max_length",
            )
        return text

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        if field.option("many"):
            return coerce_id_list(raw, source, self.read_one)
        return self.read_one(raw, source)

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return list(value) if isinstance(value, list) else value

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        if not value:
            return ""
        return ", ".join(value) if isinstance(value, list) else str(value)


class UserType(OrgReferenceType):
    name = "user"
    what = ("a user id", "用户编号")


class DepartmentType(OrgReferenceType):
    name = "department"
    what = ("a department id", "部门编号")


class RegionType(OrgReferenceType):
    name = "region"
    what = ("a region code", "区域编码")


class DealerType(OrgReferenceType):
    name = "dealer"
    what = ("a dealer code", "经销商编码")


FIELD_TYPES: tuple[FieldType, ...] = (UserType(), DepartmentType(), RegionType(), DealerType())
