"""An app for export tests: orders of dealers with every kind of column, a hidden
field, a serial number, a relation and a sub-table, on the example organisation."""

from __future__ import annotations

import pytest

from engine.definitions import load_app_text
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor
from tests.web.conftest import EXAMPLES, site  # noqa: F401  (the web fixture, re-used)

EXPORT_APP = """
app: exp
version: 1.0.0
name: {zh-CN: 导出测试, en: Export test}
roles:
  dealer_admin: {zh-CN: 经销商管理员, en: Dealer admin}
  finance: {zh-CN: 财务, en: Finance}
---
form: product
name: {zh-CN: 商品, en: Product}
title: "{{ name }}"
fields:
  sku: {type: text, required: true, unique: true, label: {zh-CN: 商品编码, en: SKU}}
  name: {type: text, required: true, label: {zh-CN: 名称, en: Name}}
permissions:
  dealer_admin: {can: [read]}
  finance: {can: [create, read, update, export]}
---
form: order
name: {zh-CN: 订单, en: Order}
title: "{{ order_no }}"
fields:
  order_no: {type: serial, pattern: "SO-{YYYY}-{seq:4}", reset: year, label: {zh-CN: 订单号, en: Order no.}}
  dealer: {type: dealer, required: true, label: {zh-CN: 经销商, en: Dealer}}
  owner: {type: user, label: {zh-CN: 负责人, en: Owner}}
  order_date: {type: date, label: {zh-CN: 下单日期, en: Order date}}
  placed_at: {type: datetime, label: {zh-CN: 下单时间, en: Placed at}}
  qty: {type: number, precision: 0, label: {zh-CN: 数量, en: Qty}}
  amount: {type: money, label: {zh-CN: 金额, en: Amount}}
  rate: {type: percent, label: {zh-CN: 折扣率, en: Discount}}
  urgent: {type: boolean, label: {zh-CN: 加急, en: Urgent}}
  stage:
    type: select
    label: {zh-CN: 进度, en: Stage}
    options:
      - {value: open, label: {zh-CN: 待处理, en: Open}}
      - {value: shipped, label: {zh-CN: 已发货, en: Shipped}}
  tags:
    type: multiselect
    label: {zh-CN: 标签, en: Tags}
    options:
      - {value: vip, label: {zh-CN: 重点客户, en: VIP}}
      - {value: new, label: {zh-CN: 新客户, en: New}}
  product: {type: relation, to: product, display: name, label: {zh-CN: 主推商品, en: Product}}
  remark: {type: text, label: {zh-CN: 备注, en: Remark}}
  internal_note: {type: textarea, label: {zh-CN: 内部备注, en: Internal note}}
  lines:
    type: subtable
    label: {zh-CN: 明细, en: Lines}
    fields:
      item: {type: relation, to: product, display: name, label: {zh-CN: 商品, en: Item}}
      qty: {type: number, precision: 0, label: {zh-CN: 数量, en: Qty}}
      price: {type: money, label: {zh-CN: 单价, en: Price}}
list:
  columns: [order_no, dealer, amount, order_date]
  sort: [order_no]
permissions:
  dealer_admin:
    can: [create, read, export]
    rows: dealer
    fields: {internal_note: hidden}
  finance: {can: [create, read, update, export]}
"""

FINANCE = Actor("zhao.min")
#: (dealer, owner, date, moment, qty, amount, stage, tags, remark, lines as (qty, price))
ORDERS = [
    (
        "DL-HZ-001",
        "wu.gang",
        "2026-03-05",
        "2026-03-05T14:30:00+08:00",
        3,
        "1200.50",
        "open",
        ["vip", "new"],
        '=HYPERLINK("http://evil")',
        [(2, "100.25"), (1, "999.99")],
    ),
    ("DL-HZ-001", "sun.li", "2026-03-06", None, 1, "0.10", "shipped", [], "+1 加急", [(5, "3.00")]),
    ("DL-GD-001", "deng.chao", "2026-03-07", None, 7, "88.00", "open", ["vip"], "@SUM(A1)", []),
    ("DL-GD-001-01", None, None, None, None, None, None, [], "-2", []),
]


@pytest.fixture
def exports(make_service):
    """A service with the organisation, the export app and the four ORDERS (made by
    finance, with a secret internal note each); the products by sku."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    service.install_app(Actor("admin"), load_app_text(EXPORT_APP))
    products = {
        sku: service.create_record(FINANCE, "exp", "product", {"sku": sku, "name": name})
        for sku, name in (("TEA", "龙井茶"), ("CUP", "茶杯"))
    }
    records = []
    for dealer, owner, day, moment, qty, amount, stage, tags, remark, lines in ORDERS:
        records.append(
            service.create_record(
                FINANCE,
                "exp",
                "order",
                {
                    "dealer": dealer,
                    "owner": owner,
                    "order_date": day,
                    "placed_at": moment,
                    "qty": qty,
                    "amount": amount,
                    "rate": "0.125" if qty else None,
                    "urgent": bool(qty and qty > 2),
                    "stage": stage,
                    "tags": tags,
                    "product": products["TEA"].id if qty else None,
                    "remark": remark,
                    "internal_note": "机密：底价",
                    "lines": [
                        {"item": products["CUP" if n else "TEA"].id, "qty": q, "price": p}
                        for n, (q, p) in enumerate(lines)
                    ],
                },
            )
        )
    return {"service": service, "records": records, "products": products}
