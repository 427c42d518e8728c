"""Steps 1-2 of preparation: reject unknown keys, coerce every given value, merge.

For an update, fields absent from the input keep their stored value; a sub-table that
is given replaces the stored rows whole, and a row carrying the ``id`` of a stored row
updates that row (its absent columns keep their stored values). Formula fields are
computed, so input for them is dropped here without an error.

Serial numbers are issued by the engine, so a number sent by a client is refused (code
``serial``): on a new record any non-blank value, unless the submission is an import
(``source`` ``import`` or ``excel``) and the field says ``keep_imported: true``; on an
update any value other than the stored one (sending it back unchanged is fine).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from engine.definitions.naming import SYSTEM_COLUMNS
from engine.fields.base import FieldValueError
from engine.fields.subtable import max_rows
from engine.runtime.forms.messages import message
from engine.runtime.forms.plan import FieldPlan
from engine.runtime.forms.submission import Submission

ROW_ID = "id"
SERIAL = "serial"
#: sources that bring records from elsewhere, which may keep their legacy numbers
IMPORT_SOURCES = frozenset({"import", "excel"})


def take_input(sub: Submission, raw: Mapping[str, Any]) -> None:
    """Coerce ``raw`` into ``sub.values`` on top of the stored record (or blanks)."""
    existing = sub.existing or {}
    for plan in sub.plan.fields:
        if plan.is_subtable:
            stored = existing.get(plan.key) or []
            sub.values[plan.key] = [dict(row) for row in stored]
            sub.row_origin[plan.key] = list(stored)
        else:
            sub.values[plan.key] = existing.get(plan.key)
    for key, value in raw.items():
        plan = sub.plan.index.get(key)
        if plan is None:
            _unknown(sub, key, None, sub.plan.fields, None)
        elif plan.is_subtable:
            _take_rows(sub, plan, value)
        elif plan.definition.type == SERIAL:
            _take_serial(sub, plan, value)
        elif not plan.is_formula:
            sub.given.add(key)
            sub.values[key] = coerce(sub, plan, value, None)


def _take_serial(sub: Submission, plan: FieldPlan, raw: Any) -> None:
    """Accept a client's serial only where it cannot forge one (see the module docstring)."""
    value = coerce(sub, plan, raw, None)
    if sub.has_error(plan.key):
        return
    if sub.is_new:
        if value is None:
            return  # blank: the engine numbers the record
        if sub.source in IMPORT_SOURCES and plan.definition.option("keep_imported", False):
            sub.given.add(plan.key)
            sub.values[plan.key] = value
            return
        sub.error(plan.key, message("serial", sub.locale, plan.label), SERIAL)
        return
    stored = (sub.existing or {}).get(plan.key)
    if value == stored or (value is None and stored in (None, "")):
        return  # sent back unchanged: the stored number stays
    text = message("serial_changed", sub.locale, plan.label, stored=stored or "—")
    sub.error(plan.key, text, SERIAL)


def coerce(sub: Submission, plan: FieldPlan, raw: Any, row: int | None) -> Any:
    """The field type's value for ``raw``; a mismatch is recorded and gives ``None``."""
    try:
        return plan.coerce(raw, sub.source)
    except FieldValueError as error:
        sub.error(plan.path, error.in_locale(sub.locale), error.code, row)
        return None


def _unknown(
    sub: Submission, key: str, subtable: str | None, known: Iterable[FieldPlan], row: int | None
) -> None:
    path = f"{subtable}.{key}" if subtable else key
    if subtable is None and key in SYSTEM_COLUMNS:
        sub.error(path, message("system_field", sub.locale, key=key), "unknown_field", row)
        return
    names = [plan.key for plan in known]
    close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
    hint_zh = f"，是否想填 “{close[0]}”" if close else ""
    hint_en = f"; did you mean '{close[0]}'?" if close else ""
    text = message("unknown_field", sub.locale, key=key, hint_zh=hint_zh, hint_en=hint_en)
    sub.error(path, text, "unknown_field", row)


def _take_rows(sub: Submission, plan: FieldPlan, raw: Any) -> None:
    if raw is None:
        raw = []
    if isinstance(raw, (str, bytes)) or not isinstance(raw, (list, tuple)):
        sub.error(plan.key, message("rows_type", sub.locale, plan.label), "type")
        return
    limit = max_rows(plan.definition)
    if len(raw) > limit:
        # refused before any row is read: the bound exists to cap this work
        text = message("max_rows", sub.locale, plan.label, count=limit)
        sub.error(plan.key, text, "max_rows")
        sub.values[plan.key] = []
        return
    stored = {
        row.get(ROW_ID): row for row in (sub.row_origin.get(plan.key) or []) if row.get(ROW_ID)
    }
    rows: list[dict[str, Any]] = []
    origins: list[Mapping[str, Any] | None] = []
    given: list[set[str]] = []
    claimed: set[Any] = set()
    # This loop runs for every cell of every row: the lookups it repeats are bound once.
    find_column = plan.column_index.get
    column_keys = tuple(plan.column_index)
    source = sub.source
    for index, raw_row in enumerate(raw):
        sub.check_deadline()
        if not isinstance(raw_row, Mapping):
            sub.error(plan.key, message("row_type", sub.locale), "type", index)
            raw_row = {}
        origin = (
            _row_origin(sub, plan, raw_row, stored, claimed, index)
            if ROW_ID in raw_row
            else None  # _row_origin's answer for a row without an id, without the call
        )
        row: dict[str, Any] = dict(origin) if origin is not None else {}
        row_given: set[str] = set()
        for key, value in raw_row.items():
            if key == ROW_ID:
                continue
            column = find_column(key)
            if column is None:
                _unknown(sub, key, plan.key, plan.columns, index)
            elif not column.is_formula:
                row_given.add(key)
                try:  # coerce() inlined
                    row[key] = column.coerce(value, source)
                except FieldValueError as error:
                    sub.error(column.path, error.in_locale(sub.locale), error.code, index)
                    row[key] = None
        for key in column_keys:
            if key not in row:
                row[key] = None
        rows.append(row)
        origins.append(origin)
        given.append(row_given)
    sub.values[plan.key] = rows
    sub.row_origin[plan.key] = origins
    sub.row_given[plan.key] = given
    sub.given.add(plan.key)


def _row_origin(
    sub: Submission,
    plan: FieldPlan,
    raw_row: Mapping[str, Any],
    stored: Mapping[Any, Mapping[str, Any]],
    claimed: set[Any],
    index: int,
) -> Mapping[str, Any] | None:
    """The stored row a given row updates, matched by ``id``; ``None`` for a new row."""
    row_id = raw_row.get(ROW_ID)
    if row_id is None:
        return None
    if isinstance(row_id, str) and row_id.strip().isdigit():
        row_id = int(row_id)
    origin = stored.get(row_id)
    if origin is None or row_id in claimed:
        text = message("row_id", sub.locale, row_id=raw_row.get(ROW_ID))
        sub.error(f"{plan.key}.{ROW_ID}", text, "row_id", index)
        return None
    claimed.add(row_id)
    return origin
