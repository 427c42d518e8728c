"""Sign-in, the workbench, the inbox, the record page and approving in it, refusals as
messages, CSRF, security headers, and a dealer's 404 for another dealer's record."""

from __future__ import annotations

import pytest

from engine.service import SYSTEM_ACTOR, Actor
from tests.web.conftest import PASSWORD

LEAVE = {
    "leave_type": "annual",
    "start_date": "2027-03-01",
    "end_date": "2027-03-02",
    "reason": "<script>alert(1)</script> 回老家",
}


def _submit(service, who="wu.gang", data=LEAVE):
    return service.flows.submit(Actor(who), "leave", "leave_request", data)


def test_pages_need_a_signed_in_user(browser):
    answer = browser.get("/")
    assert answer.status_code == 302 and "/signin" in answer.headers["Location"]


def test_a_wrong_password_is_refused_without_saying_which_part(browser):
    answer = browser.sign_in("sun.li", "wrong")
    assert answer.status_code == 200
    assert "登录名或密码不正确" in answer.get_data(as_text=True)


def test_the_workbench_counts_my_tasks_and_the_record_page_approves(site, browser):
    _app, service = site
    record = _submit(service)
    assert browser.sign_in("sun.li").status_code == 302
    page = browser.get("/").get_data(as_text=True)
    assert 'id="pending-count">1<' in page and "直属主管审批" in page

    path = f"/r/leave/leave_request/{record.id}"
    page = browser.get(path).get_data(as_text=True)
    assert 'id="approve"' in page and "wu.gang" in page
    # the text typed into a field is shown as text, never run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    task_id = service.flows.tasks(Actor("sun.li")).items[0].id
    answer = browser.post(f"/tasks/{task_id}/approve", {"comment": "同意", "next": path})
    assert answer.status_code == 302 and answer.headers["Location"] == path
    page = browser.get(path).get_data(as_text=True)
    assert "已同意" in page and 'id="approve"' not in page
    assert (
        service.flows.instance_of(Actor("admin"), "leave", "leave_request", record.id).status
        == "approved"
    )

    # the same action again: a message, not an error page
    answer = browser.post(f"/tasks/{task_id}/approve", {"next": path}, follow_redirects=True)
    assert answer.status_code == 200
    assert "该任务已由 sun.li 于" in answer.get_data(as_text=True)


def test_the_workbench_lists_my_recent_requests(site, browser):
    _app, service = site
    first = _submit(service)
    second = _submit(service, data={**LEAVE, "start_date": "2027-03-08", "end_date": "2027-03-08"})
    _submit(service, who="chen.xiao")  # someone else's: not on wu.gang's workbench
    browser.sign_in("wu.gang")
    page = browser.get("/").get_data(as_text=True)
    recent = page[page.index('id="recent"') :]
    links = [f'/r/leave/leave_request/{r.id}"' for r in (second, first)]
    assert all(link in recent for link in links)
    assert recent.index(links[0]) < recent.index(links[1])  # newest first
    assert recent.count('class="list-group-item d-flex') == 2 and "审批中" in recent


def test_a_post_without_the_csrf_token_is_refused(site, browser):
    _app, service = site
    _submit(service)
    browser.sign_in("sun.li")
    task_id = service.flows.tasks(Actor("sun.li")).items[0].id
    answer = browser.client.post(f"/tasks/{task_id}/approve", data={})
    assert answer.status_code == 400
    assert service.flows.tasks(Actor("sun.li")).total == 1


def test_batch_approve_reports_each_task(site, browser):
    _app, service = site
    first = _submit(service)
    second = _submit(service, data={**LEAVE, "start_date": "2027-03-08", "end_date": "2027-03-08"})
    browser.sign_in("sun.li")
    browser.get("/tasks/")
    ids = [t.id for t in service.flows.tasks(Actor("sun.li")).items]
    service.flows.approve(Actor("sun.li"), ids[0])  # one of them is handled meanwhile
    answer = browser.post("/tasks/batch-approve", {"task": ids}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "已同意 1 项" in page and f"#{ids[0]}:" in page
    for record in (first, second):
        view = service.flows.instance_of(Actor("admin"), "leave", "leave_request", record.id)
        assert view.status == "approved"


def test_a_dealer_gets_404_for_another_dealers_record(site, browser):
    _app, service = site
    product = service.create_record(
        Actor("admin"),
        "orders",
        "product",
        {"sku": "TEA", "name": "龙井", "price": "10.00", "base_price": "6.00"},
    )
    order = service.create_record(
        Actor("gz.boss"), "orders", "order", {"lines": [{"product": product.id, "qty": 1}]}
    )
    mine = service.create_record(
        Actor("hz.boss"), "orders", "order", {"lines": [{"product": product.id, "qty": 2}]}
    )
    portal = f"/portal/orders/order/{order.id}"
    # a dealer's person: another dealer's order on the portal reads like a missing one
    browser.sign_in("hz.boss")
    assert browser.get(portal).status_code == 404
    assert browser.get("/portal/orders/order/999999").status_code == 404
    assert browser.get(f"/portal/orders/order/{mine.id}").status_code == 200
    browser.sign_in("gz.boss")
    assert browser.get(portal).status_code == 200
    # the record page is not there for dealers' people, their own orders included
    assert browser.get(f"/r/orders/order/{order.id}").status_code == 404
    # staff scoped by dealer: 吴刚 looks after the Hangzhou dealers, 邓超 the Guangzhou ones
    service.org.set_password(SYSTEM_ACTOR, "deng.chao", PASSWORD)
    browser.sign_in("wu.gang")
    assert browser.get(f"/r/orders/order/{order.id}").status_code == 404
    assert browser.get(f"/r/orders/order/{mine.id}").status_code == 200
    browser.sign_in("deng.chao")
    assert browser.get(f"/r/orders/order/{order.id}").status_code == 200
    assert browser.get(f"/r/orders/order/{mine.id}").status_code == 404


def test_security_headers_and_cookie_flags(browser):
    answer = browser.get("/signin")
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    answer = browser.sign_in("sun.li")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_language_switch(browser):
    browser.sign_in("sun.li")
    assert "我的待办" in browser.get("/").get_data(as_text=True)
    browser.post("/locale", {"locale": "en", "next": "/"})
    assert "My tasks" in browser.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/", "/tasks/", "/signin"])
def test_pages_refer_to_no_other_host(browser, path):
    browser.sign_in("sun.li")
    page = browser.get(path).get_data(as_text=True)
    assert "http://" not in page and "https://" not in page and "//cdn" not in page


def test_sign_in_is_rate_limited_per_address(site):
    app, _service = site
    app.config["SIGN_IN_LIMIT"] = "3 per minute"
    from tests.web.conftest import Browser

    browser = Browser(app.test_client())
    for _ in range(3):
        assert browser.sign_in("sun.li", "wrong").status_code == 200
    answer = browser.sign_in("sun.li", "wrong")
    assert answer.status_code == 429
