"""Unique rules: checked before writing with a message naming the clash; the index is the backstop."""

from __future__ import annotations

import pytest

from engine.errors import RecordValidationError
from engine.service import Actor, writer

ZHANG = Actor("zhang.wei", locale="en")
WANG = Actor("wang.fang")  # default locale zh-CN


def _request(service, supplier_id, needed_by="2026-01-10"):
    return service.create_record(
        ZHANG, "purchase", "purchase_request", {"supplier": supplier_id, "needed_by": needed_by}
    )


def test_repeating_a_unique_combination_names_the_record_that_has_it(purchase):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    _request(purchase, supplier.id)
    with pytest.raises(RecordValidationError) as caught:
        _request(purchase, supplier.id)
    (error,) = caught.value.errors
    assert error.code == "unique"
    assert error.field == "supplier"
    assert error.message == "unique: supplier + needed_by already used by PR-20260105-0001"


def test_the_clash_message_is_in_the_actors_language(purchase):
    purchase.create_record(WANG, "purchase", "supplier", {"name": "Acme"})
    with pytest.raises(RecordValidationError) as caught:
        purchase.create_record(WANG, "purchase", "supplier", {"name": "Acme"})
    assert [e.message for e in caught.value.errors] == ["唯一性：name 已被 Acme 使用"]


def test_a_single_field_unique_rule_applies_on_update_too(purchase):
    purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    other = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Beta"})
    with pytest.raises(RecordValidationError, match="unique: name already used by Acme"):
        purchase.update_record(ZHANG, "purchase", "supplier", other.id, {"name": "Acme"})
    same = purchase.update_record(ZHANG, "purchase", "supplier", other.id, {"name": "Beta"})
    assert same.values["name"] == "Beta"


def test_a_deleted_record_frees_its_unique_values(purchase):
    first = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    purchase.delete_record(ZHANG, "purchase", "supplier", first.id)
    again = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    assert again.id != first.id


def test_a_race_past_the_check_is_caught_by_the_index_with_the_same_message(purchase, monkeypatch):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    _request(purchase, supplier.id)
    real_check = writer.check_unique
    calls = []

    def check_that_misses_once(ctx, values, record_id, *status):
        calls.append(record_id)
        if len(calls) > 1:  # the backstop's re-check sees the committed clash
            real_check(ctx, values, record_id, *status)

    monkeypatch.setattr(writer, "check_unique", check_that_misses_once)
    with pytest.raises(RecordValidationError, match="already used by PR-20260105-0001"):
        _request(purchase, supplier.id)
    monkeypatch.setattr(writer, "check_unique", real_check)
    assert purchase.query_records(ZHANG, "purchase", "purchase_request").total == 1
