"""The notifications centre in the web front (Flask test client): the unread badge of
the navigation bar, the list (newest first, unread bold), opening one (read, then its
record), marking all read (CSRF), and nobody reading or marking another's message."""

from __future__ import annotations

import re

from engine.service import Actor
from tests.notifications.conftest import PASSWORD, STAFF
from tests.notifications.test_delivery import _dispatcher
from tests.web.conftest import Browser


def _badge(page: str) -> str | None:
    found = re.search(r'id="unread-count">(\d+)<', page)
    return found.group(1) if found else None


def _requests(service, *items: str) -> list[int]:
    ids = [
        service.create_record(STAFF, "buy", "request", {"item": item, "total": "99"}).id
        for item in items
    ]
    assert len(_dispatcher(service).dispatch_once().delivered) == len(items)
    return ids


def test_the_badge_the_list_opening_one_and_marking_all_read(web):
    app, service = web
    first, second = _requests(service, "订书机", "白板笔")
    browser = Browser(app.test_client())
    assert browser.sign_in("buyer", PASSWORD).status_code == 302

    assert _badge(browser.get("/").get_data(as_text=True)) == "2"
    page = browser.get("/notifications/").get_data(as_text=True)
    titles = re.findall(r"采购申请 (\S+) 已提交", page)
    assert titles == ["白板笔", "订书机"]  # newest first
    assert page.count("list-group-item-action fw-bold") == 2
    assert "金额 ¥99.00，采购员请查看" in page

    [newest, oldest] = service.notifications.list(Actor("buyer")).items
    answer = browser.get(f"/notifications/{oldest.id}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == f"/r/buy/request/{first}"
    page = browser.get("/notifications/").get_data(as_text=True)
    assert _badge(page) == "1" and page.count("list-group-item-action fw-bold") == 1
    assert f'id="notification-{oldest.id}" data-read="yes"' in page
    assert f'id="notification-{newest.id}" data-read="no"' in page
    unread = browser.get("/notifications/?unread=1").get_data(as_text=True)
    assert re.findall(r"采购申请 (\S+) 已提交", unread) == ["白板笔"]

    # marking all read needs the page's CSRF token
    refused = browser.client.post("/notifications/read", data={"all": "1"})
    assert refused.status_code == 400
    answer = browser.post("/notifications/read", {"all": "1"}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "1 条已标为已读" in page and _badge(page) is None
    assert service.notifications.unread_count(Actor("buyer")) == 0
    assert second > first


def test_nobody_reads_or_marks_another_persons_message(web):
    app, service = web
    _requests(service, "文件柜")
    [wangs] = service.notifications.list(Actor("wang")).items
    browser = Browser(app.test_client())
    browser.sign_in("buyer", PASSWORD)
    browser.get("/notifications/")
    assert browser.get(f"/notifications/{wangs.id}").status_code == 404
    answer = browser.post("/notifications/read", {"id": str(wangs.id)}, follow_redirects=True)
    assert "0 条已标为已读" in answer.get_data(as_text=True)
    assert service.notifications.unread_count(Actor("wang")) == 1
    # the service says the same to a caller outside the web
    assert service.notifications.mark_read(Actor("buyer"), [wangs.id]) == 0
    assert service.notifications.mark_all_read(Actor("buyer")) == 1  # buyer's own only
    assert service.notifications.unread_count(Actor("wang")) == 1


def test_pages_of_messages_and_refused_arguments(web):
    _app, service = web
    _requests(service, "甲", "乙", "丙")
    buyer = Actor("buyer", locale="en")
    page = service.notifications.list(buyer, page=2, page_size=2)
    assert (page.total, page.pages, [n.title for n in page.items]) == (
        3,
        2,
        ["采购申请 甲 已提交"],
    )
    import pytest

    from engine.service import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="page_size"):
        service.notifications.list(buyer, page_size=0)
    with pytest.raises(InvalidArgumentError, match="ids: expected a list of notification ids"):
        service.notifications.mark_read(buyer, "12")
    with pytest.raises(InvalidArgumentError, match="unread_only"):
        service.notifications.list(buyer, unread_only="yes")
