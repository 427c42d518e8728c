"""Functions that read the evaluation context: CURRENT_USER, CURRENT_DEPARTMENT,
CURRENT_DEALER, CURRENT_REGION, LOOKUP."""

from __future__ import annotations

from time import perf_counter
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.context import EvaluationContext
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.values import load


def current_user(context: EvaluationContext) -> str | None:
    """CURRENT_USER: the acting user's key (blank when evaluated without a user)."""
    return context.user


def current_department(context: EvaluationContext) -> str | None:
    """CURRENT_DEPARTMENT: the acting user's department key."""
    return context.department


def current_dealer(context: EvaluationContext) -> str | None:
    """CURRENT_DEALER: the code of the dealer the acting (dealer) user belongs to."""
    return context.dealer


def current_region(context: EvaluationContext) -> str | None:
    """CURRENT_REGION: the acting user's region (a dealer user's: their dealer's)."""
    return context.region


def lookup(context: EvaluationContext, relation: str, record_id: Any, target: str) -> Any:
    """LOOKUP: a field of the record a relation field points to; blank relation -> blank.

    The compiler passes the relation field's key and its value (the record id), so the
    context's ``lookup`` can find the target form.
    """
    if record_id is None:
        return None
    if context.lookup is None:
        raise ExpressionError(
            f"LOOKUP({relation}, {target!r}) cannot read related records here",
            hint="evaluate with an EvaluationContext that has a lookup function",
        )
    started = perf_counter()
    value = context.lookup(relation, record_id, target)
    if perf_counter() - started > context.time_budget:
        raise ExpressionError(f"LOOKUP({relation}, {target!r}) took longer than the time budget")
    return load(value, context.timezone)


SPECS = (
    FunctionSpec(
        "CURRENT_USER",
        "CURRENT_USER()",
        "The key of the user the formula runs for.",
        "CURRENT_USER()",
        '"zhang.wei"',
        current_user,
        0,
        0,
        needs="context",
    ),
    FunctionSpec(
        "CURRENT_DEPARTMENT",
        "CURRENT_DEPARTMENT()",
        "The key of that user's department.",
        "CURRENT_DEPARTMENT()",
        '"sales_east"',
        current_department,
        0,
        0,
        needs="context",
    ),
    FunctionSpec(
        "CURRENT_DEALER",
        "CURRENT_DEALER()",
        "The code of the dealer the user belongs to (blank for the brand's own staff).",
        "CURRENT_DEALER()",
        '"DL-HZ-001"',
        current_dealer,
        0,
        0,
        needs="context",
    ),
    FunctionSpec(
        "CURRENT_REGION",
        "CURRENT_REGION()",
        "The code of the user's region; for a dealer's people, their dealer's region.",
        "CURRENT_REGION()",
        '"hangzhou"',
        current_region,
        0,
        0,
        needs="context",
    ),
    FunctionSpec(
        "LOOKUP",
        'LOOKUP(relation_field, "target_field")',
        "A field of the related record; the first argument is a relation field of this form, "
        "the second the target field's key as a text literal.",
        'LOOKUP(supplier, "name")',
        '"华东供应商"',
        lookup,
        2,
        2,
        needs="context",
    ),
)
