"""Fixtures of the batch job tests: a small sales app whose orders are summed per dealer
and quarter into statements (``quarterly_statement``), on SQLite and PostgreSQL.

A statement's rebate may not exceed 1,000 (a validation): a dealer whose quarter sums
to more than 50,000 makes its group fail while the others are written.
"""

from __future__ import annotations

import pytest

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

# the web pages' fixtures: the example apps installed, a signed-in test client
from tests.web.conftest import browser, site  # noqa: F401

ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: staff, name: 员工, members: [clerk]}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: clerk, name: 文员, department: hq}
"""

APP = """
app: sales
version: 1.0.0
name: {zh-CN: 销售, en: Sales}
roles:
  staff: 员工
---
form: order
name: Order
fields:
  dealer: {type: text, required: true}
  amount: {type: money}
  qty: {type: number, precision: 0}
  order_date: {type: date, required: true}
  state:
    type: select
    options: [draft, approved]
    default: approved
permissions:
  staff: {can: all}
---
form: statement
name: Statement
title: "{{ dealer }} {{ period }}"
fields:
  dealer: {type: text, required: true}
  period: {type: text, required: true}
  basis: {type: money}
  orders: {type: number, precision: 0}
  rebate: {type: money}
  first_day: {type: date}
validations:
  - expr: "rebate <= 1000"
    field: rebate
    message: {zh-CN: 返利不能超过 1000, en: A rebate cannot exceed 1000}
unique:
  - fields: [dealer, period]
permissions:
  staff: {can: all}
---
job: quarterly_statement
name: {zh-CN: 季度对账单, en: Quarterly statement}
period: quarter
source:
  form: order
  date: order_date
  where: "state == 'approved'"
group_by: [dealer]
values:
  basis: "SUM(amount)"
  orders: "COUNT()"
output:
  form: statement
  match: [dealer, period]
  values:
    dealer: "dealer"
    period: "period"
    basis: "basis"
    orders: "orders"
    rebate: "ROUND(basis * 0.02, 2)"
    first_day: "period_start"
"""

ADMIN = Actor("admin", locale="en")
CLERK = Actor("clerk", locale="en")

BOTH_ENGINES = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)

#: tests whose behaviour does not depend on the database
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

#: (dealer, amount, date, state): 9 approved orders of 3 dealers in 2026-Q3, one draft,
#: and 2 outside the quarter
ORDERS = [
    ("D1", "100.10", "2026-07-01", "approved"),
    ("D1", "200.20", "2026-08-15", "approved"),
    ("D1", "300.30", "2026-09-30", "approved"),
    ("D2", "1000.00", "2026-07-10", "approved"),
    ("D2", "2000.01", "2026-08-01", "approved"),
    ("D2", "0.99", "2026-09-02", "approved"),
    ("D3", "10.00", "2026-07-31", "approved"),
    ("D3", "20.00", "2026-08-31", "approved"),
    ("D3", "30.05", "2026-09-01", "approved"),
    ("D3", "999.00", "2026-09-05", "draft"),
    ("D1", "5000.00", "2026-06-30", "approved"),
    ("D2", "7000.00", "2026-10-01", "approved"),
]


@pytest.fixture
def sales(make_service, clock):
    """A service with the sales app installed and the orders above."""
    clock.set(2026, 12, 6, 10, 0)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(ADMIN, load_app_text(APP), role_map={"staff": "staff"})
    for dealer, amount, day, state in ORDERS:
        service.create_record(
            ADMIN,
            "sales",
            "order",
            {"dealer": dealer, "amount": amount, "order_date": day, "state": state},
        )
    return service
