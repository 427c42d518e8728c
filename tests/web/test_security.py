"""Security of the web front: what people type (and what definitions say) is shown as
text on every page and never run; cookie flags; CSRF on every state-changing route;
another dealer's record, file and task read as not found (a dealer's person reads them
on the portal, docs/portal.md; the internal pages are not there for them); security
headers on every page; no redirect to another site after signing in.

Payloads go into every text-like field type the examples have (text, textarea, email,
phone) and into a richtext field of a small app installed here (``claims``), whose
definition carries payloads of its own (names, labels, a node name) for the pages and
the API's documentation page.
"""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pytest

from engine.definitions import load_app_text
from engine.service import SYSTEM_ACTOR, Actor
from tests.web.conftest import PASSWORD, Browser

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
JINJA = "{{7*7}}"
#: every payload in one text: each must come out escaped
PAYLOAD = f"{SCRIPT} {IMG} {JS_URL} {JINJA}"

#: what an unescaped payload looks like on a page
RAW = ("<script>alert", "<img src=x", '"><img', 'href="javascript:', "href='javascript:")

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def q(text: str) -> str:
    """A YAML string (JSON is YAML) holding ``text`` as it is."""
    return json.dumps(text, ensure_ascii=False)


CLAIMS = f"""
app: claims
version: 1.0.0
name: {{zh-CN: {q("理赔 " + SCRIPT)}, en: {q("Claims " + SCRIPT)}}}
roles:
  dealer_admin: {{zh-CN: 经销商管理员, en: Dealer admin}}
---
form: claim
name: {{zh-CN: {q("理赔单 " + IMG)}, en: {q("Claim " + IMG)}}}
title: "{{{{ subject }}}}"
fields:
  subject:
    type: text
    required: true
    label: {{zh-CN: {q("主题 " + SCRIPT)}, en: {q("Subject " + SCRIPT)}}}
    description: {q("about " + IMG)}
  dealer: {{type: dealer, default_expr: "CURRENT_DEALER()", label: 经销商}}
  body: {{type: richtext, label: 内容}}
  photo: {{type: attachment, accept: [pdf], label: 附件}}
  size:
    type: select
    label: 大小
    options:
      - {{value: s, label: {q("小 " + SCRIPT)}}}
      - {{value: m, label: 中}}
permissions:
  dealer_admin: {{can: [create, read, update], rows: dealer_tree}}
---
flow: claim_review
form: claim
name: 理赔审核
nodes:
  - approval: review
    name: {q("审核 " + SCRIPT)}
    approvers: {{user: gz.boss}}
"""


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only: escaping, cookies, CSRF and headers do not depend on the database
    (the row scope of another dealer's records is tested on PostgreSQL too, in
    test_pages.py and test_api.py)."""
    return f"sqlite:///{tmp_path / 'security.db'}"


def assert_escaped(page: str, *, where: str = "") -> None:
    """No payload shows as markup (escaped text like ``&lt;img src=x`` is fine)."""
    for raw in RAW:
        assert raw not in page, f"{raw!r} unescaped {where}"


def assert_shown(page: str, text: str, *, where: str = "") -> None:
    """``text`` is on the page, escaped."""
    escaped = (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )
    assert escaped in page, f"{text!r} not shown escaped {where}"


def no_49(page: str, *, where: str = "") -> None:
    """``{{7*7}}`` is shown as typed, never evaluated (the payload's text ends with it,
    so an evaluated one would read ``alert(1) 49``)."""
    assert JINJA in page, f"{JINJA} missing {where}"
    assert "alert(1) 49" not in page and "&gt; 49" not in page, where


@pytest.fixture
def world(site):
    """The site with the claims app and payload-carrying records of every kind:
    a supplier (text; its phone and email fields refuse any payload, so the form tests
    type payloads into them), products (text), a purchase request whose title is
    built from the supplier's name, an order (textarea) of each dealer, a leave
    request (textarea), and a claim of gz.boss (text, richtext, attachment) with a task
    for gz.boss."""
    app, service = site
    admin = Actor("admin")
    service.install_app(SYSTEM_ACTOR, load_app_text(CLAIMS))
    supplier = service.create_record(
        admin,
        "purchase",
        "supplier",
        {
            "name": PAYLOAD,
            "contact": f"{IMG} {JINJA}",
            "mobile": "13805710001",
            "email": "a.b@example.com",
        },
    )
    product = service.create_record(
        admin,
        "purchase",
        "product",
        {"sku": "X-1", "name": PAYLOAD, "unit": SCRIPT, "price": "2.00"},
    )
    purchase = service.flows.submit(
        Actor("ma.lan"),
        "purchase",
        "purchase_request",
        {
            "supplier": supplier.id,
            "needed_by": (date.today() + timedelta(days=30)).isoformat(),
            "lines": [{"product": product.id, "qty": 1, "price": "2.00"}],
        },
    )
    tea = service.create_record(
        admin,
        "orders",
        "product",
        {"sku": "TEA", "name": PAYLOAD, "price": "10.00", "base_price": "6.00"},
    )
    orders = {
        login: service.create_record(
            Actor(login),
            "orders",
            "order",
            {"lines": [{"product": tea.id, "qty": 1}], "remark": PAYLOAD},
        )
        for login in ("hz.boss", "gz.boss")
    }
    leave = service.flows.submit(
        Actor("wu.gang"),
        "leave",
        "leave_request",
        {
            "leave_type": "annual",
            "start_date": "2027-03-01",
            "end_date": "2027-03-02",
            "reason": PAYLOAD,
        },
    )
    photo = service.save_file(
        Actor("gz.boss"), "claims", "claim", "photo", "a.pdf", io.BytesIO(PDF)
    )
    claim = service.flows.submit(
        Actor("gz.boss"),
        "claims",
        "claim",
        {
            "subject": PAYLOAD,
            "body": f'<p>ok</p>{SCRIPT}<a href="{JS_URL}">x</a><img src=x onerror=alert(1)>',
            "photo": [photo],
            "size": "s",
        },
    )
    return {
        "app": app,
        "service": service,
        "supplier": supplier.id,
        "purchase": purchase.id,
        "orders": {login: record.id for login, record in orders.items()},
        "leave": leave.id,
        "claim": claim.id,
        "photo": photo["id"],
    }


def signed_in(world, login: str) -> Browser:
    browser = Browser(world["app"].test_client())
    answer = browser.sign_in(login)
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return browser


def page_of(browser: Browser, path: str, status: int = 200, **kwargs: object) -> str:
    answer = browser.get(path, **kwargs)
    assert answer.status_code == status, (path, answer.status_code)
    text = answer.get_data(as_text=True)
    assert_escaped(text, where=path)
    return text


# -- escaping ---------------------------------------------------------------------------------------
def test_richtext_is_sanitised_when_stored(world):
    record = world["service"].get_record(Actor("gz.boss"), "claims", "claim", world["claim"])
    body = record.values["body"]
    assert "<p>ok</p>" in body
    for raw in ("<script", "javascript:", "onerror", "alert(1)</script>"):
        assert raw not in body, body


def test_record_pages_show_every_text_field_escaped(world):
    admin = signed_in(world, "admin")
    page = page_of(admin, f"/r/purchase/supplier/{world['supplier']}")
    assert_shown(page, PAYLOAD, where="supplier name (text)")
    assert_shown(page, f"{IMG} {JINJA}", where="contact (text)")
    no_49(page, where="supplier page")
    page = page_of(admin, f"/r/leave/leave_request/{world['leave']}")
    assert_shown(page, PAYLOAD, where="leave reason (textarea)")
    page = page_of(admin, f"/r/orders/order/{world['orders']['gz.boss']}")
    assert_shown(page, PAYLOAD, where="order remark (textarea)")
    # a relation shows the related record's title, built from a field with a payload
    page = page_of(admin, f"/r/purchase/purchase_request/{world['purchase']}")
    assert_shown(page, PAYLOAD, where="supplier title on the purchase request")
    no_49(page, where="purchase request page")
    # the claim: its payload-carrying definition (form name, labels, option label), a
    # text field, the sanitised richtext, and the node name in the timeline
    page = page_of(admin, f"/r/claims/claim/{world['claim']}")
    assert_shown(page, PAYLOAD, where="claim subject")
    assert_shown(page, "主题 " + SCRIPT, where="field label")
    assert_shown(page, "小 " + SCRIPT, where="option label")
    assert_shown(page, "审核 " + SCRIPT, where="node name")
    # the richtext as stored (sanitised) shown as HTML: formatting kept, no script, no
    # handler, no javascript: link (page_of checked the page for every raw payload)
    view = page.split('<div class="richtext-view">')[1].split("</div>")[0]
    assert view.startswith('<p>ok</p><a rel="noopener noreferrer">x</a>'), view
    # gz.boss, a dealer's person, reads the claim on the portal (the record page is not
    # there for them): the same payloads, escaped; the richtext as plain text
    gz = signed_in(world, "gz.boss")
    page_of(gz, f"/r/claims/claim/{world['claim']}", status=404)
    page = page_of(gz, f"/portal/claims/claim/{world['claim']}")
    assert_shown(page, PAYLOAD, where="claim subject on the portal")
    assert_shown(page, "主题 " + SCRIPT, where="field label on the portal")
    assert_shown(page, "小 " + SCRIPT, where="option label on the portal")
    assert_shown(page, "审核 " + SCRIPT, where="node name of the pending task on the portal")
    no_49(page, where="portal claim page")
    body = page.split('data-field="body"')[1].split("</dd>")[0]
    assert "ok" in body and "<p>" not in body and "<a" not in body, body
    page = page_of(gz, f"/portal/orders/order/{world['orders']['gz.boss']}")
    assert_shown(page, PAYLOAD, where="order remark (textarea) on the portal")
    assert_shown(page, PAYLOAD, where="product title in the order's lines on the portal")


def test_list_pages_and_search_show_payloads_escaped(world):
    admin = signed_in(world, "admin")
    page = page_of(admin, "/l/purchase/supplier")
    assert_shown(page, PAYLOAD, where="supplier list")
    page = page_of(admin, "/l/purchase/product")
    assert_shown(page, PAYLOAD, where="product list")
    page_of(admin, "/l/purchase/purchase_request")
    page_of(admin, "/l/orders/order")
    # the search box keeps what was typed, as an attribute value
    page = page_of(admin, "/l/purchase/supplier?q=" + IMG.replace(" ", "+"))
    assert_shown(page, IMG, where="search box")
    # a sort by an unknown column is a flashed message naming it
    page = page_of(admin, "/l/purchase/supplier", query_string={"sort": SCRIPT})
    assert "alert-danger" in page
    assert_shown(page, SCRIPT, where="flashed refusal of the sort")
    page = page_of(admin, "/l/claims/claim")
    assert_shown(page, PAYLOAD, where="claim list")
    assert_shown(page, "理赔单 " + IMG, where="form name")
    # gz.boss lists the claims on the portal (the list page is not there for them)
    gz = signed_in(world, "gz.boss")
    page_of(gz, "/l/claims/claim", status=404)
    page = page_of(gz, "/portal/claims/claim")
    assert_shown(page, PAYLOAD, where="claim list on the portal")
    assert_shown(page, "理赔单 " + IMG, where="form name on the portal")
    assert 'id="list-total">1<' in page
    page = page_of(gz, "/portal/claims/claim", query_string={"q": IMG})
    assert_shown(page, IMG, where="portal search box")
    assert 'id="list-total">1<' in page_of(gz, "/portal/orders/order")  # escaped: page_of
    page = page_of(gz, "/portal/")
    assert_shown(page, "理赔单 " + IMG, where="form name on the portal's home")


def test_titles_in_the_inbox_and_workbench_are_escaped(world):
    # he.jing approves ma.lan's purchase request: its title holds the supplier's name
    he = signed_in(world, "he.jing")
    for path in ("/", "/tasks/"):
        page = page_of(he, path)
        assert_shown(page, PAYLOAD, where=f"purchase title in {path}")
        no_49(page, where=path)
    # the claim's app name on the workbench of someone who may use it
    admin = signed_in(world, "admin")
    assert_shown(page_of(admin, "/"), "理赔 " + SCRIPT, where="app name on the workbench")
    # gz.boss's task on gz.boss's claim: in the portal's home, its list of tasks and the
    # task's page (the workbench and the inbox are not there for them)
    gz = signed_in(world, "gz.boss")
    for path in ("/", "/tasks/"):
        page_of(gz, path, status=404)
    task = world["service"].flows.tasks(Actor("gz.boss")).items[0].id
    page = page_of(gz, "/portal/tasks")
    assert 'id="pending-total">1<' in page
    for path in ("/portal/tasks", f"/portal/tasks/{task}"):
        page = page_of(gz, path)
        assert_shown(page, PAYLOAD, where=f"claim title in {path}")
        assert_shown(page, "审核 " + SCRIPT, where=f"node name in {path}")
        no_49(page, where=path)
    page = page_of(gz, f"/portal/tasks/{task}")
    assert_shown(page, "理赔单 " + IMG, where="form name on the task page")
    assert_shown(page, "主题 " + SCRIPT, where="field label on the task page")
    assert 'id="to-confirm">1<' in page_of(gz, "/portal/")


def test_timeline_comments_and_flashed_messages_are_escaped(world):
    service = world["service"]
    sun = signed_in(world, "sun.li")
    path = f"/r/leave/leave_request/{world['leave']}"
    sun.get(path)
    task = service.flows.tasks(Actor("sun.li")).items[0].id
    # a refusal that repeats what was typed is a flashed message
    answer = sun.post(f"/tasks/{task}/send-back", {"to": PAYLOAD, "comment": PAYLOAD, "next": path})
    assert answer.status_code == 302
    page = page_of(sun, path)
    flashed = re.findall(r'<div class="alert alert-danger"[^>]*>(.*?)</div>', page, re.S)
    assert flashed and "&lt;script&gt;alert(1)" in flashed[0], flashed
    answer = sun.post(f"/tasks/{task}/approve", {"comment": PAYLOAD, "next": path})
    assert answer.status_code == 302
    page = page_of(sun, path)
    assert 'id="timeline"' in page
    assert_shown(page, PAYLOAD, where="timeline comment")
    no_49(page, where="timeline")
    # a batch approve of a task someone else holds reports it by its number
    answer = sun.post("/tasks/batch-approve", {"task": [task], "comment": PAYLOAD})
    page = page_of(sun, "/tasks/")
    assert f"#{task}:" in page


def test_a_refused_form_keeps_what_was_typed_escaped(world):
    admin = signed_in(world, "admin")
    admin.get("/f/purchase/supplier/new")
    answer = admin.post(
        "/f/purchase/supplier/new",
        {
            "name": PAYLOAD,  # a duplicate: unique
            "contact": PAYLOAD,
            "mobile": IMG,
            "email": f"{SCRIPT}@example.com",
            "action": "submit",
        },
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert_escaped(page, where="refused supplier form")
    assert_shown(page, PAYLOAD, where="typed name")
    assert_shown(page, IMG, where="typed mobile (phone)")
    assert_shown(page, f"{SCRIPT}@example.com", where="typed email")
    assert 'class="alert alert-danger"' in page
    # a textarea on a form with a flow
    wu = signed_in(world, "wu.gang")
    wu.get("/f/leave/leave_request/new")
    answer = wu.post(
        "/f/leave/leave_request/new",
        {"leave_type": "annual", "reason": "</textarea>" + PAYLOAD, "action": "submit"},
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert_escaped(page, where="refused leave form")
    assert "&lt;/textarea&gt;" in page


def test_a_saved_form_flashes_and_shows_the_payload_escaped(world):
    admin = signed_in(world, "admin")
    admin.get("/f/purchase/supplier/new")
    answer = admin.post(
        "/f/purchase/supplier/new",
        {"name": SCRIPT + " 2 " + JINJA, "contact": IMG, "action": "submit"},
        follow_redirects=True,
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert_escaped(page, where="saved supplier")
    assert_shown(page, SCRIPT + " 2 " + JINJA)
    assert "alert alert-success" in page


def test_the_api_documentation_page_escapes_definitions(world):
    admin = signed_in(world, "admin")
    answer = admin.get("/api/v1/docs")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert_escaped(page, where="API docs")
    assert "<script" not in page
    assert "claims.claim.Create" in page
    assert "&lt;script&gt;" in page  # the labels and names are there, as text


# -- cookies ----------------------------------------------------------------------------------------
def _session_cookie(answer) -> str:
    cookies = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, answer.headers
    return cookies[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax_not_secure_on_http(world):
    answer = Browser(world["app"].test_client()).sign_in("sun.li")
    cookie = _session_cookie(answer)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie.replace("SameSite", "")


@pytest.mark.parametrize("how", ["environment", "config"])
def test_secure_cookies_behind_tls(site, database_url, tmp_path, monkeypatch, how):
    from web import create_app

    config = {
        "DATABASE_URL": database_url,
        "FILES_DIR": str(tmp_path / "files"),
        "SECRET_KEY": "test-secret",
        "TESTING": True,
    }
    if how == "environment":
        monkeypatch.setenv("LOWCODE_SECURE_COOKIES", "1")
    else:
        config["SESSION_COOKIE_SECURE"] = True
    app = create_app(config)
    answer = Browser(app.test_client()).sign_in("sun.li")
    assert answer.status_code == 302
    cookie = _session_cookie(answer)
    assert "Secure" in cookie.replace("SameSite", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# -- CSRF -------------------------------------------------------------------------------------------
def _fill(rule, known: dict[str, object]) -> dict[str, object]:
    """Values for a rule's arguments: the known ones, else 1 for a number, "x" for text."""
    from werkzeug.routing import IntegerConverter

    return {
        name: known.get(
            name, 1 if isinstance(rule._converters.get(name), IntegerConverter) else "x"
        )
        for name in rule.arguments
    }


