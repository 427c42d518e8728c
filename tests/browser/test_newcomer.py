"""What a newcomer does after the README's first command: sign in with a demo login,
fill in and submit a purchase request in the browser, then sign in as the manager and
approve it."""

from __future__ import annotations

import pytest

from engine.service import SYSTEM_ACTOR, Actor
from tests.browser.conftest import PASSWORD, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser


def test_submit_a_purchase_request_and_approve_it_in_the_browser(live_site, desktop, phone, shot):
    service = live_site.service
    service.org.set_password(SYSTEM_ACTOR, "he.jing", PASSWORD)
    admin = Actor("admin")
    service.create_record(admin, "purchase", "supplier", {"name": "杭州云栖包装"})
    service.create_record(
        admin, "purchase", "product", {"sku": "BOX", "name": "纸箱", "price": "19.99", "unit": "箱"}
    )

    sign_in(desktop, live_site, "ma.lan")
    desktop.click("a.new-purchase-purchase_request")  # from the workbench's app list
    desktop.select_option("#f-supplier", label="杭州云栖包装")
    desktop.fill("#f-needed_by", "2027-01-15")
    desktop.select_option("#f-lines-0-product", label="BOX 纸箱")
    desktop.fill("#f-lines-0-qty", "5")
    expect(desktop.locator("#f-total")).to_have_text("¥99.95")
    shot(desktop, "filled")
    desktop.click("#submit")
    expect(desktop.locator("#record-status")).to_have_text("审批中")
    shot(desktop, "submitted")

    sign_in(phone, live_site, "he.jing")
    expect(phone.locator("#pending-count")).to_have_text("1")
    phone.get_by_role("link", name="待办", exact=True).click()
    phone.locator("#batch a").first.click()
    phone.fill("textarea[name=comment]", "同意采购")
    phone.click("#approve")
    expect(phone.locator("#record-status")).to_have_text("已同意")
    shot(phone, "approved")
    [record] = service.query_records(admin, "purchase", "purchase_request").items
    assert record.status == "approved"
