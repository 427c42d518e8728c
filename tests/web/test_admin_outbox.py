"""The admin pages of background work: ``/admin/outbox`` (pending, failed with payload and
last error, delivered; replay one or many, then delivered by a real dispatcher tick to a
real HTTP receiver) and ``/admin/jobs`` (the embedded queue, replaying a dead job, the
scheduled runs and the scheduler's leader). Organisation admins only; SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.definitions import load_app_text
from engine.org.org_file import read_org_file
from engine.service import SYSTEM_ACTOR, Actor
from engine.service.dispatcher import Dispatcher
from engine.service.rule_delivery import register_rule_deliverers
from engine.service.scheduler import Scheduler
from tests.delivery.conftest import http_receiver  # noqa: F401  (the fixture)
from tests.web.conftest import EXAMPLES, PASSWORD, Browser

# the pages on SQLite (the store's queries run on both engines in tests/rules and below)
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a small app: a rule marks big tickets and posts them to a webhook (URL: the receiver)
DESK_APP = """
app: desk
version: 1.0.0
name: {zh-CN: 服务台, en: Desk}
roles:
  channel_manager: 渠道经理
  admin: 管理员
---
form: ticket
name: {zh-CN: 工单, en: Ticket}
title: "{{ subject }}"
fields:
  subject: {type: text, label: {zh-CN: 主题, en: Subject}, required: true}
  amount: {type: money, label: {zh-CN: 金额, en: Amount}}
  priority: {type: text, label: {zh-CN: 优先级, en: Priority}}
permissions:
  channel_manager: {can: all, rows: own}
  admin: {can: all}
---
rule: triage
name: {zh-CN: 大额工单, en: Big tickets}
form: ticket
trigger: created
when: "amount > 1000"
actions:
  - set: {priority: "'high'"}
  - webhook: {url: "URL/erp", secret: "s3cret"}
