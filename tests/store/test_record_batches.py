"""The record source's walks over a whole form: batches of live rows, repeated values."""

from __future__ import annotations

import pytest

from engine.service import Actor
from engine.store.records import ALL_ROWS

ZHANG = Actor("zhang.wei")


def _source_walk(service, form, action):
    with service._context.transactions.read("purchase") as tx:
        return action(tx.source(form, ALL_ROWS))


def _suppliers(service, *cities):
    for number, city in enumerate(cities, start=1):
        service.create_record(ZHANG, "purchase", "supplier", {"name": f"S{number}", "city": city})


def test_batches_walk_every_live_record_in_id_order_with_sub_table_rows(purchase):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    for day in range(1, 8):
        purchase.create_record(
            ZHANG,
            "purchase",
            "purchase_request",
            {
                "supplier": supplier.id,
                "needed_by": f"2026-02-0{day}",
                "lines": [{"item": f"item {day}", "qty": day}],
            },
        )
    purchase.delete_record(ZHANG, "purchase", "purchase_request", 4)

    def walk(source):
        return [
            [(row["id"], [line["item"] for line in children["lines"]]) for row, children in batch]
            for batch in source.batches(3)
        ]

    assert _source_walk(purchase, "purchase_request", walk) == [
        [(1, ["item 1"]), (2, ["item 2"]), (3, ["item 3"])],
        [(5, ["item 5"]), (6, ["item 6"]), (7, ["item 7"])],
    ]


def test_batches_of_an_empty_form_yield_nothing_and_a_bad_size_is_refused(purchase):
    assert _source_walk(purchase, "supplier", lambda s: list(s.batches(10))) == []
    with pytest.raises(ValueError, match="at least 1"):
        _source_walk(purchase, "supplier", lambda s: list(s.batches(0)))


def test_duplicates_group_live_records_sharing_values_and_skip_blanks(purchase):
    _suppliers(purchase, "Hangzhou", "Ningbo", "Hangzhou", None, None, "Ningbo", "Hangzhou")
    purchase.delete_record(ZHANG, "purchase", "supplier", 6)
    groups = _source_walk(purchase, "supplier", lambda s: s.duplicates(["city"]))
    assert groups == [[1, 3, 7]]
    assert _source_walk(purchase, "supplier", lambda s: s.duplicates(["name", "city"])) == []
