"""Field types: storage columns, value schema, coercion and display, one module per family.

``get``/``names``/``all_names``/``canonical`` come from :mod:`engine.fields.registry`.
"""

from engine.definitions import field_types as _definition_field_types
from engine.fields import registry
from engine.fields.base import (
    ColumnKind,
    ColumnSpec,
    FieldType,
    FieldValueError,
    InputSource,
    OptionProblem,
)
from engine.fields.registry import UnknownFieldType, all_names, canonical, get, names

# the loader checks `type:` and each type's own keys against this registry
_definition_field_types.install(registry)

__all__ = [
    "ColumnKind",
    "ColumnSpec",
    "FieldType",
    "FieldValueError",
    "InputSource",
    "OptionProblem",
    "UnknownFieldType",
    "all_names",
    "canonical",
    "get",
    "names",
    "registry",
]
