"""Fixtures of the import tests: a channel app (products, price list of scenario C17,
orders with lines, dealers' orders), on SQLite and PostgreSQL, and workbook builders.

The price list is scenario C17 of the channel domain: a price refers to a product by
its SKU, the SKU may appear once, the price must be above 0 and has two decimals.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import create_engine, text

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: admin, name: 管理员}
  - {code: staff, name: 员工}
  - {code: viewer, name: 只读}
  - {code: dealer_user, name: 经销商用户}
regions:
  - {code: cn, name: 中国}
dealers:
  - {code: DA, name: 经销商甲, region: cn}
  - {code: DB, name: 经销商乙, region: cn}
users:
  - {login: admin, name: 管理员, department: hq, roles: [admin]}
  - {login: clerk, name: 文员, department: hq, roles: [staff]}
  - {login: viewer, name: 访客, department: hq, roles: [viewer]}
  - {login: da.boss, name: 甲老板, kind: external, dealer: DA, roles: [dealer_user]}
"""

APP = """
app: chan
version: 1.0.0
name: {zh-CN: 渠道, en: Channel}
roles:
  admin: {name: 管理员, admin: true}
  staff: 员工
  viewer: 只读
  dealer_user: 经销商用户
---
form: product
name: {zh-CN: 商品, en: Product}
title: "{{ sku }}"
fields:
  sku: {type: text, label: {zh-CN: SKU, en: SKU}, required: true, unique: true}
  name: {type: text, label: {zh-CN: 名称, en: Name}}
  grade: {type: select, label: {zh-CN: 等级, en: Grade}, options: [A, B, C]}
permissions:
  staff: {can: all}
  viewer: {can: [read]}
---
form: price
name: {zh-CN: 价格表, en: Price list}
fields:
  sku:
    type: relation
    to: product
    display: sku
    label: {zh-CN: SKU, en: SKU}
    required: true
    unique: true
  price: {type: money, label: {zh-CN: 单价, en: Price}, required: true}
  valid_from: {type: date, label: {zh-CN: 生效日期, en: Valid from}, required: true}
validations:
  - expr: "price > 0"
    field: price
    message: {zh-CN: 单价必须大于0, en: The price must be above 0}
permissions:
  staff: {can: all}
  viewer: {can: [read]}
---
form: order
name: {zh-CN: 订单, en: Order}
title: "{{ order_no }}"
fields:
  order_no: {type: text, label: {zh-CN: 单号, en: Number}, required: true, unique: true}
  customer: {type: text, label: {zh-CN: 客户, en: Customer}}
  dealer: {type: dealer, label: {zh-CN: 经销商, en: Dealer}}
  secret: {type: text, label: {zh-CN: 内部备注, en: Internal note}}
  lines:
    type: subtable
    label: {zh-CN: 明细, en: Lines}
    fields:
      item: {type: text, label: {zh-CN: 品名, en: Item}, required: true}
      qty: {type: number, label: {zh-CN: 数量, en: Qty}, precision: 0}
permissions:
  staff: {can: all}
  viewer: {can: [read]}
  dealer_user:
    can: [create, read, update, import]
    rows: {dealer_tree: dealer}
    fields: {secret: hidden}
"""

ADMIN = Actor("admin")
CLERK = Actor("clerk")
CLERK_EN = Actor("clerk", locale="en")
VIEWER = Actor("viewer")
DEALER = Actor("da.boss")

PRODUCTS = ["P-1001", "P-1002", "P-2001", "P-3001"]

#: scenario C17 as typed into the workbook: (SKU, price, valid from)
C17_ROWS: list[tuple[Any, Any, Any]] = [
    ("P-1001", 210.00, "2025-07-01"),
    ("P-1002", "１６２．００", "2025/7/1"),
    ("P-1001", 205.00, "2025-07-01"),
    ("P-9999", 100.00, "2025-07-01"),
    ("P-2001", -259.20, "2025-07-01"),
    ("P-3001", 103.055, "2025-07-01"),
    ("P-2001", 259.20, 45839),
]
C17_HEADERS = ["SKU", "单价", "生效日期"]


@pytest.fixture
def chan(make_service, clock):
    """A service with the channel app installed and the four products of C17."""
    clock.set(2026, 12, 6, 10, 0)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(
        Actor("admin", frozenset({"admin"})),
        load_app_text(APP),
        role_map={
            "admin": "admin",
            "staff": "staff",
            "viewer": "viewer",
            "dealer_user": "dealer_user",
        },
    )
    for sku in PRODUCTS:
        service.create_record(CLERK, "chan", "product", {"sku": sku, "name": f"商品 {sku}"})
    return service


def xlsx(headers: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str = "Sheet1") -> bytes:
    """A workbook made with openpyxl, as Excel would save it."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_xlsx(data: bytes, sheet: int = 0) -> list[list[Any]]:
    """A workbook's rows as python-calamine reads them."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_index(sheet).to_python()


def count_rows(url: str, table: str, where: str = "") -> int:
    """Rows of a table, counted directly in the database."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table} {where}")).scalar_one())
    finally:
        engine.dispose()


def revisions(url: str, form: str) -> int:
    """Revisions written for a form of the channel app."""
    return count_rows(url, "record_revisions", f"WHERE app = 'chan' AND form = '{form}'")
