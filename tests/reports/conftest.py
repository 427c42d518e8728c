"""Fixtures of the report tests: a small sales app with a dashboard that uses every widget
kind and measure, and orders whose figures the tests compute again in plain Python.

Today is 2026-04-15 (a Wednesday) in Shanghai: "this month" is April 2026, the previous
period March 2026, the same period last year April 2025. The orders cross the ends of a
week (Sunday 2026-03-29 / Monday 2026-03-30), months, quarters and years; one has no
amount, one no department, one no stage; a dealer has no region; a sub-table line has no
amount. ``placed_at`` (a datetime) puts 2026-03-31T23:30+08:00 in March and
2026-03-31T17:00Z (01:00 on April 1 in Shanghai) in April.

Who reads: ``admin`` (every row), ``boss.a`` (an external user of dealer DA: the
``dealer`` row rule keeps the orders and targets whose ``seller`` is DA), ``analyst``
(every row, but ``department`` hidden) and ``east.viewer`` (every order, but only the
dealer records of region east: the others read as blank through the relation).

``shop`` is shared by the tests of a module (one database per module and engine: they
only read); tests that write take ``fresh_shop`` or ``empty_shop``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from tests.conftest import SHANGHAI, Clock, fresh_database_url

ORG = """
departments:
  - {code: hq, name: HQ}
  - {code: east_sales, name: East sales, parent: hq}
  - {code: south_sales, name: South sales, parent: hq}
roles:
  - {code: admin, name: Admin, members: [admin]}
  - {code: dealer_user, name: Dealer user, members: [boss.a]}
  - {code: analyst, name: Analyst, members: [analyst]}
  - {code: east_viewer, name: East viewer, members: [east.viewer]}
regions:
  - {code: cn, name: China}
  - {code: east, name: East, parent: cn}
  - {code: south, name: South, parent: cn}
dealers:
  - {code: DA, name: Dealer A, region: east}
  - {code: DB, name: Dealer B, region: south}
  - {code: DC, name: Dealer C, region: east}
  - {code: DD, name: Dealer D, region: south}
users:
  - {login: admin, name: Admin, department: hq}
  - {login: analyst, name: Analyst, department: hq}
  - {login: east.viewer, name: East viewer, department: hq}
  - {login: boss.a, name: Boss A, kind: external, dealer: DA}
"""

APP = """
app: shop
version: 1.0.0
name: {zh-CN: 商店, en: Shop}
roles:
  dealer_user: 经销商
  analyst: 分析员
  east_viewer: 华东查看
---
form: dealer
name: Dealer
title: "{{ name }}"
fields:
  name: {type: text, required: true}
  region: {type: region}
permissions:
  dealer_user: {can: [read]}
  analyst: {can: [read]}
  east_viewer: {can: [read], rows: {expr: "region == 'east'"}}
---
form: product
name: Product
title: "{{ name }}"
fields:
  name: {type: text, required: true}
  category: {type: select, options: [food, drink]}
permissions:
  dealer_user: {can: [read]}
  analyst: {can: [read]}
  east_viewer: {can: [read]}
---
form: order
name: {zh-CN: 订单, en: Order}
title: "{{ ref }}"
fields:
  ref: {type: text, required: true}
  dealer: {type: relation, to: dealer, display: name}
  seller: {type: dealer}
  department: {type: department}
  amount: {type: money}
  cost: {type: money}
  qty: {type: number, precision: 0}
  order_date: {type: date, required: true}
  placed_at: {type: datetime}
  stage: {type: select, options: [new, paid, shipped, done, returned]}
  lines:
    type: subtable
    fields:
      product: {type: relation, to: product, display: name}
      amount: {type: money}
permissions:
  dealer_user: {can: [read], rows: dealer}
  analyst: {can: [read], fields: {department: hidden}}
  east_viewer: {can: [read]}
---
form: monthly_target
name: Monthly target
fields:
  dealer: {type: relation, to: dealer, display: name}
  seller: {type: dealer}
  month: {type: date, required: true}
  amount: {type: money}
permissions:
  dealer_user: {can: [read], rows: dealer}
  analyst: {can: [read]}
  east_viewer: {can: [read]}