def test_every_state_changing_page_route_refuses_a_post_without_the_token(world):
    app, service = world["app"], world["service"]
    sun = signed_in(world, "sun.li")
    sun.get("/")
    task = service.flows.tasks(Actor("sun.li")).items[0].id
    before = service.query_records(SYSTEM_ACTOR, "leave", "leave_request").total
    routes = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        and not rule.rule.startswith("/api/")
        and rule.endpoint != "static"
    ]
    endpoints = {rule.endpoint for rule in routes}
    # the ones the brief names are among them
    assert {"auth.sign_out", "auth.switch_locale", "tasks.act", "tasks.batch_approve"} <= endpoints
    assert "forms.new" in endpoints
    data = {
        "locale": "en",
        "next": "/",
        "comment": "x",
        "task": str(task),
        "leave_type": "annual",
        "start_date": "2027-03-01",
        "end_date": "2027-03-01",
        "reason": "x",
        "action": "submit",
        "login": "sun.li",
        "password": PASSWORD,
    }
    known = {
        "app_key": "leave",
        "form_key": "leave_request",
        "record_id": world["leave"],
        "task_id": task,
        "action": "approve",
        "login": "wu.gang",
    }
    with app.test_request_context():
        from flask import url_for

        paths = [(rule, url_for(rule.endpoint, **_fill(rule, known))) for rule in routes]
    for rule, path in paths:
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            answer = sun.client.open(path, method=method, data=data)
            assert answer.status_code == 400, (method, path, answer.status_code)
            # a wrong token is no better than none
            answer = sun.client.open(path, method=method, data={**data, "csrf_token": "forged"})
            assert answer.status_code == 400, (method, path, answer.status_code)
    # nothing changed: still signed in, still in Chinese, the task still pending, no record
    page = sun.get("/").get_data(as_text=True)
    assert "我的待办" in page
    assert [t.id for t in service.flows.tasks(Actor("sun.li")).items] == [task]
    assert service.query_records(SYSTEM_ACTOR, "leave", "leave_request").total == before


