"""Filling a purchase request in a real Chromium: two lines (a picker per line, a row
added with the button), a mistake reported on its row, then submitted into its flow."""

from __future__ import annotations

import pytest

from engine.service import Actor
from tests.browser.conftest import assert_no_horizontal_scroll, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser


def _catalogue(service):
    admin = Actor("admin")
    service.create_record(admin, "purchase", "supplier", {"name": "杭州云栖包装"})
    service.create_record(
        admin, "purchase", "product", {"sku": "BOX", "name": "纸箱", "price": "19.99"}
    )
    service.create_record(
        admin, "purchase", "product", {"sku": "TAPE", "name": "胶带", "price": "3.50"}
    )


def test_a_purchase_request_with_two_lines_in_the_browser(live_site, desktop, shot):
    _catalogue(live_site.service)
    sign_in(desktop, live_site, "ma.lan")
    desktop.goto(live_site.at("/f/purchase/purchase_request/new"))
    desktop.select_option("#f-supplier", label="杭州云栖包装")
    desktop.fill("#f-needed_by", "2027-01-15")
    desktop.select_option("#f-lines-0-product", label="BOX 纸箱")
    desktop.fill("#f-lines-0-qty", "3")
    desktop.select_option("#f-lines-1-product", label="TAPE 胶带")
    desktop.fill("#f-lines-1-qty", "0")
    shot(desktop, "filled")
    desktop.click("#submit")
    expect(desktop.locator(".alert-danger").first).to_be_visible()
    expect(desktop.get_by_text("第 2 行：不能小于 1")).to_be_visible()
    # what was typed is still there
    expect(desktop.locator("#f-lines-0-qty")).to_have_value("3")
    shot(desktop, "row-error")

    desktop.click("button.add-row")
    expect(desktop.locator("tr.subtable-row")).to_have_count(3)
    desktop.fill("#f-lines-1-qty", "10")
    desktop.click("#submit")
    expect(desktop.locator("#record-status")).to_have_text("审批中")
    expect(desktop.get_by_text("94.97")).to_be_visible()  # 3 × 19.99 + 10 × 3.50
    shot(desktop, "submitted")
    [record] = live_site.service.query_records(Actor("admin"), "purchase", "purchase_request").items
    assert (str(record.values["total"]), record.status) == ("94.97", "in_approval")
    full = live_site.service.get_record(Actor("admin"), "purchase", "purchase_request", record.id)
    assert len(full.values["lines"]) == 2  # the blank third row is dropped


def test_the_leave_form_fits_a_phone(live_site, phone, shot):
    sign_in(phone, live_site, "wu.gang")
    phone.goto(live_site.at("/f/leave/leave_request/new"))
    expect(phone.get_by_label("请假类型")).to_be_visible()
    assert_no_horizontal_scroll(phone)
    shot(phone, "leave-form")