"""
#: what the failing job does next (a test switches it)
JOB_BEHAVIOUR = {"fail": True}


def ledger_job(payload: dict) -> None:
    """A job for the queue: fails while JOB_BEHAVIOUR says so."""
    if JOB_BEHAVIOUR["fail"]:
        raise RuntimeError(f"ledger {payload['ledger']} is locked")


def install_desk(service, receiver) -> None:
    """Install the desk app posting to ``receiver``."""
    service.install_app(Actor("admin"), load_app_text(DESK_APP.replace("URL", receiver.url)))


def dispatch(service) -> object:
    """One real dispatcher tick (rule messages go out through the delivery channels)."""
    dispatcher = Dispatcher(service, consumer="test")
    register_rule_deliverers(dispatcher)
    return dispatcher.dispatch_once()


def catch_up(clock) -> None:
    """Move the test service's pinned clock past the web's real one: what an admin replayed
    (due at the web's "now") is due for the test's dispatcher and runner."""
    clock.now = datetime.now(SHANGHAI) + timedelta(seconds=5)


def desk_site(make_service, database_url, tmp_path, receiver) -> tuple:
    """(Flask app, service): the example organisation and the desk app only (the shared
    ``site`` fixture installs three example apps: seconds per test)."""
    from web import create_app

    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    for login in ("admin", "wu.gang", "sun.li"):
        service.org.set_password(SYSTEM_ACTOR, login, PASSWORD)
    install_desk(service, receiver)
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "FILES_DIR": str(tmp_path / "files"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    return app, service


@pytest.fixture
def desk(make_service, database_url, tmp_path, http_receiver):  # noqa: F811
    app, service = desk_site(make_service, database_url, tmp_path, http_receiver)
    return app, service, http_receiver


@pytest.fixture
def admin(desk):
    browser = Browser(desk[0].test_client())
    assert browser.sign_in("admin").status_code == 302
    return browser


def _ticket(service, subject: str, amount: str = "5000") -> int:
    return service.create_record(
        Actor("wu.gang"), "desk", "ticket", {"subject": subject, "amount": amount}
    ).id


def _row(page: str, row_id: str) -> str:
    found = re.search(
        rf'<tr id="{row_id}">(.*?)</tr>\s*<tr class="payload-row">(.*?)</tr>', page, re.S
    )
    assert found, f"{row_id} is not on the page"
    return found.group(1) + found.group(2)


def _badge(page: str, view: str) -> str:
    return re.search(rf'id="view-{view}"[^>]*>[^<]*<span class="badge[^"]*">([^<]+)<', page).group(
        1
    )


def test_a_failed_event_shows_payload_and_error_and_replaying_one_delivers_it(desk, admin, clock):
    _app, service, receiver = desk
    receiver.script = [(400, {"error": "unknown customer"})]
    ticket = _ticket(service, "服务器宕机 <b>")
    run = dispatch(service)
    [event_id] = run.dead

    page = admin.get("/admin/outbox?view=failed").get_data(as_text=True)
    assert (_badge(page, "pending"), _badge(page, "failed")) == ("0", "1")
    row = _row(page, f"event-{event_id}")
    assert "<code>rule.webhook</code>" in row
    assert f'href="/r/desk/ticket/{ticket}">desk.ticket #{ticket}</a>' in row
    assert "DeliveryError: webhook: 接收方返回 HTTP 400" in row  # the last error
    assert '<td class="attempts">1</td>' in row
    # the payload, pretty (keys sorted, Chinese as written) and escaped
    assert "&#34;subject&#34;: &#34;服务器宕机 &lt;b&gt;&#34;" in row
    assert "&#34;rule&#34;: &#34;triage&#34;" in row
    # the webhook's signing secret is masked
    assert "&#34;secret&#34;: &#34;******&#34;" in row and "s3cret" not in row

    receiver.script = [(200, {"ok": True})]
    answer = admin.post("/admin/outbox/replay", {"one": str(event_id), "view": "failed"})
    assert answer.status_code == 302 and "view=failed" in answer.headers["Location"]
    page = admin.get("/admin/outbox?view=pending").get_data(as_text=True)
    assert "1 个事件已重放" in page
    assert (_badge(page, "pending"), _badge(page, "failed")) == ("1", "0")
    assert '<td class="attempts">0</td>' in _row(page, f"event-{event_id}")

    catch_up(clock)
    assert dispatch(service).delivered == [event_id]
    assert [r.json()["record_id"] for r in receiver.requests] == [ticket, ticket]
    # delivered: the webhook, and the record's own change events (nobody subscribes)
    page = admin.get("/admin/outbox?view=delivered").get_data(as_text=True)
    assert _badge(page, "delivered") == "3"
    assert (
        re.findall(r'<td class="subject"><a href="/r/desk/ticket/(\d+)"', page) == [str(ticket)] * 3
    )
    page = admin.get("/admin/outbox?view=delivered&topic=rule.webhook").get_data(as_text=True)
    assert _badge(page, "delivered") == "1"
    assert re.findall(r'<tr id="event-(\d+)">', page) == [str(event_id)]


def test_replaying_many_and_filtering_and_paging(desk, admin, clock):
    _app, service, receiver = desk
    receiver.script = [(404, {"error": "gone"})]
    tickets = [_ticket(service, f"工单{n}") for n in range(3)]
    dead = dispatch(service).dead
    assert len(dead) == 3
    # a topic filter that matches nothing, then the right one
    page = admin.get("/admin/outbox?view=failed&topic=rule.notify").get_data(as_text=True)
    assert _badge(page, "failed") == "0" and "暂无事件" in page
    page = admin.get("/admin/outbox?view=failed&topic=rule.webhook").get_data(as_text=True)
    assert _badge(page, "failed") == "3"
    # keyset pages (page size 2 here): newest first, then the older one
    import web.admin_outbox as pages

    size, pages.PAGE_SIZE = pages.PAGE_SIZE, 2
    try:
        first = admin.get("/admin/outbox?view=failed").get_data(as_text=True)
        assert re.findall(r'<tr id="event-(\d+)">', first) == [str(dead[2]), str(dead[1])]
        older = re.search(r'id="older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
        assert f"before={dead[1]}" in older
        second = admin.get(older).get_data(as_text=True)
        assert re.findall(r'<tr id="event-(\d+)">', second) == [str(dead[0])]
        assert 'id="older"' not in second
    finally:
        pages.PAGE_SIZE = size

    # without the CSRF token: refused, nothing replayed
    stray = admin.client.post("/admin/outbox/replay", data={"event": [str(dead[0])]})
    assert stray.status_code == 400
    assert _badge(admin.get("/admin/outbox?view=failed").get_data(as_text=True), "failed") == "3"

    receiver.script = [(200, {"ok": True})]
    answer = admin.post("/admin/outbox/replay", {"event": [str(dead[0]), str(dead[2])]})
    assert answer.status_code == 302
    page = admin.get("/admin/outbox?view=failed").get_data(as_text=True)
    assert "2 个事件已重放" in page and _badge(page, "failed") == "1"
    catch_up(clock)
    assert sorted(dispatch(service).delivered) == [dead[0], dead[2]]
    assert sorted(r.json()["record_id"] for r in receiver.requests[3:]) == [tickets[0], tickets[2]]

    # a delivered event cannot be replayed: the service's message on the page, nothing changed
    admin.get("/admin/outbox?view=delivered")
    admin.post("/admin/outbox/replay", {"event": [str(dead[0])]})
    page = admin.get("/admin/outbox?view=delivered").get_data(as_text=True)
    assert f"事件 {dead[0]} 已投递，无法重放" in page
    assert _badge(page, "delivered") == "8"  # 2 webhooks, 3 created and 3 updated events
    # nothing checked: a hint, nothing replayed
    admin.post("/admin/outbox/replay", {})
    assert "请选择要重放的事件" in admin.get("/admin/outbox").get_data(as_text=True)


def test_a_dead_job_is_listed_with_its_error_and_replayed_beside_the_scheduler(desk, admin, clock):
    _app, service, _receiver = desk
    JOB_BEHAVIOUR["fail"] = True
    job_id = int(service.jobs.submit("tests.web.test_admin_outbox:ledger_job", {"ledger": "L-7"}))
    for _ in range(5):  # MAX_JOB_ATTEMPTS failures, each after its back-off
        service.jobs.run_due(runner="test")
        clock.now += timedelta(hours=2)
    page = admin.get("/admin/jobs?view=dead").get_data(as_text=True)
    assert _badge(page, "dead") == "1" and _badge(page, "pending") == "0"
    row = _row(page, f"job-{job_id}")
    assert "RuntimeError: ledger L-7 is locked" in row and '<td class="attempts">5</td>' in row
    assert "tests.web.test_admin_outbox:ledger_job" in row and "L-7" in row

    JOB_BEHAVIOUR["fail"] = False
    assert admin.post("/admin/jobs/replay", {"one": str(job_id), "view": "dead"}).status_code == 302
    page = admin.get("/admin/jobs?view=pending").get_data(as_text=True)
    assert "1 个任务已重放" in page and _badge(page, "dead") == "0"
    catch_up(clock)
    assert service.jobs.run_due(runner="test").finished == [job_id]
    page = admin.get("/admin/jobs?view=finished").get_data(as_text=True)
    assert _badge(page, "finished") == "1" and f'id="job-{job_id}"' in page
    # a finished job is not replayed again
    admin.post("/admin/jobs/replay", {"job": [str(job_id)]})
    assert f"任务 {job_id} 已完成，无法重放" in admin.get("/admin/jobs").get_data(as_text=True)

    # the scheduled runs and who leads the scheduler
    assert "调度器尚未运行过" in admin.get("/admin/jobs").get_data(as_text=True)
    scheduler = Scheduler(service, holder="scheduler@test-host:42", sweep_files=False)
    scheduler.add_cron("rule.nightly_close", "0 2 * * *", "Asia/Shanghai", lambda: None, "skip")
    try:
        assert scheduler.tick().leading
        page = admin.get("/admin/jobs").get_data(as_text=True)
    finally:
        scheduler.leadership.release(service.clock())
    leader = re.search(r'<p class="mb-2" id="leader">(.*?)</p>', page, re.S).group(1)
    assert "<code>scheduler@test-host:42</code>" in leader
    assert re.search(r"<td><code>rule.nightly_close</code></td>", page)


def test_others_get_404_and_strangers_are_sent_to_sign_in(desk, admin):
    app, _service, _receiver = desk
    paths = ("/admin/outbox", "/admin/outbox?view=failed", "/admin/jobs?view=dead")
    for path in paths:
        assert app.test_client().get(path).status_code == 302, path  # not signed in
    other = Browser(app.test_client())
    other.sign_in("wu.gang")
    for path in paths:
        assert other.get(path).status_code == 404, path
    other.get("/")
    assert other.post("/admin/outbox/replay", {"event": ["1"]}).status_code == 404
    assert other.post("/admin/jobs/replay", {"job": ["1"]}).status_code == 404
    # odd query arguments: the first page of the first view, never an error
    for path in (
        "/admin/outbox?view=everything&before=abc",
        "/admin/outbox?before=99999999999999999999999",
        "/admin/jobs?view=%00&before=-1",
    ):
        answer = admin.get(path)
        assert answer.status_code == 200, path
        assert 'class="nav-link active" id="view-pending"' in answer.get_data(as_text=True)
