"""The record page's actions (transfer, add signer, withdraw, remind, comment, resubmit),
each refusal as a message, the revision history and its compare view, and the inbox's
"started by me" tab and filters."""

from __future__ import annotations

from engine.service import Actor
from tests.web.conftest import Browser

LEAVE = {
    "leave_type": "annual",
    "start_date": "2027-03-01",
    "end_date": "2027-03-02",
    "reason": "回老家探亲",
}
PATH = "/r/leave/leave_request/{}"
#: the edit form as the page fills it in
EDITED = {**LEAVE, "applicant": "wu.gang", "department": "sales_east"}


def _submit(service, who="wu.gang", **values):
    return service.flows.submit(Actor(who), "leave", "leave_request", {**LEAVE, **values})


def _instance(service, record_id, app="leave", form="leave_request"):
    return service.flows.instance_of(Actor("admin"), app, form, record_id)


def _pending(service, record_id, app="leave", form="leave_request"):
    return {
        t.assignee: t.id
        for t in _instance(service, record_id, app, form).tasks
        if t.status == "pending"
    }


def _page(browser, path):
    answer = browser.get(path)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _post(browser, path, data):
    answer = browser.post(path, data, follow_redirects=True)
    assert answer.status_code == 200  # a refusal is a message, never an error page
    return answer.get_data(as_text=True)


def test_the_holder_sees_the_task_actions_and_the_submitter_does_not(site, browser):
    _app, service = site
    record = _submit(service)
    browser.sign_in("sun.li")
    page = _page(browser, PATH.format(record.id))
    for button in ('id="approve"', 'id="transfer"', 'id="add-signer"', 'id="comment"'):
        assert button in page
    assert 'id="withdraw"' not in page and 'id="remind"' not in page

    browser.client.post("/signout", data={"csrf_token": browser.token})
    browser.sign_in("wu.gang")
    page = _page(browser, PATH.format(record.id))
    assert 'id="withdraw"' in page and 'id="remind"' in page and 'id="comment"' in page
    assert 'id="approve"' not in page and 'id="transfer"' not in page
    assert 'id="record-form"' not in page  # no edit form while it runs


def test_transfer_hands_the_task_on_and_an_unknown_login_is_refused(site, browser):
    _app, service = site
    record = _submit(service)
    path = PATH.format(record.id)
    browser.sign_in("sun.li")
    _page(browser, path)
    task = _pending(service, record.id)["sun.li"]

    page = _post(browser, f"/tasks/{task}/transfer", {"to": "no.such.person", "next": path})
    assert "alert-danger" in page and "no.such.person" in page
    assert set(_pending(service, record.id)) == {"sun.li"}

    page = _post(browser, f"/tasks/{task}/transfer", {"to": "chen.xiao", "next": path})
    assert "已转交" in page
    assert set(_pending(service, record.id)) == {"chen.xiao"}
    assert 'id="transfer"' not in page  # no longer sun.li's


def test_add_signer_before_me_and_a_bad_position_is_refused(site, browser):
    _app, service = site
    record = _submit(service)
    path = PATH.format(record.id)
    browser.sign_in("sun.li")
    _page(browser, path)
    task = _pending(service, record.id)["sun.li"]

    page = _post(
        browser,
        f"/tasks/{task}/add-signer",
        {"logins": "chen.xiao", "position": "sideways", "mode": "all", "next": path},
    )
    assert "alert-danger" in page and "sideways" in page
    page = _post(
        browser,
        f"/tasks/{task}/add-signer",
        {"logins": "chen.xiao, song.jia", "position": "before", "mode": "all", "next": path},
    )
    assert "已加签" in page
    assert set(_pending(service, record.id)) == {"chen.xiao", "song.jia"}
    statuses = {t.assignee: t.status for t in _instance(service, record.id).tasks}
    assert statuses["sun.li"] == "waiting"


def test_the_submitter_reminds_and_withdraws_and_a_late_withdraw_is_refused(site, browser):
    _app, service = site
    record = _submit(service)
    path = PATH.format(record.id)
    browser.sign_in("wu.gang")
    _page(browser, path)
    page = _post(browser, f"{path}/remind", {})
    assert "已催办" in page and "催办" in page
    assert any(e.action == "remind" for e in _instance(service, record.id).timeline)

    page = _post(browser, f"{path}/withdraw", {})
    assert "已撤回" in page
    assert _instance(service, record.id).status == "withdrawn"
    assert 'id="withdraw"' not in page and 'id="remind"' not in page

    # the leave flow allows no withdraw after approval: the service's message
    second = _submit(service, start_date="2027-03-08", end_date="2027-03-08")
    service.flows.approve(Actor("sun.li"), _pending(service, second.id)["sun.li"])
    assert _instance(service, second.id).status == "approved"
    page = _post(browser, f"{PATH.format(second.id)}/withdraw", {})
    assert "alert-danger" in page and "已撤回" not in page
    assert _instance(service, second.id).status == "approved"


