"""Immutable definition values: apps, forms, fields.

These are specs, not runtime state: the loader builds them from YAML, the store
publishes them as versions, the runtime interprets them. They are frozen dataclasses
so a published version cannot be changed by accident, and each form and app carries a
``content_hash`` of its canonical content (source locations excluded) so two loads of
the same text give the same hash.

Pure code: no database, no web.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, is_dataclass
from dataclasses import field as dc_field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

LOCALES = ("zh-CN", "en")

#: the layout of :func:`to_data`'s output for a form, stored with every published version
#: (``form_versions.format_version``). Bump it when that output changes in a way an older
#: reader would misread (a renamed or re-shaped key), and teach
#: ``engine.store.definition_data`` to read the older formats it still finds.
DEFINITION_FORMAT_VERSION = 1


@dataclass(frozen=True)
class SourceSpan:
    """Where a value came from: file (relative to the app root), 1-based line and column."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class I18nText:
    """Text shown to people, in zh-CN and en. A plain string in YAML means both."""

    zh_cn: str
    en: str

    @classmethod
    def of(cls, value: str | Mapping[str, str] | I18nText | None) -> I18nText | None:
        if value is None or isinstance(value, I18nText):
            return value
        if isinstance(value, str):
            return cls(value, value)
        zh = value.get("zh-CN") or value.get("en") or ""
        en = value.get("en") or value.get("zh-CN") or ""
        return cls(zh, en)

    def get(self, locale: str = "zh-CN") -> str:
        return self.en if locale.startswith("en") else self.zh_cn

    def to_data(self) -> str | dict[str, str]:
        return self.zh_cn if self.zh_cn == self.en else {"zh-CN": self.zh_cn, "en": self.en}

    def __str__(self) -> str:
        return self.zh_cn


