"""A small sales app with a dashboard of every widget kind, and orders whose figures the
report export and CLI tests compute again in plain Python (tests/service/test_report_xlsx.py,
tests/cli/test_report_commands.py).

The orders are dated relative to the first day of the month of ``today``, so the KPI
(this month against last month) has figures whether ``today`` is a pinned test clock or
the real date the CLI reads. One order has no amount, one no channel; one amount has
seven digits (thousands separators). ``boss.a`` is an external user of dealer DA: the
``dealer`` row rule keeps the orders whose ``seller`` is DA, and the ``target`` form is
closed to that role (its widget shows a message instead of figures).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: dealer_user, name: 经销商, members: [boss.a]}
regions:
  - {code: east, name: 华东}
dealers:
  - {code: DA, name: 甲经销商, region: east}
  - {code: DB, name: 乙经销商, region: east}
  - {code: DC, name: 丙经销商, region: east}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: boss.a, name: 甲老板, kind: external, dealer: DA}
"""

APP = """
app: sales
version: 1.0.0
name: {zh-CN: 销售, en: Sales}
roles:
  dealer_user: 经销商
---
form: order
name: {zh-CN: 订单, en: Order}
title: "{{ ref }}"
fields:
  ref: {type: text, required: true, label: {zh-CN: 单号, en: Ref}}
  seller: {type: dealer, label: {zh-CN: 经销商, en: Dealer}}
  channel: {type: select, options: [online, store], label: {zh-CN: 渠道, en: Channel}}
  amount: {type: money, label: {zh-CN: 金额, en: Amount}}
  cost: {type: money, label: {zh-CN: 成本, en: Cost}}
  qty: {type: number, precision: 0, label: {zh-CN: 数量, en: Quantity}}
  order_date: {type: date, required: true, label: {zh-CN: 下单日期, en: Order date}}
permissions:
  dealer_user: {can: [read], rows: dealer}
---
form: target
name: {zh-CN: 目标, en: Target}
fields:
  month: {type: date, required: true}
  amount: {type: money}
permissions: {}
---
dashboard: cockpit
name: {zh-CN: 销售驾驶舱, en: Sales cockpit}
roles: [dealer_user]
filters:
  period: {type: date_range, label: {zh-CN: 期间, en: Period}, field: order_date}
  channel: {type: select, label: {zh-CN: 渠道, en: Channel}, field: channel}
widgets:
  this_month:
    kind: kpi
    title: {zh-CN: 本月销售额, en: Sales this month}
    source: order
    date: order_date
    period: this_month
    compare: previous_period
    measures:
      sales: {expr: "SUM(amount)", label: {zh-CN: 销售额, en: Sales}, format: money}
  by_channel:
    kind: bar
    title: {zh-CN: "各渠道销售额/毛利率 [按渠道]", en: "Sales/margin [by channel]"}
    source: order
    dimensions: [channel]
    measures:
      sales: {expr: "SUM(amount)", label: {zh-CN: 销售额, en: Sales}, format: money}
      n: {expr: "COUNT()", label: {zh-CN: 订单数, en: Orders}, format: integer}
      margin:
        expr: "(SUM(amount) - SUM(cost)) / SUM(amount)"
        label: {zh-CN: 毛利率, en: Margin}
        format: percent
      qty: {expr: "SUM(qty)", label: {zh-CN: 数量, en: Quantity}, format: number}
  top_sellers:
    kind: ranking
    title: {zh-CN: 经销商销售龙虎榜（前两名，含其他，名字很长很长很长很长很长很长很长很长）, en: Top two dealers}
    source: order
    dimensions: [seller]
    measures:
      sales: {expr: "SUM(amount)", label: {zh-CN: 销售额, en: Sales}, format: money}
    limit: 2
  seller_month:
    kind: pivot
    title: {zh-CN: 经销商 × 月份, en: Dealer by month}
    source: order
    dimensions: [seller]
    columns: [{field: order_date, bucket: month, label: {zh-CN: 月份, en: Month}}]
    measures:
      sales: {expr: "SUM(amount)", label: {zh-CN: 销售额, en: Sales}, format: money}
  latest:
    kind: table
    title: {zh-CN: 最大的订单, en: Largest orders}
    source: order
    fields: [ref, seller, amount, order_date]
    sort: [-amount]
    page_size: 3
  targets:
    kind: bar
    title: {zh-CN: 目标, en: Targets}
    source: target
    dimensions: [{field: month, bucket: month}]
    measures: {amount: "SUM(amount)"}
"""

ADMIN = Actor("admin", locale="zh-CN")
ADMIN_EN = Actor("admin", locale="en")
BOSS_A = Actor("boss.a", locale="zh-CN")
#: the ranking's title: longer than a sheet name may be
LONG_TITLE = "经销商销售龙虎榜（前两名，含其他，名字很长很长很长很长很长很长很长很长）"
DEALER_NAMES = {"DA": "甲经销商", "DB": "乙经销商", "DC": "丙经销商"}


@dataclass(frozen=True)
class Order:
    """One order as inserted."""

    ref: str
    seller: str
    channel: str | None
    amount: str | None
    cost: str | None
    qty: int
    day: date

    @property
    def money(self) -> Decimal:
        return Decimal(self.amount) if self.amount is not None else Decimal(0)


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month ``back`` months before ``day``'s."""
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1)


def orders_for(today: date) -> list[Order]:
    """The orders, dated in this month, last month and the month before."""
    m0, m1, m2 = month_start(today), month_start(today, 1), month_start(today, 2)
    d = timedelta
    row = Order
    return [
        row("S1", "DA", "online", "100.10", "60.00", 1, m2),
        row("S2", "DB", "store", "250.00", "200.00", 2, m2 + d(9)),
        row("S3", "DA", "online", "300.33", "100.00", 3, m1),
        row("S4", "DC", "store", "75.25", None, 1, m1 + d(14)),
        row("S5", "DA", "store", None, "10.00", 1, m1 + d(20)),
        row("S6", "DB", "online", "1234567.89", "1000000.00", 5, m0),
        row("S7", "DC", None, "42.42", "40.00", 2, m0),
    ]  # fmt: skip


def install_sales(service: Any, today: date) -> list[Order]:
    """The org, the app and the orders; the orders inserted."""
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(ADMIN, load_app_text(APP), role_map={"dealer_user": "dealer_user"})
    orders = orders_for(today)
    for o in orders:
        data = {
            "ref": o.ref,
            "seller": o.seller,
            "channel": o.channel,
            "amount": o.amount,
            "cost": o.cost,
            "qty": o.qty,
            "order_date": o.day.isoformat(),
        }
        service.create_record(ADMIN, "sales", "order", data)
    service.create_record(
        ADMIN, "sales", "target", {"month": month_start(today).isoformat(), "amount": "9.99"}
    )
    return orders


# -- the figures again, in plain Python -------------------------------------------------


def sums_by(orders: list[Order], key: Any) -> dict[Any, Decimal]:
    """SUM(amount) per ``key(order)`` (blank amounts add nothing)."""
    out: dict[Any, Decimal] = defaultdict(lambda: Decimal(0))
    for o in orders:
        out[key(o)] += o.money
    return dict(out)


def total(orders: list[Order]) -> Decimal:
    return sum((o.money for o in orders), Decimal(0))


def in_month(orders: list[Order], first: date) -> list[Order]:
    return [o for o in orders if (o.day.year, o.day.month) == (first.year, first.month)]
