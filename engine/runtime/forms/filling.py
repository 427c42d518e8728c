"""Steps 3-5 of preparation: defaults, read-only input, and copies from related records.

* Defaults apply to a new record's fields that the input left out (an explicit blank
  stays blank) and to the left-out columns of new sub-table rows.
* Read-only input is ignored, not rejected: the field keeps its stored value (update)
  or its default (new record). ``readonly_if`` is judged on the stored record for an
  update, so one submission cannot unlock and change a field at once, and on the
  submitted values for a new record.
* ``fill_from`` copies fields from the related record when the relation is set or
  changed, at that moment: a saved record keeps its copy when the source changes later.
  A value the person typed in the same submission wins over the copy, except for
  read-only fields, which always take the copy.
* A relation's ``filter`` (over the target form's fields) is checked on the records
  chosen now, against the values ``fetch_record`` read for the existence check (no
  extra query). Like the existence check it never judges a link kept from the stored
  record, so a record whose supplier was paused (or deleted) later can still be
  edited; for ``many`` relations that means only the ids added now are checked.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from engine.runtime.forms.intake import coerce
from engine.runtime.forms.messages import message
from engine.runtime.forms.plan import FieldPlan
from engine.runtime.forms.submission import EXPRESSION_FAULTS, Submission


def apply_defaults(sub: Submission) -> None:
    """Fill left-out fields of a new record and left-out columns of new rows."""
    if sub.is_new:
        for plan in sub.plan.default_order:
            if plan.key not in sub.given:
                sub.values[plan.key] = default_value(sub, plan)
    for plan in sub.plan.fields:
        given = sub.row_given.get(plan.key) if plan.is_subtable else None
        if given is None:
            continue
        # A new row already holds None for every column left out (intake fills them),
        # so only columns that have a default can change it.
        columns = [
            c
            for c in plan.columns
            if not c.is_formula
            and ("default_expr" in c.expressions or c.definition.default is not None)
        ]
        if not columns:
            continue
        for index, row in enumerate(sub.values[plan.key]):
            sub.check_deadline()
            if sub.row_origin[plan.key][index] is None:
                for column in columns:
                    if column.key not in given[index]:
                        row[column.key] = default_value(sub, column, row, index)


def default_value(
    sub: Submission, plan: FieldPlan, row: dict[str, Any] | None = None, index: int | None = None
) -> Any:
    """The field's default (expression first, then literal), coerced to the field type."""
    if "default_expr" in plan.expressions:
        ok, value = sub.evaluate(plan, "default_expr", row, index)
        if not ok or value is None:
            return None
    else:
        value = plan.definition.default
        if value is None:
            return None
    return coerce(sub, plan, value, index)


def ignore_readonly_input(sub: Submission) -> None:
    """Drop input to read-only fields and columns, restoring the stored or default value."""
    stored = sub.existing or {}
    stored_scope = ChainMap(stored, sub.record)
    for plan in sub.plan.fields:
        if plan.key not in sub.given or plan.is_formula:
            continue
        scope = None if sub.is_new else stored_scope
        if sub.is_readonly(plan, scope=scope):
            sub.given.discard(plan.key)
            if plan.is_subtable:
                _restore_rows(sub, plan)
            else:
                sub.retract(plan.path)
                sub.values[plan.key] = (
                    default_value(sub, plan) if sub.is_new else stored.get(plan.key)
                )
        elif plan.is_subtable:
            _ignore_readonly_columns(sub, plan, stored_scope)


def _restore_rows(sub: Submission, plan: FieldPlan) -> None:
    sub.retract(plan.key, whole_subtable=True)
    rows = [] if sub.is_new else list((sub.existing or {}).get(plan.key) or [])
    sub.values[plan.key] = [dict(row) for row in rows]
    sub.row_origin[plan.key] = rows
    sub.row_given.pop(plan.key, None)


