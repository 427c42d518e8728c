"""The field-type registry: type name (or alias) -> :class:`FieldType`.

Built once at import from each family module's ``FIELD_TYPES`` and then frozen, so a
request can never add or replace a type. Adding a type is one module (or one class in a
family module) and one entry in ``_FAMILIES``.
"""

from __future__ import annotations

import difflib
from types import MappingProxyType

from engine.fields import (
    address,
    boolean,
    choice,
    contact,
    files,
    formula,
    numeric,
    people,
    relation,
    serial,
    subtable,
    temporal,
    text,
    uscc,
)
from engine.fields.base import FieldType

_FAMILIES = (
    text,
    numeric,
    temporal,
    boolean,
    choice,
    people,
    relation,
    subtable,
    files,
    serial,
    formula,
    address,
    contact,
    uscc,
)


class UnknownFieldType(KeyError):
    """A ``type:`` that no field type has; ``suggestion`` is the closest known name."""

    def __init__(self, name: str, suggestion: str | None):
        super().__init__(name)
        self.name = name
        self.suggestion = suggestion

    def __str__(self) -> str:
        text = f"unknown field type {self.name!r}"
        return f"{text} (did you mean {self.suggestion!r}?)" if self.suggestion else text


def _build() -> tuple[MappingProxyType[str, FieldType], MappingProxyType[str, str]]:
    types: dict[str, FieldType] = {}
    aliases: dict[str, str] = {}
    for family in _FAMILIES:
        for field_type in family.FIELD_TYPES:
            if field_type.name in types or field_type.name in aliases:
                raise RuntimeError(f"field type {field_type.name!r} is registered twice")
            types[field_type.name] = field_type
            for alias in field_type.aliases:
                aliases[alias] = field_type.name
    return MappingProxyType(types), MappingProxyType(aliases)


TYPES, ALIASES = _build()


def canonical(name: str) -> str:
    """The canonical name for a type name or alias (``radio`` -> ``select``)."""
    if name in TYPES:
        return name
    if name in ALIASES:
        return ALIASES[name]
    matches = difflib.get_close_matches(str(name).lower(), all_names(), n=1, cutoff=0.6)
    raise UnknownFieldType(name, canonical(matches[0]) if matches else None)


def get(name: str) -> FieldType:
    """The field type for a name or alias; :class:`UnknownFieldType` otherwise."""
    return TYPES[canonical(name)]


def names() -> list[str]:
    """Canonical type names, in registration order."""
    return list(TYPES)


def all_names() -> list[str]:
    """Canonical names and aliases."""
    return [*TYPES, *ALIASES]
