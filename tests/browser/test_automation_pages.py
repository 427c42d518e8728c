"""The outbox admin page and the record page's Automation card in a real Chromium: a
failed webhook's payload opened, replayed from the page, and the card opened on the
record. Screenshots under ``test-artifacts/screenshots/<test>/``."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import assert_no_horizontal_scroll, sign_in
from tests.delivery.conftest import http_receiver  # noqa: F401  (the fixture)
from tests.web.test_admin_outbox import _ticket, dispatch, install_desk

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser


def test_the_outbox_page_and_the_automation_card(live_site, desktop, shot, http_receiver):  # noqa: F811
    service = live_site.service
    install_desk(service, http_receiver)
    http_receiver.script = [(400, {"error": "unknown customer"})]
    failed = _ticket(service, "服务器宕机：机房 3 号柜")
    [event_id] = dispatch(service).dead
    http_receiver.script = [(200, {"ok": True})]
    delivered = _ticket(service, "打印机卡纸")
    assert len(dispatch(service).delivered) == 1

    sign_in(desktop, live_site, "admin")
    desktop.goto(live_site.at("/admin/outbox?view=failed"))
    row = desktop.locator(f"#event-{event_id}")
    expect(row).to_contain_text("接收方返回 HTTP 400")
    expect(row.locator(".subject a")).to_have_text(f"desk.ticket #{failed}")
    payload = desktop.locator(f"#event-{event_id} + tr details.payload")
    expect(payload.locator("pre")).to_be_hidden()
    payload.locator("summary").click()
    expect(payload.locator("pre")).to_contain_text('"subject": "服务器宕机：机房 3 号柜"')
    assert_no_horizontal_scroll(desktop)
    shot(desktop, "outbox-failed-with-payload")

    desktop.locator(f"#replay-{event_id}").click()
    expect(desktop.get_by_role("alert")).to_contain_text("1 个事件已重放")
    expect(desktop.locator("#view-failed .badge")).to_have_text("0")
    shot(desktop, "replayed")

    desktop.goto(live_site.at(f"/r/desk/ticket/{delivered}"))
    card = desktop.locator("#automation")
    expect(card.locator("#automation-messages")).to_be_hidden()
    card.locator("summary").first.click()
    expect(card.locator("#automation-changes")).to_contain_text("triage")
    expect(card.locator(".message-status")).to_have_text("已投递")
    assert_no_horizontal_scroll(desktop)
    shot(desktop, "record-automation-card")

    desktop.goto(live_site.at("/admin/jobs"))
    expect(desktop.locator("#leader")).to_have_text(
        re.compile(r"^\s*主调度进程:\s+调度器尚未运行过\s*$")
    )
    assert_no_horizontal_scroll(desktop)
    shot(desktop, "jobs")
