"""Creating, reading, updating and deleting records through the service."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.errors import ConflictError, NotFoundError, RecordValidationError
from engine.service import Actor

ZHANG = Actor("zhang.wei", frozenset({"purchasing"}), "sales")
LI = Actor("li.na")


def _supplier(service, name="Acme"):
    return service.create_record(ZHANG, "purchase", "supplier", {"name": name})


def _request(service, supplier_id, **extra):
    data = {
        "supplier": supplier_id,
        "needed_by": "2026-01-10",
        "lines": [{"item": "paper", "qty": 3, "price": "12.35"}],
        **extra,
    }
    return service.create_record(ZHANG, "purchase", "purchase_request", data)


def test_create_record_stores_computed_money_and_serial_and_returns_it(purchase):
    supplier = _supplier(purchase)
    record = _request(purchase, supplier.id)
    assert record.id == 1
    assert record.version == 1
    assert record.status == "active"
    assert record.values["serial"] == "PR-20260105-0001"
    assert record.title == "PR-20260105-0001"
    assert record.values["needed_by"] == date(2026, 1, 10)
    line = record.values["lines"][0]
    assert line["price"] == Decimal("12.35")
    assert line["amount"] == Decimal("37.05")
    assert isinstance(line["id"], int)
    assert record.values["total"] == Decimal("37.05")
    assert record.created_by == "zhang.wei"
    assert record.created_at.utcoffset().total_seconds() == 8 * 3600


def test_get_record_reads_back_the_same_values(purchase):
    created = _request(purchase, _supplier(purchase).id)
    fetched = purchase.get_record(LI, "purchase", "purchase_request", created.id)
    assert fetched.values == created.values
    assert fetched.to_json()["values"]["total"] == "37.05"
    assert fetched.to_json()["values"]["lines"][0]["qty"] == 3


def test_create_record_with_bad_input_raises_every_error_and_writes_nothing(purchase):
    with pytest.raises(RecordValidationError) as caught:
        purchase.create_record(ZHANG, "purchase", "purchase_request", {"needed_by": "soon"})
    fields = {e.field for e in caught.value.errors}
    assert {"supplier", "needed_by"} <= fields
    assert purchase.query_records(ZHANG, "purchase", "purchase_request").total == 0


def test_relation_to_a_missing_record_is_refused(purchase):
    with pytest.raises(RecordValidationError) as caught:
        _request(purchase, 999)
    assert caught.value.errors[0].field == "supplier"


def test_update_record_changes_values_and_bumps_the_version(purchase, clock):
    record = _request(purchase, _supplier(purchase).id)
    clock.set(2026, 1, 6, 9, 30)
    updated = purchase.update_record(
        LI,
        "purchase",
        "purchase_request",
        record.id,
        {"note": "rush", "lines": [{"id": record.values["lines"][0]["id"], "qty": 10}]},
        expected_version=1,
    )
    assert updated.version == 2
    assert updated.values["note"] == "rush"
    assert updated.values["total"] == Decimal("123.50")
    assert updated.values["lines"][0]["id"] == record.values["lines"][0]["id"]
    assert updated.values["serial"] == "PR-20260105-0001"
    assert updated.updated_by == "li.na"
    assert updated.updated_at.day == 6


def test_update_with_a_stale_version_raises_conflict_naming_who_changed_it(purchase):
    record = _request(purchase, _supplier(purchase).id)
    purchase.update_record(LI, "purchase", "purchase_request", record.id, {"note": "a"})
    with pytest.raises(ConflictError, match=r"已被 li\.na 于 2026-01-05 10:00:00 修改.*重新打开"):
        purchase.update_record(
            ZHANG, "purchase", "purchase_request", record.id, {"note": "b"}, expected_version=1
        )
    english = Actor("zhang.wei", locale="en")
    with pytest.raises(ConflictError, match=r"changed by li\.na at 2026-01-05 10:00:00.*reload"):
        purchase.update_record(
            english, "purchase", "purchase_request", record.id, {"note": "b"}, expected_version=1
        )
    assert (
        purchase.get_record(ZHANG, "purchase", "purchase_request", record.id).values["note"] == "a"
    )


def test_replacing_sub_table_rows_removes_the_rows_left_out(purchase):
    record = _request(purchase, _supplier(purchase).id)
    updated = purchase.update_record(
        ZHANG,
        "purchase",
        "purchase_request",
        record.id,
        {
            "lines": [
                {"item": "ink", "qty": 1, "price": "5"},
                {"item": "pens", "qty": 2, "price": "1.5"},
            ]
        },
    )
    assert [r["item"] for r in updated.values["lines"]] == ["ink", "pens"]
    assert updated.values["total"] == Decimal("8.00")
    assert record.values["lines"][0]["id"] not in {r["id"] for r in updated.values["lines"]}


def test_deleted_record_is_gone_from_reads_and_lists_but_keeps_history(purchase):
    record = _request(purchase, _supplier(purchase).id)
    deleted = purchase.delete_record(ZHANG, "purchase", "purchase_request", record.id)
    assert deleted.version == 2
    with pytest.raises(NotFoundError, match="no record 1"):
        purchase.get_record(ZHANG, "purchase", "purchase_request", record.id)
    assert purchase.query_records(ZHANG, "purchase", "purchase_request").total == 0
    history = purchase.record_history(ZHANG, "purchase", "purchase_request", record.id)
    assert [h.action for h in history] == ["created", "deleted"]


def test_history_holds_full_snapshots_and_diffs(purchase):
    record = _request(purchase, _supplier(purchase).id)
    purchase.update_record(LI, "purchase", "purchase_request", record.id, {"note": "x"})
    first, second = purchase.record_history(ZHANG, "purchase", "purchase_request", record.id)
    assert first.revision_no == 1 and first.actor == "zhang.wei"
    assert first.data["total"] == "37.05"
    assert first.data["lines"][0]["id"] == record.values["lines"][0]["id"]
    assert second.changes == {"note": {"old": None, "new": "x"}}
    assert second.data["note"] == "x"
    assert second.actor == "li.na"


def test_unknown_form_is_reported_with_a_suggestion(purchase):
    with pytest.raises(NotFoundError, match="did you mean 'supplier'"):
        purchase.create_record(ZHANG, "purchase", "suppliers", {"name": "x"})
