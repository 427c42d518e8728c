"""Choices: ``select`` (alias ``radio``) picks one option, ``multiselect`` (alias
``checkbox``) picks several.

``options`` is either a list (plain values, or ``{value, label, color}``) or a mapping
``{from: <form>, value: <field>, label: <field>, filter: <expr>}`` that takes the options
from another form's records at run time. The value is the option's value as text; an
import may give the label instead ("紧急" for ``urgent``) when the options are static.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, InputSource, OptionProblem
from engine.fields.common import I18N_TEXT_SCHEMA, fail, is_blank_input, localized, plain_text

OPTION_VALUE_LENGTH = 100
YAML_BOOLEAN_HINT = "quote it: YAML reads no/yes/on/off as booleans"
_SPLIT = re.compile(r"\s*[,，;；、\n]\s*")

_OPTION_ITEM = {
    "oneOf": [
        {"type": ["string", "number", "boolean"]},
        {
            "type": "object",
            "properties": {
                "value": {"type": ["string", "number", "boolean"]},
                "label": I18N_TEXT_SCHEMA,
                "color": {"type": "string"},
            },
            "required": ["value"],
            "additionalProperties": False,
        },
    ]
}
_OPTIONS_FROM = {
    "type": "object",
    "properties": {
        "from": {"type": "string"},
        "value": {"type": "string", "default": "id"},
        "label": {"type": "string"},
        "filter": {"type": "string"},
    },
    "required": ["from"],
    "additionalProperties": False,
}
OPTIONS_SCHEMA = {"oneOf": [{"type": "array", "items": _OPTION_ITEM, "minItems": 1}, _OPTIONS_FROM]}


@dataclass(frozen=True)
class Choice:
    """One static option: the stored ``value``, its bilingual ``label`` and a ``color``."""

    value: str
    label: Any = None
    color: str | None = None

    def text(self, locale: str) -> str:
        """The label in ``locale`` (the value when there is no label)."""
        return localized(self.label, locale) or self.value


def _option_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def static_choices(field: FieldDefinition) -> list[Choice] | None:
    """The field's options as :class:`Choice` values; None when they come from a form."""
    options = field.option("options")
    if not isinstance(options, Sequence) or isinstance(options, str):
        return None
    choices = []
    for item in options:
        if isinstance(item, Mapping):
            choices.append(
                Choice(_option_text(item.get("value")), item.get("label"), item.get("color"))
            )
        else:
            choices.append(Choice(_option_text(item)))
    return choices


def check_choice_options(field: FieldDefinition) -> list[OptionProblem]:
    """Duplicated values and YAML booleans where text was meant."""
    options = field.option("options")
    if isinstance(options, Mapping):
        return [] if options.get("from") else [OptionProblem("options.from", "names no form")]
    if not isinstance(options, Sequence) or isinstance(options, str) or not options:
        return [OptionProblem("options", "expected a list of options or {from: <form>}")]
    problems: list[OptionProblem] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(options):
        path = f"options[{index}]"
        value = item.get("value") if isinstance(item, Mapping) else item
        if isinstance(item, Mapping):
            path += ".value"
        if isinstance(value, bool):
            problems.append(
                OptionProblem(path, f"{value} is a boolean, not an option value", YAML_BOOLEAN_HINT)
            )
        text = _option_text(value)
        if text in seen:
            problems.append(
                OptionProblem(
                    f"options[{index}]", f"duplicate value {text!r} (also options[{seen[text]}])"
                )
            )
        else:
            seen[text] = index
    return problems


def match_choice(field: FieldDefinition, raw: Any, source: InputSource) -> str:
    """One option value from its value or label; any text when options come from a form."""
    text = plain_text(raw, source)
    choices = static_choices(field)
    if choices is None:
        if len(text) > OPTION_VALUE_LENGTH:
            raise fail("the value is too long", "值太长", "max_length")
        return text
    for choice in choices:
        if text == choice.value:
            return choice.value
    folded = text.casefold()
    for choice in choices:
        if folded in (choice.text("zh-CN").casefold(), choice.text("en").casefold()):
            return choice.value
    allowed = ", ".join(c.value for c in choices)
    raise fail(
        f"{text!r} is not one of the options ({allowed})",
        f"{text!r} 不是可选项（{allowed}）",
        "option",
    )


def choice_label(field: FieldDefinition, value: str, locale: str) -> str:
    """The label of a stored value (the value itself when unknown or from a form)."""
    for choice in static_choices(field) or ():
        if choice.value == value:
            return choice.text(locale)
    return value


def _value_schema(field: FieldDefinition) -> dict[str, Any]:
    choices = static_choices(field)
    if choices is None:
        return {"type": "string", "maxLength": OPTION_VALUE_LENGTH}
    return {"type": "string", "enum": [c.value for c in choices]}


class SelectType(FieldType):
    name = "select"
    aliases = ("radio",)
    option_properties = {"options": OPTIONS_SCHEMA}
    required_options = ("options",)

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        return check_choice_options(field)

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("string", length=OPTION_VALUE_LENGTH, indexed=True)]

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return _value_schema(field)

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        return None if is_blank_input(raw) else match_choice(field, raw, source)

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        return "" if value is None else choice_label(field, value, locale)


class MultiselectType(FieldType):
    name = "multiselect"
    aliases = ("checkbox",)
    option_properties = {
        "options": OPTIONS_SCHEMA,
        "min_selected": {"type": "integer", "minimum": 0},
        "max_selected": {"type": "integer", "minimum": 1},
    }
    required_options = ("options",)

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        problems = check_choice_options(field)
        low, high = field.option("min_selected"), field.option("max_selected")
        if low is not None and high is not None and low > high:
            problems.append(OptionProblem("min_selected", "min_selected exceeds max_selected"))
        return problems

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("json")]

    def from_storage(self, field: FieldDefinition, row: Any) -> list[str] | None:
        stored = row.get(field.key)
        return list(stored) if stored else None

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "array",
            "items": _value_schema(field),
            "uniqueItems": True,
        }
        if field.option("min_selected") is not None:
            schema["minItems"] = field.option("min_selected")
        if field.option("max_selected") is not None:
            schema["maxItems"] = field.option("max_selected")
        return schema

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        if isinstance(raw, str):
            # A spreadsheet cell or text box lists several values in one string.
            items = [raw] if source == "json" else _SPLIT.split(raw.strip())
        elif isinstance(raw, (list, tuple)):
            items = list(raw)
        else:
            items = [raw]
        values: list[str] = []
        for item in items:
            if is_blank_input(item):
                continue
            value = match_choice(field, item, source)
            if value not in values:
                values.append(value)
        self._check_count(field, len(values))
        return values or None

    def _check_count(self, field: FieldDefinition, count: int) -> None:
        low, high = field.option("min_selected"), field.option("max_selected")
        if low is not None and count < low:
            raise fail(f"choose at least {low}", f"至少选择 {low} 项", "selected_count")
        if high is not None and count > high:
            raise fail(f"choose at most {high}", f"最多选择 {high} 项", "selected_count")

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        return None if value is None else list(value)

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        if not value:
            return ""
        separator = ", " if locale.startswith("en") else "、"
        return separator.join(choice_label(field, v, locale) for v in value)


FIELD_TYPES: tuple[FieldType, ...] = (SelectType(), MultiselectType())
