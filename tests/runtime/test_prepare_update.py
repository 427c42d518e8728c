"""prepare() for an update: raw holds the changes; formulas are recomputed; copies stay copies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import RecordValidationError
from engine.runtime.forms import compile_form


@pytest.fixture
def stored(purchase_form, env):
    """A saved request as the store would return it: system columns and row ids added."""
    values = compile_form(purchase_form).prepare(
        {
            "serial": "PR-1",
            "supplier": 1,
            "needed_by": "2024-06-01",
            "lines": [{"product": 7, "qty": 3}, {"product": 8, "qty": 2}],
        },
        env=env,
    )
    for row_id, row in enumerate(values["lines"], start=101):
        row["id"] = row_id
    return {"id": 12, "status": "draft", **values}


def test_fields_left_out_of_an_update_keep_their_values(purchase_form, env, stored):
    values = compile_form(purchase_form).prepare({"serial": "PR-2"}, existing=stored, env=env)

    assert values["serial"] == "PR-2"
    assert values["needed_by"] == stored["needed_by"]
    assert values["lines"] == stored["lines"]
    assert values["total"] == Decimal("69.97")


def test_later_product_price_change_does_not_touch_the_saved_line_price(
    purchase_form, env, stored, records
):
    records["product"][7]["price"] = Decimal("25.00")

    values = compile_form(purchase_form).prepare(
        {"urgent": True, "reason": "rush"}, existing=stored, env=env
    )

    assert values["lines"][0]["price"] == Decimal("19.99")
    assert values["total"] == Decimal("69.97")


def test_changing_a_row_quantity_recomputes_the_row_and_the_total(purchase_form, env, stored):
    raw = {"lines": [{"id": 101, "qty": 5}, {"id": 102}]}
    values = compile_form(purchase_form).prepare(raw, existing=stored, env=env)

    assert [(row["id"], row["qty"], row["amount"]) for row in values["lines"]] == [
        (101, 5, Decimal("99.95")),
        (102, 2, Decimal("10.00")),
    ]
    assert values["total"] == Decimal("109.95")


def test_given_subtable_replaces_the_rows_and_new_rows_have_no_id(purchase_form, env, stored):
    raw = {"lines": [{"id": 102}, {"product": 9, "qty": 4}]}
    values = compile_form(purchase_form).prepare(raw, existing=stored, env=env)

    assert [row.get("id") for row in values["lines"]] == [102, None]
    assert values["lines"][1]["price"] == Decimal("10.00")
    assert values["total"] == Decimal("50.00")


def test_changing_the_product_of_a_row_copies_the_new_product(purchase_form, env, stored):
    raw = {"lines": [{"id": 101, "product": 9}, {"id": 102}]}
    values = compile_form(purchase_form).prepare(raw, existing=stored, env=env)

    assert values["lines"][0]["price"] == Decimal("10.00")
    assert values["lines"][0]["amount"] == Decimal("30.00")


def test_row_id_that_is_not_in_the_record_is_rejected(purchase_form, env, stored):
    with pytest.raises(RecordValidationError) as caught:
        compile_form(purchase_form).prepare(
            {"lines": [{"id": 555, "qty": 1}]}, existing=stored, env=env
        )

    assert [(e.field, e.row, e.code) for e in caught.value.errors] == [("lines.id", 1, "row_id")]


def test_readonly_field_keeps_its_stored_value_on_update(purchase_form, env, stored):
    values = compile_form(purchase_form).prepare({"applicant": "li.na"}, existing=stored, env=env)

    assert values["applicant"] == "zhang.wei"


def test_input_for_a_formula_field_is_ignored(purchase_form, env, stored):
    values = compile_form(purchase_form).prepare({"total": "1.00"}, existing=stored, env=env)

    assert values["total"] == Decimal("69.97")


def test_relation_left_unchanged_is_not_rechecked(purchase_form, env, stored, records):
    del records["supplier"][1]

    values = compile_form(purchase_form).prepare({"serial": "PR-3"}, existing=stored, env=env)

    assert values["supplier"] == 1


def test_readonly_if_is_judged_on_the_stored_record(make_form, env):
    form = make_form(
        """
        form: claim
        name: Claim
        fields:
          locked: {type: boolean}
          amount: {type: money, readonly_if: "locked"}
        """
    )
    compiled = compile_form(form)
    stored = {"locked": True, "amount": Decimal("10.00")}

    unlocked_and_changed = compiled.prepare(
        {"locked": False, "amount": "99.00"}, existing=stored, env=env
    )
    assert unlocked_and_changed == {"locked": False, "amount": Decimal("10.00")}
    assert compiled.prepare({"amount": "99.00"}, existing={"locked": False}, env=env)[
        "amount"
    ] == Decimal("99.00")


def test_system_columns_of_the_stored_record_are_readable_in_conditions(make_form, env):
    form = make_form(
        """
        form: memo
        name: Memo
        fields:
          body: {type: text, readonly_if: "status == 'approved'"}
        """
    )
    compiled = compile_form(form)
    approved = {"id": 3, "status": "approved", "body": "signed"}

    assert compiled.prepare({"body": "changed"}, existing=approved, env=env) == {"body": "signed"}
