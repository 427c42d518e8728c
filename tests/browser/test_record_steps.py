"""The record page's *Next steps* on a phone in a real Chromium: sales operations
approves a dealer order with the manual button (accepting its confirmation), starts
picking and ships it with a tracking number; the dealer then confirms receipt on the
portal.
Screenshots under ``test-artifacts/screenshots/<test>/``."""

from __future__ import annotations

import pytest

from engine.service import Actor
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser


def test_an_order_moves_through_its_steps_on_a_phone(live_site, phone, shot):
    service = live_site.service
    admin = Actor("admin", frozenset({"admin"}))
    tea = service.create_record(
        admin, "orders", "product", {"sku": "TEA", "name": "龙井", "price": "100.00"}
    )
    order = service.create_record(
        admin,
        "orders",
        "order",
        {
            "dealer": "DL-HZ-001",
            "order_date": "2026-03-02",
            "lines": [{"product": tea.id, "qty": 3}],
        },
    ).id
    page_url = live_site.at(f"/r/orders/order/{order}")

    sign_in(phone, live_site, "ma.lan")
    phone.goto(page_url)
    steps = phone.locator("#record-steps")
    expect(steps.locator("#step-pick")).to_be_disabled()
    expect(steps).to_contain_text("订单尚未审核通过")
    assert_no_horizontal_scroll(phone)
    shot(phone, "before-approval")

    asked: list[str] = []

    def accept(dialog):
        asked.append(dialog.message)
        dialog.accept()

    phone.on("dialog", accept)
    steps.locator("#rule-approve_review").click()
    expect(phone.get_by_role("alert")).to_contain_text("已执行")
    assert asked == ["确认审核通过该订单？"]
    expect(phone.locator("#rule-approve_review")).to_have_count(0)
    phone.locator("#step-pick").click()
    expect(phone.get_by_role("alert")).to_contain_text("开始拣货")
    ship = phone.locator("form[data-transition=ship]")
    ship.locator("input[name=tracking_no]").fill("SF1002")
    shot(phone, "ship-with-tracking-number")
    ship.locator("#step-ship").click()
    expect(phone.get_by_role("alert")).to_contain_text("发货")
    assert asked[-1] == "确认发货？"
    record = service.get_record(admin, "orders", "order", order)
    assert (record.values["stage"], record.values["tracking_no"]) == ("shipped", "SF1002")

    # the dealer's person confirms receipt on the portal's order page (the record page is
    # not there for them: docs/portal.md)
    sign_in(phone, live_site, "hz.boss")
    assert phone.goto(page_url).status == 404
    phone.goto(live_site.at(f"/portal/orders/order/{order}"))
    expect(phone.locator("#record-steps button")).to_have_count(1)
    phone.locator("#step-receive").click()
    expect(phone.get_by_role("alert")).to_contain_text("确认收货")
    assert_no_horizontal_scroll(phone)
    shot(phone, "received")
    assert service.get_record(admin, "orders", "order", order).values["stage"] == "delivered"
