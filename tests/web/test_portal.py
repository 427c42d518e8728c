"""The dealer portal (web/portal/, docs/portal.md) on SQLite and PostgreSQL.

A dealer user signs in and lands on /portal; every internal page answers them 404 (one
guard: tested over every route of the app); their orders are exactly the rows the
service's scoped query gives; another dealer's order, statement, task or file by
direct URL is a 404 that reads like a record that does not exist; an order placed on
the portal's form is priced and totalled by the engine, with errors on their line;
a statement is confirmed or disputed (a reason required); 确认收货 on the order page.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest

from engine.service import SYSTEM_ACTOR, Actor
from tests.web.conftest import PASSWORD, Browser

ADMIN = Actor("admin")
FINANCE = Actor("zhao.min")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: what differs between two pages of one session: the token and the page's own path
CSRF = re.compile(r'name="(csrf_token|next)"[^>]*value="[^"]+"')


@pytest.fixture
def portal(site):
    """Products, orders of three dealers and statements for two (one with a file)."""
    app, service = site
    for login in ("yh.boss", "zhao.min"):
        service.org.set_password(SYSTEM_ACTOR, login, PASSWORD)
    tea = service.create_record(
        ADMIN, "orders", "product", {"sku": "TEA-250", "name": "龙井 250g", "price": "128.00"}
    )
    big = service.create_record(
        ADMIN, "orders", "product", {"sku": "TEA-500", "name": "龙井 500g", "price": "238.00"}
    )
    orders = {
        login: service.create_record(
            Actor(login), "orders", "order", {"lines": [{"product": tea.id, "qty": qty}]}
        ).id
        for login, qty in (("hz.boss", 2), ("yh.boss", 3), ("gz.boss", 5))
    }
    attached = service.save_file(
        FINANCE, "orders", "statement", "attachment", "s.pdf", io.BytesIO(PDF)
    )
    statements = {}
    for key, dealer, amount, files in (
        ("hz", "DL-HZ-001", "1200.50", [attached]),
        ("hz2", "DL-HZ-001", "88.00", []),
        ("gz", "DL-GD-001", "560.00", []),
    ):
        data = {
            "dealer": dealer,
            "period": "2026-11",
            "lines": [{"item": "返利", "amount": amount}],
            "attachment": files,
        }
        statements[key] = service.flows.submit(FINANCE, "orders", "statement", data).id
    return {
        "app": app,
        "service": service,
        "products": (tea.id, big.id),
        "orders": orders,
        "statements": statements,
        "file": attached["id"],
    }


def signed_in(portal, login: str) -> Browser:
    browser = Browser(portal["app"].test_client())
    browser.sign_in(login)
    return browser


def text(answer) -> str:
    return answer.get_data(as_text=True)


def task_of(service, login: str, record_id: int) -> int:
    found = service.flows.tasks(Actor(login), status="pending").items
    return next(t.id for t in found if t.record_id == record_id)


# -- signing in and the guard -----------------------------------------------------------------
def test_a_dealer_user_lands_on_the_portal_with_their_dealer_and_counts(portal):
    hz = Browser(portal["app"].test_client())
    answer = hz.sign_in("hz.boss")
    assert answer.status_code == 302 and answer.location == "/portal/"
    page = text(hz.get("/portal/"))
    assert '<h1 class="h5 mb-0" id="dealer-name">杭州恒泰商贸有限公司</h1>' in page
    # open orders: its own and its sub-dealer's (dealer_tree); two statements to confirm
    assert '<span class="portal-stat-number" id="open-orders">2</span>' in page
    assert '<span class="portal-stat-number" id="to-confirm">2</span>' in page
    assert '<span class="portal-stat-number" id="unread">0</span>' in page
    assert 'data-form="orders/statement"' in page and 'data-form="orders/product"' in page
    assert "leave" not in re.findall(r'data-form="([^"/]+)/', page)  # not granted to dealers
    # a "next" to an internal page after signing in still lands on the portal
    again = Browser(portal["app"].test_client())
    again.get("/signin?next=/tasks/")
    answer = again.post("/signin?next=/tasks/", {"login": "hz.boss", "password": PASSWORD})
    assert answer.location == "/portal/"


def test_staff_land_on_the_workbench_and_find_no_portal(portal):
    admin = Browser(portal["app"].test_client())
    assert admin.sign_in("admin").location == "/"
    assert admin.get("/").status_code == 200
    for path in ("/portal/", "/portal/orders/order", "/portal/tasks"):
        assert admin.get(path).status_code == 404, path
    assert Browser(portal["app"].test_client()).get("/portal/").status_code == 302  # sign in


def _fill(rule, known: dict[str, object]) -> dict[str, object]:
    from werkzeug.routing import IntegerConverter

    return {
        name: known.get(
            name, 1 if isinstance(rule._converters.get(name), IntegerConverter) else "x"
        )
        for name in rule.arguments
    }


def test_every_internal_route_answers_a_dealer_user_404(portal):
    """One guard over the whole app: every route that is not the portal's, signing in and
    out, the language, the account or the token API is not there for a dealer user,
    GET and POST (with a valid CSRF token), whatever its arguments."""
    app, service = portal["app"], portal["service"]
    hz = signed_in(portal, "hz.boss")
    hz.get("/portal/")
    known = {
        "app_key": "orders",
        "form_key": "order",
        "record_id": portal["orders"]["hz.boss"],  # their own order: still not on /r/
        "task_id": task_of(service, "hz.boss", portal["statements"]["hz"]),
        "file_id": portal["file"],
        "filename": "app.css",
    }
    allowed = ("portal.", "auth.", "api.", "static", "bootstrap.")
    with app.test_request_context():
        from flask import url_for

        routes = [
            (rule, url_for(rule.endpoint, **_fill(rule, known)))
            for rule in app.url_map.iter_rules()
            if not rule.endpoint.startswith(allowed)
        ]
    assert len(routes) >= 40, len(routes)
    for rule, path in routes:
        for method in sorted(rule.methods & {"GET", "POST"}):
            answer = hz.client.open(path, method=method, data={"csrf_token": hz.token})
            assert answer.status_code == 404, (method, path, answer.status_code)
            assert "portal-not-found" in text(answer), path
    for path in ("/api/v1/docs", "/api/v1/openapi.json"):  # staff documentation
        assert hz.get(path).status_code == 404, path
    # nothing changed: the statement task is still pending, the order where it was
    assert task_of(service, "hz.boss", portal["statements"]["hz"]) == known["task_id"]
    assert service.get_record(ADMIN, "orders", "order", known["record_id"]).status == "active"


def test_the_dealers_token_api_stays_reachable_and_scoped(portal):
    service, app = portal["service"], portal["app"]
    token = service.org.create_token(SYSTEM_ACTOR, "hz.boss", "erp")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.get("/api/v1/apps/orders/forms/order/records", headers=headers)
    assert answer.status_code == 200
    ids = sorted(item["id"] for item in answer.get_json()["items"])
    assert ids == sorted([portal["orders"]["hz.boss"], portal["orders"]["yh.boss"]])
    other = portal["orders"]["gz.boss"]
    url = f"/api/v1/apps/orders/forms/order/records/{other}"
    assert client.get(url, headers=headers).status_code == 404


# -- orders ------------------------------------------------------------------------------------
def test_the_order_list_is_exactly_the_rows_the_service_gives(portal):
    service = portal["service"]
    for login in ("hz.boss", "yh.boss", "gz.boss"):
        browser = signed_in(portal, login)
        page = text(browser.get("/portal/orders/order"))
        listed = [int(i) for i in re.findall(r'data-record="(\d+)"', page)]
        wanted = service.records.query(Actor(login), "orders", "order").items
        assert listed == [r.id for r in wanted], login
        assert f'id="list-total">{len(wanted)}<' in page
    assert len(listed) == 1  # gz.boss: its own (its sub-dealer placed none)
    hz = text(signed_in(portal, "hz.boss").get("/portal/orders/order"))
    assert hz.count("data-record=") == 2 and "广州粤华" not in hz


def test_another_dealers_order_statement_and_file_read_like_missing_ones(portal):
    service = portal["service"]
    hz, gz, yh = (signed_in(portal, login) for login in ("hz.boss", "gz.boss", "yh.boss"))
    own = f"/portal/orders/order/{portal['orders']['hz.boss']}"
    assert hz.get(own).status_code == 200
    task = task_of(service, "hz.boss", portal["statements"]["hz"])
    statement, file = portal["statements"]["hz"], portal["file"]
    # each probe, and its twin that names nothing at all: the two answers are the same
    for browser, path, twin in (
        (gz, own, "/portal/orders/order/999999"),
        (yh, own, "/portal/orders/order/999999"),  # a sub-dealer never sees its parent's
        (gz, f"/portal/orders/statement/{statement}", "/portal/orders/statement/999999"),
        (gz, f"/portal/orders/statement/file/{file}", "/portal/orders/statement/file/nothing"),
        (hz, f"/portal/orders/order/file/{file}", "/portal/orders/order/file/nothing"),
        (gz, f"/portal/tasks/{task}", "/portal/tasks/999999"),
        (hz, "/portal/leave/leave_request", "/portal/nothing/nothing"),  # grants dealers nothing
        (hz, "/portal/leave/leave_request/1", "/portal/nothing/nothing/1"),
    ):
        answer, missing = browser.get(path), browser.get(twin)
        assert answer.status_code == missing.status_code == 404, path
        assert CSRF.sub("", text(answer)) == CSRF.sub("", text(missing)), path
        assert 'id="portal-not-found"' in text(answer)
        assert "1,200.50" not in text(answer) and "杭州恒泰" not in text(answer)
    # the statement's file: for the dealer whose statement it is
    answer = hz.get(f"/portal/orders/statement/file/{portal['file']}?download=1")
    assert answer.status_code == 200 and answer.data == PDF
    page = text(hz.get(f"/portal/orders/statement/{portal['statements']['hz']}"))
    assert f"/portal/orders/statement/file/{portal['file']}" in page and "1,200.50" in page


def test_an_order_placed_on_the_phone_form_is_priced_by_the_engine(portal):
    service = portal["service"]
    tea, big = portal["products"]
    hz = signed_in(portal, "hz.boss")
    page = text(hz.get("/portal/orders/order/new"))
    assert page.count('class="order-line ') == 2
    assert "龙井 250g · ¥128.00/箱" in page
    answer = hz.post(
        "/portal/orders/order/new",
        {"product-1": tea, "qty-1": "3", "product-2": big, "qty-2": "2", "remark": "周五前送到"},
    )
    assert answer.status_code == 302
    record_id = int(answer.location.rsplit("/", 1)[1])
    saved = service.get_record(ADMIN, "orders", "order", record_id)
    assert saved.values["total"] == Decimal("860.00")  # 3 × 128.00 + 2 × 238.00
    assert saved.values["dealer"] == "DL-HZ-001" and saved.created_by == "hz.boss"
    assert [(r["qty"], r["price"], r["amount"]) for r in saved.values["lines"]] == [
        (3, Decimal("128.00"), Decimal("384.00")),
        (2, Decimal("238.00"), Decimal("476.00")),
    ]
    page = text(hz.get(answer.location))
    assert "860.00" in page and "384.00" in page and "476.00" in page
    assert "内部备注" not in page  # hidden from dealers
    listing = text(hz.get("/portal/orders/order"))
    assert f'data-record="{record_id}"' in listing and "860.00" in listing


def test_order_errors_show_on_their_line_and_keep_what_was_typed(portal):
    service = portal["service"]
    tea, big = portal["products"]
    hz = signed_in(portal, "hz.boss")
    hz.get("/portal/orders/order/new")
    before = service.records.query(ADMIN, "orders", "order").total
    # line 2 left blank, line 3 with a quantity of 0: the error is on line 3
    answer = hz.post(
        "/portal/orders/order/new",
        {
            "product-1": tea,
            "qty-1": "1",
            "product-2": "",
            "qty-2": "",
            "product-3": big,
            "qty-3": "0",
        },
    )
    assert answer.status_code == 400
    page = text(answer)
    errors = re.findall(r'data-error="line-(\d+)">([^<]+)<', page)
    assert [n for n, _m in errors] == ["3"], errors
    assert errors[0][1].startswith("第 2 行")  # the service counts the lines it was sent
    assert f'<option value="{big}" selected>' in page and 'value="0"' in page
    assert service.records.query(ADMIN, "orders", "order").total == before
    # no line at all: an error for the order as a whole
    page = text(hz.post("/portal/orders/order/new", {"product-1": "", "qty-1": ""}))
    assert 'data-error="order"' in page
    # "add a line" without scripts: the server adds it and keeps the rest
    page = text(
        hz.post("/portal/orders/order/new", {"product-1": tea, "qty-1": "4", "action": "add_line"})
    )
    assert page.count('class="order-line ') == 2 and 'value="4"' in page
    assert service.records.query(ADMIN, "orders", "order").total == before


def test_the_dealer_confirms_receipt_on_the_order_page(portal):
    service = portal["service"]
    order = portal["orders"]["hz.boss"]
    ops = Actor("ma.lan")
    service.rules.press(ops, "orders", "approve_review", order)
    for step, values in (("pick", None), ("ship", {"tracking_no": "SF1"})):
        service.machines.transition(ops, "orders", "order", order, "order_stage", step, values)
    hz = signed_in(portal, "hz.boss")
    page = text(hz.get(f"/portal/orders/order/{order}"))
    assert 'id="step-receive"' in page and "确认收货" in page and 'id="step-ship"' not in page
    gz = signed_in(portal, "gz.boss")
    gz.get("/portal/")
    gz.post(f"/portal/orders/order/{order}/step/order_stage/receive")
    assert service.get_record(ADMIN, "orders", "order", order).values["stage"] == "shipped"
    answer = hz.post(f"/portal/orders/order/{order}/step/order_stage/receive")
    assert answer.status_code == 302
    assert service.get_record(ADMIN, "orders", "order", order).values["stage"] == "delivered"
    assert "已完成：确认收货" in text(hz.get(answer.location)) or "确认收货" in text(
        hz.get(answer.location)
    )


# -- statements --------------------------------------------------------------------------------
def test_a_statement_is_confirmed_or_disputed_with_a_reason(portal):
    service = portal["service"]
    first, second = portal["statements"]["hz"], portal["statements"]["hz2"]
    hz = signed_in(portal, "hz.boss")
    page = text(hz.get("/portal/tasks"))
    assert 'id="pending-total">2<' in page
    confirm, dispute = task_of(service, "hz.boss", first), task_of(service, "hz.boss", second)
    page = text(hz.get(f"/portal/tasks/{confirm}"))
    assert "1,200.50" in page and "返利" in page and 'id="confirm-task"' in page
    hz.post(f"/portal/tasks/{confirm}/confirm")
    record = service.get_record(FINANCE, "orders", "statement", first)
    assert (record.values["state"], record.status) == ("confirmed", "approved")
    # a dispute needs a reason: refused without one, nothing changes
    answer = hz.post(f"/portal/tasks/{dispute}/dispute", {"comment": "  "}, follow_redirects=True)
    assert "请先说明有什么问题" in text(answer)
    assert service.get_record(FINANCE, "orders", "statement", second).values["state"] == "pending"
    hz.post(f"/portal/tasks/{dispute}/dispute", {"comment": "返利金额少算了 12 元"})
    record = service.get_record(FINANCE, "orders", "statement", second)
    assert (record.values["state"], record.status) == ("disputed", "rejected")
    page = text(hz.get("/portal/tasks"))
    assert 'id="pending-total">0<' in page and page.count('data-task="') == 2  # answered
    # another dealer cannot answer hz.boss's statement
    gz_task = task_of(service, "gz.boss", portal["statements"]["gz"])
    hz.post(f"/portal/tasks/{gz_task}/confirm")
    assert task_of(service, "gz.boss", portal["statements"]["gz"]) == gz_task


def test_notifications_are_the_dealer_users_own(portal):
    hz = signed_in(portal, "hz.boss")
    page = text(hz.get("/portal/notifications"))
    assert 'id="no-notifications"' in page
    assert hz.get("/portal/notifications/999999").status_code == 404
