"""List queries are built once per shape and reused with new values: the answers must be
exactly those of a fresh build (values, blanks, lists, LIKE wildcards, pages)."""

from __future__ import annotations

import pytest

from engine.service import SYSTEM_ACTOR

NAMES = ["50% off", "a_b", "abc", "x/y", "Acme", "acme two"]


@pytest.fixture
def suppliers(purchase):
    for index, name in enumerate(NAMES):
        city = None if index % 2 else "Hangzhou"
        purchase.create_record(
            SYSTEM_ACTOR, "purchase", "supplier", {"name": name, "city": city, "rating": index}
        )
    return purchase


def names(service, **query):
    page = service.query_records(SYSTEM_ACTOR, "purchase", "supplier", sort="name", **query)
    return [r.values["name"] for r in page.items]


def test_the_same_shape_with_other_values_gives_their_rows(suppliers):
    assert names(suppliers, filters=[("rating", "ge", "4")]) == ["Acme", "acme two"]
    assert names(suppliers, filters=[("rating", "ge", "2")]) == ["Acme", "abc", "acme two", "x/y"]
    assert names(suppliers, filters=[("rating", "in", [0])]) == ["50% off"]
    assert names(suppliers, filters=[("rating", "in", [0, 1, 5])]) == ["50% off", "a_b", "acme two"]
    assert names(suppliers, filters=[("rating", "between", [1, 2])]) == ["a_b", "abc"]
    assert names(suppliers, filters=[("rating", "between", [3, 4])]) == ["Acme", "x/y"]


def test_blank_and_a_value_are_different_shapes(suppliers):
    blank = names(suppliers, filters=[("city", "eq", "")])
    assert blank == ["a_b", "acme two", "x/y"]
    assert names(suppliers, filters=[("city", "eq", "Hangzhou")]) == ["50% off", "Acme", "abc"]
    assert names(suppliers, filters=[("city", "eq", None)]) == blank


@pytest.mark.parametrize(
    ("text", "found"),
    [("%", ["50% off"]), ("_", ["a_b"]), ("/", ["x/y"]), ("ACME", ["Acme", "acme two"])],
)
def test_like_wildcards_are_taken_literally_in_filters_and_search(suppliers, text, found):
    assert names(suppliers, search=text) == found
    assert names(suppliers, filters=[("name", "contains", text)]) == found


def test_pages_of_one_shape(suppliers):
    pages = [
        names(suppliers, filters=[("rating", "ge", "0")], page=n, page_size=2) for n in (1, 2, 3)
    ]
    assert pages == [["50% off", "Acme"], ["a_b", "abc"], ["acme two", "x/y"]]
    # startswith takes "_" literally too (else "abc" would match "a_")
    assert names(suppliers, filters=[("name", "startswith", "a_")], page=1, page_size=1) == ["a_b"]
    assert names(suppliers, filters=[("name", "startswith", "x/")], page=1, page_size=1) == ["x/y"]
