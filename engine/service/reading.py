"""Reading records: rows of a form table (and its child tables) into :class:`Record` values."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from engine.errors import NotFoundError
from engine.fields.base import FieldValueError
from engine.service.forms import FormRuntime
from engine.service.results import Record
from engine.store.rows import child_values, inline_values, values_to_json


def load_row(
    conn: sa.Connection, runtime: FormRuntime, record_id: int, *, for_update: bool = False
) -> Mapping[str, Any]:
    """The live row of a record; NotFoundError when it does not exist or was deleted."""
    stmt = runtime.select_live.with_for_update() if for_update else runtime.select_live
    row = conn.execute(stmt, {"record_id": record_id}).mappings().first()
    if row is None:
        raise NotFoundError(
            f"{runtime.app}.{runtime.key} has no record {record_id} (it may have been deleted)"
        )
    return row


def load_children(
    conn: sa.Connection, runtime: FormRuntime, parent_ids: Iterable[int]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Sub-table rows of several records at once: parent id -> sub-table key -> rows."""
    ids = list(parent_ids)
    out: dict[int, dict[str, list[dict[str, Any]]]] = {
        pid: {k: [] for k in runtime.tables.children} for pid in ids
    }
    if not ids:
        return out
    for key, child in runtime.tables.children.items():
        fields = runtime.tables.child_fields[key]
        stmt = (
            sa.select(child)
            .where(child.c.parent_id.in_(ids))
            .order_by(child.c.parent_id, child.c.row_index)
        )
        for row in conn.execute(stmt).mappings():
            out[row["parent_id"]][key].append(child_values(fields, row))
    return out


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
        json_values=values_to_json(runtime.tables, values),
    )


def make_fetcher(
    conn: sa.Connection, runtime_of: Callable[[str], FormRuntime]
) -> Callable[[str, int], Mapping[str, Any] | None]:
    """``fetch_record`` for the runtime: a related record's values, read on ``conn``.

    Values include the system columns (``id``, ``status``, ``title``...) so LOOKUP and
    ``fill_from`` can read them; sub-tables are left out. Reads are memoised per call.
    """
    seen: dict[tuple[str, int], Mapping[str, Any] | None] = {}

    def fetch(form_key: str, record_id: int) -> Mapping[str, Any] | None:
        key = (form_key, record_id)
        if key not in seen:
            target = runtime_of(form_key)
            # the runtime's prepared live-row select, as a DriverStatement: building the
            # WHERE clause per call, and Core's per-call overhead, cost more than running
            # the query on SQLite
            assert target.fetch_live is not None  # set by build_runtime
            row = target.fetch_live.mapping(conn, {"record_id": record_id})
            if row is None:
                seen[key] = None
            else:
                values = inline_values(target.tables, row)
                values.update({c: row[c] for c in ("id", "status", "title", "version")})
                seen[key] = values
        return seen[key]

    return fetch


#: most records one options-from lookup reads: option values are meant to be unique, and
#: the cap bounds the read when they are not (one of them has to pass the filter)
OPTION_CANDIDATES = 20


def option_select(runtime: FormRuntime, value_field: str) -> Any | None:
    """The live rows of ``runtime``'s form whose ``value_field`` equals ``:value``.

    Built once per (form version, value field) and kept on the runtime; None when the
    field is not a single stored column (the loader only lets plain fields be values).
    """
    cached = runtime.option_selects.get(value_field)
    if cached is not None or value_field in runtime.option_selects:
        return cached
    table = runtime.tables.table
    if value_field == "id":
        column = table.c.id
    else:
        fc = runtime.tables.fields.get(value_field)
        # one plain column only: a JSON column has no equality on PostgreSQL
        plain = fc is not None and len(fc.specs) == 1 and fc.specs[0].kind != "json"
        column = table.c[fc.names[0]] if plain else None
    stmt = None
    if column is not None:
        stmt = (
            sa.select(table)
            .where(column == sa.bindparam("value"), table.c.deleted_at.is_(None))
            .order_by(table.c.id)
            .limit(OPTION_CANDIDATES)
        )
    runtime.option_selects[value_field] = stmt
    return stmt


def make_option_finder(
    conn: sa.Connection, runtime_of: Callable[[str], FormRuntime]
) -> Callable[[str, str, str], list[Mapping[str, Any]]]:
    """``find_options`` for the runtime: records offering an option value, read on ``conn``.

    The option value is text (what a select stores); it is turned into the value
    field's own type before the comparison, so ``"12"`` finds id 12 or a number 12, and
    text that cannot be such a value matches nothing (without a query).
    """

    def find(form_key: str, value_field: str, value: str) -> list[Mapping[str, Any]]:
        target = runtime_of(form_key)
        stmt = option_select(target, value_field)
        stored = _stored_option_value(target, value_field, value)
        if stmt is None or stored is None:
            return []
        found = []
        for row in conn.execute(stmt, {"value": stored}).mappings():
            values = inline_values(target.tables, row)
            values.update({c: row[c] for c in ("id", "status", "title", "version")})
            found.append(values)
        return found

    return find


def _stored_option_value(runtime: FormRuntime, value_field: str, value: str) -> Any:
    if value_field == "id":
        text = str(value).strip()
        return int(text) if text.isdigit() else None
    fc = runtime.tables.fields.get(value_field)
    if fc is None:
        return None
    try:
        coerced = fc.type.coerce(fc.field, value, "json")
    except FieldValueError:
        return None
    if coerced is None:
        return None
    return fc.type.to_storage(fc.field, coerced).get(fc.names[0])