def _ignore_readonly_columns(sub: Submission, plan: FieldPlan, stored_scope: Mapping) -> None:
    # Formula columns never reach ``given``; only columns that are or may be read-only
    # need a look (and a scope built) per row, and most sub-tables have none.
    columns = [c for c in plan.columns if c.always_readonly or c.readonly_if is not None]
    if not columns:
        return
    origins = sub.row_origin[plan.key]
    for index, row in enumerate(sub.values[plan.key]):
        sub.check_deadline()
        given = sub.row_given[plan.key][index]
        origin = origins[index]
        for column in columns:
            if column.key not in given:
                continue
            if sub.is_new:
                scope = ChainMap(row, sub.values, sub.record)
            else:
                scope = ChainMap(origin or row, stored_scope)
            if sub.is_readonly(column, row, index, scope=scope):
                given.discard(column.key)
                sub.retract(column.path, index)
                row[column.key] = (
                    origin.get(column.key) if origin else default_value(sub, column, row, index)
                )


def fill_relations(sub: Submission) -> None:
    """Check set or changed relations exist, and copy their ``fill_from`` fields."""
    stored = sub.existing or {}
    for plan in sub.plan.fields:
        if plan.relation_to:
            value = sub.values.get(plan.key)
            changed = plan.key in sub.given and value != stored.get(plan.key)
            if (sub.is_new or changed) and not plan.is_blank(value):
                before = None if sub.is_new else stored.get(plan.key)
                _follow(sub, plan, value, before, sub.values, sub.given, None, sub.plan.index.get)
        elif plan.is_subtable:
            _fill_rows(sub, plan)


def _fill_rows(sub: Submission, plan: FieldPlan) -> None:
    relations = [column for column in plan.columns if column.relation_to]
    if not relations or plan.key not in sub.row_given:
        return  # rows that were not submitted are unchanged
    for index, row in enumerate(sub.values[plan.key]):
        sub.check_deadline()
        origin = sub.row_origin[plan.key][index]
        given = sub.row_given[plan.key][index]
        for column in relations:
            value = row.get(column.key)
            if column.is_blank(value):
                continue
            before = origin.get(column.key) if origin is not None else None
            if origin is None or value != before:
                _follow(sub, column, value, before, row, given, index, plan.column)


def _follow(
    sub: Submission,
    relation: FieldPlan,
    value: Any,
    before: Any,
    target_values: dict[str, Any],
    given: set[str],
    index: int | None,
    find_plan,
) -> None:
    if sub.has_error(relation.path, index):
        return
    ids = list(value) if relation.many else [value]
    # ids kept from the stored value were accepted when they were chosen
    kept = set(before or ()) if relation.many else set()
    record = None
    for record_id in ids:
        if record_id in kept:
            continue
        record = sub.fetcher.get(relation.relation_to, record_id)
        if record is None:
            text = message("not_found", sub.locale, record_id=record_id)
            sub.error(relation.path, text, "not_found", index)
        elif not _selectable(sub, relation, record_id, record, index):
            record = None  # refused: nothing is copied from it
    # A copy needs one source record; many-relations only get the checks.
    if relation.many or record is None:
        return
    for local_key, target_key in relation.fill_from.items():
        local = find_plan(local_key)
        if local is None or local.is_formula:
            continue
        typed = local_key in given
        if typed and (
            sub.has_error(local.path, index) or not local.is_blank(target_values.get(local_key))
        ):
            continue  # typed in the same submission: the person's value (or its error) wins
        target_values[local_key] = coerce(sub, local, record.get(target_key), index)


def _selectable(
    sub: Submission, relation: FieldPlan, record_id: Any, record: Mapping[str, Any], index
) -> bool:
    """Check the relation's ``filter`` on the chosen record; a refusal is recorded."""
    if relation.target_filter is None:
        return True
    try:
        if sub.matches_filter(relation, record):
            return True
    except EXPRESSION_FAULTS as fault:
        detail = getattr(fault, "message", None) or str(fault)
        text = message("filter_expression", sub.locale, relation.label, detail=detail)
        sub.error(relation.path, text, "filter", index)
        return False
    # name the record as the person saw it in the picker: its display field, else title
    display_key = relation.definition.option("display")
    name = record.get(display_key) if display_key else None
    name = str(name if name not in (None, "") else record.get("title") or "").strip()
    shown = f"#{record_id} {name}" if name else f"#{record_id}"
    condition = relation.target_filter.source
    text = message("filter", sub.locale, relation.label, record=shown, condition=condition)
    sub.error(relation.path, text, "filter", index)
    return False
