"""Serial numbers: allocated in the writing transaction, per period, unique and gap-free."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.errors import RecordValidationError
from engine.service import Actor

ZHANG = Actor("zhang.wei")


def _request(service, supplier_id, needed_by):
    return service.create_record(
        ZHANG, "purchase", "purchase_request", {"supplier": supplier_id, "needed_by": needed_by}
    )


def test_serial_restarts_each_day_in_shanghai_time(purchase, clock):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    first = _request(purchase, supplier.id, "2026-02-01")
    second = _request(purchase, supplier.id, "2026-02-02")
    clock.set(2026, 1, 6, 0, 30)  # 16:30 UTC on the 5th, already the 6th in Shanghai
    third = _request(purchase, supplier.id, "2026-02-03")
    assert [r.values["serial"] for r in (first, second, third)] == [
        "PR-20260105-0001",
        "PR-20260105-0002",
        "PR-20260106-0001",
    ]


def test_a_rejected_record_gives_its_number_back(purchase):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    _request(purchase, supplier.id, "2026-02-01")
    with pytest.raises(RecordValidationError):
        _request(purchase, supplier.id, "2026-02-01")  # unique clash after numbering
    assert _request(purchase, supplier.id, "2026-02-02").values["serial"] == "PR-20260105-0002"


def test_concurrent_creates_get_distinct_gap_free_serials(purchase):
    suppliers = [
        purchase.create_record(ZHANG, "purchase", "supplier", {"name": f"S{i}"}).id
        for i in range(8)
    ]

    def create_many(worker: int) -> list[str]:
        return [
            _request(purchase, suppliers[worker], f"2026-03-{n + 1:02d}").values["serial"]
            for n in range(25)
        ]

    with ThreadPoolExecutor(max_workers=8) as pool:
        serials = [s for batch in pool.map(create_many, range(8)) for s in batch]
    assert len(serials) == 200
    assert sorted(serials) == [f"PR-20260105-{n:04d}" for n in range(1, 201)]


# -- numbers cannot be forged ---------------------------------------------------------

SERIAL_TABLE = "f_purchase_purchase_request"


def _codes(caught) -> list[tuple[str | None, int | None, str]]:
    return [(e.field, e.row, e.code) for e in caught.value.errors]


def test_a_client_sent_serial_is_refused_on_create_and_nothing_is_written(purchase):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    data = {"supplier": supplier.id, "needed_by": "2026-02-01", "serial": "PR-20260105-0001"}
    with pytest.raises(RecordValidationError) as caught:
        purchase.create_record(ZHANG, "purchase", "purchase_request", data)
    assert _codes(caught) == [("serial", None, "serial")]
    assert caught.value.errors[0].message == "“serial” 由系统自动编号，请不要填写"
    assert purchase.query_records(ZHANG, "purchase", "purchase_request").total == 0
    # the counter did not move: the first real record still gets number 1
    assert _request(purchase, supplier.id, "2026-02-01").values["serial"] == "PR-20260105-0001"


def test_a_duplicate_serial_cannot_be_sent(purchase):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    first = _request(purchase, supplier.id, "2026-02-01")
    data = {"supplier": supplier.id, "needed_by": "2026-02-02", "serial": first.values["serial"]}
    with pytest.raises(RecordValidationError) as caught:
        purchase.create_record(ZHANG, "purchase", "purchase_request", data, source="web")
    assert _codes(caught) == [("serial", None, "serial")]
    # an import does not help when the field does not keep imported numbers
    with pytest.raises(RecordValidationError):
        purchase.create_record(ZHANG, "purchase", "purchase_request", data, source="import")


def test_an_update_may_send_the_stored_serial_back_but_not_change_it(purchase):
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    record = _request(purchase, supplier.id, "2026-02-01")
    number = record.values["serial"]
    same = purchase.update_record(
        ZHANG, "purchase", "purchase_request", record.id, {"serial": number, "note": "ok"}
    )
    assert (same.values["serial"], same.values["note"]) == (number, "ok")
    for forged in ("PR-20260105-0099", None, ""):
        with pytest.raises(RecordValidationError) as caught:
            purchase.update_record(
                ZHANG, "purchase", "purchase_request", record.id, {"serial": forged}
            )
        assert _codes(caught) == [("serial", None, "serial")]
        assert number in caught.value.errors[0].message
    stored = purchase.get_record(ZHANG, "purchase", "purchase_request", record.id)
    assert stored.values["serial"] == number


TICKETS = """
app: desk
version: 1.0.0
name: Desk
---
form: ticket
name: Ticket
fields:
  number:  {type: serial, pattern: "T-{0000}", keep_imported: true}
  subject: {type: text}
