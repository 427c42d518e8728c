"""CHANNEL_DOMAIN C1 (tier price lookup) through a real app, on SQLite and PostgreSQL.

The app is tests/scenarios/price_lookup_app.yaml: price-list lines are rows of the
reference form ``price_entry``; an order line's unit price is ``MATCH("line_price")``,
the best row for the SKU, the dealer's grade and region, the quantity and the order date
(end dates inclusive). Also: the tie check on writing a price line (CHANNEL_DOMAIN D5),
the listing of ties in existing data, and ``lock_when``.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from engine.definitions import load_app_text
from engine.errors import RecordValidationError
from engine.service import SYSTEM_ACTOR, Actor

APP = Path(__file__).with_name("price_lookup_app.yaml")
CLERK = Actor("li.na")
CLERK_EN = Actor("li.na", locale="en")
BASE = {"P-1001": "240.00", "P-1002": "180.00", "P-2001": "288.00", "P-3001": "114.50"}
#: list code -> (grade, region, factor, from, to)
LISTS = {
    "PL-ALL": (None, None, "0.95"),
    "PL-B": ("B", None, "0.90"),
    "PL-A": ("A", None, "0.85"),
}


def _price(base: str, factor: str) -> str:
    return str((Decimal(base) * Decimal(factor)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def _entry(service, list_code, sku, price, *, grade=None, region=None, min_qty=1, **dates):
    data = {
        "list_code": list_code,
        "sku": sku,
        "grade": grade,
        "region": region,
        "min_qty": min_qty,
        "valid_from": dates.get("valid_from", "2025-01-01"),
        "valid_to": dates.get("valid_to", "2025-12-31"),
        "state": dates.get("state", "active"),
        "unit_price": price,
    }
    return service.create_record(CLERK, "pricing_demo", "price_entry", data)


@pytest.fixture
def service(make_service):
    """The pricing app with CHANNEL_DOMAIN section C's dealers and price lists."""
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP.read_text(encoding="utf-8")))
    dealers = {
        "D001": ("杭州恒达商贸有限公司", "B", "ZJ"),
        "D002": ("宁波甬达贸易有限公司", "A", "ZJ"),
        "D003": ("广州粤丰商贸有限公司", "C", "GD"),
    }
    service.dealer_ids = {}
    for code, (name, grade, region) in dealers.items():
        data = {"code": code, "name": name, "grade": grade, "region": region}
        created = service.create_record(CLERK, "pricing_demo", "dealer", data)
        service.dealer_ids[code] = created.id
    service.entries = {}
    for list_code, (grade, _region, factor) in LISTS.items():
        for sku, base in BASE.items():
            created = _entry(service, list_code, sku, _price(base, factor), grade=grade)
            service.entries[(list_code, sku)] = created.id
    _entry(service, "PL-B", "P-1002", "157.00", grade="B", min_qty=100)
    _entry(
        service,
        "PL-B-ZJ",
        "P-1001",
        "210.00",
        grade="B",
        region="ZJ",
        valid_from="2025-04-01",
        valid_to="2025-06-30",
    )
    return service


def _order(service, dealer, order_date, *lines, actor=CLERK):
    data = {
        "dealer": service.dealer_ids[dealer],
        "order_date": order_date,
        "lines": [{"sku": sku, "qty": qty} for sku, qty in lines],
    }
    return service.create_record(actor, "pricing_demo", "sales_order", data)


def test_the_fixture_prices_match_section_c(service):
    expected = {
        ("PL-ALL", "P-1001"): "228.00",
        ("PL-B", "P-1001"): "216.00",
        ("PL-A", "P-1001"): "204.00",
        ("PL-B", "P-1002"): "162.00",
        ("PL-A", "P-3001"): "97.33",  # 97.325 half-up
    }
    for key, price in expected.items():
        stored = service.get_record(CLERK, "pricing_demo", "price_entry", service.entries[key])
        assert stored.values["unit_price"] == Decimal(price)


@pytest.mark.parametrize(
    ("dealer", "sku", "day", "qty", "price"),
    [
        ("D001", "P-1001", "2025-05-20", 50, "210.00"),  # PL-B-ZJ: grade + deeper region
        ("D001", "P-1001", "2025-06-30", 50, "210.00"),  # end date inclusive
        ("D001", "P-1001", "2025-07-01", 50, "216.00"),  # PL-B
        ("D001", "P-1002", "2025-05-20", 120, "157.00"),  # quantity break from 100
        ("D001", "P-1002", "2025-05-20", 95, "162.00"),
        ("D003", "P-1001", "2025-05-20", 50, "228.00"),  # PL-ALL
        ("D002", "P-3001", "2025-05-20", 10, "97.33"),  # PL-A, 97.325 half-up
    ],
)
def test_c1_each_line_gets_the_best_matching_price(service, dealer, sku, day, qty, price):
    order = _order(service, dealer, day, (sku, qty))
    line = order.values["lines"][0]
    assert line["unit_price"] == Decimal(price)
    assert line["amount"] == Decimal(price) * qty


