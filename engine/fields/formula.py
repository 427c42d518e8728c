"""``formula``: a value computed from other fields by an expression (``expr``).

The ``result`` type (number, money, percent, text, date, datetime, boolean) decides the
column, JSON and display, by delegating to that field type. :func:`result_value` turns
whatever the expression produced into the stored value, rounding half up to the
result's places (money 0.01), so a formula never fails on extra decimals the way typed
input does. The expression itself is compiled and checked by the definitions loader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from engine.definitions.model import FieldDefinition, frozen_mapping
from engine.fields.base import ColumnSpec, FieldType, InputSource, OptionProblem
from engine.fields.boolean import BooleanType
from engine.fields.common import fail, round_half_up
from engine.fields.numeric import DecimalFieldType, MoneyType, NumberType, PercentType
from engine.fields.temporal import DatetimeType, DateType
from engine.fields.text import TextareaType

RESULT_TYPES: dict[str, FieldType] = {
    "number": NumberType(),
    "money": MoneyType(),
    "percent": PercentType(),
    "text": TextareaType(),
    "date": DateType(),
    "datetime": DatetimeType(),
    "boolean": BooleanType(),
}
#: decimal places when ``precision`` is not given: a computed number is rarely whole
DEFAULT_PRECISION = {"number": 2, "percent": 4}


#: id(formula field) -> (formula field, result field). Definitions are frozen but not
#: hashable (they hold mappings), so they are keyed by identity; holding the field keeps
#: its id from being reused. Every record write reads each formula's result field several
#: times (coerce, storage, JSON), and rebuilding it with dataclasses.replace was a
#: measurable share of a write.
_RESULT_FIELDS: dict[int, tuple[FieldDefinition, FieldDefinition]] = {}
_RESULT_FIELDS_MAX = 4096


def result_field(field: FieldDefinition) -> FieldDefinition:
    """The formula field seen as a plain field of its result type (same key)."""
    cached = _RESULT_FIELDS.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    target = _build_result_field(field)
    if len(_RESULT_FIELDS) >= _RESULT_FIELDS_MAX:
        _RESULT_FIELDS.clear()  # many short-lived definitions (tools, tests): start over
    _RESULT_FIELDS[id(field)] = (field, target)
    return target


def _build_result_field(field: FieldDefinition) -> FieldDefinition:
    result = field.option("result", "number")
    options: dict[str, Any] = {}
    if result in DEFAULT_PRECISION:
        options["precision"] = field.option("precision", DEFAULT_PRECISION[result])
    elif result == "money" and field.option("currency"):
        options["currency"] = field.option("currency")
    return replace(field, type=result, options=frozen_mapping(options))


def _result_type(field: FieldDefinition) -> FieldType:
    return RESULT_TYPES[field.option("result", "number")]


def result_value(field: FieldDefinition, value: Any, source: InputSource = "json") -> Any:
    """The stored value for a computed ``value``: numbers rounded ROUND_HALF_UP to the
    result's places, dates and text converted; None stays None (a blank operand)."""
    if value is None:
        return None
    target = result_field(field)
    kind = _result_type(field)
    if isinstance(kind, DecimalFieldType):
        if isinstance(value, bool):
            raise fail(
                "the formula gave true/false where a number was expected",
                "公式结果应为数字，而不是是/否",
            )
        rounded = round_half_up(kind.parse(target, value, source), kind.places(target))
        return kind.coerce(target, rounded, "json")
    if kind.name == "textarea":
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        if isinstance(value, bool):
            return "true" if value else "false"
        return kind.coerce(target, str(value), source)
    return kind.coerce(target, value, source)


def result_converter(field: FieldDefinition) -> Callable[[Any], Any]:
    """:func:`result_value` for this formula field, with the result type worked out once.

    For number, money and percent results the computed value is rounded half up to the
    result's places and is then final: ``coerce`` on it would parse it again, find it
    already fitted (and within the magnitude ``round_half_up`` checked), and check a
    range the result field never has (it carries only precision/currency). That second
    pass was most of a formula's cost per row, so it is skipped here; every other result
    type goes through :func:`result_value` unchanged.
    """
    target = result_field(field)
    kind = _result_type(field)
    if not isinstance(kind, DecimalFieldType) or type(kind).coerce is not DecimalFieldType.coerce:
        return partial(result_value, field)
    places = kind.places(target)
    parse, fitted_value = kind.parse, kind._fitted_value

    def convert(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            raise fail(
                "the formula gave true/false where a number was expected",
                "公式结果应为数字，而不是是/否",
            )
        return fitted_value(places, round_half_up(parse(target, value, "json"), places))

    return convert


class FormulaType(FieldType):
    name = "formula"
    option_properties = {
        "expr": {"type": "string", "minLength": 1},
        "result": {"enum": list(RESULT_TYPES), "default": "number"},
        "precision": {"type": "integer", "minimum": 0, "maximum": 8},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    }
    required_options = ("expr",)

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        result = field.option("result", "number")
        if result not in RESULT_TYPES:
            return [
                OptionProblem("result", f"unknown result type {result!r}", ", ".join(RESULT_TYPES))
            ]
        if field.option("precision") is not None and result not in DEFAULT_PRECISION:
            return [
                OptionProblem("precision", f"precision applies to number and percent, not {result}")
            ]
        return []

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return _result_type(field).columns(result_field(field))

    def to_storage(self, field: FieldDefinition, value: Any) -> dict[str, Any]:
        return _result_type(field).to_storage(result_field(field), value)

    def from_storage(self, field: FieldDefinition, row: Any) -> Any:
        return _result_type(field).from_storage(result_field(field), row)

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {**_result_type(field).value_schema(result_field(field)), "readOnly": True}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if isinstance(raw, str) and not raw.strip():
            return None
        return result_value(field, raw, source)

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return _result_type(field).to_json(result_field(field), value)

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        return _result_type(field).display(result_field(field), value, locale)


FIELD_TYPES: tuple[FieldType, ...] = (FormulaType(),)
