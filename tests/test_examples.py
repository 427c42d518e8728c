"""The example apps load cleanly and behave as their comments promise, on both databases."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.definitions import check_app, load_app
from engine.errors import RecordValidationError
from engine.service import SYSTEM_ACTOR, Actor

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BUYER = Actor("zhang.wei", frozenset({"purchasing"}), "purchasing")


@pytest.mark.parametrize("folder", ["leave_request", "purchase_request"])
def test_example_loads_without_errors(folder: str) -> None:
    assert check_app(EXAMPLES / folder) == []


def test_purchase_example_declares_the_forms_the_demo_uses() -> None:
    app = load_app(EXAMPLES / "purchase_request")
    assert [f.key for f in app.forms] == [
        "monthly_spend",
        "product",
        "purchase_order",
        "purchase_request",
        "supplier",
    ]
    request = app.form("purchase_request")
    assert request.field("lines").field("amount").option("expr") == "qty * price"
    assert request.field("supplier").option("to") == "supplier"


@pytest.fixture
def examples(make_service):
    service = make_service()
    for folder in ("leave_request", "purchase_request"):
        service.install_app(SYSTEM_ACTOR, load_app(EXAMPLES / folder))
    return service


def _catalogue(service):
    supplier = service.create_record(
        BUYER, "purchase", "supplier", {"name": "杭州云栖包装", "mobile": "+86 138-0571-0001"}
    )
    box = service.create_record(
        BUYER, "purchase", "product", {"sku": "BOX-A4", "name": "A4 纸箱", "price": "19.99"}
    )
    tape = service.create_record(
        BUYER,
        "purchase",
        "product",
        {"sku": "TAPE-48", "name": "封箱胶带", "unit": "卷", "price": "3.50"},
    )
    return supplier, box, tape


def test_purchase_request_copies_prices_and_computes_amounts(examples) -> None:
    supplier, box, tape = _catalogue(examples)
    assert supplier.values["mobile"] == "13805710001"
    record = examples.create_record(
        BUYER,
        "purchase",
        "purchase_request",
        {
            "supplier": supplier.id,
            "needed_by": "2026-01-12",
            "lines": [{"product": box.id, "qty": 3}, {"product": tape.id, "qty": 10}],
        },
    )
    lines = record.values["lines"]
    assert [(r["unit"], r["price"], r["amount"]) for r in lines] == [
        ("箱", Decimal("19.99"), Decimal("59.97")),
        ("卷", Decimal("3.50"), Decimal("35.00")),
    ]
    assert record.values["total"] == Decimal("94.97")
    assert record.values["serial"] == "PR-20260105-0001"
    assert record.values["applicant"] == "zhang.wei"
    assert record.title == "PR-20260105-0001 杭州云栖包装 ¥94.97"


def test_a_later_price_change_leaves_saved_lines_alone(examples) -> None:
    supplier, box, _ = _catalogue(examples)
    record = examples.create_record(
        BUYER,
        "purchase",
        "purchase_request",
        {
            "supplier": supplier.id,
            "needed_by": "2026-01-12",
            "lines": [{"product": box.id, "qty": 2}],
        },
    )
    examples.update_record(BUYER, "purchase", "product", box.id, {"price": "25.00"})
    updated = examples.update_record(
        BUYER, "purchase", "purchase_request", record.id, {"urgent": True, "reason": "旺季备货"}
    )
    assert updated.values["lines"][0]["price"] == Decimal("19.99")
    assert updated.values["total"] == Decimal("39.98")
    assert updated.version == 2


def test_serial_numbers_restart_each_day(examples, clock) -> None:
    supplier, box, _ = _catalogue(examples)

    def request(needed_by: str) -> str:
        data = {
            "supplier": supplier.id,
            "needed_by": needed_by,
            "lines": [{"product": box.id, "qty": 1}],
        }
        return examples.create_record(BUYER, "purchase", "purchase_request", data).values["serial"]

    assert [request("2026-01-20"), request("2026-01-21")] == [
        "PR-20260105-0001",
        "PR-20260105-0002",
    ]
    clock.set(2026, 1, 6, 9, 0)
    assert request("2026-01-22") == "PR-20260106-0001"


def test_a_bad_request_reports_every_problem_and_saves_nothing(examples) -> None:
    supplier, box, _ = _catalogue(examples)
    bad = {
        "supplier": supplier.id,
        "needed_by": "2026-01-04",
        "lines": [{"product": box.id, "qty": 0}],
        "urgent": True,
    }
    with pytest.raises(RecordValidationError) as caught:
        examples.create_record(BUYER, "purchase", "purchase_request", bad)
    problems = {(e.field, e.row, e.code) for e in caught.value.errors}
    assert problems == {
        ("lines.qty", 1, "min"),
        ("reason", None, "required"),
        ("needed_by", None, "validation"),
    }
    assert examples.query_records(BUYER, "purchase", "purchase_request").total == 0


def test_the_same_supplier_and_day_twice_names_the_first_request(examples) -> None:
    supplier, box, _ = _catalogue(examples)
    data = {
        "supplier": supplier.id,
        "needed_by": "2026-01-12",
        "lines": [{"product": box.id, "qty": 1}],
    }
    examples.create_record(BUYER, "purchase", "purchase_request", data)
    with pytest.raises(RecordValidationError) as caught:
        examples.create_record(BUYER, "purchase", "purchase_request", data)
    (error,) = caught.value.errors
    assert error.code == "unique"
    assert "PR-20260105-0001" in error.message


def test_a_large_request_needs_a_quotation(examples) -> None:
    supplier, box, _ = _catalogue(examples)
    data = {
        "supplier": supplier.id,
        "needed_by": "2026-01-12",
        "lines": [{"product": box.id, "qty": 3000}],
    }
    with pytest.raises(RecordValidationError) as caught:
        examples.create_record(BUYER, "purchase", "purchase_request", data)
    assert [(e.field, e.code) for e in caught.value.errors] == [("quote", "required")]


def test_leave_request_counts_days_inclusively(examples) -> None:
    record = examples.create_record(
        BUYER,
        "leave",
        "leave_request",
        {
            "leave_type": "年假",
            "start_date": "2026-01-07",
            "end_date": "2026-01-09",
            "reason": "探亲",
        },
    )
    assert record.values["leave_type"] == "annual"
    assert record.values["days"] == 3
    assert record.values["start_date"] == date(2026, 1, 7)
    assert record.values["department"] == "purchasing"


def test_leave_request_rejects_a_last_day_before_the_first(examples) -> None:
    data = {
        "leave_type": "sick",
        "start_date": "2026-01-09",
        "end_date": "2026-01-07",
        "reason": "x",
    }
    with pytest.raises(RecordValidationError) as caught:
        examples.create_record(BUYER, "leave", "leave_request", data)
    assert [(e.field, e.code) for e in caught.value.errors] == [("end_date", "validation")]


def test_listing_filters_on_the_supplier_name_and_sorts_by_total(examples) -> None:
    supplier, box, tape = _catalogue(examples)
    other = examples.create_record(BUYER, "purchase", "supplier", {"name": "Suzhou Paper"})
    for index, (who, product, qty) in enumerate(
        [(supplier, box, 1), (supplier, tape, 40), (other, box, 9)]
    ):
        data = {
            "supplier": who.id,
            "needed_by": f"2026-01-{12 + index}",
            "lines": [{"product": product.id, "qty": qty}],
        }
        examples.create_record(BUYER, "purchase", "purchase_request", data)
    page = examples.query_records(
        BUYER,
        "purchase",
        "purchase_request",
        filters=[("supplier.name", "startswith", "杭州")],
        sort=["-total"],
    )
    assert [r.values["total"] for r in page.items] == [Decimal("140.00"), Decimal("19.99")]
    assert page.total == 2
