"""docs/reports.md stays true: its example app loads with every widget kind, aggregate
function and filter type; each widget snippet loads inside it; every option, bucket,
preset and format is documented; and the example runs (SQLite and PostgreSQL) with the
figures the page describes, computed here from the rows the test enters."""

from __future__ import annotations

import re
import textwrap
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import engine.service  # noqa: F401  (installs the field types the loader checks against)
from engine.definitions import check_app_text, load_app_text
from engine.definitions.checks.dashboards import KIND_OPTIONS
from engine.definitions.dashboards import (
    AGGREGATE_FUNCTIONS,
    BUCKETS,
    DATE_PRESETS,
    FILTER_TYPES,
    FORMATS,
    KPI_COMPARISONS,
    WIDGET_KINDS,
)
from engine.errors import PermissionDeniedError
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reports.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _example() -> str:
    block = re.search(r"<!-- example app -->\n```yaml\n(.*?)```", _text(), re.S)
    assert block is not None, "docs/reports.md has no <!-- example app --> block"
    return block.group(1)


def _widget_snippets() -> list[str]:
    return re.findall(r"<!-- widget -->\n```yaml\n(.*?)```", _text(), re.S)


def test_the_example_loads_with_every_kind_aggregate_and_filter_type():
    app = load_app_text(_example())
    (board,) = app.dashboards
    assert board.key == "sales" and board.roles == ("manager", "dealer")
    assert {w.kind for w in board.widgets} == set(WIDGET_KINDS)
    functions = {a.function for w in board.widgets for m in w.measures for a in m.aggregates}
    functions |= {
        a.function for w in board.widgets if w.target for a in w.target.measure.aggregates
    }
    assert functions == set(AGGREGATE_FUNCTIONS)
    assert {f.type for f in board.filters} == set(FILTER_TYPES)
    assert {w.compare for w in board.widgets if w.kind == "kpi"} == set(KPI_COMPARISONS)
    # a formula measure, a relation path, a sub-table path and a bucket are shown
    assert not board.widget("sales_by_month").measure("margin").simple
    assert board.widget("by_region").dimensions[0].path == "store.region"
    assert board.widget("by_category").dimensions[0].path == "lines.product.category"
    assert board.filter("period").fields == {"sales_order": "order_date", "sales_target": "month"}
    assert [(i.source, i.sets) for i in board.interactions] == [("by_region", "region")]


def test_every_widget_snippet_loads_inside_the_example():
    snippets = _widget_snippets()
    kinds = set()
    for snippet in snippets:
        # the example's dashboard is its last document and widgets: its last key
        text = _example() + textwrap.indent(snippet, "  ")
        assert [str(e) for e in check_app_text(text)] == [], snippet
        (board,) = load_app_text(text).dashboards
        kinds.add(board.widgets[-1].kind)
    assert kinds == set(WIDGET_KINDS)


def test_every_option_bucket_preset_and_format_is_documented():
    text = _text()
    words = [*KIND_OPTIONS, *BUCKETS, *DATE_PRESETS, *FORMATS, *KPI_COMPARISONS]
    words += [*WIDGET_KINDS, *FILTER_TYPES, *(f"{f}(" for f in AGGREGATE_FUNCTIONS)]
    assert [w for w in words if f"`{w}" not in text] == []


# -- the example runs -------------------------------------------------------------------

#: (order_no, store, dealer, order_date, channel, stage, lines (product, qty, price), cost)
ORDERS = [
    ("A1", "西湖店", "DL-HZ-001", "2026-12-02", "门店", "回款", [("可乐", 3, "10.50"), ("薯片", 1, "4.25")], "20.00"),
    ("A2", "西湖店", "DL-HZ-001", "2026-11-15", "电商", "发货", [("可乐", 10, "10.50")], "60.00"),
    ("B1", "天河店", "DL-GD-001", "2026-12-03", "门店", "报价", [("薯片", 7, "4.25")], None),
    ("B2", "天河店", "DL-GD-001", "2025-12-03", "团购", "签约", [("薯片", 2, "4.25")], "5.00"),
]  # fmt: skip
STORES = {"西湖店": ("hangzhou", "DL-HZ-001"), "天河店": ("guangdong", "DL-GD-001")}
PRODUCTS = {"可乐": "饮料", "薯片": "零食"}


