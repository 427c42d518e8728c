"""Step 7 of preparation: required fields, row counts, and the form's validations.

* A hidden field (``visible_if`` false) is never required; its value is kept as given.
* Blank means "no value" (``None``, empty text, empty list): zero and ``False`` are
  values and satisfy ``required``.
* A validation is skipped when a field it reads already has an error (a required
  field left blank included), or is a formula left blank because of one, so one mistake
  is reported once. Otherwise the expression decides with the language's blank rules:
  an ordered comparison with a blank is false, so a rule on an optional field is
  written ``ISBLANK(days) or days > 0``. A blank result (``IF`` without a match) passes.
"""

from __future__ import annotations

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
        sub.check_deadline(index)
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
    """Evaluate each form validation; a false result reports its message."""
    for plan in sub.plan.validations:
        if sub.reads_error(plan.inputs):
            continue
        target = plan.validation.field
        try:
            result = plan.expression.evaluate(sub.scope(), sub.context)
        except EXPRESSION_FAULTS as fault:
            detail = getattr(fault, "message", None) or str(fault)
            sub.error(
                target, message("validation_expression", sub.locale, detail=detail), "expression"
            )
            continue
        if result is None or result:
            continue
        sub.error(target, _validation_message(sub, plan), "validation")


def _validation_message(sub: Submission, plan: ValidationPlan) -> str:
    if plan.templates is None:
        return plan.validation.message.get(sub.locale)
    template = plan.templates["en" if sub.locale.startswith("en") else "zh-CN"]
    context = display_context(template, sub.plan.index, sub.scope(), sub.locale)
    try:
        return template.render(context)
    except Exception:  # a sandbox refusal must not hide the validation itself
        return plan.validation.message.get(sub.locale)
