"""JSON Schemas of a form's record values as the REST API exchanges them.

Built from the field types' ``value_schema`` (engine/fields), so ``web/`` never reaches
below the service for them. Two shapes: what a client sends (``writing``: computed and
serial fields left out, ``required`` for fields the client must give) and what the API
returns (decimals always as strings, every value possibly null).
"""

from __future__ import annotations

import copy
from typing import Any

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.fields import registry

#: field types whose value the engine computes: never part of a request
COMPUTED = frozenset({"formula", "serial"})


def field_value_schema(field: FieldDefinition, *, writing: bool = False) -> dict[str, Any]:
    """The JSON Schema of one field's value (a sub-table: an array of row objects)."""
    if field.type == "subtable":
        columns = [c for c in field.fields if not (writing and c.type in COMPUTED)]
        properties: dict[str, Any] = {"id": {"type": "integer", "minimum": 1}}
        for column in columns:
            properties[column.key] = field_value_schema(column, writing=writing)
        item: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        required = [c.key for c in columns if _required(c)] if writing else []
        if required:
            item["required"] = required
        whole = copy.deepcopy(registry.get("subtable").value_schema(field))
        whole["items"] = item
        return _nullable(whole)
    schema = copy.deepcopy(registry.get(field.type).value_schema(field))
    if not writing:
        schema = _as_returned(schema)
    schema.setdefault("title", field.label.en if field.label else field.key)
    if field.description is not None:
        schema.setdefault("description", field.description.en)
    return _nullable(schema)


def form_values_schema(form: FormDefinition, *, writing: bool = False) -> dict[str, Any]:
    """The object of a record's ``values`` (``writing``: a create request's body)."""
    fields = [f for f in form.fields if not (writing and f.type in COMPUTED)]
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {f.key: field_value_schema(f, writing=writing) for f in fields},
        "additionalProperties": False,
    }
    required = [f.key for f in fields if _required(f)] if writing else []
    if required:
        schema["required"] = required
    return schema


def _required(field: FieldDefinition) -> bool:
    """Required of the client: required with no default to fall back on."""
    return bool(field.required) and field.default is None and field.default_expr is None


def _as_returned(schema: dict[str, Any]) -> dict[str, Any]:
    """Decimals leave the API as strings (``"12.50"``), never as JSON numbers."""
    out = dict(schema)
    if out.get("type") == ["string", "number"]:
        out["type"] = "string"
    for key in ("items",):
        if isinstance(out.get(key), dict):
            out[key] = _as_returned(out[key])
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _as_returned(v) for k, v in out["properties"].items()}
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """A blank value is null: add ``null`` to the type (and to an enum)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list) and "null" not in kind:
        schema["type"] = [*kind, "null"]
    if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]
    return schema