def test_c1_lines_of_one_order_are_priced_each_by_its_own_match(service):
    order = _order(service, "D001", "2025-05-20", ("P-1001", 50), ("P-1002", 120), ("P-1002", 95))
    prices = [line["unit_price"] for line in order.values["lines"]]
    assert prices == [Decimal("210.00"), Decimal("157.00"), Decimal("162.00")]
    assert order.values["goods_amount"] == Decimal("44730.00")  # 10,500 + 18,840 + 15,390


def test_c1_a_quantity_not_a_multiple_of_5_is_refused_with_the_documents_message(service):
    with pytest.raises(RecordValidationError) as caught:
        _order(service, "D001", "2025-05-20", ("P-1001", 12))
    [error] = caught.value.errors
    assert (error.field, error.row, error.code) == ("lines.qty", 1, "validation")
    assert error.message == "第 1 行：订货数量须为5的倍数"


def test_no_matching_price_is_the_lookups_error_on_the_line(service):
    with pytest.raises(RecordValidationError) as caught:
        _order(service, "D001", "2025-05-20", ("P-1001", 50), ("P-9999", 10))
    [error] = caught.value.errors
    assert (error.field, error.row, error.code) == ("lines.unit_price", 2, "no_match")
    assert error.message == "第 2 行：该商品暂无适用价格"
    with pytest.raises(RecordValidationError) as caught:
        _order(service, "D001", "2026-01-02", ("P-1001", 50), actor=CLERK_EN)
    assert caught.value.errors[0].message == "Row 1: No price applies to this product"


def test_a_draft_price_line_is_not_used(service):
    _entry(
        service, "PL-B-ZJ2", "P-1001", "200.00", grade="B", region="ZJ", min_qty=50, state="draft"
    )
    order = _order(service, "D001", "2025-05-20", ("P-1001", 50))
    assert order.values["lines"][0]["unit_price"] == Decimal("210.00")


def test_a_price_line_that_would_tie_is_refused_naming_both(service):
    first = service.entries[("PL-B", "P-1001")]
    with pytest.raises(RecordValidationError) as caught:
        _entry(service, "PL-B2", "P-1001", "215.00", grade="B", valid_from="2025-07-01")
    [error] = caught.value.errors
    assert error.code == "tie"
    assert error.message.startswith("#")
    assert f"与 #{first} PL-B P-1001 重叠" in error.message
    # a draft does not count; activating it is the write that is refused
    draft = _entry(service, "PL-B2", "P-1001", "215.00", grade="B", state="draft")
    with pytest.raises(RecordValidationError) as caught:
        service.update_record(CLERK, "pricing_demo", "price_entry", draft.id, {"state": "active"})
    assert (
        f"#{draft.id} PL-B2 P-1001 与 #{first} PL-B P-1001 重叠" in caught.value.errors[0].message
    )
    # not overlapping in time: no tie (PL-B ends 2025-12-31, inclusive)
    later = _entry(
        service, "PL-B2", "P-1001", "220.00", grade="B", valid_from="2026-01-01", valid_to=None
    )
    assert later.values["valid_to"] is None
    with pytest.raises(RecordValidationError):
        _entry(
            service,
            "PL-B3",
            "P-1001",
            "221.00",
            grade="B",
            valid_from="2025-12-31",
            valid_to="2025-12-31",
        )


def test_an_active_price_line_is_locked_and_points_to_a_new_version(service):
    entry = service.entries[("PL-A", "P-1001")]
    with pytest.raises(RecordValidationError) as caught:
        service.update_record(CLERK, "pricing_demo", "price_entry", entry, {"unit_price": "1.00"})
    [error] = caught.value.errors
    assert error.code == "locked"
    assert "新版本" in error.message
    with pytest.raises(RecordValidationError) as caught:
        service.update_record(CLERK_EN, "pricing_demo", "price_entry", entry, {"state": "draft"})
    assert "new version" in caught.value.errors[0].message


def test_ties_in_existing_data_are_listed(make_service):
    """Rows written before the lookup was declared are listed by ``lookups.ties``."""
    text = APP.read_text(encoding="utf-8")
    head, lookups = text.split("lookups:\n")
    before = head.replace("""'MATCH("line_price")'""", "'0'")
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(before))
    a = _entry(service, "PL-X", "P-1001", "1.00", grade="B")
    b = _entry(service, "PL-Y", "P-1001", "2.00", grade="B", valid_from="2025-12-31")
    _entry(service, "PL-Z", "P-1001", "3.00", grade="A")
    upgraded = head.replace("version: 1.0.0", "version: 1.1.0") + "lookups:\n" + lookups
    service.install_app(SYSTEM_ACTOR, load_app_text(upgraded))
    ties = service.lookups.ties(CLERK, "pricing_demo", "price_entry")
    assert [(t.lookup_form, t.lookup, t.first_id, t.second_id) for t in ties] == [
        ("sales_order", "line_price", a.id, b.id)
    ]
    assert (ties[0].first_title, ties[0].second_title) == ("PL-X P-1001", "PL-Y P-1001")
