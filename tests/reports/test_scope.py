"""Row scope and hidden fields in reports, on SQLite and on PostgreSQL.

``boss.a`` (an external user of dealer DA) sees only the orders whose seller is DA: every
widget's groups, totals, KPI comparisons, targets, the ranking's "others" and the drill
are computed over those alone. ``analyst`` may not see ``department``: the widgets that
group or measure by it show an error and no figures; the others show every row.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import InvalidArgumentError, PermissionDeniedError
from engine.service import Actor
from tests.reports import reference as ref
from tests.reports.conftest import ADMIN, ANALYST, DEALER_A, DEALERS, EAST_VIEWER, TARGETS


def _mine(shop):
    return [o for o in shop.orders if o.seller == "DA"]


def _sum(orders) -> Decimal:
    return sum((o.money for o in orders if o.money is not None), Decimal("0.00"))


def test_dealer_sees_only_its_rows_in_every_widget(shop):
    got = shop.run(DEALER_A)
    mine = _mine(shop)
    assert 0 < len(mine) < len(shop.orders)
    for key in ref.WIDGETS:
        expected = ref.groups(key, mine, shop.dealer_ids, shop.product_ids)
        if key == "funnel_stage":
            # every step stays (zero where the dealer has none)
            assert len(expected) == len(ref.FUNNEL_STEPS)
        assert got[key]["error"] is None, key
        assert [(r["labels"], r["values"]) for r in got[key]["rows"]] == ref.as_json_rows(
            expected
        ), key
        assert got[key]["totals"] == [ref.text(v) for v in ref.totals(key, mine)], key
    # only Alpha appears anywhere
    assert {r["labels"][0] for r in got["by_dealer_stage"]["rows"]} == {"Alpha"}


def test_dealer_ranking_has_no_others_and_totals_only_its_amounts(shop):
    got = shop.run(DEALER_A, "top2", "top9")
    mine = _mine(shop)
    for key in ("top2", "top9"):
        assert [(r["labels"], r["values"], r["kind"]) for r in got[key]["rows"]] == [
            (["Alpha"], [ref.text(_sum(mine))], "group")
        ]
        assert got[key]["totals"] == [ref.text(_sum(mine))]
    # the admin's "others" holds the other dealers; the dealer drilling into it gets nothing
    admin_others = shop.widget("top2")["rows"][-1]
    assert admin_others["kind"] == "others"
    page = shop.service.reports.drill(DEALER_A, "shop", "sales", "top2", admin_others["drill"])
    assert (page.total, page.rows) == (0, [])


def test_dealer_kpis_and_target_are_its_own(shop):
    got = shop.run(DEALER_A, "kpi_month", "kpi_year", "kpi_target", "kpi_count")
    mine = _mine(shop)
    april = [o for o in mine if date(2026, 4, 1) <= o.day <= date(2026, 4, 30)]
    march = [o for o in mine if date(2026, 3, 1) <= o.day <= date(2026, 3, 31)]
    last_april = [o for o in mine if date(2025, 4, 1) <= o.day <= date(2025, 4, 30)]
    kpi = got["kpi_month"]["kpi"]
    assert kpi["value"] == ref.text(_sum(april))
    # March: one order of Alpha without an amount -> a sum of 0, no relative change
    assert [o.amount for o in march] == [None]
    assert (kpi["compared"], kpi["change"]) == ("0", None)
    assert got["kpi_year"]["kpi"]["compared"] == ref.text(_sum(last_april))
    target = sum(Decimal(a) for d, m, a in TARGETS if d == "A" and m.startswith("2026-04"))
    assert got["kpi_target"]["kpi"]["target"] == ref.text(target)
    assert got["kpi_count"]["kpi"]["value"] == str(len(april))
    sparkline = dict(got["kpi_month"]["kpi"]["sparkline"])
    assert sum(Decimal(v) for v in sparkline.values()) == _sum(april)


def test_dealer_pivot_and_table_hold_only_its_rows(shop):
    got = shop.run(DEALER_A, "pivot", "table")
    mine = _mine(shop)
    pivot = got["pivot"]["pivot"]
    assert [r["labels"] for r in pivot["rows"]] == [["East", "Alpha"], ["East"]]
    assert pivot["grand"] == [ref.text(_sum(mine)), str(len(mine))]
    assert [t[1] for t in pivot["column_totals"]] == [
        str(sum(1 for o in mine if ref.bucket(o.day, "quarter") == c["keys"][0]))
        for c in pivot["columns"]
    ]
    table = got["table"]
    assert table["page"]["total"] == len(mine)
    ids = {r["drill"]["record"] for r in table["rows"]}
    assert ids <= {o.id for o in mine} and len(ids) == min(4, len(mine))


def test_hidden_field_as_dimension_or_measure_is_a_widget_error(shop):
    got = shop.run(ANALYST)
    admin = shop.run(ADMIN)
    for key in ("by_department", "measures"):  # department, COUNT_DISTINCT(department)
        assert got[key]["error"], key
        assert "department" in got[key]["error"]
        assert (got[key]["rows"], got[key]["totals"]) == ([], None)
    for key, result in got.items():
        if key not in ("by_department", "measures"):
            assert result["error"] is None, key
            assert result["rows"] == admin[key]["rows"], key
            assert result["totals"] == admin[key]["totals"], key


def test_hidden_field_cannot_be_drilled_or_shown(shop):
    page = shop.service.reports.drill(
        ANALYST, "shop", "sales", "by_region", {"dealer.region": "south"}
    )
    assert "department" not in [path for path, _label in page.columns]
    expected = {o.id for o in shop.orders if o.dealer in ("B",)}  # Beta is the south dealer
    assert {r["id"] for r in page.rows} == expected


def test_dealer_drill_into_another_dealers_bar_is_empty(shop):
    page = shop.service.reports.drill(
        DEALER_A,
        "shop",
        "sales",
        "by_dealer_stage",
        {"dealer": shop.dealer_ids["B"], "stage": "paid"},
    )
    assert (page.total, page.rows) == (0, [])


def test_related_rows_out_of_scope_read_as_blank_and_never_leak(shop):
    # east.viewer reads every order but only the dealers of region east
    got = shop.run(EAST_VIEWER, "by_region", "by_dealer_stage", "top2", "pivot")
    east = [o for o in shop.orders if DEALERS[o.dealer][1] == "east"]
    rest = [o for o in shop.orders if DEALERS[o.dealer][1] != "east"]
    assert [(r["labels"], r["values"]) for r in got["by_region"]["rows"]] == [
        (["East"], [ref.text(_sum(east))]),
        (["(blank)"], [ref.text(_sum(rest))]),  # no "South": that region is never read
    ]
    assert got["by_region"]["totals"] == [ref.text(_sum(shop.orders))]
    shown = {label for key in got for r in got[key]["rows"] for label in r["labels"]}
    hidden_names = {DEALERS[k][0] for k in DEALERS if DEALERS[k][1] != "east"}
    assert not shown & (hidden_names | {"South"})
    # an out-of-scope dealer is shown by its id only, with the right figures
    beta = [r for r in got["top2"]["rows"] if r["keys"] == [shop.dealer_ids["B"]]]
    assert [(r["labels"], r["values"]) for r in beta] == [
        (
            [f"#{shop.dealer_ids['B']}"],
            [ref.text(_sum([o for o in shop.orders if o.dealer == "B"]))],
        )
    ]
    # the blank group drills into exactly its orders
    page = shop.service.reports.drill(
        EAST_VIEWER, "shop", "sales", "by_region", {"dealer.region": None}
    )
    assert sorted(r["id"] for r in page.rows) == sorted(o.id for o in rest)
    assert not {v for r in page.rows for v in r["values"]} & hidden_names


def test_filter_values_and_hidden_filters_are_refused_by_name(shop):
    reports = shop.service.reports
    with pytest.raises(InvalidArgumentError, match="阶段") as refused:
        reports.run(Actor("admin"), "shop", "sales", filters={"stage": "bogus"})
    assert refused.value.argument == "filters.stage"
    with pytest.raises(InvalidArgumentError, match="Dealer"):
        reports.run(ADMIN, "shop", "sales", filters={"dealer": "abc"})
    # the analyst may not see department: filtering by it is refused, naming the filter
    with pytest.raises(PermissionDeniedError, match="Department"):
        reports.run(ANALYST, "shop", "sales", filters={"dept": "east"})
    # drilling a widget that reads the hidden field: refused in the viewer's language
    with pytest.raises(PermissionDeniedError, match="无权查看字段"):
        reports.drill(Actor("analyst"), "shop", "sales", "by_department", {"department": "east"})


def test_drill_conditions_name_records_and_a_record_point_is_that_record(shop):
    page = shop.service.reports.drill(
        ADMIN, "shop", "sales", "by_dealer_stage", {"dealer": shop.dealer_ids["B"]}
    )
    assert any("Beta" in text for text in page.conditions), page.conditions
    first = next(o for o in shop.orders if o.dealer == "B")
    one = shop.service.reports.drill(
        ADMIN, "shop", "sales", "by_dealer_stage", {"record": first.id}
    )
    assert [r["id"] for r in one.rows] == [first.id]