---
dashboard: sales
name: {zh-CN: 销售驾驶舱, en: Sales}
filters:
  period: {type: date_range, label: {zh-CN: 期间, en: Period}, field: order_date}
  dept: {type: department, label: {zh-CN: 部门, en: Department}, field: department}
  stage: {type: select, label: {zh-CN: 阶段, en: Stage}, field: stage}
  dealer: {type: relation, label: {zh-CN: 经销商, en: Dealer}, field: dealer, to: dealer}
  placed: {type: date_range, label: {zh-CN: 下单时间, en: Placed}, fields: {order: placed_at}}
widgets:
  kpi_month:
    kind: kpi
    source: order
    date: order_date
    measures: {sales: "SUM(amount)"}
    compare: previous_period
    sparkline: day
  kpi_year:
    kind: kpi
    source: order
    date: order_date
    measures: {sales: "SUM(amount)"}
    compare: last_year
  kpi_target:
    kind: kpi
    source: order
    date: order_date
    measures: {sales: "SUM(amount)"}
    compare: target
    target: {source: monthly_target, measure: "SUM(amount)", date: month}
  kpi_count:
    kind: kpi
    source: order
    date: order_date
    measures: {n: "COUNT()"}
    sparkline: week
  by_dealer_stage:
    kind: bar
    source: order
    dimensions: [dealer, stage]
    measures: {sales: "SUM(amount)"}
  stacked_month:
    kind: bar
    source: order
    dimensions: [{field: order_date, bucket: month}, stage]
    measures: {sales: "SUM(amount)"}
    stacked: true
  line_day:
    kind: line
    source: order
    dimensions: [{field: order_date, bucket: day}]
    measures: {n: "COUNT()", sales: "SUM(amount)"}
  line_week:
    kind: line
    source: order
    dimensions: [{field: order_date, bucket: week}]
    measures: {n: "COUNT()", sales: "SUM(amount)"}
  line_month:
    kind: line
    source: order
    dimensions: [{field: order_date, bucket: month}]
    measures: {n: "COUNT()", sales: "SUM(amount)"}
  line_quarter:
    kind: line
    source: order
    dimensions: [{field: order_date, bucket: quarter}]
    measures: {n: "COUNT()", sales: "SUM(amount)"}
  line_year:
    kind: line
    source: order
    dimensions: [{field: order_date, bucket: year}]
    measures: {n: "COUNT()", sales: "SUM(amount)"}
  placed_day:
    kind: line
    source: order
    dimensions: [{field: placed_at, bucket: day}]
    measures: {n: "COUNT()"}
  placed_month:
    kind: line
    source: order
    dimensions: [{field: placed_at, bucket: month}]
    measures: {n: "COUNT()"}
  pie_stage:
    kind: pie
    source: order
    dimensions: [stage]
    measures: {sales: "SUM(amount)"}
  funnel_stage:
    kind: funnel
    source: order
    dimensions: [stage]
    measures: {n: "COUNT()"}
    steps: [new, paid, shipped, done, returned]
  funnel_reached:
    kind: funnel
    source: order
    dimensions: [stage]
    measures: {sales: "SUM(amount)"}
    steps: [new, paid, shipped, done, returned]
    cumulative: true
  pivot:
    kind: pivot
    source: order
    dimensions: [dealer.region, dealer]
    columns: [{field: order_date, bucket: quarter}]
    measures: {sales: "SUM(amount)", n: "COUNT()"}
    subtotals: true
  table:
    kind: table
    source: order
    fields: [ref, dealer, amount, order_date, stage]
    sort: [-amount]
    page_size: 4
  top2:
    kind: ranking
    source: order
    dimensions: [dealer]
    measures: {sales: "SUM(amount)"}
    limit: 2
  top9:
    kind: ranking
    source: order
    dimensions: [dealer]
    measures: {sales: "SUM(amount)"}
    limit: 9
  measures:
    kind: bar
    source: order
    dimensions: [dealer]
    measures:
      n: "COUNT()"
      depts: "COUNT_DISTINCT(department)"
      avg: "AVG(amount)"
      low: "MIN(amount)"
      high: "MAX(amount)"
      margin: "SUM(amount) / SUM(cost)"
  by_department:
    kind: bar
    source: order
    dimensions: [department]
    measures: {sales: "SUM(amount)", n: "COUNT()"}
  by_region:
    kind: bar
    source: order
    dimensions: [dealer.region]
    measures: {sales: "SUM(amount)"}
  by_product:
    kind: bar
    source: order
    dimensions: [lines.product]
    measures: {sales: "SUM(lines.amount)", n: "COUNT()"}
  by_category:
    kind: bar
    source: order
    dimensions: [lines.product.category]
    measures: {sales: "SUM(lines.amount)", n: "COUNT()"}
  top_region:
    kind: ranking
    source: order
    dimensions: [dealer.region]
    measures: {sales: "SUM(amount)"}
    limit: 1
  top_margin:
    kind: ranking
    source: order
    dimensions: [dealer]
    measures: {margin: "SUM(amount) / SUM(cost)"}
    limit: 2
  sorted_stage:
    kind: bar
    source: order
    dimensions: [stage]
    measures: {sales: "SUM(amount)"}
    sort: [-sales]
    limit: 3
  not_new:
    kind: bar
    source: order
    dimensions: [dealer]
    measures: {n: "COUNT()"}
    filter: "stage != 'new'"
  other_stats:
    kind: bar
    source: order
    dimensions: [stage]
    measures: {avg_qty: "AVG(qty)", first: "MIN(order_date)", last: "MAX(placed_at)"}
  kpi_placed:
    kind: kpi
    source: order
    date: placed_at
    measures: {n: "COUNT()"}
    compare: previous_period
    sparkline: day
