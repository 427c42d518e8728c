"""The contract every field type fulfils.

A field type knows, for one kind of field:

* which type-specific keys its definition takes (a JSON Schema fragment, used by the
  DSL schema) and which semantic checks those keys need;
* which column(s) store it, described as plain :class:`ColumnSpec` values so this
  package stays free of SQLAlchemy (``engine.store`` maps specs to real columns);
* the JSON Schema of its *value* (for the REST API and OpenAPI);
* how to coerce input from JSON, a web form or an Excel cell into its Python value,
  and how to turn that value into storage columns, JSON and display text.

Types register in :mod:`engine.fields.registry`; adding a type is one module and one
registration.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal

from engine.definitions.model import FieldDefinition

InputSource = Literal["json", "web", "excel"]
ColumnKind = Literal["text", "string", "integer", "decimal", "date", "datetime", "boolean", "json"]


@dataclass(frozen=True)
class ColumnSpec:
    """A storage column, described without SQLAlchemy.

    The column is named ``<field key>`` when ``suffix`` is empty, else
    ``<field key>__<suffix>`` (an address stores ``addr__province``, ``addr__city``...).
    ``length`` applies to ``string``; ``precision``/``scale`` to ``decimal``.
    ``indexed`` asks the store for an index (relations, serials, dates used in sorts).
    """

    kind: ColumnKind
    suffix: str = ""
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    indexed: bool = False

    def name(self, field_key: str) -> str:
        return f"{field_key}__{self.suffix}" if self.suffix else field_key


class FieldValueError(ValueError):
    """A value that does not fit its field; the message is shown to the person who typed it.

    ``message`` reads in both languages (for logs and tools); ``translations`` maps a
    locale (``zh-CN``, ``en``) to the text for that audience, which :meth:`in_locale`
    picks so a form shows one language.
    """

    def __init__(
        self, message: str, code: str = "type", translations: Mapping[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.translations: Mapping[str, str] = translations or {}

    def in_locale(self, locale: str) -> str:
        """The message for ``locale`` (``en*`` -> English, else Chinese), or the bilingual one."""
        key = "en" if locale.startswith("en") else "zh-CN"
        return self.translations.get(key, self.message)


@dataclass(frozen=True)
class OptionProblem:
    """A semantic problem in a field's type-specific keys: ``path`` is relative to the field."""

    path: str
    message: str
    hint: str | None = None


class FieldType(ABC):
    """Base class; subclasses override what differs. Instances are stateless singletons."""

    #: the ``type:`` name in YAML
    name: ClassVar[str]
    #: other names accepted for the same type (``radio`` for ``select``)
    aliases: ClassVar[tuple[str, ...]] = ()
    #: JSON Schema ``properties`` for the type-specific definition keys
    option_properties: ClassVar[Mapping[str, Any]] = {}
    #: type-specific keys that must be present
    required_options: ClassVar[tuple[str, ...]] = ()
    #: text fields take part in full-text-ish search
    searchable: ClassVar[bool] = False
    #: stored on the record (False for sub-tables, which live in a child table)
    stored_inline: ClassVar[bool] = True

    # -- definition ------------------------------------------------------------------
    def check_options(self, field: FieldDefinition) -> list[OptionProblem]:
        """Semantic checks of the type-specific keys (beyond the JSON Schema)."""
        return []

    # -- storage ---------------------------------------------------------------------
    @abstractmethod
    def columns(self, field: FieldDefinition) -> list[ColumnSpec]:
        """The column(s) that store this field; empty for sub-tables."""

    def to_storage(self, field: FieldDefinition, value: Any) -> dict[str, Any]:
        """Column name -> stored value for a coerced value (``None`` clears)."""
        (spec,) = self.columns(field)
        return {spec.name(field.key): value}

    def from_storage(self, field: FieldDefinition, row: Mapping[str, Any]) -> Any:
        """The Python value from a stored row (the inverse of :meth:`to_storage`)."""
        (spec,) = self.columns(field)
        return row.get(spec.name(field.key))

    # -- values ----------------------------------------------------------------------
    def value_schema(self, field: FieldDefinition) -> dict[str, Any]:
        """JSON Schema of the value as the REST API exchanges it."""
        return {}

    def coerce(self, field: FieldDefinition, raw: Any, source: InputSource = "json") -> Any:
        """Turn input into the field's Python value; ``None``/blank gives ``None``.

        Raises :class:`FieldValueError` with a message naming what was expected.
        """
        return raw

    def coercer(self, field: FieldDefinition) -> Callable[[Any, InputSource], Any]:
        """``coerce`` bound to ``field``: ``coercer(field)(raw, source)``.

        Compiled forms call this once per field and then once per value, so a type may
        return a function with the field's options already worked out; the result must
        behave exactly like :meth:`coerce` (same values, same errors).
        """
        return partial(self.coerce, field)

    def to_json(self, field: FieldDefinition, value: Any) -> Any:
        """The value as JSON data (Decimal -> string, date -> ISO text...)."""
        return value

    def display(self, field: FieldDefinition, value: Any, locale: str = "zh-CN") -> str:
        """Text for lists, titles and exports."""
        return "" if value is None else str(value)

    def is_blank(self, value: Any) -> bool:
        return value is None or value == "" or value == [] or value == {}
