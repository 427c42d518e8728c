"""Every widget kind against figures computed again in plain Python from the inserted
orders (tests/reports/reference.py), on SQLite and on PostgreSQL.

Covers: KPI (value, previous period, last year, target from the target form, rate,
sparkline with empty days as zero), bars grouped by two dimensions and stacked, lines by
each time bucket across month, quarter and year ends, a datetime bucketed by day in
Shanghai across UTC midnight, pie, funnel with a missing step, pivot (cells, row and
column totals, subtotals, grand total), detail table (sort, pages), ranking with and
without "others", every measure type, NULL dimensions and amounts, relation paths and
sub-table dimensions, and a database with no orders.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from tests.reports import reference as ref
from tests.reports.conftest import ADMIN, DEALERS

APRIL = (date(2026, 4, 1), date(2026, 4, 30))
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
APRIL_2025 = (date(2025, 4, 1), date(2025, 4, 30))


def _sum(orders) -> Decimal:
    return sum((o.money for o in orders if o.money is not None), Decimal("0.00"))


def _rate(value: Decimal, base: Decimal) -> str:
    return format((value / base).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP), "f")


def _change(value: Decimal, before: Decimal) -> str:
    return format(
        ((value - before) / before).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP), "f"
    )


# -- every grouped widget at once -------------------------------------------------------


def test_grouped_widget_rows_and_totals(shop):
    results = shop.run()
    for key in sorted(ref.WIDGETS):
        got = results[key]
        assert got["error"] is None, key
        expected = ref.groups(key, shop.orders, shop.dealer_ids, shop.product_ids)
        assert [(r["labels"], r["values"]) for r in got["rows"]] == ref.as_json_rows(expected), key
        assert [r["keys"] for r in got["rows"]] == [keys for keys, _l, _v in expected], key
        assert got["totals"] == [ref.text(v) for v in ref.totals(key, shop.orders)], key
        # every group's drill point names its dimension values
        dims = [c["key"] for c in got["columns"] if c["role"] == "dimension"]
        for row in got["rows"]:
            assert row["drill"] == dict(zip(dims, row["keys"], strict=True)), key


# -- KPI --------------------------------------------------------------------------------


def test_kpi_value_previous_period_and_sparkline_with_empty_days(shop):
    kpi = shop.widget("kpi_month")["kpi"]
    april = ref.in_month(shop.orders, *APRIL)
    march = ref.in_month(shop.orders, *MARCH)
    assert kpi["value"] == ref.text(_sum(april)) == "1360.00"
    assert kpi["period"] == "2026-04-01..2026-04-30"
    assert kpi["compare_period"] == "2026-03-01..2026-03-31"
    assert kpi["compared"] == ref.text(_sum(march)) == "617.67"
    assert kpi["change"] == _change(_sum(april), _sum(march))
    # one point per day of April, the days without orders as zero
    days = [date(2026, 4, d) for d in range(1, 31)]
    expected = [
        [d.isoformat(), ref.text(_sum([o for o in april if o.day == d]) or Decimal(0))]
        for d in days
    ]
    got = [[label, Decimal(v)] for label, v in kpi["sparkline"]]
    assert got == [[label, Decimal(v)] for label, v in expected]
    assert got[2] == ["2026-04-03", Decimal(0)]
    chart = shop.widget("kpi_month")["chart"]
    assert chart["xAxis"]["data"] == [d.isoformat() for d in days]
    assert chart["series"][0]["data"][0] == float(_sum([o for o in april if o.day == days[0]]))


def test_kpi_last_year(shop):
    kpi = shop.widget("kpi_year")["kpi"]
    april = _sum(ref.in_month(shop.orders, *APRIL))
    before = _sum(ref.in_month(shop.orders, *APRIL_2025))
    assert kpi["compare_period"] == "2025-04-01..2025-04-30"
    assert (kpi["value"], kpi["compared"]) == (ref.text(april), ref.text(before))
    assert kpi["change"] == _change(april, before)


def test_kpi_target_from_the_target_form_and_rate(shop):
    from tests.reports.conftest import TARGETS

    kpi = shop.widget("kpi_target")["kpi"]
    april = _sum(ref.in_month(shop.orders, *APRIL))
    target = sum(Decimal(a) for _d, month, a in TARGETS if month.startswith("2026-04"))
    assert kpi["value"] == ref.text(april)
    assert kpi["target"] == ref.text(target) == "2400.00"
    assert kpi["rate"] == _rate(april, target)
    # with the dealer filter, the target is that dealer's (the target form has the field)
    alpha = shop.widget("kpi_target", dealer=shop.dealer_ids["A"])["kpi"]
    a_april = _sum([o for o in ref.in_month(shop.orders, *APRIL) if o.dealer == "A"])
    a_target = sum(Decimal(a) for d, m, a in TARGETS if d == "A" and m.startswith("2026-04"))
    assert (alpha["value"], alpha["target"]) == (ref.text(a_april), ref.text(a_target))
    assert alpha["rate"] == _rate(a_april, a_target)


def test_kpi_count_with_weekly_sparkline(shop):
    got = shop.widget("kpi_count")
    april = ref.in_month(shop.orders, *APRIL)
    assert got["kpi"]["value"] == str(len(april))
    assert got["rows"][0]["kind"] == "kpi"
    # the weeks touching April, each labelled with its Monday (Mar 30 is a Monday)
    mondays = ["2026-03-30", "2026-04-06", "2026-04-13", "2026-04-20", "2026-04-27"]
    expected = [[m, str(sum(1 for o in april if ref.bucket(o.day, "week") == m))] for m in mondays]
    assert got["kpi"]["sparkline"] == expected


# -- bars and lines ---------------------------------------------------------------------


def test_bar_grouped_by_two_dimensions_chart(shop):
    got = shop.widget("by_dealer_stage")
    expected = ref.groups("by_dealer_stage", shop.orders, shop.dealer_ids, shop.product_ids)
    categories: list[str] = []
    series: list[str] = []
    for _keys, (dealer, stage), _v in expected:
        categories += [dealer] if dealer not in categories else []
        series += [stage] if stage not in series else []
    chart = got["chart"]
    assert chart["xAxis"]["data"] == categories == ["Alpha", "Beta", "Gamma", "Delta"]
    assert [s["name"] for s in chart["series"]] == series
    cell = {(labels[0], labels[1]): values[0] for _k, labels, values in expected}
    for s, drills in zip(chart["series"], chart["drill"], strict=True):
        assert "stack" not in s
        want = [cell.get((c, s["name"])) for c in categories]
        assert s["data"] == [None if v is None else float(v) for v in want]
        # a missing bar has no drill point; a bar's point names both dimensions
        for c, point in zip(categories, drills, strict=True):
            if (c, s["name"]) not in cell:
                assert point is None
            else:
                assert set(point) == {"dealer", "stage"}


def test_stacked_bar(shop):
    chart = shop.widget("stacked_month")["chart"]
    assert chart["series"] and all(s["stack"] == "total" for s in chart["series"])
    months = sorted({ref.bucket(o.day, "month") for o in shop.orders})
    assert chart["xAxis"]["data"] == months
    # each month's stack adds up to the month's orders (blank amounts skipped)
    for i, month in enumerate(months):
        stacked = sum(Decimal(str(s["data"][i])) for s in chart["series"] if s["data"][i])
        assert stacked == _sum([o for o in shop.orders if ref.bucket(o.day, "month") == month])


LINE_LABELS = {
    "week": ["2025-04-07", "2025-12-29", "2026-03-09", "2026-03-23", "2026-03-30"],
    "month": ["2025-04", "2025-12", "2026-01", "2026-03", "2026-04", "2026-06", "2026-07"],
    "quarter": ["2025-Q2", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"],
    "year": ["2025", "2026"],
}


def test_line_buckets_cross_boundaries(shop):
    results = shop.run(ADMIN, *(f"line_{b}" for b in LINE_LABELS))
    for bucket, labels in LINE_LABELS.items():
        got = results[f"line_{bucket}"]
        shown = [r["labels"][0] for r in got["rows"]]
        # the buckets with orders, and every empty one between them as zero
        assert [label for label in shown if label in labels] == labels
        assert shown[: shown.index(labels[-1]) + 1] == ref.span(bucket, labels[0], labels[-1])
        end = shown.index(labels[-1]) + 1
        empty = [r for r in got["rows"][:end] if r["labels"][0] not in labels]
        assert all(r["values"] == ["0", "0"] for r in empty)
        chart = got["chart"]
        assert chart["xAxis"]["data"] == shown
        assert [s["type"] for s in chart["series"]] == ["line", "line"]
        assert chart["drill"][0] == [{f"order_date:{bucket}": label} for label in shown]
    # Dec 31 2025 and Jan 1 2026 share the week of Monday Dec 29; Sunday Mar 29 is in the
    # week before Monday Mar 30; Mar 31 / Apr 1 and Jun 30 / Jul 1 split months/quarters
    weeks = {r["labels"][0]: r["values"] for r in results["line_week"]["rows"]}
    assert weeks["2025-12-29"] == ["2", "550.33"]
    assert weeks["2026-03-23"] == ["1", None]  # O5 has no amount
    quarters = {r["labels"][0]: r["values"] for r in results["line_quarter"]["rows"]}
    assert quarters["2026-Q2"][0] == "5" and quarters["2026-Q3"][0] == "1"


def test_datetime_bucketed_by_day_in_shanghai(shop):
    rows = {r["labels"][0]: r["values"][0] for r in shop.widget("placed_day")["rows"]}
    # 2026-03-31T23:30+08:00 (15:30 UTC) is March 31; 2026-03-31T17:00Z is April 1
    assert rows["2026-03-31"] == "1"
    assert rows["2026-04-01"] == "2"
    assert rows["2025-12-31"] == "1" and rows["2026-01-01"] == "1"
    months = {r["labels"][0]: r["values"][0] for r in shop.widget("placed_month")["rows"]}
    assert months["2026-03"] == "1" and months["2026-04"] == "2"


# -- pie, funnel ------------------------------------------------------------------------


def test_pie_and_funnel_charts(shop):
    pie = shop.widget("pie_stage")
    expected = ref.groups("pie_stage", shop.orders, shop.dealer_ids, shop.product_ids)
    assert pie["chart"]["series"][0]["type"] == "pie"
    assert pie["chart"]["series"][0]["data"] == [
        {"name": labels[0], "value": float(values[0])} for _k, labels, values in expected
    ]
    funnel = shop.widget("funnel_stage")
    # the declared steps in order; "returned" has no order and shows as zero
    assert [(r["keys"][0], r["values"][0]) for r in funnel["rows"]] == [
        (s, str(sum(1 for o in shop.orders if o.stage == s))) for s in ref.FUNNEL_STEPS
    ]
    assert funnel["rows"][-1]["values"] == ["0"]
    assert funnel["rows"][-1]["drill"] == {"stage": "returned"}
    assert funnel["chart"]["series"][0]["type"] == "funnel"


# -- pivot ------------------------------------------------------------------------------


def test_pivot_cells_totals_subtotals_and_grand(shop):
    pivot = shop.widget("pivot")["pivot"]
    ids = shop.dealer_ids

    def region(o):
        return DEALERS[o.dealer][1]

    def quarter(o):
        return ref.bucket(o.day, "quarter")

    def figures(orders):
        return [ref.text(_sum(orders)) if any(o.money for o in orders) else None, str(len(orders))]

    quarters = sorted({quarter(o) for o in shop.orders})
    heads = sorted(
        {(region(o), ids[o.dealer]) for o in shop.orders},
        key=lambda h: (h[0] is None, h[0] or "", h[1]),
    )
    assert pivot["measures"] == ["sales", "n"]
    assert [c["keys"] for c in pivot["columns"]] == [[q] for q in quarters]
    rows = [r for r in pivot["rows"] if r["kind"] == "group"]
    assert [tuple(r["keys"]) for r in rows] == heads
    for row in rows:
        mine = [o for o in shop.orders if (region(o), ids[o.dealer]) == tuple(row["keys"])]
        assert row["labels"][1] == shop.dealer_name(row["keys"][1])
        assert row["cells"] == [
            figures([o for o in mine if quarter(o) == q]) if any(quarter(o) == q for o in mine)
            else None
            for q in quarters
        ]  # fmt: skip
        assert row["total"] == figures(mine)
    assert pivot["column_totals"] == [
        figures([o for o in shop.orders if quarter(o) == q]) for q in quarters
    ]
    assert pivot["grand"] == figures(shop.orders)
    # a subtotal row after each region's dealers, blank region last
    kinds = [(r["kind"], r["keys"][0]) for r in pivot["rows"]]
    assert kinds == [
        ("group", "east"),
        ("group", "east"),
        ("subtotal", "east"),
        ("group", "south"),
        ("subtotal", "south"),
        ("group", None),
        ("subtotal", None),
    ]
    for sub in (r for r in pivot["rows"] if r["kind"] == "subtotal"):
        theirs = [o for o in shop.orders if region(o) == sub["keys"][0]]
        assert sub["total"] == figures(theirs)
        assert sub["cells"] == [
            figures([o for o in theirs if quarter(o) == q]) if any(quarter(o) == q for o in theirs)
            else None
            for q in quarters
        ]  # fmt: skip
    assert [r["labels"][0] for r in pivot["rows"] if r["kind"] == "subtotal"] == [
        "East",
        "South",
        "(blank)",
    ]


# -- table ------------------------------------------------------------------------------


def test_table_sort_and_pages(shop):
    ordered = sorted(shop.orders, key=lambda o: (o.money is None, -(o.money or 0), -o.id))
    pages = []
    for page in (1, 2, 3, 4):
        result = shop.service.reports.run(ADMIN, "shop", "sales", widgets=["table"], page=page)
        got = result.widgets[0].to_json()
        assert got["page"] == {"page": page, "page_size": 4, "total": len(shop.orders)}
        pages.append([r["drill"]["record"] for r in got["rows"]])
        assert all(r["kind"] == "record" for r in got["rows"])
    assert pages == [[o.id for o in ordered[i : i + 4]] for i in (0, 4, 8, 12)]
    first = shop.widget("table")["rows"][0]
    top = ordered[0]
    # a record row: its title as label, each column's display text as values
    assert first["labels"] == [top.ref]
    assert first["values"] == [top.ref, DEALERS[top.dealer][0], "¥1,000.00", "2026-04-01", "done"]
    assert (top.amount, top.order_date, top.stage) == ("1000.00", "2026-04-01", "done")
    assert pages[-1][-1] == next(o.id for o in shop.orders if o.amount is None)  # blank last


# -- ranking ----------------------------------------------------------------------------


def test_ranking_top_two_with_others(shop):
    got = shop.widget("top2")
    by_dealer = sorted(
        ((_sum([o for o in shop.orders if o.dealer == d]), d) for d in DEALERS), reverse=True
    )
    top, rest = by_dealer[:2], by_dealer[2:]
    assert [(r["labels"][0], r["values"][0]) for r in got["rows"]] == [
        *((DEALERS[d][0], ref.text(v)) for v, d in top),
        ("Others", ref.text(sum(v for v, _d in rest))),
    ]
    others = got["rows"][-1]
    assert others["kind"] == "others"
    assert others["drill"] == {"others": {"dealer": [shop.dealer_ids[d] for _v, d in top]}}
    assert got["totals"] == [ref.text(_sum(shop.orders))]
    assert got["chart"]["yAxis"]["data"] == [r["labels"][0] for r in got["rows"]]


def test_ranking_without_anything_left_has_no_others(shop):
    rows = shop.widget("top9")["rows"]
    assert len(rows) == len(DEALERS)
    assert all(r["kind"] == "group" for r in rows)


# -- measures, NULLs, relations, sub-tables -------------------------------------------


def test_measure_types_per_dealer(shop):
    got = shop.widget("measures")
    alpha = next(r for r in got["rows"] if r["labels"] == ["Alpha"])
    # Alpha: 100.10, 300.33, blank, 1000.00, 12.00; costs 60, 100, 10, 800, 6
    assert alpha["values"] == ["5", "2", "353.11", "12.00", "1000.00", "1.45"]
    formats = {c["key"]: c["format"] for c in got["columns"] if c["role"] == "measure"}
    assert formats["n"] == "integer" and formats["low"] == "money"


def test_null_dimension_grouped_as_blank_and_null_amounts_skipped(shop):
    rows = {r["labels"][0]: r for r in shop.widget("by_department")["rows"]}
    blank = [o for o in shop.orders if o.department is None]
    assert rows["(blank)"]["values"] == [ref.text(_sum(blank)), str(len(blank))]
    assert rows["(blank)"]["keys"] == [None]
    assert list(rows)[-1] == "(blank)"
    east = [o for o in shop.orders if o.department == "east_sales"]
    assert any(o.amount is None for o in east)  # O5: counted, not summed
    assert rows["East sales"]["values"] == [ref.text(_sum(east)), str(len(east))]


def test_relation_path_and_sub_table_dimensions(shop):
    regions = {r["labels"][0]: r["values"][0] for r in shop.widget("by_region")["rows"]}
    assert regions == {
        "East": ref.text(_sum([o for o in shop.orders if DEALERS[o.dealer][1] == "east"])),
        "South": ref.text(_sum([o for o in shop.orders if DEALERS[o.dealer][1] == "south"])),
        "(blank)": ref.text(_sum([o for o in shop.orders if DEALERS[o.dealer][1] is None])),
    }
    products = shop.widget("by_product")
    lines = [line for o in shop.orders for line in o.lines]
    assert products["totals"] == [
        ref.text(sum(Decimal(a) for _p, a in lines if a is not None)),
        str(len(lines)),  # COUNT() counts lines, not orders
    ]
    apple = next(r for r in products["rows"] if r["labels"] == ["Apple"])
    assert apple["values"][1] == str(sum(1 for p, _a in lines if p == "P1"))  # O9's blank too


# -- no data ----------------------------------------------------------------------------


def test_empty_data(empty_shop):
    got = empty_shop.run()
    for key in ref.WIDGETS:
        if key == "funnel_stage":
            continue
        assert got[key]["error"] is None
        assert got[key]["rows"] == [], key
    # totals: a count of nothing is 0, a sum or an average of nothing is blank
    assert got["line_month"]["totals"] == ["0", None]
    assert got["measures"]["totals"] == ["0", "0", None, None, None, None]
    assert [r["values"] for r in got["funnel_stage"]["rows"]] == [["0"]] * 5
    assert got["top2"]["rows"] == []
    assert got["table"]["rows"] == [] and got["table"]["page"]["total"] == 0
    pivot = got["pivot"]["pivot"]
    assert (pivot["rows"], pivot["columns"], pivot["column_totals"]) == ([], [], [])
    assert pivot["grand"] == [None, "0"]
    kpi = got["kpi_month"]["kpi"]
    # a card shows 0 for a sum over no orders, and no change against 0
    assert (kpi["value"], kpi["compared"], kpi["change"]) == ("0", "0", None)
    assert {v for _d, v in kpi["sparkline"]} == {"0"} and len(kpi["sparkline"]) == 30
    target = got["kpi_target"]["kpi"]
    assert target["target"] == "2400.00" and target["rate"] == "0.0000"
    assert got["kpi_count"]["kpi"]["value"] == "0"


# -- sorting, limits, widget filters, non-money measures ------------------------------


def _by(orders, key):
    out: dict = {}
    for o in orders:
        out.setdefault(key(o), []).append(o)
    return out


def test_ranking_others_hold_the_blank_group(shop):
    got = shop.widget("top_region")
    regions = _by(shop.orders, lambda o: DEALERS[o.dealer][1])
    ranked = sorted(regions, key=lambda r: _sum(regions[r]), reverse=True)
    top, rest = ranked[0], ranked[1:]
    assert None in rest  # Delta has no region: its orders fall in "others"
    assert [(r["labels"], r["values"], r["kind"]) for r in got["rows"]] == [
        ([ref.REGION_NAMES[top]], [ref.text(_sum(regions[top]))], "group"),
        (["Others"], [ref.text(sum(_sum(regions[r]) for r in rest))], "others"),
    ]
    page = shop.service.reports.drill(ADMIN, "shop", "sales", "top_region", got["rows"][1]["drill"])
    assert sorted(r["id"] for r in page.rows) == sorted(o.id for r in rest for o in regions[r])


def test_ranking_by_a_formula_measure(shop):
    got = shop.widget("top_margin")
    dealers = _by(shop.orders, lambda o: o.dealer)

    def margin(orders):
        cost = sum((Decimal(o.cost) for o in orders if o.cost is not None), Decimal(0))
        return (_sum(orders) / cost).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    ranked = sorted(dealers, key=lambda d: _sum(dealers[d]) / sum(
        Decimal(o.cost) for o in dealers[d] if o.cost is not None), reverse=True)  # fmt: skip
    top, rest = ranked[:2], [o for d in ranked[2:] for o in dealers[d]]
    assert [(r["labels"][0], r["values"][0]) for r in got["rows"]] == [
        *((DEALERS[d][0], ref.text(margin(dealers[d]))) for d in top),
        ("Others", ref.text(margin(rest))),  # the ratio of the rest, not a sum of ratios
    ]
    assert got["totals"] == [ref.text(margin(shop.orders))]


def test_bar_sorted_by_a_measure_and_limited(shop):
    got = shop.widget("sorted_stage")
    stages = _by(shop.orders, lambda o: o.stage)
    ranked = sorted(stages, key=lambda s: _sum(stages[s]), reverse=True)[:3]
    assert [(r["keys"][0], r["values"][0]) for r in got["rows"]] == [
        (s, ref.text(_sum(stages[s]))) for s in ranked
    ]
    assert got["totals"] == [ref.text(_sum(shop.orders))]  # the total is not limited


def test_widget_filter_keeps_blank_values_for_not_equal(shop):
    got = shop.widget("not_new")
    # "stage != 'new'" keeps the orders without a stage, as queries do (docs/permissions.md)
    kept = [o for o in shop.orders if o.stage != "new"]
    assert any(o.stage is None for o in kept)
    counts = _by(kept, lambda o: o.dealer)
    assert [(r["labels"][0], r["values"][0]) for r in got["rows"]] == [
        (DEALERS[d][0], str(len(counts[d]))) for d in sorted(counts, key=shop.dealer_ids.get)
    ]
    alpha = got["rows"][0]
    page = shop.service.reports.drill(ADMIN, "shop", "sales", "not_new", alpha["drill"])
    assert sorted(r["id"] for r in page.rows) == sorted(o.id for o in counts["A"])


def test_average_of_a_number_and_min_max_of_dates(shop):
    got = shop.widget("other_stats")
    stages = _by(shop.orders, lambda o: o.stage)
    expected = []
    for stage in sorted(stages, key=lambda s: (s is None, s or "")):
        orders = stages[stage]
        qty = (Decimal(sum(o.qty for o in orders)) / len(orders)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        placed = [ref.local_time(o.placed_at) for o in orders if o.placed_at]
        expected.append(
            [
                ref.text(qty),
                min(o.day for o in orders).isoformat(),
                max(placed).isoformat() if placed else None,
            ]
        )
    assert [r["values"] for r in got["rows"]] == expected
    formats = [c["format"] for c in got["columns"] if c["role"] == "measure"]
    assert formats == ["number", "date", "datetime"]
    # a date cannot be drawn on a value axis: the chart leaves those points out
    assert got["chart"]["series"][1]["data"] == [None] * len(expected)


def test_kpi_on_a_datetime_counts_days_in_shanghai(shop):
    kpi = shop.widget("kpi_placed")["kpi"]
    days = [ref.local_day(o.placed_at) for o in shop.orders if o.placed_at]
    april = [d for d in days if (d.year, d.month) == (2026, 4)]
    march = [d for d in days if (d.year, d.month) == (2026, 3)]
    assert (kpi["value"], kpi["compared"]) == (str(len(april)), str(len(march))) == ("2", "1")
    assert kpi["sparkline"][0] == ["2026-04-01", "2"]


def test_date_range_filter_on_a_datetime_field(shop):
    got = shop.run(ADMIN, "line_day", "kpi_placed", placed="2026-04-01..2026-04-01")
    chosen = [o for o in shop.orders if ref.local_day(o.placed_at) == date(2026, 4, 1)]
    assert [o.ref for o in chosen] == ["O7", "O8"]  # O7: 17:00 UTC on March 31
    assert got["line_day"]["totals"] == [str(len(chosen)), ref.text(_sum(chosen))]
    # the KPI on that field follows the range: one day, compared with the day before
    kpi = got["kpi_placed"]["kpi"]
    assert (kpi["period"], kpi["value"]) == ("2026-04-01..2026-04-01", "2")
    assert (kpi["compare_period"], kpi["compared"]) == ("2026-03-31..2026-03-31", "1")


def test_cumulative_funnel_counts_the_orders_that_reached_each_step(shop):
    got = shop.widget("funnel_reached")
    steps = list(ref.FUNNEL_STEPS)
    expected = []
    for i, step in enumerate(steps):
        reached = [o for o in shop.orders if o.stage in steps[i:]]
        expected.append(([step], [ref.text(_sum(reached))] if reached else ["0"]))
    assert [(r["keys"], r["values"]) for r in got["rows"]] == expected
    paid = got["rows"][1]
    assert paid["drill"] == {"reached": {"stage": steps[1:]}}
    page = shop.service.reports.drill(ADMIN, "shop", "sales", "funnel_reached", paid["drill"])
    assert sorted(r["id"] for r in page.rows) == sorted(
        o.id for o in shop.orders if o.stage in steps[1:]
    )
