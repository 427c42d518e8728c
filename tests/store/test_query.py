"""Queries: typed filters, relation paths, sort, pages, search, and errors that help."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.service import Actor, Filter, InvalidArgumentError, QueryError

ZHANG = Actor("zhang.wei")


@pytest.fixture
def stocked(purchase):
    """Three suppliers and five requests with known totals and dates."""
    ids = {
        name: purchase.create_record(ZHANG, "purchase", "supplier", {"name": name, "city": city}).id
        for name, city in [("S1 Paper", "Hangzhou"), ("S2 Ink", "Ningbo"), ("T3 100%_Co", None)]
    }
    rows = [
        ("S1 Paper", "2026-01-10", 2, "10"),
        ("S1 Paper", "2026-01-11", 1, "99.99"),
        ("S2 Ink", "2026-01-12", 5, "20"),
        ("T3 100%_Co", "2026-01-13", 3, "1"),
        ("S2 Ink", "2026-01-14", 1, "0.5"),
    ]
    for supplier, day, qty, price in rows:
        purchase.create_record(
            ZHANG,
            "purchase",
            "purchase_request",
            {
                "supplier": ids[supplier],
                "needed_by": day,
                "note": f"for {supplier}",
                "lines": [{"item": "x", "qty": qty, "price": price}],
            },
        )
    return purchase


def _totals(service, **kwargs) -> list[str]:
    page = service.query_records(ZHANG, "purchase", "purchase_request", **kwargs)
    return [str(r.values["total"]) for r in page.items]


def test_filters_coerce_text_values_through_the_field_type(stocked):
    assert _totals(stocked, filters=[("total", "ge", "20")], sort="-total") == [
        "100.00",
        "99.99",
        "20.00",
    ]
    assert _totals(
        stocked, filters=[("needed_by", "between", ["2026-01-11", "2026-01-12"])], sort="needed_by"
    ) == ["99.99", "100.00"]
    assert _totals(stocked, filters=[Filter("total", "lt", Decimal("1"))]) == ["0.50"]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (("total", "eq", "20.00"), ["20.00"]),
        (("total", "ne", "20"), ["0.50", "3.00", "99.99", "100.00"]),
        (("total", "gt", "20"), ["99.99", "100.00"]),
        (("total", "le", "3"), ["0.50", "3.00"]),
        (("total", "in", ["3", "0.5"]), ["0.50", "3.00"]),
        (("total", "not_in", ["3", "0.5"]), ["20.00", "99.99", "100.00"]),
        (("note", "contains", "ink"), ["0.50", "100.00"]),
        (("note", "startswith", "for T3"), ["3.00"]),
        (("serial", "eq", "PR-20260105-0002"), ["99.99"]),
        (("id", "in", [1, "2"]), ["20.00", "99.99"]),
    ],
)
def test_each_operator_selects_the_matching_records(stocked, flt, expected):
    assert _totals(stocked, filters=[flt], sort="total") == expected


def test_blank_and_not_blank_treat_empty_text_as_blank(stocked):
    page = stocked.query_records(ZHANG, "purchase", "supplier", filters=[("city", "blank")])
    assert [r.values["name"] for r in page.items] == ["T3 100%_Co"]
    page = stocked.query_records(ZHANG, "purchase", "supplier", filters=[("city", "not_blank")])
    assert [r.values["name"] for r in page.items] == ["S1 Paper", "S2 Ink"]


def test_a_relation_path_filters_on_the_related_records_field(stocked):
    assert _totals(
        stocked,
        filters=[("supplier.name", "startswith", "S1"), ("status", "eq", "active")],
        sort="-total",
    ) == ["99.99", "20.00"]
    assert _totals(stocked, filters=[("supplier.city", "eq", "Ningbo")], sort="total") == [
        "0.50",
        "100.00",
    ]


def test_like_wildcards_in_filter_text_match_literally(stocked):
    page = stocked.query_records(
        ZHANG, "purchase", "supplier", filters=[("name", "contains", "100%_")]
    )
    assert [r.values["name"] for r in page.items] == ["T3 100%_Co"]
    page = stocked.query_records(ZHANG, "purchase", "supplier", filters=[("name", "contains", "%")])
    assert len(page.items) == 1


def test_pages_are_stable_and_report_the_total(stocked):
    first = stocked.query_records(
        ZHANG, "purchase", "purchase_request", sort="needed_by", page=1, page_size=2
    )
    third = stocked.query_records(
        ZHANG, "purchase", "purchase_request", sort="needed_by", page=3, page_size=2
    )
    assert first.total == 5 and [r.id for r in first.items] == [1, 2]
    assert [r.id for r in third.items] == [5]
    assert "lines" not in first.items[0].values
    no_total = stocked.query_records(
        ZHANG, "purchase", "purchase_request", with_total=False, with_subtables=True
    )
    assert no_total.total is None
    assert no_total.items[0].values["lines"][0]["item"] == "x"


def test_default_sort_is_the_forms_list_sort(stocked):
    page = stocked.query_records(ZHANG, "purchase", "supplier")
    assert [r.values["name"] for r in page.items] == ["S1 Paper", "S2 Ink", "T3 100%_Co"]


def test_search_looks_in_text_fields_and_the_title(stocked):
    page = stocked.query_records(ZHANG, "purchase", "supplier", search="ningbo")
    assert [r.values["name"] for r in page.items] == ["S2 Ink"]
    assert _totals(stocked, search="PR-20260105-0004") == ["3.00"]


EN = Actor("zhang.wei", locale="en")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"filters": [("totl", "eq", 1)]}, "has no field 'totl' (did you mean 'total'?)"),
        ({"filters": [("total", "eq", "lots")]}, "filter total eq 'lots'"),
        ({"filters": [("needed_by", "gt", "next week")]}, "filter needed_by gt 'next week'"),
        ({"filters": [("total", "equals", 1)]}, "unknown operator 'equals'"),
        ({"filters": [("note.name", "eq", "x")]}, "'note' is not a single relation"),
        ({"filters": [("total", "between", [1])]}, "give two values"),
        ({"sort": "-amount"}, "cannot sort form purchase_request by 'amount'"),
    ],
)
def test_a_wrong_query_says_what_to_change(stocked, kwargs, message):
    with pytest.raises(QueryError) as caught:
        stocked.query_records(EN, "purchase", "purchase_request", **kwargs)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page_size": 501}, "page_size must be a whole number (int) from 1 to 500; got 501"),
        ({"page": 0}, "page must be a whole number (int) from 1 to 1000000000; got 0"),
    ],
)
def test_a_page_out_of_range_is_an_invalid_argument(stocked, kwargs, message):
    with pytest.raises(InvalidArgumentError) as caught:
        stocked.query_records(EN, "purchase", "purchase_request", **kwargs)
    assert str(caught.value) == message


def test_query_messages_come_in_the_actors_language(stocked):
    """One language per message: zh-CN by default, English for an English actor."""
    kwargs = {"filters": [("totl", "eq", 1)]}
    with pytest.raises(QueryError) as chinese:
        stocked.query_records(ZHANG, "purchase", "purchase_request", **kwargs)
    assert str(chinese.value) == "表单 purchase_request 没有字段 'totl'（是否想输入 'total'？）"
    with pytest.raises(QueryError) as english:
        stocked.query_records(EN, "purchase", "purchase_request", **kwargs)
    assert str(english.value) == "form purchase_request has no field 'totl' (did you mean 'total'?)"


def test_a_field_types_refusal_is_shown_in_one_language(stocked):
    """The field type's FieldValueError is wrapped with in_locale, not its bilingual text."""
    flt = [("needed_by", "gt", "next week")]
    with pytest.raises(QueryError) as english:
        stocked.query_records(EN, "purchase", "purchase_request", filters=flt)
    with pytest.raises(QueryError) as chinese:
        stocked.query_records(ZHANG, "purchase", "purchase_request", filters=flt)
    assert str(english.value).startswith("filter needed_by gt 'next week': ")
    assert str(chinese.value).startswith("筛选 needed_by gt 'next week'：")
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in str(english.value))
    assert "expected" not in str(chinese.value)


