"""Several new records in one transaction: all of them, or none with every bad item named."""

from __future__ import annotations

import pytest

from engine.service import Actor, BatchValidationError, RecordValidationError

ZHANG = Actor("zhang.wei", locale="en")


def _count(service, form):
    return service.query_records(ZHANG, "purchase", form).total


def test_a_valid_batch_is_saved_whole_with_consecutive_serials_and_history(purchase):
    acme = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    records = purchase.create_records(
        ZHANG,
        "purchase",
        "purchase_request",
        [
            {"supplier": acme.id, "needed_by": "2026-02-01", "lines": [{"item": "a", "qty": 2, "price": "1.50"}]},
            {"supplier": acme.id, "needed_by": "2026-02-02"},
        ],
    )  # fmt: skip
    assert [r.values["serial"] for r in records] == ["PR-20260105-0001", "PR-20260105-0002"]
    assert str(records[0].values["total"]) == "3.00"
    assert _count(purchase, "purchase_request") == 2
    history = purchase.record_history(ZHANG, "purchase", "purchase_request", records[1].id)
    assert [(h.revision_no, h.action) for h in history] == [(1, "created")]


def test_one_bad_item_saves_nothing_and_every_bad_item_is_named_by_number(purchase):
    purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    items = [
        {"name": "Bolt", "rating": 3},
        {"name": "Cog", "rating": "high"},
        {"name": "Dyn"},
        {"city": "Ningbo"},
        {"name": "Acme"},
    ]
    with pytest.raises(BatchValidationError) as caught:
        purchase.create_records(ZHANG, "purchase", "supplier", items)
    error = caught.value
    assert sorted(error.items) == [2, 4, 5]
    assert [(e.field, e.code) for e in error.items[2]] == [("rating", "type")]
    assert [(e.field, e.code) for e in error.items[4]] == [("name", "required")]
    assert [e.message for e in error.items[5]] == ["unique: name already used by Acme"]
    assert str(error).startswith("item 2: rating: ")
    assert isinstance(error, RecordValidationError) and len(error.errors) == 3
    assert _count(purchase, "supplier") == 1  # only Acme, saved before


def test_a_value_repeated_inside_the_batch_is_refused_for_the_later_item(purchase):
    with pytest.raises(BatchValidationError) as caught:
        purchase.create_records(
            ZHANG, "purchase", "supplier", [{"name": "Acme"}, {"name": "Bolt"}, {"name": "Acme"}]
        )
    assert list(caught.value.items) == [3]
    assert _count(purchase, "supplier") == 0


def test_an_empty_batch_saves_nothing(purchase):
    assert purchase.create_records(ZHANG, "purchase", "supplier", []) == []


def test_an_item_that_is_no_object_is_named_in_the_actors_language(purchase):
    with pytest.raises(BatchValidationError) as caught:
        purchase.create_records(ZHANG, "purchase", "supplier", [{"name": "Acme"}, ["Bolt"]])
    assert (
        str(caught.value) == "item 2: record: each item must be an object of field values, got list"
    )
    with pytest.raises(BatchValidationError, match="每一项应为字段取值的对象"):
        purchase.create_records(Actor("wang.fang"), "purchase", "supplier", ["Bolt"])
    assert _count(purchase, "supplier") == 0