# -- another dealer's things ------------------------------------------------------------------------
def test_a_dealer_gets_404_for_another_dealers_record_file_and_task(world):
    service = world["service"]
    app = world["app"]
    claim, order = world["claim"], world["orders"]["gz.boss"]
    task = service.flows.tasks(Actor("gz.boss")).items[0].id
    tokens = {
        login: service.org.create_token(SYSTEM_ACTOR, login, "test")
        for login in ("hz.boss", "gz.boss")
    }
    client = app.test_client()

    def api(login: str, path: str, method: str = "GET"):
        return client.open(
            f"/api/v1{path}", method=method, headers={"Authorization": f"Bearer {tokens[login]}"}
        )

    paths = [
        f"/apps/orders/forms/order/records/{order}",
        f"/apps/claims/forms/claim/records/{claim}",
        f"/apps/claims/forms/claim/records/{claim}/history",
        f"/apps/claims/forms/claim/files/{world['photo']}",
        f"/tasks/{task}",
    ]
    for path in paths:
        assert api("gz.boss", path).status_code == 200, path
        answer = api("hz.boss", path)
        assert answer.status_code == 404, (path, answer.status_code)
        assert PDF not in answer.data and "alert(1)" not in answer.get_data(as_text=True)
    answer = api("hz.boss", f"/tasks/{task}/approve", "POST")
    assert answer.status_code in (403, 404), answer.status_code

    # on the portal: gz.boss's order, claim, file and task are not there for hz.boss,
    # exactly like ones that do not exist
    photo = world["photo"]
    hz = signed_in(world, "hz.boss")
    hz.get("/portal/")
    for path, twin in (
        (f"/portal/orders/order/{order}", "/portal/orders/order/999999"),
        (f"/portal/claims/claim/{claim}", "/portal/claims/claim/999999"),
        (f"/portal/claims/claim/file/{photo}", "/portal/claims/claim/file/nothing"),
        (f"/portal/tasks/{task}", "/portal/tasks/999999"),
    ):
        answer, missing = hz.get(path), hz.get(twin)
        assert answer.status_code == missing.status_code == 404, path
        assert PDF not in answer.data and "alert(1)" not in answer.get_data(as_text=True), path
    # acting on gz.boss's task from the portal is refused and changes nothing
    for action in ("confirm", "dispute"):
        hz.post(f"/portal/tasks/{task}/{action}", {"comment": "不是我的"})
    assert [t.id for t in service.flows.tasks(Actor("gz.boss")).items] == [task]
    # the internal pages are not there for either of them, their own records included
    gz = signed_in(world, "gz.boss")
    for browser in (hz, gz):
        for path in (f"/r/orders/order/{order}", f"/r/claims/claim/{claim}"):
            assert browser.get(path).status_code == 404, path
        assert browser.post(f"/tasks/{task}/approve", {"next": "/"}).status_code == 404
    assert [t.id for t in service.flows.tasks(Actor("gz.boss")).items] == [task]
    for path in (
        f"/portal/orders/order/{order}",
        f"/portal/claims/claim/{claim}",
        f"/portal/tasks/{task}",
    ):
        assert gz.get(path).status_code == 200, path
    answer = gz.get(f"/portal/claims/claim/file/{photo}?download=1")
    assert answer.status_code == 200 and answer.data == PDF