REGIONS_APP = """
app: geo
version: 1.0.0
name: Geo
---
form: region
name: Region
fields:
  name: {type: text}
---
form: supplier
name: Supplier
fields:
  name:   {type: text}
  region: {type: relation, to: region}
  tags:   {type: relation, to: region, many: true}
---
form: order
name: Order
fields:
  name:     {type: text}
  supplier: {type: relation, to: supplier}
  region:   {type: relation, to: region}
---
form: invoice
name: Invoice
fields:
  name:     {type: text}
  supplier: {type: relation, to: supplier}
"""


@pytest.fixture
def geo(make_service):
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR

    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(REGIONS_APP))

    def make(form, values):
        return service.create_record(ZHANG, "geo", form, values).id

    east, west = make("region", {"name": "east"}), make("region", {"name": "west"})
    s1 = make("supplier", {"name": "S1", "region": east})
    s2 = make("supplier", {"name": "S2", "region": west})
    # an order's own region differs from its supplier's region
    make("order", {"name": "o1", "supplier": s1, "region": west})
    make("order", {"name": "o2", "supplier": s2, "region": east})
    make("order", {"name": "o3", "supplier": s2})
    make("invoice", {"name": "i1", "supplier": s1})
    make("invoice", {"name": "i2", "supplier": s2})
    return service


