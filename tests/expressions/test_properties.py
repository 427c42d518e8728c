"""Property tests: whatever the text, compiling and evaluating raise nothing but
ExpressionError and stay within the time budget."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ExpressionError
from engine.expressions import FUNCTIONS, EvaluationContext, compile_expression
from engine.expressions.context import SHANGHAI

BUDGET = 0.1
NAMES = ["a", "b", "c", "lines", "d"]
CONTEXT = EvaluationContext(
    now=datetime(2024, 5, 20, 12, tzinfo=SHANGHAI),
    user="u",
    department="d",
    lookup=lambda relation, record_id, target: record_id,
    time_budget=BUDGET,
)

values_strategy = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.decimals(
        allow_nan=False, allow_infinity=False, places=4, max_value=10**9, min_value=-(10**9)
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.lists(st.integers(-5, 5), max_size=4),
)
record_strategy = st.fixed_dictionaries(
    {name: values_strategy for name in ["a", "b", "c", "d"]},
    optional={"lines": st.lists(st.fixed_dictionaries({"x": values_strategy}), max_size=5)},
)

atoms = st.one_of(
    st.sampled_from(NAMES + ["true", "None", "null", "''", "'abc'", "0", "0.1", "-1", "10**3"]),
    st.integers(-1000, 10**6).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.text(alphabet="ab%d 9'", max_size=6).map(repr),
    st.just("lines.x"),
)
BINARY = ["+", "-", "*", "/", "//", "%", "**", "and", "or", "==", "!=", "<", ">=", "in", "not in"]


def _combine(children):
    binary = st.tuples(children, st.sampled_from(BINARY), children).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    unary = st.tuples(st.sampled_from(["-", "not ", "+"]), children).map(lambda t: f"{t[0]}{t[1]}")
    call = st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(children, max_size=4)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"
    )
    ternary = st.tuples(children, children, children).map(
        lambda t: f"({t[0]} if {t[1]} else {t[2]})"
    )
    listing = st.lists(children, max_size=3).map(lambda items: f"[{', '.join(items)}]")
    return st.one_of(binary, unary, call, ternary, listing)


expressions = st.recursive(atoms, _combine, max_leaves=25)


def _exercise(source: str, record: dict) -> None:
    try:
        compiled = compile_expression(source)
    except ExpressionError:
        return
    started = time.perf_counter()
    try:
        compiled.evaluate(record, CONTEXT)
    except ExpressionError as error:
        assert error.message
    assert time.perf_counter() - started < BUDGET
    assert isinstance(compiled.to_json()["tree"], dict)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, record_strategy)
def test_generated_formulas_raise_only_expression_errors_within_the_budget(source, record):
    _exercise(source, record)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60), record_strategy)
def test_random_text_raises_only_expression_errors(source, record):
    _exercise(source, record)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="()[]{}+-*/%<>=!.,:'\"abcSUMIF0123 _\\", max_size=80), record_strategy)
def test_random_punctuation_raises_only_expression_errors(source, record):
    _exercise(source, record)


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6
    )
)
def test_round_to_cents_is_half_up(value):
    expected = Decimal(value).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert compile_expression("ROUND(x, 2)").evaluate({"x": value}) == expected
