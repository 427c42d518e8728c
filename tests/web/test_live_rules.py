"""The form page's live rules, server side: the page's logic block carries what the
browser needs for required-if, read-only-if and defaults, and the server enforces them
again whatever the page did: a post without a field whose required-if holds is refused
with the message beside the field (or on the sub-table row), and a changed value of a
field whose read-only-if holds is ignored (the field keeps its default on a new record).
Uses the small app in ``tests/browser/apps/live_rules``."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from engine.definitions import load_app
from engine.service import Actor

RULES_APP = Path(__file__).resolve().parents[1] / "browser" / "apps" / "live_rules"
LOGIC = re.compile(r'<script type="application/json" id="form-logic"[^>]*>(.*?)</script>', re.S)
NEW = "/f/rules/claim/new"


@pytest.fixture
def rules(site):
    _app, service = site
    service.install_app(Actor("admin"), load_app(RULES_APP))
    return service


def _claims(service) -> list:
    found = sorted(r.id for r in service.query_records(Actor("admin"), "rules", "claim").items)
    return [service.get_record(Actor("admin"), "rules", "claim", i).values for i in found]


def _post(browser, **fields):
    browser.get(NEW)
    return browser.post(NEW, {"action": "submit", **fields})


def test_the_page_carries_required_if_read_only_if_and_defaults(rules, browser):
    browser.sign_in("ma.lan")
    page = browser.get(NEW).get_data(as_text=True)
    logic = json.loads(LOGIC.search(page).group(1))
    fields = logic["fields"]
    assert fields["note"]["exprs"]["required_if"]["source"] == "amount > 1000"
    assert fields["note"]["required_message"] == "“大额说明” 为必填项"
    assert fields["code"]["exprs"]["readonly_if"]["source"] == "locked"
    assert (fields["code"]["default"], fields["kind"]["default"]) == ("C-001", "meal")
    assert fields["claim_date"]["exprs"]["default_expr"]["source"] == "TODAY()"
    assert "default" not in fields["claim_date"]
    assert fields["lines.qty"]["default"] == "1"
    assert fields["lines.remark"]["exprs"]["required_if"]["source"] == "qty > 10"
    assert (fields["amount"]["required"], fields["note"]["required"]) == (True, False)
    assert fields["lines"]["max_rows"] is None
    context = logic["context"]
    assert (context["user"], context["department"], context["dealer"]) == (
        "ma.lan",
        "channel",
        None,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+\+08:00", context["now"]["$datetime"])


def test_the_required_message_follows_the_actors_language(rules):
    logic = rules.form_logic.of(Actor("ma.lan", locale="en"), "rules", "claim")
    assert logic["fields"]["note"]["required_message"] == "'Why so much' is required"
    assert logic["fields"]["lines.remark"]["required_message"] == "'Remark' is required"


def test_a_missing_required_if_field_is_refused_beside_it_then_accepted(rules, browser):
    browser.sign_in("ma.lan")
    answer = _post(browser, amount="2000")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert re.search(
        r'<textarea class="form-control is-invalid" id="f-note" name="note"[^>]*></textarea>\s*'
        r'<div class="invalid-feedback d-block">“大额说明” 为必填项</div>',
        page,
    )
    assert 'id="f-amount" name="amount" value="2000"' in page  # what was typed is kept
    assert _claims(rules) == []

    # below the threshold the note is not required
    assert _post(browser, amount="800").status_code == 302
    # above it, with the note
    assert _post(browser, amount="2000", note="两晚酒店").status_code == 302
    assert [(c["amount"], c["note"]) for c in _claims(rules)] == [
        (Decimal("800.00"), None),
        (Decimal("2000.00"), "两晚酒店"),
    ]


def test_a_required_if_column_is_refused_on_its_row(rules, browser):
    browser.sign_in("ma.lan")
    answer = _post(
        browser,
        amount="100",
        **{
            "lines-0-item": "出租车",
            "lines-0-qty": "2",
            "lines-1-item": "大巴",
            "lines-1-qty": "12",
        },
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert re.search(
        r'id="f-lines-1-remark" name="lines-1-remark"[^>]*>\s*'
        r'<div class="invalid-feedback d-block">第 2 行：“备注” 为必填项</div>',
        page,
    )
    assert "第 1 行：“备注”" not in page
    assert _claims(rules) == []


def test_a_read_only_if_field_ignores_a_changed_value(rules, browser):
    browser.sign_in("ma.lan")
    # locked: the typed code is ignored and the field keeps its default
    assert _post(browser, amount="100", locked="on", code="HACKED").status_code == 302
    # not locked: the typed code stands
    assert _post(browser, amount="100", code="C-778").status_code == 302
    # not locked and left blank: the default
    assert _post(browser, amount="100").status_code == 302
    assert [(c["locked"], c["code"]) for c in _claims(rules)] == [
        (True, "C-001"),
        (False, "C-778"),
        (False, "C-001"),
    ]


def test_defaults_apply_on_the_server_to_what_the_page_left_blank(site, rules, browser):
    app, _service = site
    browser.sign_in("ma.lan")
    answer = _post(browser, amount="100", **{"lines-0-item": "出租车", "lines-0-price": "35"})
    assert answer.status_code == 302
    [claim] = _claims(rules)
    assert claim["kind"] == "meal"
    # TODAY() on the web app's clock (the test service's clock is fixed elsewhere)
    assert claim["claim_date"] == app.extensions["lowcode_service"].today()
    assert [(r["item"], r["qty"], r["subtotal"]) for r in claim["lines"]] == [
        ("出租车", 1, Decimal("35.00"))
    ]


def test_the_purchase_reason_is_required_when_urgent(site, browser):
    _app, service = site
    admin = Actor("admin")
    supplier = service.create_record(admin, "purchase", "supplier", {"name": "杭州云栖包装"})
    product = service.create_record(
        admin, "purchase", "product", {"sku": "BOX", "name": "纸箱", "price": "19.99"}
    )
    data = {
        "action": "submit",
        "supplier": str(supplier.id),
        "needed_by": "2027-01-15",
        "lines-0-product": str(product.id),
        "lines-0-qty": "3",
        "urgent": "on",
    }
    browser.sign_in("ma.lan")
    browser.get("/f/purchase/purchase_request/new")
    answer = browser.post("/f/purchase/purchase_request/new", data)
    assert answer.status_code == 200
    assert re.search(
        r'id="f-reason" name="reason"[^>]*></textarea>\s*'
        r'<div class="invalid-feedback d-block">“加急原因” 为必填项</div>',
        answer.get_data(as_text=True),
    )
    assert service.query_records(admin, "purchase", "purchase_request").total == 0
    answer = browser.post("/f/purchase/purchase_request/new", {**data, "reason": "客户明天到访"})
    assert answer.status_code == 302
    [found] = service.query_records(admin, "purchase", "purchase_request").items
    assert (found.status, found.values["reason"]) == ("in_approval", "客户明天到访")