"""


def test_an_import_keeps_legacy_numbers_only_where_the_field_allows_it(make_service):
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR

    desk = make_service()
    desk.install_app(SYSTEM_ACTOR, load_app_text(TICKETS))
    legacy = desk.create_record(
        ZHANG, "desk", "ticket", {"number": "OLD-42", "subject": "a"}, source="import"
    )
    assert legacy.values["number"] == "OLD-42"
    fresh = desk.create_record(ZHANG, "desk", "ticket", {"subject": "b"}, source="import")
    assert fresh.values["number"] == "T-0001"
    with pytest.raises(RecordValidationError) as caught:
        desk.create_record(ZHANG, "desk", "ticket", {"number": "OLD-43"})  # not an import
    assert _codes(caught) == [("number", None, "serial")]


def test_an_imported_number_that_repeats_one_names_the_record(make_service):
    from engine.definitions import load_app_text
    from engine.service import SYSTEM_ACTOR

    desk = make_service()
    desk.install_app(SYSTEM_ACTOR, load_app_text(TICKETS))
    desk.create_record(
        ZHANG, "desk", "ticket", {"number": "OLD-42", "subject": "a"}, source="import"
    )
    with pytest.raises(RecordValidationError) as caught:
        desk.create_record(
            ZHANG, "desk", "ticket", {"number": "OLD-42", "subject": "b"}, source="import"
        )
    assert _codes(caught) == [("number", None, "unique")]
    assert desk.query_records(ZHANG, "desk", "ticket").total == 1


def _indexes(service, table: str) -> dict[str, bool]:
    import sqlalchemy as sa

    with service._database.read() as conn:
        return {i["name"]: bool(i["unique"]) for i in sa.inspect(conn).get_indexes(table)}


def test_serial_columns_have_a_unique_index_among_live_rows(purchase):
    import sqlalchemy as sa

    indexes = _indexes(purchase, SERIAL_TABLE)
    assert indexes[f"uq_{SERIAL_TABLE}_serial"] is True
    assert f"ix_{SERIAL_TABLE}_serial" not in indexes
    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    first = _request(purchase, supplier.id, "2026-02-01")
    second = _request(purchase, supplier.id, "2026-02-02")
    table = sa.table(SERIAL_TABLE, sa.column("id"), sa.column("serial"), sa.column("deleted_at"))
    forge = table.update().where(table.c.id == second.id).values(serial=first.values["serial"])
    with pytest.raises(sa.exc.IntegrityError), purchase._database.write() as conn:
        conn.execute(forge)
    # a deleted record's number does not count
    purchase.delete_record(ZHANG, "purchase", "purchase_request", first.id)
    with purchase._database.write() as conn:
        conn.execute(forge)


def test_publishing_adds_the_index_to_an_older_table_and_lists_duplicates(purchase, purchase_app):
    import sqlalchemy as sa

    from engine.errors import MigrationError
    from engine.service import SYSTEM_ACTOR

    supplier = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    records = [_request(purchase, supplier.id, f"2026-02-0{n}") for n in (1, 2, 3)]
    # the table as an older engine left it: a plain index, and a repeated number
    with purchase._database.write() as conn:
        conn.exec_driver_sql(f"DROP INDEX uq_{SERIAL_TABLE}_serial")
        conn.exec_driver_sql(f"CREATE INDEX ix_{SERIAL_TABLE}_serial ON {SERIAL_TABLE} (serial)")
        conn.exec_driver_sql(
            f"UPDATE {SERIAL_TABLE} SET serial = 'PR-20260105-0001' WHERE id = {records[2].id}"
        )
    with pytest.raises(MigrationError) as caught:
        purchase.install_app(SYSTEM_ACTOR, purchase_app)  # same content: no new version
    assert str(caught.value) == (
        "form purchase.purchase_request: existing records repeat the values of serial, "
        f"which must be unique: 'PR-20260105-0001' in 2 records (#{records[0].id}, "
        f"#{records[2].id}). Change or delete the duplicates, then publish again"
    )
    assert f"uq_{SERIAL_TABLE}_serial" not in _indexes(purchase, SERIAL_TABLE)
    with purchase._database.write() as conn:
        conn.execute(
            sa.text(f"UPDATE {SERIAL_TABLE} SET serial = 'PR-20260105-0003' WHERE id = :id"),
            {"id": records[2].id},
        )
    purchase.install_app(SYSTEM_ACTOR, purchase_app)
    assert _indexes(purchase, SERIAL_TABLE)[f"uq_{SERIAL_TABLE}_serial"] is True
    # a changed version drops the older plain index
    changed = purchase_app.form("purchase_request")
    from dataclasses import replace

    purchase.publish_form(SYSTEM_ACTOR, "purchase", replace(changed, title="{{ serial }} #"))
    assert f"ix_{SERIAL_TABLE}_serial" not in _indexes(purchase, SERIAL_TABLE)
