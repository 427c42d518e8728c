"""Text: a single line (``text``), several lines (``textarea``) and sanitised HTML (``richtext``).

Lengths count characters, not bytes. ``pattern`` must match the whole value (as a
person reading ``[A-Z]{3}`` expects), not just a part of it.
"""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar

import nh3

from engine.definitions.model import FieldDefinition
from engine.fields.base import ColumnSpec, FieldType, FieldValueError, InputSource, OptionProblem
from engine.fields.common import (
    I18N_TEXT_SCHEMA,
    fail,
    is_blank_input,
    localized,
    plain_text,
)
from engine.fields.common import bilingual as bilingual_message

#: longest ``text`` kept in a length-limited string column; longer ones use a text column
MAX_STRING_COLUMN = 1000

_LENGTH = {"type": "integer", "minimum": 1}


class TextType(FieldType):
    name = "text"
    option_properties = {
        "max_length": {**_LENGTH, "default": 200},
        "min_length": {"type": "integer", "minimum": 0},
        "pattern": {"type": "string"},
        "pattern_message": I18N_TEXT_SCHEMA,
    }
    searchable = True
    default_max_length: ClassVar[int] = 200

    def max_length(self, field: FieldDefinition) -> int:
        """Longest value in characters."""
        return int(field.option("max_length", self.default_max_length))

    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        problems = []
        pattern = field.option("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except (re.error, TypeError) as exc:
                problems.append(OptionProblem("pattern", f"not a valid regular expression: {exc}"))
        low = field.option("min_length")
        if low is not None and low > self.max_length(field):
            problems.append(OptionProblem("min_length", f"min_length ({low}) exceeds max_length"))
        return problems

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        length = self.max_length(field)
        if length <= MAX_STRING_COLUMN:
            return [ColumnSpec("string", length=length)]
        return [ColumnSpec("text")]

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "maxLength": self.max_length(field)}
        if field.option("min_length") is not None:
            schema["minLength"] = field.option("min_length")
        if field.option("pattern") is not None:
            schema["pattern"] = f"^(?:{field.option('pattern')})$"
        return schema

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        if is_blank_input(raw):
            return None
        value = self.clean(plain_text(raw, source)).strip()
        if not value:  # sanitising may leave nothing (a lone <script>)
            return None
        self.check_length(field, value)
        pattern = field.option("pattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            custom = field.option("pattern_message")
            if custom is not None:
                text = localized(custom, "zh-CN")
                english = localized(custom, "en")
                message = text if text == english else bilingual_message(english, text)
                raise FieldValueError(message, "pattern", {"en": english, "zh-CN": text})
            raise fail(
                f"does not match the expected format {pattern}",
                f"格式不正确，应符合 {pattern}",
                "pattern",
            )
        return value

    def clean(self, value: str) -> str:
        """Normalise typed text before it is checked."""
        return value

    def check_length(self, field: FieldDefinition, value: str) -> None:
        """Raise ``max_length``/``min_length`` errors."""
        high = self.max_length(field)
        if len(value) > high:
            raise fail(
                f"at most {high} characters ({len(value)} given)",
                f"最多 {high} 个字符（当前 {len(value)} 个）",
                "max_length",
            )
        low = field.option("min_length")
        if low is not None and len(value) < low:
            raise fail(f"at least {low} characters", f"至少 {low} 个字符", "min_length")


class TextareaType(TextType):
    name = "textarea"
    option_properties = {
        "max_length": {**_LENGTH, "default": 5000},
        "min_length": {"type": "integer", "minimum": 0},
    }
    default_max_length = 5000

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("text")]

    def clean(self, value: str) -> str:
        return value.replace("\r\n", "\n").replace("\r", "\n")


#: formatting people use in descriptions and notices; no scripts, styles or forms
RICHTEXT_TAGS = frozenset(
    {
        "p", "br", "hr", "b", "strong", "i", "em", "u", "s", "del", "sub", "sup", "mark",
        "span", "div", "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6",
        "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
RICHTEXT_ATTRIBUTES = {
    "a": {"href", "title", "target"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
#: schemes allowed in href/src; relative URLs pass too. No javascript:, data:, file:.
RICHTEXT_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitize_html(html: str) -> str:
    """HTML reduced to safe formatting: links get rel="noopener noreferrer"."""
    return nh3.clean(
        html,
        tags=set(RICHTEXT_TAGS),
        attributes={tag: set(names) for tag, names in RICHTEXT_ATTRIBUTES.items()},
        url_schemes=set(RICHTEXT_URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


class RichtextType(TextType):
    name = "richtext"
    option_properties = {"max_length": {**_LENGTH, "default": 100000}}
    default_max_length = 100000

    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        return [ColumnSpec("text")]

    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        return {
            "type": "string",
            "maxLength": self.max_length(field),
            "contentMediaType": "text/html",
        }

    def clean(self, value: str) -> str:
        return sanitize_html(value)

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        # Lists and exports show the words, not the markup.
        return "" if value is None else html.unescape(nh3.clean(value, tags=set())).strip()


FIELD_TYPES: tuple[FieldType, ...] = (TextType(), TextareaType(), RichtextType())
