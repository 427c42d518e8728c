"""Exports page by keyset (after the previous page's last row): with repeated and blank
sort values, ascending and descending, on one key or several, every record comes once
and in the list's order, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from engine.definitions import load_app_text
from engine.service import SYSTEM_ACTOR

APP = """
app: paging
version: 1.0.0
name: Paging
---
form: item
name: Item
title: "{{ code }}"
fields:
  code: {type: text, required: true}
  rank: {type: number, precision: 0}
  day: {type: date}
  price: {type: money}
list:
  sort: [rank]
"""

SORTS = [
    None,
    ["rank"],
    ["-rank"],
    ["day", "-rank"],
    ["-day", "rank"],
    ["-price"],
    ["price", "code"],
    ["-created_at"],
]


@pytest.fixture
def items(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    rows = []
    for i in range(23):
        rows.append(
            {
                "code": f"C{i:02d}",
                "rank": None if i % 5 == 0 else i % 4,
                "day": None if i % 3 == 0 else f"2026-03-0{i % 4 + 1}",
                "price": None if i % 7 == 0 else f"{i % 3}.50",
            }
        )
    service.records.create_many(SYSTEM_ACTOR, "paging", "item", rows)
    return service


def test_every_record_once_in_the_lists_order(items):
    for sort in SORTS:
        expected = [
            r.id
            for r in items.query_records(
                SYSTEM_ACTOR, "paging", "item", sort=sort, page_size=500
            ).items
        ]
        assert len(expected) == 23
        for batch in (1, 2, 5):
            exported = [
                r.id
                for r in items.records.export(
                    SYSTEM_ACTOR, "paging", "item", sort=sort, batch=batch
                )
            ]
            assert exported == expected, (sort, batch)


def test_filters_and_search_hold_on_every_page(items):
    expected = [
        r.id
        for r in items.query_records(
            SYSTEM_ACTOR,
            "paging",
            "item",
            filters=[("rank", "ge", 1)],
            sort=["-day"],
            page_size=500,
        ).items
    ]
    exported = [
        r.id
        for r in items.records.export(
            SYSTEM_ACTOR, "paging", "item", filters=[("rank", "ge", 1)], sort=["-day"], batch=2
        )
    ]
    assert exported == expected and len(expected) == 14
