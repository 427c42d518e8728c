"""Compilation: names checked against the scope, hints, columns, caching, the JSON tree."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from engine.errors import ExpressionError
from engine.expressions import ExpressionScope, compile_expression

SCOPE = ExpressionScope(
    fields=frozenset({"qty", "price", "total", "supplier", "lines", "needed_by"}),
    subtables={"lines": frozenset({"qty", "price", "amount"})},
    relation_targets={"supplier": frozenset({"name", "status"})},
)


def compile_error(source: str, scope: ExpressionScope | None = SCOPE) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, scope)
    return caught.value


def test_compiled_expression_reports_names_columns_and_functions():
    compiled = compile_expression("ROUND(SUM(lines.amount) * qty, 2) + COUNT(lines)", SCOPE)
    assert compiled.source == "ROUND(SUM(lines.amount) * qty, 2) + COUNT(lines)"
    assert compiled.names == frozenset({"lines", "qty"})
    assert compiled.subtable_refs == frozenset({("lines", "amount")})
    assert compiled.functions == frozenset({"ROUND", "SUM", "COUNT"})


def test_the_internals_example_evaluates_as_documented():
    compiled = compile_expression("SUM(lines.amount) * 2", SCOPE)
    assert compiled.evaluate({"lines": [{"amount": Decimal("1.50")}]}) == Decimal("3.00")


def test_an_unknown_field_gets_a_did_you_mean_hint_and_its_column():
    error = compile_error("qty * prise")
    assert error.message == "unknown field 'prise'"
    assert error.hint == "did you mean 'price'?"
    assert error.column == 7


def test_an_unknown_sub_table_column_gets_a_hint():
    error = compile_error("SUM(lines.amout)")
    assert error.message == "sub-table 'lines' has no column 'amout'"
    assert error.hint == "did you mean 'amount'?"
    assert error.column == 5


def test_an_unknown_sub_table_is_named():
    error = compile_error("SUM(line.amount)")
    assert error.message == "unknown sub-table 'line'"
    assert error.hint == "did you mean 'lines'?"


def test_a_sub_table_column_outside_an_aggregate_is_refused():
    error = compile_error("lines.amount * 2")
    assert "only inside SUM, AVG, COUNT, MIN or MAX" in error.message
    assert error.hint == "for example SUM(lines.amount)"
    assert error.column == 1


def test_lookup_targets_are_checked_when_the_relation_is_known():
    error = compile_error('LOOKUP(supplier, "nmae")')
    assert error.message == "the form related by 'supplier' has no field 'nmae'"
    assert error.hint == "did you mean 'name'?"
    assert error.column == 18
    assert compile_expression('LOOKUP(supplier, "name")', SCOPE).names == frozenset({"supplier"})


def test_lookup_needs_a_field_and_a_quoted_key():
    assert "first argument" in compile_error('LOOKUP("supplier", "name")').message
    assert "in quotes" in compile_error("LOOKUP(supplier, name)").message


def test_an_unknown_function_gets_a_hint():
    error = compile_error("ROUN(qty, 2)")
    assert error.message == "unknown function 'ROUN'"
    assert error.hint.startswith("did you mean 'ROUND'")
    assert error.column == 1


def test_a_lower_case_function_name_is_pointed_to_capitals():
    assert compile_error("round(qty)").hint == "function names are written in capitals: ROUND"


def test_a_function_used_without_parentheses_is_explained():
    error = compile_error("needed_by >= today")
    assert error.message == "unknown field 'today'"
    assert error.hint == "TODAY is a function: call it as TODAY(...)"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("ROUND()", "ROUND takes 1 to 2 argument(s), got 0"),
        ("ROUND(1, 2, 3)", "ROUND takes 1 to 2 argument(s), got 3"),
        ("TODAY(1)", "TODAY takes 0 argument(s), got 1"),
        ("SUM()", "SUM takes at least 1 argument(s), got 0"),
    ],
)
def test_wrong_arity_is_reported_with_the_signature(source, message):
    error = compile_error(source)
    assert error.message == message
    assert error.hint.startswith(source.split("(")[0] + "(")


def test_column_is_counted_in_characters_not_bytes():
    error = compile_error("CONCAT('经销商', prise)")
    assert error.column == 15


def test_syntax_errors_have_a_column_and_hints_for_common_slips():
    error = compile_error("qty = 1")
    assert error.message.startswith("syntax error")
    assert error.hint == "compare with == (a single = is not allowed)"
    assert compile_error("qty > 1 && price > 2").hint == "write and / or instead of && / ||"
    assert compile_error("(qty + 1").column == 1


def test_leading_whitespace_and_line_breaks_inside_brackets_are_accepted():
    compiled = compile_expression("  IF(qty > 1,\n     price,\n     0)", SCOPE)
    assert compiled.evaluate({"qty": 2, "price": Decimal("9.9")}) == Decimal("9.9")
    assert compile_error("  qty + prise").column == 9


def test_an_empty_formula_is_an_error():
    assert compile_error("   ").message == "the formula is empty"


def test_a_scope_of_none_skips_name_checks():
    assert compile_expression("anything + 1").names == frozenset({"anything"})


def test_compiled_results_are_cached_per_source_and_scope():
    first = compile_expression("qty * price", SCOPE)
    same_scope = ExpressionScope(
        fields=frozenset(SCOPE.fields),
        subtables={"lines": {"amount", "price", "qty"}},
        relation_targets={"supplier": ["status", "name"]},
    )
    assert compile_expression("qty * price", same_scope) is first
    assert compile_expression("qty * price", None) is not first


def test_scopes_are_hashable_and_compare_by_content():
    assert hash(SCOPE) == hash(
        ExpressionScope(SCOPE.fields, dict(SCOPE.subtables), dict(SCOPE.relation_targets))
    )
    assert ExpressionScope(fields=frozenset({"qty"})) != SCOPE


def test_to_json_is_serialisable_and_keeps_numbers_as_text():
    tree = compile_expression("ROUND(qty * 0.1, 2) if qty in [1, 2] else -1", SCOPE).to_json()
    assert json.loads(json.dumps(tree)) == tree
    assert tree["version"] == 1
    body = tree["tree"]
    assert body["op"] == "if"
    assert body["then"]["function"] == "ROUND"
    assert body["then"]["args"][0]["right"] == {"op": "number", "value": "0.1", "at": 13}
    assert body["test"]["operators"] == ["in"]
    assert body["else"] == {
        "op": "unary",
        "operator": "-",
        "operand": {"op": "number", "value": "1", "at": 44},
        "at": 43,
    }


def test_to_json_returns_a_copy_the_caller_may_change():
    compiled = compile_expression("qty + 1", SCOPE)
    compiled.to_json()["tree"]["op"] = "changed"
    assert compiled.to_json()["tree"]["op"] == "binary"


def test_runtime_errors_point_at_the_failing_function():
    compiled = compile_expression("qty + UPPER(price)", SCOPE)
    with pytest.raises(ExpressionError) as caught:
        compiled.evaluate({"qty": 1, "price": Decimal(2)})
    assert caught.value.message == "UPPER needs text, got number"
    assert caught.value.column == 7


def test_runtime_errors_from_bad_input_values_point_at_the_field():
    with pytest.raises(ExpressionError) as caught:
        compile_expression("1 + qty", SCOPE).evaluate({"qty": float("nan")})
    assert caught.value.message == "the value nan is not a finite number"
    assert caught.value.column == 5


def test_columns_count_carriage_returns_as_line_breaks():
    error = compile_error("IF(qty > 1,\r\n   prise, 0)")
    assert error.column == 17
    assert compile_error("0\r0").message.startswith("syntax error")
