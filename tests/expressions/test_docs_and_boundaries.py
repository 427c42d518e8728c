"""The docs stay true to the code, and the package stays pure."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.expressions import FUNCTIONS, compile_expression
from engine.expressions.reference import EXAMPLE_VALUES, display, example_context, function_table

DOCS = Path(__file__).resolve().parents[2] / "docs" / "expressions.md"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_example_gives_its_documented_result(name):
    spec = FUNCTIONS[name]
    result = compile_expression(spec.example).evaluate(EXAMPLE_VALUES, example_context())
    assert display(result) == spec.result


def test_the_docs_contain_the_generated_function_table():
    assert function_table() in DOCS.read_text(encoding="utf-8"), (
        "regenerate it: python -m engine.expressions.reference"
    )
