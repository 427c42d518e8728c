"""Step 7 of preparation: required fields, row counts, row validations, form validations.

* A hidden field (``visible_if`` false) is never required; its value is kept as given.
* Blank means "no value" (``None``, empty text, empty list): zero and ``False`` are
  values and satisfy ``required``.
* A validation is skipped when a field it reads already has an error (a required
  field left blank included), or is a formula left blank because of one, so one mistake
  is reported once. Otherwise the expression decides with the language's blank rules:
  an ordered comparison with a blank is false, so a rule on an optional field is
  written ``ISBLANK(days) or days > 0``. A blank result (``IF`` without a match) passes.
* A sub-table's row validations run on every row, over the row's columns and the
  parent's fields; a row is skipped when a column the rule reads has an error in that
  row, and the rule is skipped altogether when a parent field it reads has one.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from engine.runtime.forms.lookups import NoMatch
from engine.runtime.forms.messages import message
from engine.runtime.forms.plan import FieldPlan, ValidationPlan
from engine.runtime.forms.submission import EXPRESSION_FAULTS, Submission
from engine.runtime.forms.title import display_context


def check_required(sub: Submission) -> None:
    """Report blank required fields and columns, and sub-tables with too few/many rows."""
    for plan in sub.plan.fields:
        if plan.is_formula or not sub.is_visible(plan):
            continue
        if plan.is_subtable:
            _check_rows(sub, plan)
        elif (
            sub.is_required(plan)
            and plan.is_blank(sub.values.get(plan.key))
            and not sub.has_error(plan.path)
        ):
            sub.error(plan.key, message("required", sub.locale, plan.label), "required")


def _check_rows(sub: Submission, plan: FieldPlan) -> None:
    rows = sub.values.get(plan.key) or []
    min_rows = plan.definition.option("min_rows") or 0
    if sub.is_required(plan):
        min_rows = max(min_rows, 1)
    if len(rows) < min_rows and not sub.has_error(plan.key):  # not after "too many rows"
        text = message("min_rows", sub.locale, plan.label, count=min_rows)
        sub.error(plan.key, text, "min_rows")
    # Only a column that is or may become required, or whose visible_if is evaluated
    # (a fault there is reported), does anything here; the others are skipped before
    # any per-row work.
    columns = [
        c
        for c in plan.columns
        if not c.is_formula
        and (c.definition.required or c.required_if is not None or c.visible_if is not None)
    ]
    if not columns:
        return
    for index, row in enumerate(rows):
        sub.check_deadline()
        for column in columns:
            if not sub.is_visible(column, row, index):
                continue
            if (
                sub.is_required(column, row, index)
                and column.is_blank(row.get(column.key))
                and not sub.has_error(column.path, index)
            ):
                text = message("required", sub.locale, column.label)
                sub.error(column.path, text, "required", index)


def check_validations(sub: Submission) -> None:
    """Evaluate each sub-table's row validations, then each form validation.

    A false result reports the rule's message on its ``field`` (for a row rule, the
    column of that row, else the row itself).
    """
    for table in sub.plan.fields:
        if table.validations:
            _check_rows_rules(sub, table)
    for plan in sub.plan.validations:
        if sub.reads_error(plan.inputs):
            continue
        _judge(sub, plan, plan.validation.field, sub.scope(), sub.plan.index, None)


def _check_rows_rules(sub: Submission, table: FieldPlan) -> None:
    columns = table.column_index
    index_of_names = ChainMap(columns, sub.plan.index)  # a row's names shadow the parent's
    for plan in table.validations:
        own = [name for name in plan.inputs if name in columns]
        parent = [name for name in plan.inputs if name not in columns]
        if sub.reads_error(parent):
            continue  # a parent field it reads is wrong: judged once that is fixed
        paths = [f"{table.key}.{name}" for name in own]
        field = plan.validation.field
        target = f"{table.key}.{field}" if field else table.key
        for index, row in enumerate(sub.values.get(table.key) or ()):
            sub.check_deadline()
            if any(
                (path, index) in sub.errored or (path, index) in sub.tainted_cells for path in paths
            ):
                continue
            _judge(sub, plan, target, sub.scope(row), index_of_names, index)


def _judge(
    sub: Submission,
    plan: ValidationPlan,
    target: str | None,
    scope: Mapping[str, Any],
    names: Mapping[str, FieldPlan],
    row: int | None,
) -> None:
    """Evaluate one rule on one scope; false reports its message, a fault says so."""
    try:
        result = plan.expression.evaluate(scope, sub.context)
    except NoMatch as miss:  # a lookup's on_none error, where the rule shows its message
        sub.error(target, miss.in_locale(sub.locale), "no_match", row)
        return
    except EXPRESSION_FAULTS as fault:
        detail = getattr(fault, "message", None) or str(fault)
        text = message("validation_expression", sub.locale, detail=detail)
        sub.error(target, text, "expression", row)
        return
    if result is None or result:
        return
    sub.error(target, _validation_message(sub, plan, scope, names), "validation", row)


def _validation_message(
    sub: Submission, plan: ValidationPlan, scope: Mapping[str, Any], names: Mapping[str, FieldPlan]
) -> str:
    if plan.templates is None:
        return plan.validation.message.get(sub.locale)
    template = plan.templates["en" if sub.locale.startswith("en") else "zh-CN"]
    context = display_context(template, names, scope, sub.locale)
    try:
        return template.render(context)
    except Exception:  # a sandbox refusal must not hide the validation itself
        return plan.validation.message.get(sub.locale)
