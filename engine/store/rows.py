"""Record values <-> table rows, through the field types' storage mapping.

Values are what the runtime works with (field key -> Python value, sub-tables as lists
of row dicts); rows are what the tables hold (column -> stored value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.store.form_tables import FieldColumns, FormTables


def inline_row(tables: FormTables, values: Mapping[str, Any]) -> dict[str, Any]:
    """Columns of the form table for the inline fields in ``values``."""
    row: dict[str, Any] = {}
    for key, fc in tables.fields.items():
        if key in values:
            row.update(fc.type.to_storage(fc.field, values[key]))
    return row


def child_row(fields: Mapping[str, FieldColumns], values: Mapping[str, Any]) -> dict[str, Any]:
    """Columns of a child table for one sub-table row (every column, blanks as None)."""
    row: dict[str, Any] = {}
    for key, fc in fields.items():
        row.update(fc.type.to_storage(fc.field, values.get(key)))
    return row


def inline_values(tables: FormTables, row: Mapping[str, Any]) -> dict[str, Any]:
    """Field values of the inline fields from a form-table row."""
    return {key: fc.read(row) for key, fc in tables.fields.items()}


def child_values(fields: Mapping[str, FieldColumns], row: Mapping[str, Any]) -> dict[str, Any]:
    """A sub-table row's values (with its ``id``) from a child-table row."""
    out = {"id": row["id"]}
    out.update({key: fc.read(row) for key, fc in fields.items()})
    return out


def values_to_json(tables: FormTables, values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON data of record values (Decimal -> text, dates -> ISO...), for revisions and APIs."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        fc = tables.fields.get(key)
        if fc is not None:
            out[key] = None if value is None else fc.type.to_json(fc.field, value)
            continue
        fields = tables.child_fields.get(key)
        if fields is None:
            continue
        out[key] = [
            {
                "id": row.get("id"),
                **{
                    k: None if row.get(k) is None else f.type.to_json(f.field, row.get(k))
                    for k, f in fields.items()
                },
            }
            for row in value or ()
        ]
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Changed keys of two JSON snapshots as ``{key: {"old": ..., "new": ...}}``."""
    return {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
