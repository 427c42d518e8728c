"""The write path's fast execution: DriverStatement (SQLite) and the journal sent with
COMMIT (PostgreSQL) write exactly what Core would, in the record's transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.service import SYSTEM_ACTOR, Actor
from engine.store.database import Database
from engine.store.driver import DriverStatement, defer_until_commit, first_rows, send_ahead
from engine.store.engine_tables import audit_log, outbox, record_revisions
from engine.store.rows import diff
from engine.store.types import AwareDateTime

ME = Actor("zhang.wei")


@pytest.fixture
def probe(database_url):
    database = Database(database_url)
    metadata = sa.MetaData()
    table = sa.Table(
        "fast_probe",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", AwareDateTime),
        sa.Column("amount", sa.Numeric(20, 2)),
        sa.Column("data", sa.JSON),
        sa.Column("code", sa.String(20), unique=True),
        sa.Column("flag", sa.Integer, default=7),
    )
    metadata.create_all(database.engine)
    yield database, table
    metadata.drop_all(database.engine)
    database.dispose()


def test_driver_statement_converts_values_as_core_does(probe):
    database, table = probe
    at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    row = {"at": at, "amount": Decimal("12.50"), "data": {"a": [1, "x"]}, "code": "A", "flag": 1}
    insert = DriverStatement(table.insert().returning(table.c.id))
    with database.write() as conn:
        new_id = insert.first(conn, row)[0]  # type: ignore[index]
        conn.execute(table.insert(), {**row, "code": "B"})
    with database.read() as conn:
        fast, core = conn.execute(sa.select(table).order_by(table.c.id)).all()
    assert fast.id == new_id
    assert (fast.at, fast.amount, fast.data, fast.flag) == (core.at, core.amount, core.data, 1)


def test_driver_statement_leaves_column_defaults_to_core(probe):
    database, table = probe
    with database.write() as conn:
        DriverStatement(table.insert()).run(conn, {"code": "A"})
    with database.read() as conn:
        assert conn.execute(sa.select(table.c.flag)).scalar() == 7


def test_driver_statement_raises_sqlalchemy_errors_and_rolls_back(probe):
    database, table = probe
    insert = DriverStatement(table.insert())
    with pytest.raises(sa.exc.IntegrityError), database.write() as conn:
        insert.run(conn, {"code": "A"})
        insert.run(conn, {"code": "A"})
    with database.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_deferred_statement_is_written_in_the_transaction(probe):
    database, table = probe
    insert = DriverStatement(table.insert())
    with database.write() as conn:
        deferred = defer_until_commit(conn, insert, {"code": "A", "flag": 2})
        if not deferred:
            insert.run(conn, {"code": "A", "flag": 2})
    assert deferred == (database.dialect_name == "postgresql")
    with database.read() as conn:
        assert conn.execute(sa.select(table.c.code, table.c.flag)).all() == [("A", 2)]
    # outside Database.write nothing is deferred (it could never be sent)
    with database.engine.begin() as conn:
        assert not defer_until_commit(conn, insert, {"code": "B"})


def test_a_failing_deferred_statement_rolls_the_transaction_back(probe):
    database, table = probe
    if database.dialect_name != "postgresql":
        pytest.skip("statements are deferred to COMMIT on PostgreSQL only")
    insert = DriverStatement(table.insert())
    with database.write() as conn:
        conn.execute(table.insert(), {"code": "A"})
    with pytest.raises(sa.exc.IntegrityError), database.write() as conn:
        conn.execute(table.insert(), {"code": "B"})
        assert defer_until_commit(conn, insert, {"code": "A", "flag": 1})
    with database.read() as conn:
        assert conn.execute(sa.select(table.c.code)).scalars().all() == ["A"]
    with database.write() as conn:  # the pooled connection is usable again
        conn.execute(table.insert(), {"code": "C"})


def test_a_created_record_has_its_revision_audit_entry_and_event(purchase):
    supplier = purchase.create_record(ME, "purchase", "supplier", {"name": "Acme"})
    pr = purchase.create_record(
        ME,
        "purchase",
        "purchase_request",
        {
            "supplier": supplier.id,
            "needed_by": "2026-02-01",
            "lines": [{"item": "a", "qty": 2, "price": "1.25"}, {"item": "b", "qty": 1}],
        },
    )
    assert [r["id"] for r in pr.values["lines"]] == sorted(r["id"] for r in pr.values["lines"])
    with purchase._database.read() as conn:
        revision = conn.execute(
            sa.select(record_revisions).where(
                record_revisions.c.form == "purchase_request",
                record_revisions.c.record_id == pr.id,
            )
        ).one()
        audit = conn.execute(
            sa.select(audit_log).where(
                audit_log.c.action == "record.created",
                audit_log.c.form == "purchase_request",
                audit_log.c.record_id == pr.id,
            )
        ).one()
        event = conn.execute(
            sa.select(outbox).where(
                outbox.c.idempotency_key == f"record.created:purchase.purchase_request:{pr.id}:v1"
            )
        ).one()
    assert revision.data == pr.json_values
    assert revision.at == pr.created_at and revision.actor == "zhang.wei"
    assert audit.detail["version"] == 1 and "total" in audit.detail["fields"]
    assert event.payload == {
        "app": "purchase",
        "form": "purchase_request",
        "id": pr.id,
        "version": 1,
        "form_version": 1,
        "actor": "zhang.wei",
        "changes": diff({}, pr.json_values),
    }
    assert event.attempts == 0 and event.delivered_at is None
    assert pr.values["total"] == Decimal("2.50")  # a blank price gives a blank amount


def test_child_row_ids_follow_row_order_across_statements(purchase):
    # SQLite inserts each sub-table's rows in multi-row INSERTs (50 rows each) and derives
    # the ids from the returned ``id - row_index``; they must match what is stored
    supplier = purchase.create_record(ME, "purchase", "supplier", {"name": "Acme"})

    def create(count: int):
        lines = [{"item": f"i{n}", "qty": n + 1, "price": "1.00"} for n in range(count)]
        needed_by = f"2026-03-{count % 28 + 1:02d}"  # (supplier, needed_by) is unique
        return purchase.create_record(
            ME,
            "purchase",
            "purchase_request",
            {"supplier": supplier.id, "needed_by": needed_by, "lines": lines},
        )

    first = create(3)
    purchase.update_record(ME, "purchase", "purchase_request", first.id, {"lines": []})
    for count in (1, 2, 120):  # the child ids of the first record are never handed out again
        pr = create(count)
        ids = [r["id"] for r in pr.values["lines"]]
        assert ids == sorted(set(ids)) and len(ids) == count
        stored = purchase.get_record(ME, "purchase", "purchase_request", pr.id)
        assert stored.values["lines"] == pr.values["lines"]
        assert [r["item"] for r in stored.values["lines"]] == [f"i{n}" for n in range(count)]


def test_serial_numbers_count_on_through_the_fast_path(purchase):
    supplier = purchase.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": "Acme"})
    titles = [
        purchase.create_record(
            ME,
            "purchase",
            "purchase_request",
            {"supplier": supplier.id, "needed_by": f"2026-02-0{day}", "lines": []},
        ).title
        for day in (1, 2, 3)
    ]
    assert [t[-4:] for t in titles] == ["0001", "0002", "0003"]


def test_driver_statement_reads_rows_as_core_does(probe):
    database, table = probe
    at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    row = {"at": at, "amount": Decimal("12.50"), "data": {"a": [1, "x"]}, "code": "A", "flag": 1}
    select = sa.select(table).where(table.c.code == sa.bindparam("code"))
    with database.write() as conn:
        conn.execute(table.insert(), row)
        fast = DriverStatement(select).mapping(conn, {"code": "A"})
        core = conn.execute(select, {"code": "A"}).mappings().first()
        assert DriverStatement(select).mapping(conn, {"code": "none"}) is None
    assert fast == dict(core)


def test_statements_sent_ahead_run_first_in_the_transaction(probe):
    database, table = probe
    insert = DriverStatement(table.insert().returning(table.c.id))
    count = DriverStatement(sa.select(sa.func.count()).select_from(table))
    with database.write() as conn:
        ahead = send_ahead(conn, insert, {"code": "A"})
        assert first_rows(conn, [(count, {})]) == [(1,)]
        assert ahead.row() is not None
        unread = send_ahead(conn, insert, {"code": "B"})  # never read: sent before COMMIT
    with database.read() as conn:
        assert conn.execute(sa.select(table.c.code).order_by(table.c.id)).scalars().all() == [
            "A",
            "B",
        ]
    assert unread.row() is not None
    with pytest.raises(sa.exc.IntegrityError), database.write() as conn:
        send_ahead(conn, insert, {"code": "A"})
        first_rows(conn, [(count, {})])
    with database.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 2
