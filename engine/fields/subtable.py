"""``subtable``: rows of child fields (order lines, expense items), kept in a child table.

The value is a list of row dicts keyed by the child field keys (a row may carry its
``id`` when it already exists). The store writes the rows to
``f_<app>_<form>__<subtable>``, so this type declares no column of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, FieldValueError, InputSource, OptionProblem
from engine.fields.common import bilingual, fail, is_blank_input, shown
from engine.fields.relation import read_record_id


class RowValueError(FieldValueError):
    """A cell of a sub-table row that does not fit: ``row`` counts from 1, ``column`` is a key."""

    def __init__(
        self,
        message: str,
        code: str,
        row: int,
        column: str | None,
        translations: Mapping[str, str] | None = None,
    ):
        super().__init__(message, code, translations)
        self.row = row
        self.column = column


def _row_error(index: int, column: str | None, code: str, en: str, zh: str) -> RowValueError:
    """A row-level error in both languages (``zh`` is prefixed with the row number)."""
    zh = f"第 {index + 1} {zh}"
    return RowValueError(bilingual(en, zh), code, index + 1, column, {"en": en, "zh-CN": zh})


def _in_row(index: int, translations: Mapping[str, str]) -> dict[str, str]:
    """A cell's message per language, prefixed with its 1-based row number."""
    return {
        loc: f"第 {index + 1} 行：{text}" if loc == "zh-CN" else f"Row {index + 1}: {text}"
        for loc, text in translations.items()
    }


def _child_type(child: FieldDefinition) -> FieldType:
    from engine.fields.registry import get  # the registry imports this module

    return get(child.type)


#: rows a sub-table takes when its definition sets no max_rows: a bound on the work and
#: storage one submission can cause (a form may raise it up to MAX_ROWS_LIMIT)
DEFAULT_MAX_ROWS = 1000
MAX_ROWS_LIMIT = 10_000


def max_rows(field: FieldDefinition) -> int:
    """The most rows the sub-table accepts (its ``max_rows``, else DEFAULT_MAX_ROWS)."""
    return field.option("max_rows") or DEFAULT_MAX_ROWS


class SubtableType(FieldType):
    name = "subtable"
    option_properties = {
        "min_rows": {"type": "integer", "minimum": 0, "maximum": MAX_ROWS_LIMIT},
        "max_rows": {"type": "integer", "minimum": 1, "maximum": MAX_ROWS_LIMIT},
    }
    stored_inline = False

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        problems = []
        low, high = field.option("min_rows"), field.option("max_rows")
        if low is not None and high is not None and low > high:
            problems.append(
                OptionProblem("min_rows", f"min_rows ({low}) exceeds max_rows ({high})")
            )
        for child in field.fields:
            if child.type == "subtable":
                problems.append(
                    OptionProblem(f"fields.{child.key}", "a sub-table cannot contain a sub-table")
                )
        return problems

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return []

    def to_storage(self, field: FieldDefinition, value: Any) -> dict[str, Any]:
        return {}

    def from_storage(self, field: FieldDefinition, row: Mapping[str, Any]) -> Any:
        # Rows live in the child table; the store loads them and builds the list itself.
        return None

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        properties: dict[str, Any] = {"id": {"type": "integer"}}
        for child in field.fields:
            properties[child.key] = _child_type(child).value_schema(child)
        schema: dict[str, Any] = {
            "type": "array",
            "items": {"type": "object", "properties": properties, "additionalProperties": False},
        }
        if field.option("min_rows") is not None:
            schema["minItems"] = field.option("min_rows")
        schema["maxItems"] = max_rows(field)
        return schema

    def check_row_count(self, field: FieldDefinition, count: int) -> None:
        """Raise ``rows_count`` when there are fewer than min_rows or more than max_rows."""
        low, high = field.option("min_rows"), max_rows(field)
        if low is not None and count < low:
            raise fail(f"add at least {low} rows", f"至少填写 {low} 行", "rows_count")
        if count > high:
            raise fail(f"at most {high} rows", f"最多 {high} 行", "rows_count")

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        """Each cell coerced by its child type; the first bad cell raises RowValueError."""
        rows = [] if raw is None else raw
        if not isinstance(rows, (list, tuple)):
            raise fail("expected a list of rows", "应为行的列表")
        children = {child.key: child for child in field.fields}
        out = []
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise _row_error(
                    index, None, "type", f"row {index + 1}: expected an object", "行应为对象"
                )
            unknown = sorted(set(row) - set(children) - {"id"}, key=str)
            if unknown:
                listed = ", ".join(map(shown, unknown))
                raise _row_error(
                    index,
                    shown(unknown[0]),
                    "unknown_field",
                    f"row {index + 1}: unknown column {listed}",
                    f"行：未知的列 {listed}",
                )
            out.append(self._coerce_row(children, row, index, source))
        self.check_row_count(field, len(out))
        return out

    def _coerce_row(
        self,
        children: Mapping[str, FieldDefinition],
        row: Mapping[str, Any],
        index: int,
        source: InputSource,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if row.get("id") is not None:
            try:  # an existing row's id: the store matches it against the child table
                values["id"] = read_record_id(row["id"], source)
            except FieldValueError as exc:
                raise RowValueError(
                    f"row {index + 1}, id: {exc.message}",
                    exc.code,
                    index + 1,
                    "id",
                    _in_row(index, exc.translations),
                ) from exc
        for key, child in children.items():
            try:
                values[key] = _child_type(child).coerce(child, row.get(key), source)
            except FieldValueError as exc:
                raise RowValueError(
                    f"row {index + 1}, {key}: {exc.message}",
                    exc.code,
                    index + 1,
                    key,
                    _in_row(index, exc.translations),
                ) from exc
        return values

    def is_blank(self, value: Any) -> bool:
        return not value or all(
            all(is_blank_input(v) for k, v in row.items() if k != "id") for row in value
        )

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        if value is None:
            return []
        children = {child.key: child for child in field.fields}
        return [
            {
                key: (
                    _child_type(children[key]).to_json(children[key], v) if key in children else v
                )
                for key, v in row.items()
            }
            for row in value
        ]

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        count = len(value or [])
        return f"{count} rows" if locale.startswith("en") else f"{count} 行"


FIELD_TYPES: tuple[FieldType, ...] = (SubtableType(),)