# -- headers ----------------------------------------------------------------------------------------
def test_security_headers_on_every_page(world):
    app = world["app"]
    admin = signed_in(world, "admin")
    known = {
        "app_key": "leave",
        "form_key": "leave_request",
        "record_id": world["leave"],
        "task_id": 1,
        "filename": "app.css",
        "rest": "nothing",
        "instance_id": 1,
        "name": "certificate",
        "action": "approve",
    }
    from flask import url_for

    with app.test_request_context():
        paths = sorted(
            {
                url_for(rule.endpoint, **_fill(rule, known))
                for rule in app.url_map.iter_rules()
                if "GET" in rule.methods
            }
        )
    assert len(paths) >= 8, paths
    html = 0
    for path in paths:
        for browser in (admin, Browser(app.test_client())):  # signed in, and not
            answer = browser.get(path)
            assert answer.status_code < 500, (path, answer.status_code)
            headers = answer.headers
            csp = headers.get("Content-Security-Policy", "")
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
            assert "frame-ancestors 'none'" in csp, path
            assert headers.get("X-Frame-Options") == "DENY", path
            assert headers.get("X-Content-Type-Options") == "nosniff", path
            assert headers.get("Referrer-Policy") == "same-origin", path
            if answer.mimetype == "text/html":
                html += 1
                text = answer.get_data(as_text=True)
                assert "style=" not in text and "<style" not in text, path
                assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", text), path
    assert html >= 6


