"""Build the frozen model values from documents that passed every check."""

from __future__ import annotations

from typing import Any

from engine.definitions import field_types
from engine.definitions.context import field_definition
from engine.definitions.model import (
    AppDefinition,
    FieldDefinition,
    FormDefinition,
    I18nText,
    LayoutSection,
    SourceSpan,
    UniqueConstraint,
    Validation,
    frozen_mapping,
)
from engine.definitions.permissions import read_grant
from engine.definitions.schema import COMMON_FIELD_PROPERTIES
from engine.definitions.source import Path, Source

#: keys that are FieldDefinition attributes; everything else goes to ``options``
_NOT_OPTIONS = frozenset(COMMON_FIELD_PROPERTIES) | {"fields", "validations"}


def location(source: Source, path: Path) -> SourceSpan:
    """Where the value at ``path`` is written (its key when it has one)."""
    span = source.span(path)
    return SourceSpan(source.file, span.key_line or span.line, span.key_column or span.column)


def build_field(key: str, value: Any, source: Source, path: Path) -> FieldDefinition:
    """A :class:`FieldDefinition`; the type name is stored canonical (radio -> select)."""
    definition = field_definition(value)
    raw_type = str(definition.get("type"))
    type_name = field_types.canonical(raw_type) or raw_type
    columns = definition.get("fields") if type_name == "subtable" else None
    rules = definition.get("validations") if type_name == "subtable" else None
    return FieldDefinition(
        key=key,
        type=type_name,
        label=I18nText.of(definition.get("label")) or I18nText(key, key),
        required=definition.get("required") is True,
        readonly=definition.get("readonly") is True,
        default=definition.get("default"),
        default_expr=definition.get("default_expr"),
        visible_if=definition.get("visible_if"),
        required_if=definition.get("required_if"),
        readonly_if=definition.get("readonly_if"),
        description=I18nText.of(definition.get("description")),
        options=frozen_mapping({k: v for k, v in definition.items() if k not in _NOT_OPTIONS}),
        fields=tuple(
            build_field(k, v, source, (*path, "fields", k))
            for k, v in (columns.items() if isinstance(columns, dict) else ())
        ),
        validations=build_validations(rules or [], source, (*path, "validations")),
        index=definition.get("index") is True,
        location=location(source, path),
    )


def build_validations(items: list[Any], source: Source, path: Path) -> tuple[Validation, ...]:
    """The validations written at ``path`` (a form's, or a sub-table's row rules)."""
    return tuple(
        Validation(
            item["expr"],
            I18nText.of(item["message"]),
            item.get("field"),
            location(source, (*path, i)),
        )
        for i, item in enumerate(items)
    )


def unique_key_options(item: dict[str, Any]) -> dict[str, Any]:
    """``normalize``, ``where`` and ``until`` of a unique rule (docs/uniqueness.md)."""
    where = dict(item.get("where") or {})
    until = where.pop("until", None)
    pairs = tuple(
        (name, tuple(str(v) for v in (allowed if isinstance(allowed, list) else [allowed])))
        for name, allowed in where.items()
    )
    return {"normalize": tuple(item.get("normalize") or ()), "where": pairs, "until": until}


def build_form(source: Source) -> FormDefinition:
    """A :class:`FormDefinition` from a checked form document."""
    data = source.data
    key = data["form"]
    fields = tuple(build_field(k, v, source, ("fields", k)) for k, v in data["fields"].items())
    unique = [
        UniqueConstraint((f.key,), None, location(source, ("fields", f.key, "unique")))
        for f in fields
        if field_definition(data["fields"][f.key]).get("unique") is True
    ]
    unique += [
        UniqueConstraint(
            tuple(item["fields"]),
            I18nText.of(item.get("message")),
            location(source, ("unique", i)),
            **unique_key_options(item),
        )
        for i, item in enumerate(data.get("unique", []))
    ]
    listing = data.get("list", {})
    types = {f.key: f.type for f in fields}
    grants = tuple(
        read_grant(role, entry, types, location=location(source, ("permissions", role)))
        for role, entry in sorted((data.get("permissions") or {}).items())
    )
    return FormDefinition(
        key=key,
        name=I18nText.of(data.get("name")) or I18nText(key, key),
        fields=fields,
        title=data.get("title"),
        description=I18nText.of(data.get("description")),
        layout=tuple(
            LayoutSection(
                I18nText.of(section.get("section")),
                tuple(section["fields"]),
                section.get("columns", 1),
            )
            for section in data.get("layout", [])
        ),
        list_columns=tuple(listing.get("columns", ())),
        list_sort=tuple(listing.get("sort", ("-created_at",))),
        list_filters=tuple(dict.fromkeys(listing.get("filters", ()))),
        unique=tuple(unique),
        validations=build_validations(data.get("validations", []), source, ("validations",)),
        permissions=grants,
        **aggregates_and_lock(source),
        **lookups_and_versions(source),
        source_file=source.file,
        location=location(source, ("form",)),
    )


def aggregates_and_lock(source: Source) -> dict[str, Any]:
    """A form's ``aggregates`` and ``lock`` (engine/definitions/aggregates.py)."""
    from engine.definitions.aggregates import build_aggregates, parse_lock

    data = source.data
    return {
        "aggregates": build_aggregates(
            data.get("aggregates"), lambda name: location(source, ("aggregates", name))
        ),
        "lock": parse_lock(data.get("lock"), location(source, ("lock",)))
        if "lock" in data
        else None,
    }


def lookups_and_versions(source: Source) -> dict[str, Any]:
    """A form's ``lookups``, ``lock_when`` and ``versions`` (engine/definitions/lookups.py)."""
    from engine.definitions.lookups import build_lookups, build_versions

    data = source.data
    return {
        "lookups": build_lookups(data.get("lookups"), lambda path: location(source, path)),
        "lock_when": data.get("lock_when"),
        "versions": build_versions(data.get("versions")),
    }


def build_app(
    source: Source,
    forms: list[FormDefinition],
    source_path: str | None,
    flows: list[Any] | None = None,
    rules: list[Any] | None = None,
    jobs: list[Any] | None = None,
    machines: list[Any] | None = None,
) -> AppDefinition:
    """An :class:`AppDefinition` from the checked app document and its built forms."""
    data = source.data
    roles = data.get("roles", {})
    admin_roles = tuple(
        sorted(k for k, v in roles.items() if isinstance(v, dict) and v.get("admin") is True)
    )
    return AppDefinition(
        key=data["app"],
        version=data["version"],
        name=I18nText.of(data["name"]),
        forms=tuple(forms),
        description=I18nText.of(data.get("description")),
        roles=frozen_mapping({k: I18nText.of(role_name(v)) for k, v in roles.items()}),
        admin_roles=admin_roles,
        requires=frozen_mapping(data.get("requires", {})),
        flows=tuple(flows or ()),
        rules=tuple(rules or ()),
        jobs=tuple(jobs or ()),
        machines=tuple(machines or ()),
        source_path=source_path,
    )


def role_name(value: Any) -> Any:
    """The name of an app role written as a name or as ``{name, admin}``."""
    if isinstance(value, dict) and "name" in value:
        return value["name"]
    return value
