"""A static estimate of what one evaluation of a checked formula costs, checked at load.

The per-evaluation time budget stops one runaway evaluation, but a formula that stays
just under it is evaluated for every row of every save: 166 fractional powers cost a
few milliseconds each time, a minute per 10,000-row save. So the compiler refuses a
formula whose estimated cost per evaluation exceeds :data:`~limits.MAX_COST` before any
record is read.

The unit is roughly one operator call (about a microsecond). Every node costs 1; a
power costs :data:`~limits.POWER_COST` unless its exponent is a whole-number literal
(``x ** 2``: a few multiplications); repeating a text literal by a number literal costs
one unit per 1,000 characters it builds. What depends on the data (how many rows an
aggregate reads) is bounded by the time budgets instead: the evaluation's own and the
whole submission's (``RecordEnvironment.deadline``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.limits import MAX_COST, MAX_POWER_EXPONENT, POWER_COST

Node = dict[str, Any]


@dataclass
class Cost:
    """The estimate: total units, and the columns of the costly powers in source order."""

    units: int = 0
    powers: list[int] = field(default_factory=list)


def estimate_cost(tree: Node) -> Cost:
    """The estimated cost of one evaluation of a checked tree."""
    cost = Cost()
    stack = [tree]
    while stack:  # iterative: a tree is at most MAX_DEPTH deep, but no recursion needed
        node = stack.pop()
        cost.units += 1 + _extra(node, cost)
        stack.extend(_children(node))
    cost.powers.sort()
    return cost


def check_cost(tree: Node) -> None:
    """Raise :class:`ExpressionError` (at the first costly power) when over :data:`MAX_COST`."""
    cost = estimate_cost(tree)
    if cost.units <= MAX_COST:
        return
    if cost.powers:
        what = f"{len(cost.powers)} powers with a fractional or computed exponent, "
        hint = (
            "use whole-number exponents (x ** 2), or compute a power once in its own field "
            "and refer to it"
        )
    else:
        what, hint = "", "split it into several computed fields"
    raise ExpressionError(
        f"the formula would cost too much to compute for every record: {what}"
        f"an estimated {cost.units:,} steps, the limit is {MAX_COST:,}",
        column=cost.powers[0] if cost.powers else 1,
        hint=hint,
    )


def _children(node: Node) -> list[Node]:
    out = []
    for value in node.values():
        if isinstance(value, dict) and "op" in value:
            out.append(value)
        elif isinstance(value, list):
            out.extend(item for item in value if isinstance(item, dict) and "op" in item)
    return out


def _extra(node: Node, cost: Cost) -> int:
    if node["op"] != "binary":
        return 0
    operator = node["operator"]
    if operator == "**":
        exponent = _literal_number(node["right"])
        if exponent is not None and exponent == exponent.to_integral_value():
            # square-and-multiply: one step per bit (a huge one fails at run time anyway)
            return int(min(abs(exponent), MAX_POWER_EXPONENT)).bit_length()
        cost.powers.append(node["at"])
        return POWER_COST
    if operator == "*":
        left, right = node["left"], node["right"]
        for text, times in ((left, right), (right, left)):
            count = _literal_number(times)
            if text["op"] == "text" and count is not None and count > 0:
                return int(min(len(text["value"]) * count, Decimal(10**9))) // 1000
    return 0


def _literal_number(node: Node) -> Decimal | None:
    """The value of a number literal (or of ``-literal``), else None."""
    if node["op"] == "number":
        return Decimal(node["value"])
    if node["op"] == "unary" and node["operator"] in ("-", "+"):
        inner = _literal_number(node["operand"])
        if inner is not None:
            return -inner if node["operator"] == "-" else inner
    return None