"""

ADMIN = Actor("admin", locale="en")
DEALER_A = Actor("boss.a", locale="en")
ANALYST = Actor("analyst", locale="en")
EAST_VIEWER = Actor("east.viewer", locale="en")
TODAY = date(2026, 4, 15)

#: dealer form: key -> (name, org region, org dealer code)
DEALERS = {
    "A": ("Alpha", "east", "DA"),
    "B": ("Beta", "south", "DB"),
    "C": ("Gamma", "east", "DC"),
    "D": ("Delta", None, "DD"),
}
#: product form: key -> (name, category)
PRODUCTS = {"P1": ("Apple", "food"), "P2": ("Beer", "drink"), "P3": ("Cake", "food")}
PRODUCTS["P4"] = ("Dust", None)


@dataclass
class Order:
    """One order as inserted (``id`` filled at insert)."""

    ref: str
    dealer: str
    department: str | None
    amount: str | None
    cost: str | None
    qty: int
    order_date: str
    placed_at: str | None
    stage: str | None
    lines: list[tuple[str, str | None]] = field(default_factory=list)
    id: int = 0

    @property
    def day(self) -> date:
        """The order date as a date."""
        return date.fromisoformat(self.order_date)

    @property
    def money(self) -> Decimal | None:
        """The amount as a Decimal (None when blank)."""
        return None if self.amount is None else Decimal(self.amount)

    @property
    def seller(self) -> str:
        """The organisation's dealer code the row rule reads."""
        return DEALERS[self.dealer][2]


def _orders() -> list[Order]:
    O = Order  # noqa: N806, E741 - a table of rows reads better short
    return [
        O("O1", "A", "east_sales", "100.10", "60.00", 1, "2025-04-10", None, "new",
          [("P1", "40.10"), ("P2", "60.00")]),
        O("O2", "B", "south_sales", "250.00", "200.00", 2, "2025-12-31",
          "2025-12-31T23:30:00+08:00", "paid", [("P2", "250.00")]),
        O("O3", "A", "east_sales", "300.33", "100.00", 3, "2026-01-01",
          "2026-01-01T00:10:00+08:00", "shipped", [("P1", "100.33"), ("P3", "200.00")]),
        O("O4", "C", None, "75.25", None, 1, "2026-03-15", None, None),
        O("O5", "A", "east_sales", None, "10.00", 1, "2026-03-29", None, "new",
          [("P3", "5.00")]),
        O("O6", "B", "south_sales", "500.00", "250.00", 5, "2026-03-30",
          "2026-03-31T23:30:00+08:00", "paid", [("P4", "500.00")]),
        O("O7", "D", "east_sales", "42.42", "40.00", 2, "2026-03-31",
          "2026-03-31T17:00:00+00:00", "shipped", [("P1", "42.42")]),
        O("O8", "A", "south_sales", "1000.00", "800.00", 4, "2026-04-01",
          "2026-04-01T08:00:00+08:00", "done", [("P2", "600.00"), ("P4", "400.00")]),
        O("O9", "C", "east_sales", "19.99", "9.99", 1, "2026-04-14", None, "new",
          [("P1", None)]),
        O("O10", "B", None, "333.00", "111.00", 3, "2026-04-15", None, "paid"),
        O("O11", "D", "south_sales", "7.01", "1.00", 1, "2026-04-02", None, "done"),
        O("O12", "A", "east_sales", "12.00", "6.00", 1, "2026-06-30", None, "shipped"),
        O("O13", "C", "south_sales", "13.00", "7.00", 1, "2026-07-01", None, "new"),
    ]  # fmt: skip


