"""Expressions that can become a SQL condition on a record's row (permission row rules).

A row rule ``{expr: "..."}`` is applied by the database in every query, never by
Python after the fact, so only the part of the language that has a faithful SQL form
is accepted: ``and``/``or``/``not``, one comparison (``== != < <= > >= in``, ``not in``)
between a field (or system column) and a literal, a list of literals or an actor
function (CURRENT_USER, CURRENT_DEPARTMENT, CURRENT_DEALER, CURRENT_REGION), and a bare
field read as true. :func:`check_row_condition` says where anything else is; the store
translates accepted trees (engine/store/row_conditions.py).
"""

from __future__ import annotations

from typing import Any

from engine.errors import ExpressionError

#: functions whose value is known before the query runs (bound as parameters)
ACTOR_FUNCTIONS = frozenset(
    {"CURRENT_USER", "CURRENT_DEPARTMENT", "CURRENT_DEALER", "CURRENT_REGION"}
)
COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in"})
LITERALS = frozenset({"number", "text", "literal"})


def check_row_condition(tree: dict[str, Any], *, records: bool = False) -> None:
    """Raise :class:`ExpressionError` (with its column) for what SQL cannot apply.

    ``records``: values may also be ``record.x`` (an aggregate's ``where``, where the
    declaring record's values are bound as parameters: docs/aggregates.md).
    """
    op = tree.get("op")
    if op in ("and", "or"):
        for arg in tree["args"]:
            check_row_condition(arg, records=records)
    elif op == "unary" and tree.get("operator") == "not":
        check_row_condition(tree["operand"], records=records)
    elif op == "name":
        return
    elif op == "compare":
        if len(tree["operators"]) != 1 or tree["operators"][0] not in COMPARISONS:
            raise _refused(tree, "a row rule compares once: write a < b and b < c")
        left, right = tree["operands"]
        if left.get("op") == "record" and right.get("op") == "name":
            raise _refused(
                left, f"write the field first: {right.get('name')} == record.{left.get('field')}"
            )
        if left.get("op") != "name":
            raise _refused(left, "the left side of a comparison in a row rule is a field")
        _check_value(right, tree["operators"][0] in ("in", "not in"), records)
    else:
        raise _refused(tree, f"{_what(tree)} cannot be applied by the database in a row rule")


def _check_value(node: dict[str, Any], many: bool, records: bool = False) -> None:
    if many:
        if node.get("op") != "list":
            raise _refused(node, "'in' takes a list of values here: status in ['a', 'b']")
        for item in node["items"]:
            _check_value(item, False, records)
        return
    op = node.get("op")
    if op in LITERALS or (records and op == "record"):
        return
    if op == "unary" and node.get("operator") == "-" and node["operand"].get("op") == "number":
        return
    if op == "call" and node.get("function") in ACTOR_FUNCTIONS:
        return
    raise _refused(
        node,
        "a row rule compares a field with a value, a list of values or "
        + ", ".join(f"{f}()" for f in sorted(ACTOR_FUNCTIONS)),
    )


def _what(node: dict[str, Any]) -> str:
    if node.get("op") == "call":
        return f"{node.get('function')}()"
    return str(node.get("operator") or node.get("op"))


def _refused(node: dict[str, Any], message: str) -> ExpressionError:
    return ExpressionError(message, column=node.get("at"))
