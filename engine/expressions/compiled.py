"""Compiled formulas: compile once per definition version, evaluate many times."""

from __future__ import annotations

import copy
import decimal
from collections.abc import Mapping
from functools import lru_cache
from time import perf_counter
from types import TracebackType
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.checker import check
from engine.expressions.codegen import GeneratedFormula, generate
from engine.expressions.context import EvaluationContext
from engine.expressions.cost import check_cost
from engine.expressions.parser import parse
from engine.expressions.scope import ExpressionScope

#: version of the JSON tree format (bump when a node kind changes shape)
TREE_VERSION = 1

#: Python exceptions a helper may let through, and how the language describes them
_RUNTIME_MESSAGES: tuple[tuple[type[BaseException], str, str | None], ...] = (
    (ZeroDivisionError, "division by zero", "guard the divisor: IF(qty == 0, None, amount / qty)"),
    (decimal.Overflow, "the number is too large", "numbers stay below 10**999"),
    (
        decimal.InvalidOperation,
        "the calculation has no defined result",
        "for example a negative number raised to a fractional power",
    ),
    (OverflowError, "a date or number is out of range", None),
    (RecursionError, "the formula is too complex to evaluate", None),
)


class CompiledExpression:
    """A checked, compiled formula.

    ``names`` are the top-level names it reads (sub-tables included), ``subtable_refs``
    the (sub-table, column) pairs, ``functions`` the library functions it calls.
    """

    __slots__ = ("source", "names", "subtable_refs", "functions", "_tree", "_formula")

    def __init__(
        self,
        source: str,
        tree: dict[str, Any],
        names: frozenset[str],
        subtable_refs: frozenset[tuple[str, str]],
        functions: frozenset[str],
        formula: GeneratedFormula,
    ):
        self.source = source
        self.names = names
        self.subtable_refs = subtable_refs
        self.functions = functions
        self._tree = tree
        self._formula = formula

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"

    def evaluate(self, values: Mapping[str, Any], context: EvaluationContext | None = None) -> Any:
        """The formula's value for one record (a missing field reads as blank).

        Raises :class:`ExpressionError` with the column of the failing part for every
        runtime fault: division by zero, wrong types, limits, the time budget.
        """
        formula = self._formula
        if context is None and formula.needs_context:
            context = EvaluationContext()
        deadline = 0.0
        if formula.needs_deadline:
            budget = context.time_budget if context is not None else EvaluationContext.time_budget
            deadline = perf_counter() + budget
        try:
            return formula.function(values, context, deadline)
        except ExpressionError as error:
            if error.column is None:
                error.column = self._locate(error.__traceback__)
            raise
        except Exception as error:
            message, hint = _describe(error)
            raise ExpressionError(
                message, column=self._locate(error.__traceback__), hint=hint
            ) from error

    def to_json(self) -> dict[str, Any]:
        """The checked tree as JSON-able data, for the browser's interpreter.

        Nodes are ``{"op": kind, "at": column, ...}``; numbers are strings of digits so
        that no float ever carries them.
        """
        return {"version": TREE_VERSION, "source": self.source, "tree": copy.deepcopy(self._tree)}

    def _locate(self, trace: TracebackType | None) -> int | None:
        code = self._formula.function.__code__
        line = None
        while trace is not None:
            if trace.tb_frame.f_code is code:
                line = trace.tb_lineno
            trace = trace.tb_next
        return self._formula.line_columns.get(line) if line is not None else None


def _describe(error: Exception) -> tuple[str, str | None]:
    for kind, message, hint in _RUNTIME_MESSAGES:
        if isinstance(error, kind):
            return message, hint
    return f"the formula could not be evaluated: {error}", None


@lru_cache(maxsize=4096)
def _compile_cached(source: str, scope: ExpressionScope | None) -> CompiledExpression:
    tree, source_map = parse(source)
    result = check(tree, source_map, scope)
    check_cost(result.tree)
    return CompiledExpression(
        source=source,
        tree=result.tree,
        names=frozenset(result.names),
        subtable_refs=frozenset(result.subtable_refs),
        functions=frozenset(result.functions),
        formula=generate(result.tree),
    )


def compile_expression(source: str, scope: ExpressionScope | None = None) -> CompiledExpression:
    """Check and compile a formula; raises :class:`ExpressionError` with column and hint.

    With a scope, every name, sub-table column and LOOKUP target is checked against it;
    ``scope=None`` skips name checks (for tools). Results are cached per (source, scope)
    because forms compile their formulas once per definition version.
    """
    if not isinstance(source, str):
        raise ExpressionError(f"a formula must be text, got {type(source).__name__}")
    try:
        return _compile_cached(source, scope)
    except RecursionError as error:
        raise ExpressionError(
            "the formula is nested too deeply", column=1, hint="split it into several fields"
        ) from error
