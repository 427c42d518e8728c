"""Load and check app definitions (YAML) into immutable values.

Exports are resolved lazily: ``engine.fields.base`` imports ``engine.definitions.model``
and the loader imports the field registry, so importing everything here eagerly would
be circular.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_app": "engine.definitions.loader",
    "check_app": "engine.definitions.loader",
    "load_app_text": "engine.definitions.loader",
    "check_app_text": "engine.definitions.loader",
    "dsl_schema": "engine.definitions.schema",
    "write_schema_files": "engine.definitions.schema",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.definitions' has no attribute {name!r}")
    return getattr(import_module(module), name)
