"""Drill-down and dashboard filters, on SQLite and on PostgreSQL.

A drill returns exactly the orders behind a point (a bar, a pivot cell, a time bucket,
the ranking's "others"), computed here from the inserted rows. Filters: date range
presets and explicit ranges, department and select filters, and the refusals of an
unknown filter key and of a date that is no date.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import InvalidArgumentError
from engine.service import Actor
from tests.reports import reference as ref
from tests.reports.conftest import ADMIN, DEALERS, PRODUCTS


def _drill(shop, widget, point, **kw):
    return shop.service.reports.drill(ADMIN, "shop", "sales", widget, point, **kw)


def _ids(page) -> list[int]:
    return [r["id"] for r in page.rows]


def _sum(orders) -> Decimal:
    return sum((o.money for o in orders if o.money is not None), Decimal("0.00"))


# -- drill ------------------------------------------------------------------------------


def test_drill_a_bar_of_two_dimensions(shop):
    row = next(
        r for r in shop.widget("by_dealer_stage")["rows"] if r["labels"] == ["Alpha", "shipped"]
    )
    page = _drill(shop, "by_dealer_stage", row["drill"])
    expected = [o.id for o in shop.orders if o.dealer == "A" and o.stage == "shipped"]
    assert sorted(_ids(page)) == sorted(expected) and page.total == len(expected) == 2
    assert page.form == "order"
    # the page's rows carry the displayed values of the form's columns
    assert page.rows[0]["values"][:2] == [page.rows[0]["title"], "Alpha"]


def test_drill_a_blank_group(shop):
    row = next(r for r in shop.widget("pie_stage")["rows"] if r["keys"] == [None])
    page = _drill(shop, "pie_stage", row["drill"])
    assert _ids(page) == [o.id for o in shop.orders if o.stage is None]


def test_drill_a_pivot_cell(shop):
    pivot = shop.widget("pivot")["pivot"]
    delta = next(r for r in pivot["rows"] if r["labels"] == ["(blank)", "Delta"])
    column = [c["keys"][0] for c in pivot["columns"]].index("2026-Q1")
    page = _drill(shop, "pivot", delta["drill"][column])
    expected = [
        o.id
        for o in shop.orders
        if DEALERS[o.dealer][1] is None
        and o.dealer == "D"
        and ref.bucket(o.day, "quarter") == "2026-Q1"
    ]
    assert _ids(page) == expected and len(expected) == 1
    # a cell with no order drills into nothing
    empty = delta["drill"][[c["keys"][0] for c in pivot["columns"]].index("2025-Q2")]
    assert _drill(shop, "pivot", empty).total == 0


def test_drill_a_time_bucket(shop):
    chosen = {"week": "2025-12-29", "month": "2026-03", "quarter": "2026-Q2", "year": "2025"}
    results = shop.run(ADMIN, *(f"line_{b}" for b in chosen))
    for bucket, label in chosen.items():
        widget = f"line_{bucket}"
        row = next(r for r in results[widget]["rows"] if r["labels"] == [label])
        page = _drill(shop, widget, row["drill"])
        expected = {o.id for o in shop.orders if ref.bucket(o.day, bucket) == label}
        assert set(_ids(page)) == expected and page.total == len(expected), bucket


def test_drill_a_datetime_day_in_shanghai(shop):
    page = _drill(shop, "placed_day", {"placed_at:day": "2026-04-01"})
    assert (
        set(_ids(page))
        == {o.id for o in shop.orders if ref.local_day(o.placed_at) == date(2026, 4, 1)}
        == {shop.orders[6].id, shop.orders[7].id}
    )  # O7 (17:00Z on Mar 31) and O8
    march_31 = _drill(shop, "placed_day", {"placed_at:day": "2026-03-31"})
    assert _ids(march_31) == [shop.orders[5].id]  # O6: 23:30 in Shanghai


def test_drill_others_of_the_ranking(shop):
    others = shop.widget("top2")["rows"][-1]
    assert others["kind"] == "others"
    page = _drill(shop, "top2", others["drill"])
    top = set(others["drill"]["others"]["dealer"])
    expected = [o for o in shop.orders if shop.dealer_ids[o.dealer] not in top]
    assert sorted(_ids(page)) == sorted(o.id for o in expected)
    # the others bar is the sum of exactly those orders
    assert others["values"] == [ref.text(_sum(expected))]


def test_drill_a_sub_table_group_lists_its_orders(shop):
    row = next(r for r in shop.widget("by_product")["rows"] if r["labels"] == ["Dust"])
    page = _drill(shop, "by_product", row["drill"])
    expected = {o.id for o in shop.orders if any(p == "P4" for p, _a in o.lines)}
    assert set(_ids(page)) == expected
    # each order once, though O8 has other lines too
    assert page.total == len(expected) == len(page.rows)
    food = next(r for r in shop.widget("by_category")["rows"] if r["labels"] == ["food"])
    page = _drill(shop, "by_category", food["drill"])
    foods = {k for k, (_n, c) in PRODUCTS.items() if c == "food"}
    expected = {o.id for o in shop.orders if any(p in foods for p, _a in o.lines)}
    assert sorted(_ids(page)) == sorted(expected) and page.total == len(expected)


def test_drill_pages(shop):
    page1 = _drill(shop, "line_year", {"order_date:year": "2026"}, page_size=4)
    page3 = _drill(shop, "line_year", {"order_date:year": "2026"}, page=3, page_size=4)
    in_2026 = sorted((o.id for o in shop.orders if o.day.year == 2026), reverse=True)
    assert page1.total == len(in_2026) == 11
    assert _ids(page1) == in_2026[:4] and _ids(page3) == in_2026[8:]


def test_drill_with_a_point_of_an_unknown_dimension_is_refused(shop):
    with pytest.raises(InvalidArgumentError):
        _drill(shop, "by_region", {"nope": 1})


# -- filters ----------------------------------------------------------------------------


RANGES = [
    ("2026-03-01..2026-03-31", date(2026, 3, 1), date(2026, 3, 31)),
    ("last_month", date(2026, 3, 1), date(2026, 3, 31)),
    ("this_month", date(2026, 4, 1), date(2026, 4, 30)),
    ("last_quarter", date(2026, 1, 1), date(2026, 3, 31)),
    ("this_year", date(2026, 1, 1), date(2026, 12, 31)),
    ("last_year", date(2025, 1, 1), date(2025, 12, 31)),
    ("..2025-12-31", None, date(2025, 12, 31)),
    ("2026-04-14", date(2026, 4, 14), date(2026, 4, 14)),
]


def test_date_range_filter(shop):
    for value, first, last in RANGES:
        result = shop.service.reports.run(
            ADMIN, "shop", "sales", widgets=["line_day", "kpi_month"], filters={"period": value}
        )
        got = {w.key: w.to_json() for w in result.widgets}
        chosen = [o for o in shop.orders if (first is None or o.day >= first) and o.day <= last]
        days = sorted({o.order_date for o in chosen})
        # the days with orders and, between them, every empty day (as zero)
        expected = ref.span("day", days[0], days[-1]) if len(days) > 1 else days
        assert [r["labels"][0] for r in got["line_day"]["rows"]] == expected, value
        assert got["line_day"]["totals"] == [str(len(chosen)), ref.text(_sum(chosen))], value
        assert result.filters == {"period": f"{first or ''}..{last}"}
        # a KPI without its own period follows a closed range on its date field; an open
        # range leaves it on this month
        kpi = got["kpi_month"]["kpi"]
        if first is None:
            first, last = date(2026, 4, 1), date(2026, 4, 30)
        assert kpi["period"] == f"{first}..{last}", value
        in_period = [o for o in shop.orders if first <= o.day <= last]
        assert kpi["value"] == ref.text(_sum(in_period)), value


def test_department_and_select_filters(shop):
    east = shop.widget("by_dealer_stage", dept="east_sales")
    chosen = [o for o in shop.orders if o.department == "east_sales"]
    assert east["totals"] == [ref.text(_sum(chosen))]
    assert [(r["labels"], r["values"]) for r in east["rows"]] == ref.as_json_rows(
        _groups_of(shop, "by_dealer_stage", chosen)
    )
    both = shop.widget("line_year", dept=["east_sales", "south_sales"], stage="paid")
    chosen = [
        o
        for o in shop.orders
        if o.department in ("east_sales", "south_sales") and o.stage == "paid"
    ]
    assert [(r["labels"], r["values"]) for r in both["rows"]] == ref.as_json_rows(
        _groups_of(shop, "line_year", chosen)
    )
    # the KPI counts this month's paid orders only
    kpi = shop.widget("kpi_count", stage="paid")["kpi"]
    april = [o for o in shop.orders if o.day.month == 4 and o.day.year == 2026]
    assert kpi["value"] == str(sum(1 for o in april if o.stage == "paid"))


def _groups_of(shop, key, orders):
    return ref.groups(key, orders, shop.dealer_ids, shop.product_ids)


def test_filter_choices(shop):
    choices = shop.service.reports.filter_choices(ADMIN, "shop", "sales")
    assert [v for v, _label in choices["stage"]] == list(ref.FUNNEL_STEPS)
    assert sorted(choices["dealer"]) == sorted(
        (shop.dealer_ids[k], name) for k, (name, _r, _c) in DEALERS.items()
    )


def test_unknown_filter_key_is_refused(shop):
    with pytest.raises(InvalidArgumentError) as caught:
        shop.service.reports.run(ADMIN, "shop", "sales", filters={"colour": "red"})
    assert "colour" in str(caught.value)
    assert "period" in str(caught.value)  # the known filters are named


def test_bad_date_text_is_refused_with_a_message(shop):
    for value in ("2026-13-45", "yesterday-ish", "2026-04-31..2026-05-01", 2026):
        with pytest.raises(InvalidArgumentError) as caught:
            shop.service.reports.run(ADMIN, "shop", "sales", filters={"period": value})
        message = str(caught.value)
        assert "Period" in message and "2026-01-01..2026-03-31" in message, value
    # in the actor's language
    zh = Actor("admin")
    with pytest.raises(InvalidArgumentError) as caught:
        shop.service.reports.run(zh, "shop", "sales", filters={"period": "2026-13-45"})
    assert "期间" in str(caught.value) and "2026-01-01..2026-03-31" in str(caught.value)


def test_reversed_range_is_refused(shop):
    with pytest.raises(InvalidArgumentError) as caught:
        shop.service.reports.run(
            ADMIN, "shop", "sales", filters={"period": "2026-05-01..2026-04-01"}
        )
    assert "first day is after the last" in str(caught.value)


def test_drill_a_kpi_card_lists_the_records_of_its_period(shop):
    row = shop.widget("kpi_month")["rows"][0]
    assert row["drill"] == {"period": "2026-04-01..2026-04-30"}
    page = _drill(shop, "kpi_month", row["drill"])
    april = {o.id for o in shop.orders if o.day.year == 2026 and o.day.month == 4}
    assert {r["id"] for r in page.rows} == april


def test_relation_filter_with_several_values_and_blank_filters(shop):
    ids = shop.dealer_ids
    got = shop.widget("top9", dealer=[ids["A"], str(ids["C"])])  # the web sends text
    chosen = [o for o in shop.orders if o.dealer in ("A", "C")]
    assert [r["labels"][0] for r in got["rows"]] == ["Alpha", "Gamma"]
    assert got["totals"] == [ref.text(_sum(chosen))]
    # an empty value is no filter
    assert shop.widget("top9", dealer="", dept=[], period="") == shop.widget("top9")
