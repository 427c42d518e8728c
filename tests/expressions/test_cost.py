"""Formulas whose cost per evaluation is unbounded are refused when they are compiled."""

from __future__ import annotations

from decimal import Decimal

import pytest

import engine.fields  # noqa: F401  (installs the field types the loader checks)
from engine.definitions import load_app_text
from engine.errors import DefinitionErrors, ExpressionError
from engine.expressions import compile_expression
from engine.expressions.cost import estimate_cost
from engine.expressions.limits import MAX_COST, POWER_COST

POWERS = "MAX(" + ",".join(["q**.7"] * 166) + ")"


def _tree(source: str) -> dict:
    return compile_expression(source).to_json()["tree"]


def test_166_fractional_powers_are_refused_at_the_first_power():
    with pytest.raises(ExpressionError) as caught:
        compile_expression(POWERS)
    error = caught.value
    assert error.column == 6  # the first ** of MAX(q**.7,...
    assert "166 powers with a fractional or computed exponent" in error.message
    assert f"the limit is {MAX_COST:,}" in error.message
    assert "x ** 2" in error.hint


def test_ordinary_formulas_stay_well_under_the_limit():
    for source in (
        "qty * price",
        "principal * (1 + rate) ** years",
        "ROUND(amount * 1.13, 2) + x ** 2 - y ** -3",
        "IF(urgent, CONCAT('A-', TEXT(n)), '-' * 20)",
        "SUM(lines.amount) * (1 - discount / 100)",
    ):
        assert estimate_cost(_tree(source)).units < MAX_COST // 5, source


def test_whole_number_exponents_cost_a_step_per_bit_and_others_a_power():
    assert estimate_cost(_tree("x ** 2")).units == 3 + 2
    assert estimate_cost(_tree("x ** 0.5")).units == 3 + POWER_COST
    # a power of a power: the outer exponent is computed, so it is a costly power
    assert estimate_cost(_tree("x ** y ** 2")).powers == [3]


def test_a_literal_text_repeated_a_huge_number_of_times_counts_what_it_builds():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("'ab' * 600000")
    assert "an estimated 1,203 steps" in caught.value.message
    assert compile_expression("'-' * 20").evaluate({}) == "-" * 20


def test_nine_powers_are_accepted_and_still_compute():
    source = "+".join(["x ** 0.5"] * 9)
    assert compile_expression(source).evaluate({"x": Decimal(4)}) == Decimal(18)


def test_a_costly_column_formula_is_a_located_definition_error():
    text = f"""
app: shop
version: 1.0.0
name: Shop
---
form: order
name: Order
fields:
  lines:
    type: subtable
    fields:
      q: {{type: number}}
      amount: {{type: formula, expr: "{POWERS}"}}
"""
    with pytest.raises(DefinitionErrors) as caught:
        load_app_text(text)
    [error] = caught.value.errors
    assert (error.line, error.column) == (13, 43)  # the first ** inside the quoted formula
    assert error.path == "fields.lines.fields.amount.expr"
    assert "166 powers" in error.message
