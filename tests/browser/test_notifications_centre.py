"""The notifications centre in a real Chromium on a phone: the badge in the navigation
bar, the list, opening a message (its record's page), the badge going down, marking
all read. Screenshots under ``test-artifacts/screenshots/<test>/``."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from engine.service import Actor
from tests.browser.conftest import LiveSite, assert_no_horizontal_scroll, sign_in
from tests.delivery.conftest import smtp_server  # noqa: F401  (a fixture of `web`)

# the notifications tests' site (the browser fixtures stay this folder's: one Chromium)
from tests.notifications.conftest import (  # noqa: F401  (fixtures)
    PASSWORD,
    buy,
    database_url,
    web,
)
from tests.notifications.test_web import _requests

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def served(web) -> Iterator[LiveSite]:  # noqa: F811
    """The notifications test site served over HTTP on a free loopback port."""
    from werkzeug.serving import make_server

    app, service = web
    app.config["TESTING"] = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="notify-site", daemon=True)
    thread.start()
    try:
        yield LiveSite(f"http://127.0.0.1:{server.server_port}", service)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["lowcode_service"].close()


def test_a_buyer_sees_the_badge_and_opens_a_message_on_a_phone(served, phone, shot):
    first, _second = _requests(served.service, "订书机", "白板笔")
    sign_in(phone, served, "buyer", PASSWORD)
    expect(phone.locator("#unread-count")).to_have_text("2")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone, "badge")

    phone.locator("#notifications-link").tap()
    expect(phone).to_have_url(served.at("/notifications/"))
    items = phone.locator("#notifications a.list-group-item")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("采购申请 白板笔 已提交")
    expect(items.nth(1)).to_contain_text("金额 ¥99.00，采购员请查看")
    assert_no_horizontal_scroll(phone)
    shot(phone, "list")

    items.nth(1).tap()
    expect(phone).to_have_url(served.at(f"/r/buy/request/{first}"))
    expect(phone.get_by_text("订书机").first).to_be_visible()
    expect(phone.locator("#unread-count")).to_have_text("1")
    shot(phone, "record")

    phone.locator("#notifications-link").tap()
    expect(phone.locator("#notifications a[data-read=yes]")).to_have_count(1)
    phone.locator("#mark-all-read").tap()
    expect(phone.get_by_role("alert")).to_have_text("1 条已标为已读")
    expect(phone.locator("#unread-count")).to_have_count(0)
    expect(phone.locator("#notifications a[data-read=no]")).to_have_count(0)
    shot(phone, "all-read")
    # in English the bar still fits the phone
    phone.locator("#switch-locale").tap()
    expect(phone.locator("#notifications-link")).to_have_attribute("aria-label", "Notifications")
    # the bar fits the phone's 375 px (the bell stands for the word there)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    shot(phone, "english")
    assert served.service.notifications.unread_count(Actor("buyer")) == 0