#: monthly targets: (dealer, month, amount)
TARGETS = [
    ("A", "2026-04-01", "1500.00"),
    ("B", "2026-04-01", "800.00"),
    ("A", "2026-03-01", "999.00"),
    ("C", "2026-04-01", "100.00"),
]


@dataclass
class Shop:
    """The service with the data in, and the ids the inserts got."""

    service: Any
    orders: list[Order]
    dealer_ids: dict[str, int]
    product_ids: dict[str, int]

    def run(self, actor: Actor = ADMIN, *widgets: str, **filters: Any) -> dict[str, Any]:
        """The named widgets' to_json() by key."""
        result = self.service.reports.run(
            actor, "shop", "sales", widgets=list(widgets) or None, filters=filters or None
        )
        return {w.key: w.to_json() for w in result.widgets}

    def widget(self, key: str, actor: Actor = ADMIN, **filters: Any) -> dict[str, Any]:
        """One widget's to_json()."""
        return self.run(actor, key, **filters)[key]

    def dealer_name(self, dealer_id: int) -> str:
        """The name of the dealer record with this id."""
        key = next(k for k, v in self.dealer_ids.items() if v == dealer_id)
        return DEALERS[key][0]


def install_shop(service: Any, clock: Any, orders: list[Order] | None = None) -> Shop:
    """The org, the app and (unless ``orders`` is given) every order above."""
    clock.set(2026, 4, 15, 10, 0)
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(
        ADMIN,
        load_app_text(APP),
        role_map={r: r for r in ("dealer_user", "analyst", "east_viewer")},
    )
    dealer_ids = {
        key: service.create_record(ADMIN, "shop", "dealer", {"name": name, "region": region}).id
        for key, (name, region, _code) in DEALERS.items()
    }
    product_ids = {
        key: service.create_record(
            ADMIN, "shop", "product", {"name": name, "category": category}
        ).id
        for key, (name, category) in PRODUCTS.items()
    }
    for dealer, month, amount in TARGETS:
        service.create_record(
            ADMIN,
            "shop",
            "monthly_target",
            {
                "dealer": dealer_ids[dealer],
                "seller": DEALERS[dealer][2],
                "month": month,
                "amount": amount,
            },
        )
    rows = _orders() if orders is None else orders
    for order in rows:
        order.id = insert_order(service, order, dealer_ids, product_ids)
    return Shop(service, rows, dealer_ids, product_ids)


def insert_order(
    service: Any, order: Order, dealer_ids: dict[str, int], product_ids: dict[str, int]
) -> int:
    """Create one order; its id."""
    data = {
        "ref": order.ref,
        "dealer": dealer_ids[order.dealer],
        "seller": order.seller,
        "department": order.department,
        "amount": order.amount,
        "cost": order.cost,
        "qty": order.qty,
        "order_date": order.order_date,
        "placed_at": order.placed_at,
        "stage": order.stage,
        "lines": [{"product": product_ids[p], "amount": a} for p, a in order.lines],
    }
    return service.create_record(ADMIN, "shop", "order", data).id


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def shop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shop]:
    """The shop app with every order, on SQLite and on PostgreSQL: one database per test
    module and engine, shared by its tests, which only read."""
    from engine.service import Service

    tmp_path = tmp_path_factory.mktemp("reports")
    with fresh_database_url(request, tmp_path, request.param) as url:
        clock = Clock(datetime(2026, 4, 15, 10, 0, tzinfo=SHANGHAI))
        service = Service(url, clock=clock, files_dir=tmp_path / "files")
        try:
            service.init_database()
            yield install_shop(service, clock)
        finally:
            service.close()


@pytest.fixture
def fresh_shop(make_service: Any, clock: Any) -> Shop:
    """The shop app with every order in a database of this test's own (it writes)."""
    return install_shop(make_service(), clock)


@pytest.fixture
def empty_shop(make_service: Any, clock: Any) -> Shop:
    """The shop app with dealers, products and targets but no order."""
    return install_shop(make_service(), clock, orders=[])
