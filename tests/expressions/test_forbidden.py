"""The whitelist is the security boundary: every construct outside it is refused at
compile time, with a message and the column where it starts."""

from __future__ import annotations

import pytest

from engine.errors import ExpressionError
from engine.expressions import compile_expression


def refusal(source: str) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    return caught.value


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("x.upper()", "only library functions can be called, like ROUND(x, 2)", 1),
        ("1 + x.real", "x.real is allowed only inside SUM, AVG, COUNT, MIN or MAX", 5),
        ("().__class__", "attribute access is not allowed", 1),
        ("SUM(lines.__class__)", "attribute access is not allowed", 5),
        ("SUM(a.b.c)", "attribute access is not allowed", 5),
        ("SUM(lines.amount.x)", "attribute access is not allowed", 5),
        ("lines[0]", "indexing with [...] is not allowed", 1),
        ("'abc'[1:]", "indexing with [...] is not allowed", 1),
        ("lambda: 1", "lambda is not allowed", 1),
        ("[x for x in lines]", "comprehensions are not allowed", 1),
        ("SUM(x for x in lines)", "comprehensions are not allowed", 4),
        ("{k: 1 for k in a}", "comprehensions are not allowed", 1),
        ("f'{qty}'", "f-strings are not allowed", 1),
        ("(y := 1)", "assignment with := is not allowed", 2),
        ("ROUND(*args)", "starred arguments are not allowed", 7),
        ("[*a]", "starred arguments are not allowed", 2),
        ("ROUND(x, ndigits=2)", "ROUND takes no keyword arguments", 18),
        ("{1: 2}", "dict literals are not allowed", 1),
        ("{1, 2}", "set literals are not allowed", 1),
        ("x is None", "is / is not are not allowed", 1),
        ("x is not None", "is / is not are not allowed", 1),
        ("~x", "the operator ~ is not allowed", 1),
        ("x << 2", "the operator LShift is not allowed", 1),
        ("x & y", "the operator BitAnd is not allowed", 1),
        ("x @ y", "the operator MatMult is not allowed", 1),
        ("1j", "complex literals are not allowed", 1),
        ("b'x'", "bytes literals are not allowed", 1),
        ("...", "ellipsis literals are not allowed", 1),
        ("__import__('os')", "unknown function '__import__'", 1),
        ("__builtins__", "names starting with __ are not allowed: __builtins__", 1),
        ("getattr(x, 'y')", "unknown function 'getattr'", 1),
        ("eval('1')", "unknown function 'eval'", 1),
        ("(lambda: 1)()", "only library functions can be called, like ROUND(x, 2)", 1),
        ("ROUND(1)(2)", "only library functions can be called, like ROUND(x, 2)", 1),
        ("x in y.z", "'in' needs a list like [1, 2] or a field", 6),
        ("x in 'abc'", "'in' needs a list like [1, 2] or a field", 6),
        ("await x", "await is not allowed", 1),
        ("yield x", "syntax error: invalid syntax", 1),
        ("import os", "syntax error: invalid syntax", 1),
        ("1; 2", "syntax error: invalid syntax", 2),
    ],
)
def test_forbidden_construct_is_refused_with_its_column(source, message, column):
    error = refusal(source)
    assert error.message == message
    assert error.column == column


def test_refused_in_any_position_not_just_at_the_top():
    error = refusal("IF(qty > 1, ROUND(lines[0], 2), 0)")
    assert error.message == "indexing with [...] is not allowed"
    assert error.column == 19


def test_no_formula_can_reach_python_builtins_at_run_time():
    compiled = compile_expression("CONCAT(open, eval, exec, globals)")
    assert compiled.evaluate({}) == ""
