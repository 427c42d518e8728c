"""AGGREGATE: a declared aggregate over another form's rows (docs/aggregates.md).

The form declares the aggregate (``aggregates:`` in its YAML: form, measure, where); the
expression names it in quotes. The evaluation context's ``aggregate`` callback runs it
as one SQL aggregate in the writing transaction, with this record's values bound where
the ``where`` reads ``record.x``. The code generator passes the record's values
(engine/expressions/codegen.py, ``inline_aggregate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.context import EvaluationContext
from engine.expressions.functions.spec import FunctionSpec


def aggregate(context: EvaluationContext, name: Any, values: Mapping[str, Any]) -> Any:
    """AGGREGATE("name"): the value of this form's declared aggregate ``name``.

    SUM of no rows is 0 and COUNT of no rows 0 (a credit check over an account
    without orders uses nothing); MIN and MAX of no rows are blank.
    """
    if context.aggregate is None:
        raise ExpressionError(
            f"AGGREGATE({name!r}) cannot read other records here",
            hint="aggregates are read when a record is saved or a flow decides on it",
        )
    # no per-evaluation time budget here: one indexed SQL aggregate over many rows may
    # take longer than a formula's 50 ms, and the submission's deadline bounds the whole
    value = context.aggregate(str(name), values)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


SPECS = (
    FunctionSpec(
        "AGGREGATE",
        'AGGREGATE("name")',
        "The value of an aggregate the form declares under `aggregates:` (a sum or count "
        "of another form's rows), read in the saving transaction (docs/aggregates.md).",
        'AGGREGATE("open_credit")',
        "177400.00",
        aggregate,
        1,
        1,
        needs="context",
    ),
)
