"""The record page's step buttons: the dealer-orders progress machine
(examples/dealer_orders/machines/order_stage.yaml) and its manual approve rule, pressed
through the web by the roles they are for."""

from __future__ import annotations

import pytest

from engine.service import Actor, ServiceError

ADMIN = Actor("admin", frozenset({"admin"}))
PAGE = "/r/orders/order/{id}"


@pytest.fixture
def order(site):
    _app, service = site
    tea = service.create_record(
        ADMIN, "orders", "product", {"sku": "TEA", "name": "龙井", "price": "100.00"}
    )
    return service.create_record(
        ADMIN,
        "orders",
        "order",
        {
            "dealer": "DL-HZ-001",
            "order_date": "2026-03-02",
            "lines": [{"product": tea.id, "qty": 3}],
        },
    ).id


def _stage(service, record_id: int) -> str:
    return service.get_record(ADMIN, "orders", "order", record_id).values["stage"]


def test_sales_ops_approves_picks_and_ships_with_a_tracking_number(site, browser, order):
    _app, service = site
    browser.sign_in("ma.lan")
    page = browser.get(PAGE.format(id=order)).get_data(as_text=True)
    assert 'id="rule-approve_review"' in page and "确认审核通过该订单？" in page
    # the guard does not hold yet: the button is there, disabled, with the reason
    assert 'id="step-pick" disabled' in page and "订单尚未审核通过" in page
    browser.post(PAGE.format(id=order) + "/rule/approve_review")
    assert service.get_record(ADMIN, "orders", "order", order).values["review"] == "approved"
    page = browser.get(PAGE.format(id=order)).get_data(as_text=True)
    assert 'id="rule-approve_review"' not in page  # its condition no longer holds
    browser.post(PAGE.format(id=order) + "/step/order_stage/pick")
    assert _stage(service, order) == "picking"
    # ship needs the tracking number: refused without it, the message on the page
    answer = browser.post(PAGE.format(id=order) + "/step/order_stage/ship", follow_redirects=True)
    assert "需要填写此项" in answer.get_data(as_text=True)
    assert _stage(service, order) == "picking"
    browser.get(PAGE.format(id=order))
    browser.post(PAGE.format(id=order) + "/step/order_stage/ship", {"tracking_no": "SF1002"})
    assert _stage(service, order) == "shipped"
    assert service.get_record(ADMIN, "orders", "order", order).values["tracking_no"] == "SF1002"


def test_the_dealer_confirms_receipt_and_cannot_ship_or_approve(site, browser, order):
    """The dealer's person presses 确认收货 on the portal's order page (the record page
    is not there for them: docs/portal.md); closing and approving stay refused."""
    _app, service = site
    ops = Actor("ma.lan")
    service.rules.press(ops, "orders", "approve_review", order)
    for step, values in (("pick", None), ("ship", {"tracking_no": "SF1"})):
        service.machines.transition(ops, "orders", "order", order, "order_stage", step, values)
    portal = f"/portal/orders/order/{order}"
    browser.sign_in("hz.boss")
    page = browser.get(portal).get_data(as_text=True)
    assert 'id="step-receive"' in page
    assert 'id="step-close"' not in page and "approve_review" not in page
    # the record page and its rule button are not there for them: 404, nothing changed
    assert browser.get(PAGE.format(id=order)).status_code == 404
    answer = browser.post(PAGE.format(id=order) + "/rule/approve_review")
    assert answer.status_code == 404
    with pytest.raises(ServiceError, match="只能由以下角色执行"):
        service.rules.press(Actor("hz.boss"), "orders", "approve_review", order)
    # a step that is not theirs, pressed anyway: a message on the page, nothing changed
    browser.get(portal)
    answer = browser.post(portal + "/step/order_stage/close", follow_redirects=True).get_data(
        as_text=True
    )
    assert "只能由以下角色执行" in answer or "只能从" in answer
    assert _stage(service, order) == "shipped"
    browser.get(portal)
    answer = browser.post(portal + "/step/order_stage/receive")
    assert answer.status_code == 302 and answer.location == portal
    assert _stage(service, order) == "delivered"
