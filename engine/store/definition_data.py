"""Rebuild definition values from the JSON stored with a published version.

``engine.definitions.model.to_data`` writes a form as plain data (locations left out,
empty values omitted); this is its inverse, so a service started later can serve the
published form without the YAML files.

Each stored definition carries the format it was written in
(``DEFINITION_FORMAT_VERSION``); :func:`stored_form` refuses a newer format than this
engine knows instead of misreading it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.definitions.aggregates import aggregates_from_data, lock_from_data
from engine.definitions.lookups import lookups_from_data, versions_from_data
from engine.definitions.model import (
    DEFINITION_FORMAT_VERSION,
    FieldDefinition,
    FormDefinition,
    I18nText,
    LayoutSection,
    UniqueConstraint,
    Validation,
    frozen_mapping,
)
from engine.definitions.permissions import Grant, RowRule
from engine.errors import DefinitionFormatError


def stored_form(data: Mapping[str, Any], format_version: int, *, where: str) -> FormDefinition:
    """The form of a ``form_versions`` row, after checking its format version.

    ``where`` names the row for the message (``purchase.supplier version 3``). Raises
    :class:`DefinitionFormatError` for a format this engine does not read (written by a
    newer engine, or not a format at all), so nothing is served from a misread definition.
    """
    if format_version != DEFINITION_FORMAT_VERSION:
        newer = isinstance(format_version, int) and format_version > DEFINITION_FORMAT_VERSION
        why = (
            "written by a newer version of the engine: upgrade the engine to read it"
            if newer
            else "which no version of the engine writes: the row was changed by hand"
        )
        raise DefinitionFormatError(
            f"form {where} is stored in definition format {format_version!r}, and this engine "
            f"reads format {DEFINITION_FORMAT_VERSION} only; it was {why}"
        )
    return form_from_data(data)


def form_from_data(data: Mapping[str, Any]) -> FormDefinition:
    """A FormDefinition equal (same content hash) to the one ``to_data`` was given."""
    return FormDefinition(
        key=data["key"],
        name=_text(data["name"]),
        fields=tuple(field_from_data(f) for f in data.get("fields", ())),
        title=data.get("title"),
        description=_text(data.get("description")),
        layout=tuple(
            LayoutSection(
                title=_text(s.get("title")),
                fields=tuple(s.get("fields", ())),
                columns=s.get("columns", 1),
            )
            for s in data.get("layout", ())
        ),
        list_columns=tuple(data.get("list_columns", ())),
        list_sort=tuple(data.get("list_sort", ())),
        list_filters=tuple(data.get("list_filters", ())),
        unique=tuple(
            UniqueConstraint(
                fields=tuple(u["fields"]),
                message=_text(u.get("message")),
                normalize=tuple(u.get("normalize", ())),
                where=tuple((w[0], tuple(w[1])) for w in u.get("where", ())),
                until=u.get("until"),
            )
            for u in data.get("unique", ())
        ),
        validations=_validations(data),
        permissions=tuple(_grant(g) for g in data.get("permissions", ())),
        aggregates=aggregates_from_data(data.get("aggregates")),
        lock=lock_from_data(data.get("lock")),
        lookups=lookups_from_data(data.get("lookups")),
        lock_when=data.get("lock_when"),
        versions=versions_from_data(data.get("versions")),
    )


def _grant(data: Mapping[str, Any]) -> Grant:
    """One permission grant of a stored form."""
    return Grant(
        role=data["role"],
        actions=tuple(data.get("actions", ())),
        rows=tuple(
            RowRule(r["kind"], tuple(r.get("fields", ())), r.get("expr"))
            for r in data.get("rows", ({"kind": "all"},))
        ),
        hidden=tuple(data.get("hidden", ())),
        readonly=tuple(data.get("readonly", ())),
    )


def field_from_data(data: Mapping[str, Any]) -> FieldDefinition:
    """One field (and its sub-table columns) from stored data."""
    return FieldDefinition(
        key=data["key"],
        type=data["type"],
        label=_text(data["label"]),
        required=data.get("required", False),
        readonly=data.get("readonly", False),
        default=data.get("default"),
        default_expr=data.get("default_expr"),
        visible_if=data.get("visible_if"),
        required_if=data.get("required_if"),
        readonly_if=data.get("readonly_if"),
        description=_text(data.get("description")),
        options=frozen_mapping(data.get("options")),
        fields=tuple(field_from_data(f) for f in data.get("fields", ())),
        validations=_validations(data),
        index=data.get("index", False),
    )


def _validations(data: Mapping[str, Any]) -> tuple[Validation, ...]:
    """A form's validations, or a sub-table's row rules."""
    return tuple(
        Validation(expr=v["expr"], message=_text(v["message"]), field=v.get("field"))
        for v in data.get("validations", ())
    )


def _text(value: Any) -> Any:
    return I18nText.of(value)
