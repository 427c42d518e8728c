"""Hostile formulas get a clear ExpressionError quickly; nothing hangs or crashes."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from engine.errors import ExpressionError
from engine.expressions import EvaluationContext, compile_expression
from engine.expressions.limits import MAX_DEPTH, MAX_SOURCE_LENGTH, MAX_TEXT_LENGTH

from .conftest import run


def fails_fast(source: str, values: dict | None = None, **context) -> ExpressionError:
    started = time.perf_counter()
    with pytest.raises(ExpressionError) as caught:
        run(source, values, **context)
    assert time.perf_counter() - started < 0.5
    return caught.value


def test_tower_of_powers_is_refused_not_computed():
    error = fails_fast("9**9**9")
    assert error.message == "the exponent 387420489 is too large (at most 1000)"
    assert error.column == 2


def test_a_power_whose_result_is_too_large_is_an_overflow_error():
    error = fails_fast("10 ** 999 * 10")
    assert error.message == "the number is too large"
    assert error.column == 11


def test_repeating_text_a_billion_times_is_refused():
    error = fails_fast("'a' * 10**9")
    assert f"longer than {MAX_TEXT_LENGTH:,} characters" in error.message


def test_printf_formatting_with_a_huge_width_is_refused():
    error = fails_fast("'%999999999d' % 1")
    assert error.message == "cannot take the remainder of text and number with %"
    assert "CONCAT" in error.hint


def test_joining_text_past_the_limit_is_refused():
    big = "x" * (MAX_TEXT_LENGTH // 2 + 1)
    assert "longer than" in fails_fast("a + a", {"a": big}).message
    assert "longer than" in fails_fast("CONCAT(a, a)", {"a": big}).message


def test_an_overlong_formula_is_refused_before_parsing():
    error = fails_fast("not " * 100_000 + "True")
    assert (
        error.message
        == f"the formula is 400,004 characters long; the limit is {MAX_SOURCE_LENGTH:,}"
    )
    assert error.column == MAX_SOURCE_LENGTH + 1


def test_deeply_nested_parentheses_are_refused():
    error = fails_fast("(" * 300 + "1" + ")" * 300)
    assert error.message == "syntax error: too many nested parentheses"


def test_deep_unary_nesting_is_refused_by_the_depth_limit():
    error = fails_fast("-" * 400 + "1")
    assert error.message == f"the formula is nested more than {MAX_DEPTH} levels deep"
    assert fails_fast("-" * 1999 + "1").message == "the formula has 2000 parts; the limit is 500"


def test_deep_not_chain_within_the_length_limit_is_refused():
    assert "nested more than" in fails_fast("not " * 400 + "True").message


def test_the_deepest_accepted_formula_still_compiles_to_python():
    # each construct adds brackets to the generated code; Python allows 200 levels
    assert run("IF(" * 24 + "1 < 2 < 3" + ", 1, 0)" * 24) == Decimal(1)
    assert run("-(" * 24 + "1" + ")" * 24) == Decimal(1)
    assert run("+".join(["1"] * 50)) == Decimal(50)
    chained = "".join("(1 < " for _ in range(49)) + "2" + " < 3)" * 49
    assert compile_expression(chained).source == chained


def test_too_many_parts_are_refused():
    error = fails_fast("[" + ", ".join(["1"] * 600) + "]")
    assert error.message.endswith("parts; the limit is 500")


@pytest.mark.parametrize("literal", ["1" * 31, "1e999999", "0.1e-40", "1" * 31 + ".5"])
def test_huge_number_literals_are_refused(literal):
    assert "too many digits" in fails_fast(literal).message


def test_long_rows_respect_the_time_budget():
    rows = [{"amount": Decimal(1)}] * 200_000
    error = fails_fast("SUM(lines.amount)", {"lines": rows}, time_budget=0.001)
    assert error.message == "the formula took longer than its time budget"


def test_a_slow_lookup_exceeds_the_time_budget():
    def slow_lookup(relation, record_id, target):
        time.sleep(0.02)
        return "x"

    error = fails_fast('LOOKUP(s, "name")', {"s": 1}, lookup=slow_lookup, time_budget=0.01)
    assert "took longer than the time budget" in error.message


def test_round_to_absurd_digits_is_refused():
    assert "at most 20 digits" in fails_fast("ROUND(1, 1000)").message
    assert "too large to round" in fails_fast("ROUND(10 ** 900, 2)").message


def test_negative_base_to_a_fractional_power_has_no_result():
    assert fails_fast("(-8) ** 0.5").message == "the calculation has no defined result"


def test_dateadd_beyond_year_9999_is_an_error():
    from datetime import date

    assert (
        "years 1 to 9999"
        in fails_fast("DATEADD(d, 99999, 'year')", {"d": date(2024, 1, 1)}).message
    )
    assert "out of range" in fails_fast("d + 9999999", {"d": date(2024, 1, 1)}).message


def test_default_context_is_created_when_none_is_given():
    assert compile_expression("TODAY() == TODAY()").evaluate({}, None) is True
    assert EvaluationContext().now.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize("source", ["0 ** -1", "0.0 ** -2", "(1 - 1) ** -3"])
def test_zero_to_a_negative_power_is_an_error_not_infinity(source):
    with pytest.raises(ExpressionError, match="has no value"):
        compile_expression(source).evaluate({})


def test_upper_cannot_grow_text_past_the_limit():
    with pytest.raises(ExpressionError, match="longer than"):
        compile_expression('UPPER("ﬃ" * 40000)').evaluate({})