def test_someone_else_may_not_remind_or_withdraw(site, browser):
    _app, service = site
    record = _submit(service)
    path = PATH.format(record.id)
    browser.sign_in("sun.li")
    _page(browser, path)
    for action in ("remind", "withdraw"):
        page = _post(browser, f"{path}/{action}", {})
        assert "alert-danger" in page and "wu.gang" in page
    assert _instance(service, record.id).status == "running"


def test_a_comment_with_a_mention_goes_on_the_timeline_and_an_empty_one_is_refused(site, browser):
    _app, service = site
    record = _submit(service)
    path = PATH.format(record.id)
    browser.sign_in("sun.li")
    _page(browser, path)
    page = _post(browser, f"{path}/comment", {"text": "   "})
    assert "alert-danger" in page
    page = _post(browser, f"{path}/comment", {"text": "@chen.xiao 请看一下交接安排"})
    assert "已评论" in page and "@chen.xiao 请看一下交接安排" in page
    [entry] = [e for e in _instance(service, record.id).timeline if e.action == "comment"]
    assert entry.actor == "sun.li"
    assert "chen.xiao" in str(entry.detail)


def test_someone_who_cannot_see_the_request_may_not_comment(site, browser):
    _app, service = site
    # a statement to 广州粤华: 吴刚 (channel manager) looks after the Hangzhou dealers only
    statement = service.flows.submit(
        Actor("zhao.min"),
        "orders",
        "statement",
        {"dealer": "DL-GD-001", "period": "2026-11", "lines": [{"item": "返利", "amount": "5"}]},
    )
    path = f"/r/orders/statement/{statement.id}"
    browser.sign_in("wu.gang")
    assert browser.get(path).status_code == 404
    browser.get("/")
    page = _post(browser, f"{path}/comment", {"text": "hello"})
    assert "alert-danger" in page
    timeline = _instance(service, statement.id, "orders", "statement").timeline
    assert not [e for e in timeline if e.action == "comment"]
    # a dealer's user: the record page and its actions are not there for them at all
    record = _submit(service)
    dealer = Browser(browser.client.application.test_client())
    dealer.sign_in("hz.boss")
    dealer.get("/portal/")
    assert dealer.get(PATH.format(record.id)).status_code == 404
    answer = dealer.post(f"{PATH.format(record.id)}/comment", {"text": "hello"})
    assert answer.status_code == 404
    assert not [e for e in _instance(service, record.id).timeline if e.action == "comment"]


def test_sent_back_to_the_submitter_they_edit_and_resubmit(site, browser):
    _app, service = site
    record = _submit(service)
    path = PATH.format(record.id)
    service.flows.send_back(
        Actor("sun.li"), _pending(service, record.id)["sun.li"], to="start", comment="写清楚"
    )
    browser.sign_in("wu.gang")
    page = _page(browser, path)
    assert 'id="record-form"' in page and 'id="resubmit"' in page
    assert 'name="reason"' in page and "回老家探亲" in page
    assert 'name="applicant"' in page and 'value="wu.gang"' in page

    # the server's check: next to its field, and what was typed is kept
    page = _post(
        browser,
        f"{path}/resubmit",
        {**EDITED, "end_date": "2027-02-01", "reason": "交接给陈晓"},
    )
    assert "结束日期不能早于开始日期" in page and "交接给陈晓" in page
    assert _instance(service, record.id).status == "sent_back"

    page = _post(browser, f"{path}/resubmit", {**EDITED, "reason": "回老家探亲，工作已交接给陈晓"})
    assert "已重新提交" in page
    assert _instance(service, record.id).status == "running"
    values = service.get_record(Actor("wu.gang"), "leave", "leave_request", record.id).values
    assert values["reason"] == "回老家探亲，工作已交接给陈晓"
    assert 'id="record-form"' not in page
    # the history lists the submitter's change; compare shows old and new
    page = _page(browser, f"{path}?compare=1,2")
    assert 'id="compare"' in page and "<del>回老家探亲</del>" in page
    assert "<ins>回老家探亲，工作已交接给陈晓</ins>" in page


def test_only_the_submitter_may_resubmit(site, browser):
    _app, service = site
    record = _submit(service)
    service.flows.send_back(
        Actor("sun.li"), _pending(service, record.id)["sun.li"], to="start", comment="改"
    )
    browser.sign_in("sun.li")
    page = _page(browser, PATH.format(record.id))
    assert 'id="record-form"' not in page
    page = _post(browser, f"{PATH.format(record.id)}/resubmit", {**LEAVE, "reason": "x"})
    assert "alert-danger" in page and "wu.gang" in page
    assert _instance(service, record.id).status == "sent_back"


