"""Filling a form in the browser's way (posted fields): submit starts the flow, a draft
waits, the server's errors show next to the field or sub-table row and keep what was
typed; the list page searches, sorts and pages."""

from __future__ import annotations

import re

from engine.service import Actor

LEAVE = {
    "leave_type": "annual",
    "start_date": "2027-03-01",
    "end_date": "2027-03-02",
    "reason": "回老家",
}


def test_the_form_page_follows_the_definitions_layout(browser):
    browser.sign_in("wu.gang")
    page = browser.get("/f/leave/leave_request/new").get_data(as_text=True)
    for text in ("请假类型", "开始日期", "结束日期", "事由", 'type="date"', "年假"):
        assert text in page
    assert page.index("申请人") < page.index("请假类型")  # the sections' order


def test_submitting_starts_the_flow_and_shows_the_record(site, browser):
    _app, service = site
    browser.sign_in("wu.gang")
    browser.get("/f/leave/leave_request/new")
    answer = browser.post("/f/leave/leave_request/new", {**LEAVE, "action": "submit"})
    assert answer.status_code == 302
    record_path = answer.headers["Location"]
    page = browser.get(record_path).get_data(as_text=True)
    assert "审批中" in page and "直属主管审批" in page
    assert service.flows.tasks(Actor("sun.li")).total == 1


def test_a_draft_does_not_start_the_flow(site, browser):
    _app, service = site
    browser.sign_in("wu.gang")
    browser.get("/f/leave/leave_request/new")
    answer = browser.post("/f/leave/leave_request/new", {**LEAVE, "action": "draft"})
    assert answer.status_code == 302
    assert service.flows.tasks(Actor("sun.li")).total == 0
    page = service.query_records(Actor("wu.gang"), "leave", "leave_request")
    assert [r.status for r in page.items] == ["draft"]


def test_errors_show_next_to_the_field_and_keep_what_was_typed(site, browser):
    browser.sign_in("wu.gang")
    browser.get("/f/leave/leave_request/new")
    answer = browser.post(
        "/f/leave/leave_request/new",
        {**LEAVE, "end_date": "2027-02-27", "reason": "我的事由", "action": "submit"},
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "结束日期不能早于开始日期" in page and "is-invalid" in page
    assert 'value="2027-02-27"' in page and "我的事由" in page


def test_a_purchase_request_with_two_lines_is_computed_by_the_server(site, browser):
    _app, service = site
    admin = Actor("admin")
    supplier = service.create_record(admin, "purchase", "supplier", {"name": "杭州云栖包装"})
    box = service.create_record(
        admin, "purchase", "product", {"sku": "BOX", "name": "纸箱", "price": "19.99"}
    )
    tape = service.create_record(
        admin, "purchase", "product", {"sku": "TAPE", "name": "胶带", "price": "3.50"}
    )
    browser.sign_in("ma.lan")
    page = browser.get("/f/purchase/purchase_request/new").get_data(as_text=True)
    assert "纸箱" in page and 'name="lines-1-qty"' in page  # the product picker, two rows
    form = {
        "supplier": str(supplier.id),
        "needed_by": "2027-01-15",
        "lines-0-product": str(box.id),
        "lines-0-qty": "3",
        "lines-1-product": str(tape.id),
        "lines-1-qty": "0",
        "action": "submit",
    }
    page = browser.post("/f/purchase/purchase_request/new", form).get_data(as_text=True)
    assert "第 2 行：不能小于 1" in page  # on the second row
    form["lines-1-qty"] = "10"
    answer = browser.post("/f/purchase/purchase_request/new", form)
    assert answer.status_code == 302
    [record] = service.query_records(admin, "purchase", "purchase_request").items
    assert str(record.values["total"]) == "94.97"  # 3 × 19.99 + 10 × 3.50
    assert record.status == "in_approval"


def test_money_and_numbers_are_read_as_people_type_them(site, browser):
    """Posted without the page's script (which cleans numbers up), the server still
    reads ``¥1,200.50`` and ``1,200`` as typed: the form page submits as web input."""
    _app, service = site
    admin = Actor("admin")
    supplier = service.create_record(admin, "purchase", "supplier", {"name": "宁波包装"})
    box = service.create_record(
        admin, "purchase", "product", {"sku": "BOX", "name": "纸箱", "price": "19.99"}
    )
    browser.sign_in("ma.lan")
    browser.get("/f/purchase/purchase_request/new")
    form = {
        "supplier": str(supplier.id),
        "needed_by": "2027-01-15",
        "lines-0-product": str(box.id),
        "lines-0-qty": "1,200",
        "lines-0-price": "¥12.50",
        "action": "submit",
    }
    answer = browser.post("/f/purchase/purchase_request/new", form)
    assert answer.status_code == 302, re.findall(
        r"(?:feedback|text-danger)[^>]*>([^<]+)", answer.get_data(as_text=True)
    )
    [record] = service.query_records(admin, "purchase", "purchase_request").items
    assert str(record.values["total"]) == "15000.00"  # 1,200 × 12.50


def test_the_list_page_searches_and_sorts(site, browser):
    _app, service = site
    for reason, first in (("探亲", "2027-03-01"), ("看病", "2027-04-01")):
        service.flows.submit(
            Actor("wu.gang"),
            "leave",
            "leave_request",
            {**LEAVE, "reason": reason, "start_date": first, "end_date": first},
        )
    browser.sign_in("wu.gang")
    page = browser.get("/l/leave/leave_request?sort=-start_date").get_data(as_text=True)
    assert page.index("2027-04-01") < page.index("2027-03-01") and "共 2" in page
    page = browser.get("/l/leave/leave_request?q=看病").get_data(as_text=True)
    assert "2027-04-01" in page and "2027-03-01" not in page
