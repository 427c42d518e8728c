"""Field types: storage columns, value schema, coercion and display, one module per family.

``get``/``names``/``all_names``/``canonical`` come from :mod:`engine.fields.registry`.
"""

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
