"""The loader's view of the field types: a catalogue the field package installs.

Definitions sit below the field types (``engine.fields`` builds on
``engine.definitions.model``), so this package never imports ``engine.fields``: the
field package hands its registry over with :func:`install` when it is imported, and
the loader asks this module. Whoever loads definitions imports ``engine.fields``
first (the service, the runtime and the tests' conftest do).
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.definitions.model import FieldDefinition


class FieldTypeCatalog(Protocol):
    """What the loader needs of the field-type registry."""

    def names(self) -> Any: ...
    def all_names(self) -> Any: ...
    def canonical(self, name: str) -> str: ...
    def get(self, name: str) -> Any: ...


_installed: list[FieldTypeCatalog] = []


def install(catalog: FieldTypeCatalog) -> None:
    """Make ``catalog`` the field types the loader checks against (done by engine.fields)."""
    _installed[:] = [catalog]


def _registry() -> FieldTypeCatalog:
    if not _installed:
        raise RuntimeError(
            "no field types are installed: import engine.fields (or engine.service) "
            "before loading definitions"
        )
    return _installed[0]


def canonical_names() -> list[str]:
    """The canonical type names, in registry order."""
    return list(_registry().names())


def accepted_names() -> list[str]:
    """Every name ``type:`` accepts: canonical names and aliases."""
    return list(_registry().all_names())


def canonical(name: str) -> str | None:
    """The canonical name for ``name`` (``radio`` -> ``select``), or None when unknown."""
    try:
        return _registry().canonical(name)
    except KeyError:
        return None


def aliases(name: str) -> tuple[str, ...]:
    """Other names of the canonical type ``name``."""
    return tuple(_registry().get(name).aliases)


def option_properties(name: str) -> dict[str, Any]:
    """JSON Schema properties of the type's own keys."""
    return dict(_registry().get(name).option_properties)


def required_options(name: str) -> tuple[str, ...]:
    """The type's own keys that must be present."""
    return tuple(_registry().get(name).required_options)


def check_options(field: FieldDefinition) -> list[Any]:
    """The type's semantic problems with a field's own keys (``OptionProblem`` values)."""
    return list(_registry().get(field.type).check_options(field))


#: column kinds an index cannot serve: a JSON list has no order, and long text may not
#: fit an index entry (PostgreSQL refuses a B-tree entry over about 2,700 bytes)
UNINDEXABLE_KINDS = {"json": "list", "text": "long_text"}


def index_refusal(field: FieldDefinition) -> str | None:
    """Why the store cannot index ``field``'s column, or None when it can.

    ``none`` (no column of its own: a sub-table), ``several`` (stored in several
    columns), ``list`` or ``long_text`` (see :data:`UNINDEXABLE_KINDS`).
    """
    field_type = _registry().get(field.type)
    specs = list(field_type.columns(field)) if field_type.stored_inline else []
    if not specs:
        return "none"
    if len(specs) > 1:
        return "several"
    return UNINDEXABLE_KINDS.get(specs[0].kind)
