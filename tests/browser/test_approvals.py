"""Approvals in a real Chromium: signing in, approving on a phone, a refused reject,
sending back, batch approve from the inbox, and the language switch. Every step leaves
a screenshot under ``test-artifacts/screenshots/<test>/``."""

from __future__ import annotations

import re

import pytest

from engine.service import Actor
from tests.browser.conftest import PASSWORD, assert_no_horizontal_scroll, sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser


def test_sign_in_refuses_a_wrong_password_then_lands_on_the_workbench(live_site, desktop, shot):
    live_site.submit_leave()
    sign_in(desktop, live_site, "sun.li", "not-the-password")
    expect(desktop.get_by_role("alert")).to_have_text("登录名或密码不正确")
    assert desktop.url.startswith(live_site.at("/signin"))
    shot(desktop, "wrong-password")

    sign_in(desktop, live_site, "sun.li", PASSWORD)
    assert desktop.url == live_site.at("/")
    expect(desktop.locator("#pending-count")).to_have_text("1")
    expect(desktop.get_by_text("直属主管审批")).to_be_visible()
    shot(desktop, "workbench")


def test_the_manager_approves_on_a_phone(live_site, phone, shot):
    record = live_site.submit_leave(reason="家中有事，回杭州两天")
    sign_in(phone, live_site, "sun.li")
    assert phone.url == live_site.at("/")
    expect(phone.locator("#pending-count")).to_have_text("1")
    assert_no_horizontal_scroll(phone)
    shot(phone, "workbench")

    phone.get_by_role("link", name="待办", exact=True).tap()
    expect(phone).to_have_url(live_site.at("/tasks/"))
    assert_no_horizontal_scroll(phone)
    shot(phone, "inbox")

    phone.locator("#batch tbody a").first.tap()
    path = f"/r/leave/leave_request/{record.id}"
    expect(phone).to_have_url(live_site.at(path))
    expect(phone.locator("#record-status")).to_have_text("审批中")
    expect(phone.get_by_text("家中有事，回杭州两天")).to_be_visible()
    assert_no_horizontal_scroll(phone)
    shot(phone, "record-before")

    phone.locator("#my-task textarea[name=comment]").fill("同意，注意交接工作")
    shot(phone, "comment-typed")
    phone.locator("#approve").tap()
    expect(phone).to_have_url(live_site.at(path))
    expect(phone.get_by_role("alert")).to_have_text("已同意")
    expect(phone.locator("#record-status")).to_have_text("已同意")
    expect(phone.locator("#approve")).to_have_count(0)
    timeline = phone.locator("#timeline")
    expect(timeline).to_contain_text("sun.li")
    expect(timeline).to_contain_text("同意，注意交接工作")
    assert_no_horizontal_scroll(phone)
    shot(phone, "record-approved")
    assert live_site.instance(record.id).status == "approved"


def test_reject_without_the_required_comment_is_refused_on_the_page(live_site, desktop, shot):
    record = live_site.submit_leave()
    sign_in(desktop, live_site, "sun.li")
    path = f"/r/leave/leave_request/{record.id}"
    desktop.goto(live_site.at(path))
    shot(desktop, "record")

    desktop.locator("#reject").click()
    expect(desktop).to_have_url(live_site.at(path))
    expect(desktop.locator(".alert-danger")).to_contain_text("要求填写审批意见")
    expect(desktop.locator("#record-status")).to_have_text("审批中")
    expect(desktop.locator("#reject")).to_be_visible()
    shot(desktop, "refused")
    assert live_site.instance(record.id).status == "running"


def test_the_manager_sends_it_back_to_the_submitter(live_site, desktop, shot):
    record = live_site.submit_leave()
    sign_in(desktop, live_site, "sun.li")
    path = f"/r/leave/leave_request/{record.id}"
    desktop.goto(live_site.at(path))
    desktop.locator("#my-task textarea[name=comment]").fill("请补充工作交接人")
    shot(desktop, "comment-typed")

    desktop.locator("#send-back").click()
    expect(desktop).to_have_url(live_site.at(path))
    expect(desktop.get_by_role("alert")).to_have_text("已退回")
    expect(desktop.locator("#record-status")).to_have_text("已退回")
    expect(desktop.locator("#send-back")).to_have_count(0)
    expect(desktop.locator("#timeline")).to_contain_text("请补充工作交接人")
    shot(desktop, "sent-back")
    assert live_site.instance(record.id).status == "sent_back"


def test_batch_approve_three_tasks_from_the_inbox(live_site, desktop, shot):
    records = [
        live_site.submit_leave(start_date=day, end_date=day, reason=f"事假 {day}")
        for day in ("2027-03-01", "2027-03-08", "2027-03-15")
    ]
    sign_in(desktop, live_site, "sun.li")
    expect(desktop.locator("#pending-count")).to_have_text("3")
    desktop.goto(live_site.at("/tasks/"))
    boxes = desktop.locator("#batch input[type=checkbox][name=task]")
    expect(boxes).to_have_count(3)
    for index in range(3):
        boxes.nth(index).check()
    desktop.locator("#batch input[name=comment]").fill("同意")
    shot(desktop, "three-checked")

    desktop.locator("#batch button[type=submit]").click()
    expect(desktop.get_by_role("alert")).to_have_text("已同意 3 项")
    expect(desktop.locator("#batch tbody")).to_contain_text("没有任务")
    expect(desktop.locator(".nav-tabs .nav-link.active .badge")).to_have_text("0")
    shot(desktop, "all-approved")
    for record in records:
        assert live_site.instance(record.id).status == "approved"
    assert live_site.service.flows.tasks(Actor("sun.li")).total == 0


def test_the_language_switches_to_english_and_back(live_site, desktop, shot):
    sign_in(desktop, live_site, "sun.li")
    expect(desktop.get_by_text("我的待办")).to_be_visible()
    expect(desktop.locator("html")).to_have_attribute("lang", "zh-CN")
    shot(desktop, "chinese")

    desktop.locator("#switch-locale").click()
    expect(desktop.get_by_text("My tasks")).to_be_visible()
    expect(desktop.locator("html")).to_have_attribute("lang", "en")
    expect(desktop.locator("#switch-locale")).to_have_text("中文")
    assert desktop.url == live_site.at("/")
    shot(desktop, "english")

    desktop.get_by_role("link", name="Tasks", exact=True).click()
    expect(desktop.get_by_role("link", name=re.compile("^To do"))).to_be_visible()
    shot(desktop, "english-inbox")

    desktop.locator("#switch-locale").click()
    expect(desktop).to_have_url(live_site.at("/tasks/"))
    expect(desktop.get_by_role("link", name=re.compile("^待处理"))).to_be_visible()
    expect(desktop.locator("#switch-locale")).to_have_text("English")
    shot(desktop, "chinese-again")
