"""Options taken from another form: a select/multiselect value must be a live option.

``options: {from: <form>, value: <field>, label: <field>, filter: <expr>}`` lets the
field type accept any text (it cannot see other forms); here each value chosen now is
looked up through ``RecordEnvironment.find_options`` (one read per value) and must
belong to a live record of that form whose ``filter`` matches. As for relations, a
value kept from the stored record is not judged again, so a record whose option was
retired later can still be edited. Forms without such fields skip this step entirely.
"""

from __future__ import annotations

from typing import Any

from engine.runtime.forms.messages import message
from engine.runtime.forms.plan import FieldPlan
from engine.runtime.forms.submission import EXPRESSION_FAULTS, Submission


def check_option_sources(sub: Submission) -> None:
    """Refuse options-from values chosen now that no live (filtered) record offers."""
    if not sub.plan.has_option_sources or sub.env.find_options is None:
        return
    stored = sub.existing or {}
    for plan in sub.plan.fields:
        if plan.options_from is not None:
            before = None if sub.is_new else stored.get(plan.key)
            _check(sub, plan, sub.values.get(plan.key), before, None)
        elif plan.is_subtable and plan.key in sub.row_given:
            columns = [c for c in plan.columns if c.options_from is not None]
            for index, row in enumerate(sub.values[plan.key] if columns else ()):
                sub.check_deadline()
                origin = sub.row_origin[plan.key][index]
                for column in columns:
                    before = origin.get(column.key) if origin is not None else None
                    _check(sub, column, row.get(column.key), before, index)


def _check(sub: Submission, plan: FieldPlan, value: Any, before: Any, index: int | None) -> None:
    if plan.is_blank(value) or value == before or sub.has_error(plan.path, index):
        return
    chosen = value if isinstance(value, list) else [value]
    kept = set(before if isinstance(before, list) else [before])
    source = plan.options_from
    form_key, value_field = source["from"], source.get("value") or "id"
    for item in chosen:
        if item in kept:
            continue
        candidates = sub.env.find_options(form_key, value_field, item)
        try:
            found = any(sub.matches_filter(plan, record) for record in candidates)
        except EXPRESSION_FAULTS as fault:
            detail = getattr(fault, "message", None) or str(fault)
            text = message("filter_expression", sub.locale, plan.label, detail=detail)
            sub.error(plan.path, text, "filter", index)
            return
        if not found:
            # the same words whether the option is missing or filtered out: the filter
            # (and the records it hides) are not the person's business
            text = message("option", sub.locale, plan.label, value=item, form=form_key)
            sub.error(plan.path, text, "option", index)
            return
