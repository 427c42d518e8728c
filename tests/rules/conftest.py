"""Fixtures of the rule tests: a small stock app with an approval flow and rules.

``product`` holds stock (never below 0: a validation); an ``order`` has lines (product,
qty) and an approval by ``boss``; when it is approved the rule ``deduct_stock`` takes
each line's qty off its product's stock, in the approval's transaction. ``ping`` and
``pong`` update each other (a chain); ``repricing`` updates products by category with a
row limit of 2.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from tests.conftest import fresh_database_url

ORG = """
departments:
  - {code: hq, name: 总部, managers: [boss]}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: staff, name: 员工, members: [clerk, boss]}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: boss, name: 老板, department: hq}
  - {login: clerk, name: 文员, department: hq}
"""

APP = """
app: shop
version: 1.0.0
name: {zh-CN: 商店, en: Shop}
roles:
  staff: 员工
---
form: product
name: Product
title: "{{ name }}"
fields:
  name: {type: text, required: true, unique: true}
  category: {type: text}
  stock: {type: number, precision: 0}
  price: {type: money}
  low: {type: boolean, default: false}
validations:
  - expr: "stock >= 0"
    field: stock
    message: {zh-CN: 库存不足, en: Not enough stock}
permissions:
  staff: {can: all}
---
form: order
name: Order
title: "{{ note }}"
fields:
  note: text
  lines:
    type: subtable
    fields:
      product: {type: relation, to: product, display: name, required: true}
      qty: {type: number, precision: 0}
permissions:
  staff: {can: all}
---
form: repricing
name: Repricing
fields:
  category: text
  price: money
permissions:
  staff: {can: all}
---
form: ping
name: Ping
fields:
  n: {type: number, precision: 0}
  partner: {type: relation, to: pong}
permissions:
  staff: {can: all}
---
form: pong
name: Pong
fields:
  n: {type: number, precision: 0}
permissions:
  staff: {can: all}
---
flow: order_approval
form: order
nodes:
  - approval: boss
    approvers: {user: boss}
---
rule: deduct_stock
name: {zh-CN: 扣减库存, en: Deduct stock}
form: order
trigger: {flow: approved}
actions:
  - update:
      form: product
      for_each: lines
      where: "id == row.product"
      set: {stock: "stock - row.qty"}
---
rule: mark_low
form: product
trigger: {updated: {fields: [stock]}}
when: "stock < old.stock and stock < 5"
actions:
  - set: {low: "true"}
---
rule: reprice
form: repricing
trigger: created
actions:
  - update:
      form: product
      where: "category == record.category"
      set: {price: "record.price"}
      limit: 2
---
rule: bounce
form: ping
trigger: updated
actions:
  - update:
      form: pong
      where: "id == record.partner"
      set: {n: "n + 1"}
---
rule: bounce_back
form: pong
trigger: updated
actions:
  - update:
      form: ping
      where: "partner == record.id"
      set: {n: "n + 1"}
---
form: receipt
name: Receipt
fields:
  note: text
  order: {type: relation, to: order}
  items:
    type: subtable
    fields:
      product: {type: relation, to: product}
      qty: {type: number, precision: 0}
permissions:
  staff: {can: all}
---
form: tally
name: Tally
fields:
  name: {type: text, unique: true}
  count: {type: number, precision: 0}
permissions:
  staff: {can: all}
---
rule: receive
form: order
trigger: created
when: "note == 'receive'"
actions:
  - create:
      form: receipt
      values: {note: "'for ' + note", order: "id"}
      rows: {items: {from: lines, values: {product: "product", qty: "qty * 2"}}}
  - upsert: {form: tally, match: [name], values: {name: "'orders'", count: "COUNT(lines.qty)"}}
  - notify: {to: {user: boss}, message: "new order {{ note }}"}
---
rule: purge
form: repricing
trigger: deleted
actions:
  - delete: {form: tally, where: "name == 'orders'"}
---
rule: submit_on_go
form: order
trigger: {updated: {fields: [note]}}
when: "note == 'go' and status == 'draft'"
actions:
  - start_flow: {}
"""

ADMIN = Actor("admin", locale="en")
CLERK = Actor("clerk", locale="en")
BOSS = Actor("boss", locale="en")

BOTH_ENGINES = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """SQLite unless a module asks for both engines (``BOTH_ENGINES``)."""
    with fresh_database_url(request, tmp_path, getattr(request, "param", "sqlite")) as url:
        yield url


@pytest.fixture
def shop(make_service):
    """A service with the organisation and the shop app installed (its rules registered)."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.calendar.seed(SYSTEM_ACTOR, [2026])
    service.install_app(ADMIN, load_app_text(APP), role_map={"staff": "staff"})
    return service