def _names(service, form, filters):
    page = service.query_records(ZHANG, "geo", form, filters=filters, sort="name")
    assert page.total == len(page.items)
    return [r.values["name"] for r in page.items]


def test_a_two_step_relation_path_joins_through_the_parent(geo):
    # the form has no field named like the middle step
    assert _names(geo, "invoice", [("supplier.region.name", "eq", "east")]) == ["i1"]
    assert _names(geo, "invoice", [("supplier.region.name", "eq", "west")]) == ["i2"]


def test_a_two_step_path_does_not_collide_with_a_same_named_field(geo):
    assert _names(geo, "order", [("supplier.region.name", "eq", "east")]) == ["o1"]
    assert _names(geo, "order", [("supplier.region.name", "eq", "west")]) == ["o2", "o3"]
    assert _names(geo, "order", [("region.name", "eq", "east")]) == ["o2"]
    both = [("supplier.region.name", "eq", "west"), ("region.name", "eq", "east")]
    assert _names(geo, "order", both) == ["o2"]
    shared = [("supplier.name", "eq", "S2"), ("supplier.region.name", "eq", "west")]
    assert _names(geo, "order", shared) == ["o2", "o3"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("supplier.name.x", "supplier.name.x: 'name' is not a single relation of form supplier"),
        ("supplier.tags.name", "supplier.tags.name: 'tags' is not a single relation"),
        ("supplier.regon.name", "(did you mean 'region'?)"),
        ("supplier.region.nme", "form region has no field 'nme' (filter supplier.region.nme)"),
    ],
)
def test_a_bad_relation_path_names_the_path(geo, path, message):
    with pytest.raises(QueryError) as caught:
        geo.query_records(EN, "geo", "order", filters=[(path, "eq", "x")])
    assert message in str(caught.value)


def test_a_blank_filter_on_a_relation_still_finds_records_without_the_relation(make_service):
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR, Actor

    service = make_service()
    service.install_app(
        SYSTEM_ACTOR,
        load_app_text(
            "app: s\nversion: 1.0.0\nname: S\n---\nform: sup\nfields:\n  name: text\n---\n"
            "form: req\nfields:\n  note: text\n  sup: {type: relation, to: sup, display: name}\n"
        ),
    )
    me = Actor("u")
    acme = service.create_record(me, "s", "sup", {"name": "Acme"}).id
    service.create_record(me, "s", "req", {"note": "with", "sup": acme})
    service.create_record(me, "s", "req", {"note": "without"})

    def notes(*filters):
        page = service.query_records(me, "s", "req", filters=list(filters), sort="note")
        return [r.values["note"] for r in page.items]

    assert notes(("sup.name", "blank", None)) == ["without"]
    assert notes(("sup.name", "startswith", "Ac")) == ["with"]
    assert notes(("sup.name", "ne", "Acme")) == ["without"]
    assert notes(("sup.name", "startswith", "Ac"), ("note", "ne", "x")) == ["with"]
