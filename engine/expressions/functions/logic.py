"""Logic functions: IF, AND, OR, NOT, ISBLANK, IN, COALESCE."""

from __future__ import annotations

from typing import Any

from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.operators import equal
from engine.expressions.values import is_blank


def not_(value: Any) -> bool:
    """NOT: the opposite truth of ``value`` (blank, 0, "" and [] are false)."""
    return not value


def isblank(value: Any) -> bool:
    """ISBLANK: None, "" and an empty list are blank."""
    return is_blank(value)


def in_(value: Any, *candidates: Any) -> bool:
    """IN: ``value`` equals one of the candidates; list candidates are searched too."""
    for candidate in candidates:
        members = candidate if isinstance(candidate, list | tuple) else (candidate,)
        if any(equal(value, member) for member in members):
            return True
    return False


def coalesce(*values: Any) -> Any:
    """COALESCE: the first argument that is not blank, else blank."""
    return next((v for v in values if not is_blank(v)), None)


SPECS = (
    FunctionSpec(
        "IF",
        "IF(condition, then, else=None)",
        "`then` when the condition is true, else `else`; only the chosen branch is evaluated.",
        'IF(qty > 5, "bulk", "single")',
        '"bulk"',
        None,
        2,
        3,
        lazy=True,
    ),
    FunctionSpec(
        "AND",
        "AND(a, b, ...)",
        "True when every argument is true; stops at the first false one.",
        "AND(qty > 5, urgent)",
        "True",
        None,
        1,
        None,
        lazy=True,
    ),
    FunctionSpec(
        "OR",
        "OR(a, b, ...)",
        "True when any argument is true; stops at the first true one.",
        "OR(qty > 100, urgent)",
        "True",
        None,
        1,
        None,
        lazy=True,
    ),
    FunctionSpec("NOT", "NOT(a)", "The opposite truth value.", "NOT(urgent)", "False", not_, 1, 1),
    FunctionSpec(
        "ISBLANK",
        "ISBLANK(value)",
        'True for blank: None, empty text "" or an empty list.',
        "ISBLANK(remark)",
        "True",
        isblank,
        1,
        1,
    ),
    FunctionSpec(
        "IN",
        "IN(value, candidate, ...)",
        "True when value equals one of the candidates (a list candidate is searched).",
        'IN(region, "east", "south")',
        "True",
        in_,
        2,
        None,
    ),
    FunctionSpec(
        "COALESCE",
        "COALESCE(a, b, ...)",
        "The first argument that is not blank.",
        'COALESCE(remark, "none")',
        '"none"',
        coalesce,
        1,
        None,
    ),
)
