"""The formula language used everywhere: defaults, visibility, validations, formulas,
flow and rule conditions, report measures.

Pure code (no database, no web). See ``docs/expressions.md`` for the language.
"""

from engine.errors import ExpressionError
from engine.expressions.compiled import CompiledExpression, compile_expression
from engine.expressions.context import EvaluationContext
from engine.expressions.functions import FUNCTIONS, FunctionSpec
from engine.expressions.scope import ExpressionScope

__all__ = [
    "FUNCTIONS",
    "CompiledExpression",
    "EvaluationContext",
    "ExpressionError",
    "ExpressionScope",
    "FunctionSpec",
    "compile_expression",
]
