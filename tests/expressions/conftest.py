"""Helpers for the formula-language tests: evaluate a formula against a fixed moment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pytest

from engine.expressions import EvaluationContext, compile_expression
from engine.expressions.context import SHANGHAI

NOON_IN_SHANGHAI = datetime(2024, 5, 20, 12, 0, tzinfo=SHANGHAI)


def run(source: str, values: Mapping[str, Any] | None = None, **context: Any) -> Any:
    """Compile without a scope and evaluate at 2024-05-20 12:00 Shanghai."""
    context.setdefault("now", NOON_IN_SHANGHAI)
    return compile_expression(source).evaluate(values or {}, EvaluationContext(**context))


@pytest.fixture
def evaluate():
    return run