# -- redirects --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example", "http://evil.example/x", "///evil.example"],
)
def test_signing_in_never_sends_you_to_another_site(world, target):
    browser = Browser(world["app"].test_client())
    browser.get("/signin")
    answer = browser.post(
        "/signin", {"login": "sun.li", "password": PASSWORD}, query_string={"next": target}
    )
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert "evil" not in location and location in ("/", "http://localhost/")
    browser.get("/")  # signing in starts a new session: the page's new token
    # the language switch and the task actions keep to the site too
    answer = browser.post("/locale", {"locale": "en", "next": target})
    assert "evil" not in answer.headers["Location"]
    answer = browser.post("/tasks/999999/approve", {"next": target})
    assert "evil" not in answer.headers["Location"]


@pytest.mark.parametrize("target", ["/\\evil.example", "/\t/evil.example"])
def test_backslash_and_tab_next_stay_on_the_site(world, target):
    browser = Browser(world["app"].test_client())
    browser.get("/signin")
    answer = browser.post(
        "/signin", {"login": "sun.li", "password": PASSWORD}, query_string={"next": target}
    )
    assert answer.status_code == 302
    assert "evil" not in answer.headers["Location"]


# -- odd input is never a server error --------------------------------------------------------------
BIG = "9" * 30


def test_out_of_range_numbers_and_nul_bytes_on_pages_are_not_server_errors(world):
    admin = signed_in(world, "admin")
    admin.get("/")
    for path in (
        f"/r/leave/leave_request/{BIG}",
        f"/r/leave/leave_request/{2**63}",
        f"/l/leave/leave_request?page={BIG}",
        f"/tasks/?page={BIG}",
        f"/f/orders/order/fill?field=lines.product&id={BIG}",
        "/l/leave/leave_request?sort=--x&q=%00",
    ):
        assert admin.get(path).status_code < 500, path
    for path, data in (
        (f"/tasks/{BIG}/approve", {}),
        (f"/tasks/{2**63}/approve", {}),
        ("/tasks/batch-approve", {"task": [BIG, str(2**63)]}),
        ("/f/purchase/purchase_request/new", {"supplier": BIG, "needed_by": "x"}),
        ("/f/leave/leave_request/new", {"end_date": BIG, "reason": "\x00", "action": "submit"}),
        ("/locale", {"locale": "\x00", "next": "\x00"}),
    ):
        assert admin.post(path, data).status_code < 500, path