def _amount(order) -> Decimal:
    return sum((qty * Decimal(price) for _p, qty, price in order[6]), Decimal(0))


@pytest.fixture
def sales(make_service, clock):
    clock.set(2026, 12, 1, 9, 0)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(ROOT / "examples" / "org.yaml"))
    admin = Actor("admin")
    roles = {"manager": "channel_manager", "dealer": "dealer_admin"}
    service.install_app(admin, load_app_text(_example()), role_map=roles)

    def create(form, values):
        return service.create_record(admin, "sales_docs", form, values).id

    stores = {
        name: create("store", {"name": name, "region": region, "dealer": dealer})
        for name, (region, dealer) in STORES.items()
    }
    products = {n: create("product", {"name": n, "category": c}) for n, c in PRODUCTS.items()}
    create("sales_target", {"month": "2026-12-01", "region": "hangzhou", "amount": "1000.00"})
    for no, store, dealer, day, channel, stage, lines, cost in ORDERS:
        values = {
            "order_no": no,
            "store": stores[store],
            "dealer": dealer,
            "order_date": day,
            "channel": channel,
            "stage": stage,
            "department": "sales_east",
            "sales_rep": "wu.gang",
            "lines": [{"product": products[p], "qty": q, "price": pr} for p, q, pr in lines],
        }
        if cost:
            values["cost"] = cost
        create("sales_order", values)
    clock.set(2026, 12, 6, 10, 0)
    return service


def _in(first: str, last: str):
    return [o for o in ORDERS if date.fromisoformat(first) <= date.fromisoformat(o[3]) <= date.fromisoformat(last)]  # fmt: skip


def test_the_example_runs_for_a_manager_and_for_a_dealer(sales):
    manager = sales.reports.run(Actor("he.jing"), "sales_docs", "sales")
    widgets = {w.key: w.to_json() for w in manager.widgets}
    assert {k: w["error"] for k, w in widgets.items() if w["error"]} == {}
    december = sum(map(_amount, _in("2026-12-01", "2026-12-31")), Decimal(0))
    november = sum(map(_amount, _in("2026-11-01", "2026-11-30")), Decimal(0))
    kpi = widgets["sales_this_month"]["kpi"]
    assert (Decimal(kpi["value"]), Decimal(kpi["compared"])) == (december, november)
    assert Decimal(kpi["change"]) == ((december - november) / november).quantize(Decimal("0.0001"))
    target = widgets["vs_target"]["kpi"]
    assert (Decimal(target["target"]), Decimal(target["rate"])) == (
        Decimal("1000.00"),
        (december / 1000).quantize(Decimal("0.0001")),
    )
    year = _in("2026-01-01", "2026-12-31")  # the period filter's default: this_year
    assert Decimal(widgets["top_dealers"]["totals"][0]) == sum(map(_amount, year), Decimal(0))
    snacks = sum(
        (q * Decimal(p) for o in year for name, q, p in o[6] if PRODUCTS[name] == "零食"),
        Decimal(0),
    )
    pie = {r["labels"][0]: Decimal(r["values"][0]) for r in widgets["by_category"]["rows"]}
    assert pie["零食"] == snacks
    # cumulative funnel: each step counts the orders that reached it
    steps = ["报价", "签约", "发货", "回款"]
    reached = [sum(1 for o in year if steps.index(o[5]) >= i) for i in range(4)]
    assert [int(r["values"][0]) for r in widgets["stages"]["rows"]] == reached
    # a dealer sees their own orders only; the widgets reading cost show a message
    dealer = sales.reports.run(Actor("hz.boss"), "sales_docs", "sales")
    mine = {w.key: w.to_json() for w in dealer.widgets}
    assert {k for k, w in mine.items() if w["error"]} == {"sales_by_month", "rep_margin"}
    own = sum((_amount(o) for o in year if o[2] == "DL-HZ-001"), Decimal(0))
    assert [r["values"][0] for r in mine["top_dealers"]["rows"]] == [str(own)]
    # drilling a point lists its records
    drill = sales.reports.drill(
        Actor("he.jing"), "sales_docs", "sales", "by_region", {"store.region": "hangzhou"}
    )
    assert drill.total == sum(1 for o in year if STORES[o[1]][0] == "hangzhou")
    with pytest.raises(PermissionDeniedError):
        sales.reports.run(Actor("hz.sales"), "sales_docs", "sales")
