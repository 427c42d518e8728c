"""Records as the service returns them, from rows the record source read."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from engine.service.forms import FormRuntime
from engine.service.results import Record
from engine.store.rows import inline_values, values_to_json


def row_values(
    runtime: FormRuntime, row: Mapping[str, Any], children: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Field values of a record: inline fields, then sub-tables when they were loaded."""
    values = inline_values(runtime.tables, row)
    if children is not None:
        values.update(children)
    return values


def to_record(
    runtime: FormRuntime, row: Mapping[str, Any], children: Mapping[str, Any] | None
) -> Record:
    """A :class:`Record` from a form-table row and (optionally) its sub-table rows."""
    values = row_values(runtime, row, children)
    return Record(
        app=runtime.app,
        form=runtime.key,
        id=row["id"],
        version=row["version"],
        status=row["status"],
        title=row["title"],
        values=values,
        created_at=row["created_at"],
        created_by=row["created_by"],
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
        _json_of=partial(values_to_json, runtime.tables),
    )
