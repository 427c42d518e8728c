"""The shared table of formula cases, on the server's evaluator.

The same table runs in Chromium against web/static/js/formula.js
(tests/browser/test_formula_js.py), which must give the same answers.
"""

from __future__ import annotations

import pytest

from engine.errors import ExpressionError
from engine.expressions import compile_expression

from .formula_cases import COMPILE_ERRORS, all_cases, python_outcome

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_python_gives_the_expected_result(case):
    outcome = python_outcome(case)
    if case.error is not None:
        assert "error" in outcome, f"expected the error {case.error!r}, got {outcome}"
        assert outcome["error"]["message"] == case.error
        assert outcome["error"]["column"] is not None
    else:
        assert outcome == {"value": case.result}


def test_the_table_covers_the_documented_examples():
    refs = {case.ref for case in CASES}
    assert sum(ref.startswith("docs/expressions.md, Functions") for ref in refs) >= 30
    assert "docs/expressions.md, In the browser" in refs
    assert len(CASES) >= 200


@pytest.mark.parametrize("source, message", COMPILE_ERRORS)
def test_documented_compile_errors(source, message):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert message in caught.value.message
