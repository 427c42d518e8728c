"""The dealer portal in a real Chromium on a 375×812 phone: hz.boss signs in and lands on
the portal, places an order with two lines, finds it in the list with the total the
engine computed, sees exactly their dealer's orders, gets a 404 for another dealer's
order and for an internal page, and confirms a statement."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from engine.service import Actor
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

pytestmark = pytest.mark.browser

PHONE_812 = {
    "viewport": {"width": 375, "height": 812},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
ADMIN = Actor("admin")


@pytest.fixture
def tall_phone(chromium):
    """A page on a 375×812 touch phone (script errors fail the test)."""
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **PHONE_812)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"


def test_a_dealer_orders_and_confirms_a_statement_on_a_phone(live_site, tall_phone, shot):
    service, page = live_site.service, tall_phone
    tea = service.create_record(
        ADMIN, "orders", "product", {"sku": "TEA-250", "name": "龙井 250g", "price": "128.00"}
    )
    big = service.create_record(
        ADMIN, "orders", "product", {"sku": "TEA-500", "name": "龙井 500g", "price": "238.00"}
    )
    theirs = service.create_record(
        Actor("gz.boss"), "orders", "order", {"lines": [{"product": tea.id, "qty": 7}]}
    )
    mine_before = service.create_record(
        Actor("hz.boss"), "orders", "order", {"lines": [{"product": big.id, "qty": 1}]}
    )
    statement = service.flows.submit(
        Actor("zhao.min"),
        "orders",
        "statement",
        {
            "dealer": "DL-HZ-001",
            "period": "2026-11",
            "lines": [
                {"item": "季度返利", "amount": "1200.50"},
                {"item": "运费补贴", "amount": "99.50"},
            ],
        },
    )

    sign_in(page, live_site, "hz.boss")
    assert page.url == live_site.at("/portal/")
    assert page.inner_text("#dealer-name") == "杭州恒泰商贸有限公司"
    assert page.inner_text("#to-confirm") == "1" and page.inner_text("#open-orders") == "1"
    assert_no_horizontal_scroll(page)
    shot(page, "home")

    # place an order with two lines: the second added by "Add a line" on the page
    page.click("#place-order")
    page.select_option("#product-1", str(tea.id))
    page.fill("#qty-1", "3")
    page.select_option("#product-2", str(big.id))
    page.fill("#qty-2", "2")
    page.click("#add-line")  # a third line appears without a round trip, left blank
    assert page.locator(".order-line").count() == 3
    page.fill("#remark", "周五前送到")
    assert_no_horizontal_scroll(page)
    shot(page, "order-form")
    # a quantity of 0 on line 2: the engine's message under line 2, nothing saved
    page.fill("#qty-2", "0")
    page.click("#submit-order")
    page.wait_for_load_state()
    assert page.locator('[data-error="line-2"]').inner_text().startswith("第 2 行")
    assert page.locator('[data-error^="line-"]').count() == 1
    assert page.locator(".is-invalid").evaluate_all("els => els.map(e => e.id)") == ["qty-2"]
    assert page.input_value("#qty-1") == "3" and page.input_value("#remark") == "周五前送到"
    assert service.records.query(Actor("hz.boss"), "orders", "order").total == 1
    assert_no_horizontal_scroll(page)
    shot(page, "order-line-error")
    page.fill("#qty-2", "2")
    page.click("#submit-order")
    page.wait_for_load_state()
    assert re.search(r"/portal/orders/order/\d+$", page.url), page.url
    placed = int(page.url.rsplit("/", 1)[1])
    assert service.get_record(ADMIN, "orders", "order", placed).values["total"] == Decimal("860.00")
    fields = page.inner_text("#record-fields")
    assert "860.00" in fields
    assert page.locator("#table-lines tbody tr").count() == 2
    assert_no_horizontal_scroll(page)
    shot(page, "order-page")

    # the list: exactly the dealer's orders as the service gives them, with the total
    page.click("#tab-orders")
    page.wait_for_load_state()
    listed = [
        int(v)
        for v in page.locator("[data-record]").evaluate_all(
            "els => els.map(e => e.getAttribute('data-record'))"
        )
    ]
    wanted = service.records.query(Actor("hz.boss"), "orders", "order").items
    assert listed == [r.id for r in wanted] and set(listed) == {placed, mine_before.id}
    row = page.locator(f'[data-record="{placed}"]')
    assert row.locator('[data-field="total"]').inner_text().endswith("860.00")
    assert theirs.id not in listed
    assert_no_horizontal_scroll(page)
    shot(page, "orders")

    # another dealer's order and an internal page by direct URL: 404
    answer = page.goto(live_site.at(f"/portal/orders/order/{theirs.id}"))
    assert answer.status == 404 and "广州" not in page.content()
    shot(page, "other-dealers-order-404")
    for path in ("/", f"/r/orders/order/{placed}", "/l/orders/order", "/admin/users"):
        answer = page.goto(live_site.at(path))
        assert answer.status == 404, path
        assert page.locator("#portal-not-found").count() == 1
    shot(page, "internal-page-404")

    # confirm the statement from the tab bar
    page.goto(live_site.at("/portal/"))
    page.click("#tab-tasks")
    page.wait_for_load_state()
    page.click("#pending-tasks [data-task]")
    page.wait_for_load_state()
    assert "1,300.00" in page.inner_text("#task-fields")  # the engine's total
    assert_no_horizontal_scroll(page)
    shot(page, "statement")
    page.click("#confirm-task")
    page.wait_for_load_state()
    assert page.inner_text("#pending-total") == "0"
    assert page.inner_text("#done-tasks").endswith("已确认")
    record = service.get_record(ADMIN, "orders", "statement", statement.id)
    assert (record.values["state"], record.status) == ("confirmed", "approved")
    shot(page, "statement-confirmed")