def frozen_mapping(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``data`` (nested dicts and lists frozen too)."""
    return MappingProxyType({k: _freeze(v) for k, v in (data or {}).items()})


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping) and not isinstance(value, MappingProxyType):
        return frozen_mapping(value)
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True)
class FieldDefinition:
    """One field of a form (or of a sub-table).

    ``options`` holds the type-specific keys exactly as written (``min``, ``precision``,
    ``options``, ``to``, ``pattern``, ``expr``...); the field type in ``engine.fields``
    interprets them. ``fields`` is only used by sub-tables.
    ``default`` is a literal value; ``default_expr`` an expression evaluated when a
    record is created. ``validations`` are a sub-table's row rules: each is checked on
    every row, over the row's columns and the parent form's fields.
    """

    key: str
    type: str
    label: I18nText
    required: bool = False
    readonly: bool = False
    default: Any = None
    default_expr: str | None = None
    visible_if: str | None = None
    required_if: str | None = None
    readonly_if: str | None = None
    description: I18nText | None = None
    options: Mapping[str, Any] = dc_field(default_factory=frozen_mapping)
    fields: tuple[FieldDefinition, ...] = ()
    validations: tuple[Validation, ...] = ()
    #: left out of the stored data while false, so forms written before the attribute
    #: existed keep their content hash (and are not published again)
    index: bool = dc_field(default=False, metadata={"omit_default": True})
    location: SourceSpan | None = dc_field(default=None, compare=False, repr=False)

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def field(self, key: str) -> FieldDefinition:
        """A sub-table column by key (KeyError when absent)."""
        for child in self.fields:
            if child.key == key:
                return child
        raise KeyError(key)


@dataclass(frozen=True)
class Validation:
    """A cross-field rule: ``expr`` must be true, else ``message`` (shown on ``field``).

    On a form, ``field`` is one of its fields; on a sub-table (a row rule), one of the
    row's columns.
    """

    expr: str
    message: I18nText
    field: str | None = None
    location: SourceSpan | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class UniqueConstraint:
    """Values of ``fields`` together must not repeat among live records of the form.

    A *normalized* rule (docs/uniqueness.md) compares a key instead of the exact values:
    ``normalize`` names the normalizers applied in order (engine.definitions.normalizers),
    ``where`` lists ``(field, allowed values)`` pairs a record must meet to count (the
    system ``status`` included) and ``until`` names a date/datetime field after which
    the record no longer counts. The key lives in a hidden column ``key_column``.
    """

    fields: tuple[str, ...]
    message: I18nText | None = None
    location: SourceSpan | None = dc_field(default=None, compare=False, repr=False)
    normalize: tuple[str, ...] = ()
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    until: str | None = None

    @property
    def keyed(self) -> bool:
        """True when the rule is enforced on a hidden normalized key column."""
        return bool(self.normalize or self.where or self.until)

    @property
    def key_column(self) -> str:
        """The hidden column of the key: named by the rule's content, so a changed rule
        gets a fresh column (backfilled at publish) instead of reusing stale keys."""
        text = json.dumps([self.fields, self.normalize, self.where, self.until])
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        return f"uk__{digest}"


@dataclass(frozen=True)
class LayoutSection:
    title: I18nText | None
    fields: tuple[str, ...]
    columns: int = 1


@dataclass(frozen=True)
class FormDefinition:
    """A form: fields plus how it is shown, listed, numbered and checked."""

    key: str
    name: I18nText
    fields: tuple[FieldDefinition, ...]
    title: str | None = None
    description: I18nText | None = None
    layout: tuple[LayoutSection, ...] = ()
    list_columns: tuple[str, ...] = ()
    list_sort: tuple[str, ...] = ("-created_at",)
    #: the fields a list view filters by: the store indexes each of them
    list_filters: tuple[str, ...] = ()
    unique: tuple[UniqueConstraint, ...] = ()
    validations: tuple[Validation, ...] = ()
    #: who may do what (engine.definitions.permissions.Grant, by role); empty: an open form
    permissions: tuple[Any, ...] = ()
    #: named aggregates over other forms (engine.definitions.aggregates.FormAggregate)
    aggregates: tuple[Any, ...] = ()
    #: the row locked while a record is written (engine.definitions.aggregates.RowLock)
    lock: Any | None = None
    #: named best-match lookups (engine.definitions.lookups.LookupDefinition)
    lookups: tuple[Any, ...] = ()
    #: records for which this expression holds are locked: edited by a new version
    lock_when: str | None = None
    #: versioned reference data (engine.definitions.lookups.VersionsDefinition)
    versions: Any | None = None
    source_file: str | None = dc_field(default=None, compare=False, repr=False)
    location: SourceSpan | None = dc_field(default=None, compare=False, repr=False)

    def field(self, key: str) -> FieldDefinition:
        """The field with this key (KeyError when absent)."""
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)

    def has_field(self, key: str) -> bool:
        return any(f.key == key for f in self.fields)

    def subtables(self) -> Iterator[FieldDefinition]:
        return (f for f in self.fields if f.type == "subtable")

    @property
    def content_hash(self) -> str:
        return content_hash(self)


@dataclass(frozen=True)
class AppDefinition:
    """An app: a folder (``app.yaml`` + ``forms/*.yaml``) or one file, installed together."""

    key: str
    version: str
    name: I18nText
    forms: tuple[FormDefinition, ...]
    description: I18nText | None = None
    roles: Mapping[str, I18nText] = dc_field(default_factory=frozen_mapping)
    requires: Mapping[str, str] = dc_field(default_factory=frozen_mapping)
    #: app roles whose members administer the app: every action on every row and field
    admin_roles: tuple[str, ...] = ()
    #: approval flows (engine.definitions.flows.FlowDefinition), at most one per form
    flows: tuple[Any, ...] = ()
    #: rules (engine.definitions.rules.RuleDefinition), in file then document order
    rules: tuple[Any, ...] = ()
    #: status machines (engine.definitions.machines.MachineDefinition), in file order
    machines: tuple[Any, ...] = ()
    #: batch jobs (engine.definitions.jobs.JobDefinition), in file order
    jobs: tuple[Any, ...] = ()
    #: ledgers (engine.definitions.ledgers.LedgerDefinition), in file order
    ledgers: tuple[Any, ...] = ()
    #: dashboards (engine.definitions.dashboards.DashboardDefinition), in file order
    dashboards: tuple[Any, ...] = ()
    source_path: str | None = dc_field(default=None, compare=False, repr=False)

    def form(self, key: str) -> FormDefinition:
        for f in self.forms:
            if f.key == key:
                return f
        raise KeyError(key)

    def flow_of(self, form_key: str) -> Any:
        """The flow attached to form ``form_key``, or None."""
        return next((f for f in self.flows if f.form == form_key), None)

    def rules_of(self, form_key: str) -> tuple[Any, ...]:
        """The rules whose trigger is on form ``form_key``, in definition order."""
        return tuple(r for r in self.rules if r.form == form_key)

    @property
    def content_hash(self) -> str:
        return content_hash(self)


def to_data(value: Any) -> Any:
    """Plain JSON-able data for a definition value (locations left out), stable order."""
    if isinstance(value, I18nText):
        return value.to_data()
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            if not f.compare:  # locations and source paths are not content
                continue
            v = getattr(value, f.name)
            if v is None or v == () or (isinstance(v, Mapping) and not v):
                continue
            if f.metadata.get("omit_default") and v == f.default:
                continue
            out[f.name] = to_data(v)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    return value


def content_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of a definition value."""
    text = json.dumps(to_data(value), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
