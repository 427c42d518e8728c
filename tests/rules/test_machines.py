"""Status machines: buttons per state and role, refusals from the wrong state, guards,
required inputs, actions in the same transaction, and the state field guarded against
plain edits."""

from __future__ import annotations

import pytest

from engine.definitions.loader import load_app_text
from engine.errors import DefinitionErrors, PermissionDeniedError, RecordValidationError
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from engine.service.machines import TransitionError
from tests.rules.conftest import BOTH_ENGINES

ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: sales, name: 销售, members: [sally]}
  - {code: warehouse, name: 仓库, members: [wang]}
users:
  - {login: sally, name: 销售, department: hq}
  - {login: wang, name: 仓管, department: hq}
"""

APP = """
app: orders
version: 1.0.0
name: Orders
roles:
  sales: 销售
  warehouse: 仓库
---
form: product
name: Product
fields:
  name: text
  shipped: {type: number, precision: 0, default: 0}
permissions:
  sales: {can: all}
  warehouse: {can: all}
---
form: order
name: Order
title: "{{ note }}"
fields:
  note: text
  stage:
    type: select
    default: approved
    options:
      - {value: approved, label: {zh-CN: 已审核, en: Approved}}
      - {value: picking, label: {zh-CN: 拣货中, en: Picking}}
      - {value: shipped, label: {zh-CN: 已发货, en: Shipped}}
      - {value: closed, label: {zh-CN: 已关闭, en: Closed}}
  tracking_no: text
  lines:
    type: subtable
    fields:
      product: {type: relation, to: product}
      qty: {type: number, precision: 0}
permissions:
  sales: {can: all}
  warehouse: {can: all}
---
machine: order_stage
name: {zh-CN: 订单进度, en: Order progress}
form: order
field: stage
transitions:
  - key: pick
    label: {zh-CN: 开始拣货, en: Start picking}
    from: approved
    to: picking
    roles: [warehouse]
    when: "SUM(lines.qty) > 0"
    message: {zh-CN: 没有要拣的货, en: Nothing to pick}
  - key: ship
    label: {zh-CN: 发货, en: Ship}
    from: [picking]
    to: shipped
    roles: [warehouse]
    require: [tracking_no]
    confirm: {zh-CN: 确认发货？, en: "Ship now?"}
    actions:
      - update:
          form: product
          for_each: lines
          where: "id == row.product"
          set: {shipped: "shipped + row.qty"}
  - key: close
    label: {zh-CN: 关闭, en: Close}
    from: [approved, shipped]
    to: closed
"""

SALLY = Actor("sally", locale="en")
WANG = Actor("wang", locale="en")


@pytest.fixture
def orders(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(
        Actor("admin", frozenset({"admin"})),
        load_app_text(APP),
        role_map={"sales": "sales", "warehouse": "warehouse"},
    )
    return service


def _order(service, qty: int) -> tuple[int, int]:
    product = service.create_record(SALLY, "orders", "product", {"name": "P"}).id
    order = service.create_record(
        SALLY,
        "orders",
        "order",
        {"note": "o", "lines": [{"product": product, "qty": qty}]} if qty else {"note": "o"},
    ).id
    return product, order


def _get(service, form, record_id, key):
    return service.get_record(SALLY, "orders", form, record_id).values[key]


@BOTH_ENGINES
def test_buttons_follow_state_and_role_and_a_step_runs_its_actions(orders):
    product, order = _order(orders, 7)
    assert _get(orders, "order", order, "stage") == "approved"
    # sales may only close; the warehouse sees pick and close
    assert [b.transition for b in orders.machines.buttons(SALLY, "orders", "order", order)] == [
        "close"
    ]
    assert [b.transition for b in orders.machines.buttons(WANG, "orders", "order", order)] == [
        "pick",
        "close",
    ]
    orders.machines.transition(WANG, "orders", "order", order, "order_stage", "pick")
    [ship] = orders.machines.buttons(WANG, "orders", "order", order)
    assert (ship.transition, ship.label, ship.confirm, ship.require) == (
        "ship",
        "Ship",
        "Ship now?",
        ("tracking_no",),
    )
    # the step needs its input: nothing changes without it
    with pytest.raises(RecordValidationError) as missing:
        orders.machines.transition(WANG, "orders", "order", order, "order_stage", "ship")
    assert missing.value.errors[0].field == "tracking_no"
    assert _get(orders, "order", order, "stage") == "picking"
    result = orders.machines.transition(
        WANG, "orders", "order", order, "order_stage", "ship", {"tracking_no": "SF123"}
    )
    assert (result.previous, result.state) == ("picking", "shipped")
    assert _get(orders, "order", order, "tracking_no") == "SF123"
    assert _get(orders, "product", product, "shipped") == 7
    history = orders.record_history(SALLY, "orders", "order", order)
    assert history[-1].actor == "wang"
    assert history[-1].changes["stage"] == {"old": "picking", "new": "shipped"}


@BOTH_ENGINES
def test_refusals_name_the_state_the_role_and_the_guard(orders):
    _product, order = _order(orders, 3)
    with pytest.raises(TransitionError) as wrong_state:
        orders.machines.transition(WANG, "orders", "order", order, "order_stage", "ship")
    assert wrong_state.value.code == "state"
    assert "is approved" in wrong_state.value.message and "only from picking" in (
        wrong_state.value.message
    )
    with pytest.raises(PermissionDeniedError):
        orders.machines.transition(SALLY, "orders", "order", order, "order_stage", "pick")
    _product, empty = _order(orders, 0)
    [pick, _close] = orders.machines.buttons(WANG, "orders", "order", empty)
    assert not pick.enabled and pick.reason == "Nothing to pick"
    with pytest.raises(TransitionError) as guard:
        orders.machines.transition(WANG, "orders", "order", empty, "order_stage", "pick")
    assert guard.value.code == "guard" and guard.value.message == "Nothing to pick"
    assert _get(orders, "order", empty, "stage") == "approved"


@BOTH_ENGINES
def test_the_state_field_is_not_edited_by_hand(orders):
    _product, order = _order(orders, 2)
    with pytest.raises(RecordValidationError) as refused:
        orders.update_record(SALLY, "orders", "order", order, {"stage": "closed"})
    assert "changes only through its buttons" in str(refused.value)
    # sending the state back unchanged (a form save) is fine
    orders.update_record(SALLY, "orders", "order", order, {"stage": "approved", "note": "x"})
    assert _get(orders, "order", order, "note") == "x"


def test_a_machine_is_checked_at_load():
    text = APP.replace("to: closed", "to: closd").replace(
        "roles: [warehouse]\n    when", "roles: [warehous]\n    when"
    )
    with pytest.raises(DefinitionErrors) as errors:
        load_app_text(text)
    shown = str(errors.value)
    assert "'closd' is not a state" in shown and "closed" in shown
    assert "the app has no role 'warehous'" in shown
    bad_field = APP.replace("field: stage", "field: note")
    with pytest.raises(DefinitionErrors) as errors:
        load_app_text(bad_field)
    assert "the states must be the options of a select field" in str(errors.value)
