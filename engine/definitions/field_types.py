"""The loader's view of the field-type registry (``engine.fields.registry``).

Imported lazily: ``engine.fields.base`` imports ``engine.definitions.model``, so a
top-level import of the registry from this package would be circular.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from engine.definitions.model import FieldDefinition


def _registry() -> ModuleType:
    from engine.fields import registry

    return registry


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
