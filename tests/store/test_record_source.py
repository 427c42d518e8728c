"""The record source: every read of form rows, live rows only, relations included."""

from __future__ import annotations

from datetime import date

import pytest

from engine.service import Actor, NotFoundError

ZHANG = Actor("zhang.wei")


def _request(service, supplier_id: int, day: int) -> object:
    return service.create_record(
        ZHANG,
        "purchase",
        "purchase_request",
        {"supplier": supplier_id, "needed_by": date(2026, 2, day).isoformat()},
    )


def test_a_relation_filter_does_not_match_a_deleted_related_record(purchase):
    acme = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    bolt = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Bolt"})
    _request(purchase, acme.id, 1)
    _request(purchase, bolt.id, 2)
    purchase.delete_record(ZHANG, "purchase", "supplier", acme.id)

    named = purchase.query_records(
        ZHANG, "purchase", "purchase_request", filters=[("supplier.name", "eq", "Acme")]
    )
    assert named.total == 0
    blank = purchase.query_records(
        ZHANG, "purchase", "purchase_request", filters=[("supplier.name", "blank")]
    )
    assert blank.total == 1  # the request whose supplier is gone
    sorted_ok = purchase.query_records(
        ZHANG, "purchase", "purchase_request", filters=[("supplier.name", "startswith", "B")]
    )
    assert [r.values["supplier"] for r in sorted_ok.items] == [bolt.id]


def test_relation_display_values_skip_deleted_records(purchase):
    acme = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    bolt = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Bolt"})
    purchase.delete_record(ZHANG, "purchase", "supplier", bolt.id)
    shown = purchase.records.relation_display(
        ZHANG, "purchase", "purchase_request", "supplier", [acme.id, bolt.id, 999]
    )
    assert shown == {acme.id: "Acme"}


def test_relation_candidates_are_live_records_matching_the_search(purchase):
    for name in ("Acme Paper", "Acme Tape", "Bolt Works"):
        purchase.create_record(ZHANG, "purchase", "supplier", {"name": name})
    gone = purchase.query_records(ZHANG, "purchase", "supplier", search="Tape").items[0]
    purchase.delete_record(ZHANG, "purchase", "supplier", gone.id)
    found = purchase.records.relation_candidates(
        ZHANG, "purchase", "purchase_request", "supplier", search="acme"
    )
    assert [title for _, title in found] == ["Acme Paper"]
    everyone = purchase.records.relation_candidates(
        ZHANG, "purchase", "purchase_request", "supplier", limit=2
    )
    assert [title for _, title in everyone] == ["Acme Paper", "Bolt Works"]


def test_a_field_that_is_no_relation_is_named(purchase):
    with pytest.raises(NotFoundError, match="no relation field 'note'"):
        purchase.records.relation_candidates(ZHANG, "purchase", "purchase_request", "note")


def test_a_deleted_related_record_cannot_be_chosen(purchase):
    acme = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    purchase.delete_record(ZHANG, "purchase", "supplier", acme.id)
    from engine.service import RecordValidationError

    with pytest.raises(RecordValidationError) as refused:
        _request(purchase, acme.id, 3)
    assert refused.value.errors[0].field == "supplier"


def test_an_id_no_bigint_holds_is_never_sent_to_the_driver(purchase):
    """The store's own guard, under the service's argument checks: such an id is absent.

    Sent, 2**63 overflows SQLite's driver and is "bigint out of range" on PostgreSQL,
    and 1.6 is rounded to 2 by PostgreSQL (and not found by SQLite).
    """
    from engine.store.records import ALL_ROWS

    acme = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Bolt"})
    with purchase._context.transactions.read("purchase") as tx:
        source = tx.source("supplier", ALL_ROWS)
        for record_id in (2**63, -(2**63) - 1, 1.6, "2", True, None):
            with pytest.raises(NotFoundError, match="has no record"):
                source.row(record_id)
            assert source.history(record_id) == []
            assert source.related_record("supplier", record_id) is None
        assert tx.source("purchase_request", ALL_ROWS).display_values(
            "supplier", [2**63, 1.6, "1", acme.id]
        ) == {acme.id: "Acme"}
