"""MATCH: the value of a form's declared best-match lookup (docs/lookups.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.context import EvaluationContext
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.values import load


def match(
    context: EvaluationContext, values: Mapping[str, Any], name: str, field: str | None = None
) -> Any:
    """MATCH: the best row of the lookup ``name`` for these values; its ``field`` (default:
    the lookup's ``value``), or what its ``on_none`` says when no row matches.

    The compiler passes the names the formula sees (the record, or a sub-table row then
    the record), from which the lookup's match expressions are evaluated.
    """
    finder = getattr(context, "match", None)
    if finder is None:
        raise ExpressionError(
            f"MATCH({name!r}) cannot read other records here",
            hint="MATCH works in a form's formulas, defaults and validations",
        )
    return load(finder(name, values, field), context.timezone)


SPECS = (
    FunctionSpec(
        "MATCH",
        'MATCH("lookup"[, "field"])',
        "The best-matching row of one of the form's declared lookups (docs/lookups.md): "
        "its value field, or the named field.",
        'MATCH("line_price")',
        "210.00",
        match,
        1,
        2,
        needs="context",
    ),
)