def test_the_compare_view_shows_the_approvers_edit(site, browser):
    _app, service = site
    admin = Actor("admin")
    supplier = service.create_record(admin, "purchase", "supplier", {"name": "杭州云栖包装"})
    product = service.create_record(
        admin, "purchase", "product", {"sku": "DESK", "name": "办公桌", "price": "500.00"}
    )
    data = {
        "supplier": supplier.id,
        "needed_by": "2027-01-15",
        "lines": [{"product": product.id, "qty": 100}],  # ¥50,000: finance decides
    }
    record = service.flows.submit(Actor("ma.lan"), "purchase", "purchase_request", data)
    pending = _pending(service, record.id, "purchase", "purchase_request")
    service.flows.approve(Actor("he.jing"), pending["he.jing"])
    pending = _pending(service, record.id, "purchase", "purchase_request")
    service.flows.approve(
        Actor("qian.li"), pending["qian.li"], changes={"needed_by": "2027-01-20"}, comment="延后"
    )

    browser.sign_in("ma.lan")
    path = f"/r/purchase/purchase_request/{record.id}"
    page = _page(browser, path)
    assert 'id="history"' in page and 'id="revision-2"' in page and "qian.li" in page
    assert "需求日期" in page.split('id="revision-2"')[1].split("</li>")[0]
    assert f"{path}?compare=1,2" in page

    answer = browser.get(f"{path}/compare?from=1&to=2")
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        f"{path}?compare=1,2#compare"
    )
    page = _page(browser, f"{path}?compare=2,1")  # either order
    compare = page.split('id="compare"')[1].split("</table>")[0]
    row = compare.split('data-field="needed_by"')[1].split("</tr>")[0]
    assert "table-warning" in compare.split('data-field="needed_by"')[0].rsplit("<tr", 1)[1]
    assert "<del>2027-01-15</del>" in row and "<ins>2027-01-20</ins>" in row
    assert "杭州云栖包装" in compare  # a relation shown by its title
    # a revision that does not exist: no compare view, no error
    assert 'id="compare"' not in _page(browser, f"{path}?compare=1,9")


def test_the_started_tab_lists_my_requests_with_filters(site, browser):
    _app, service = site
    first = _submit(service, reason="第一次")
    second = _submit(service, start_date="2027-03-08", end_date="2027-03-08")
    service.flows.approve(Actor("sun.li"), _pending(service, second.id)["sun.li"])
    browser.sign_in("wu.gang")
    page = _page(browser, "/tasks/?tab=started")
    assert 'id="tab-started"' in page and "我发起的" in page
    started = page.split('id="started"')[1]
    assert PATH.format(first.id) in started and PATH.format(second.id) in started
    assert "审批中" in started and "已同意" in started and "直属主管审批" in started
    assert (
        'id="tab-started" href="/tasks/?tab=started">我发起的 <span class="badge bg-secondary">2<'
        in page
    )

    running = _page(browser, "/tasks/?tab=started&state=running").split('id="started"')[1]
    assert PATH.format(first.id) in running and PATH.format(second.id) not in running
    title = _instance(service, first.id).title
    searched = _page(browser, f"/tasks/?tab=started&q={title[:4]}").split('id="started"')[1]
    assert PATH.format(first.id) in searched
    nothing = _page(browser, "/tasks/?tab=started&q=zzz-no-such").split('id="started"')[1]
    assert "没有发起的申请" in nothing
    other_app = _page(browser, "/tasks/?tab=started&app=purchase").split('id="started"')[1]
    assert "没有发起的申请" in other_app

    # the service call behind it
    found = service.flows.started(Actor("wu.gang"), status="finished")
    assert [i.record_id for i in found.items] == [second.id] and found.total == 1
    assert found.items[0].status == "approved" and found.items[0].waiting_at == []


def test_the_inbox_filters_by_app_and_title(site, browser):
    _app, service = site
    record = _submit(service)
    browser.sign_in("sun.li")
    page = _page(browser, "/tasks/?tab=pending&app=leave")
    assert PATH.format(record.id) in page
    page = _page(browser, "/tasks/?tab=pending&app=purchase")
    assert PATH.format(record.id) not in page and "没有任务" in page
    page = _page(browser, "/tasks/?tab=pending&q=100%25_")  # LIKE wildcards are text
    assert PATH.format(record.id) not in page
    title = _instance(service, record.id).title
    page = _page(browser, f"/tasks/?q={title}")
    assert PATH.format(record.id) in page
