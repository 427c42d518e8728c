"""Step 6 of preparation: formulas, in dependency order, stored through their result type.

Row formulas run for every row before a parent formula that aggregates them (the order
comes from the compiled plan). A formula whose inputs already have an error is left
blank instead of adding a second, derived error.
"""

from __future__ import annotations

from typing import Any

from engine.fields.base import FieldValueError
from engine.runtime.forms.plan import FieldPlan
from engine.runtime.forms.submission import Submission


def compute_formulas(sub: Submission) -> None:
    """Compute every formula field and formula column into ``sub.values``."""
    for plan in sub.plan.formula_order:
        if plan.subtable is None:
            sub.values[plan.key] = _compute(sub, plan, None, None)
        else:
            for index, row in enumerate(sub.values.get(plan.subtable) or ()):
                sub.check_deadline()
                row[plan.key] = _compute(sub, plan, row, index)


def _compute(
    sub: Submission, plan: FieldPlan, row: dict[str, Any] | None, index: int | None
) -> Any:
    if _inputs_have_errors(sub, plan, index):
        # Rules reading this blank result would only echo the original error.
        sub.tainted.add(plan.subtable or plan.key)
        if index is not None:
            sub.tainted_cells.add((plan.path, index))
        return None
    ok, value = sub.evaluate(plan, "formula", row, index)
    if not ok:
        return None
    try:
        return _result_value(plan, value)
    except FieldValueError as error:
        sub.error(plan.path, error.in_locale(sub.locale), error.code, index)
        return None


def _inputs_have_errors(sub: Submission, plan: FieldPlan, index: int | None) -> bool:
    # Called for every formula of every row: each test is a set or dict lookup, so a
    # submission with an error in every row stays linear in its rows.
    errored, tainted = sub.errored, sub.tainted
    if not errored and not tainted:
        return False
    heads = sub.errored_heads
    expression = plan.expressions["formula"]
    columns = sub.plan.index[plan.subtable].column_index if plan.subtable else None
    for name in expression.names:
        if columns is not None and name in columns:
            if (f"{plan.subtable}.{name}", index) in errored:
                return True
        elif name in heads or name in tainted:
            return True
    return any(table in heads or table in tainted for table, _ in expression.subtable_refs)


def _result_value(plan: FieldPlan, value: Any) -> Any:
    """Round/convert a computed value to the formula's result type (money: 0.01 half-up).

    ``plan.result`` is built once per form version and trusts the engine's own rounding
    instead of validating the rounded number again as if it had been typed.
    """
    return plan.result(value)
