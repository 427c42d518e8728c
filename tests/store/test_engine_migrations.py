"""The engine tables are migrated by Alembic revisions: fresh databases, databases made
by the code before migrations (upgraded in place, data kept), repeated runs, refusals."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from engine.errors import EngineSchemaError
from engine.store.database import Database
from engine.store.engine_tables import metadata, upgrade_engine_tables
from engine.store.migrations import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
    include_name,
    needs_upgrade,
)
from engine.store.outbox import claim_due
from engine.store.publish import latest_version

AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
#: the newest revision (0006: saved list views; 0007: account sessions; 0008: jobs, leader lease;
#: 0009: app rules; 0010: notifications, batch jobs, machines; 0011: ledgers;
#: 0012: dashboards, record_revisions index; 0013: import/export runs, import mappings)
HEAD = "0013"


def legacy_metadata() -> sa.MetaData:
    """A frozen copy of the engine tables as ``metadata.create_all`` made them before
    migrations (engine_tables.py at ec37901); never import these from the product."""
    legacy = sa.MetaData()
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    aware = sa.DateTime(timezone=True)
    sa.Table(
        "engine_schema",
        legacy,
        sa.Column("component", sa.String(50), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("applied_at", aware, nullable=False),
    )
    sa.Table(
        "apps",
        legacy,
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("name", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("installed_at", aware, nullable=False),
        sa.Column("installed_by", sa.String(100), nullable=False),
    )
    sa.Table(
        "form_versions",
        legacy,
        sa.Column("id", id_type, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("version_no", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("published_at", aware, nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("app", "form", "version_no", name="uq_form_versions_app_form_no"),
    )
    sa.Table(
        "form_columns",
        legacy,
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("form", sa.String(50), primary_key=True),
        sa.Column("table_name", sa.String(120), primary_key=True),
        sa.Column("column", sa.String(80), primary_key=True),
        sa.Column("field_key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("since_version", sa.Integer, nullable=False),
    )
    sa.Table(
        "record_revisions",
        legacy,
        sa.Column("id", id_type, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("revision_no", sa.Integer, nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", aware, nullable=False),
        sa.UniqueConstraint("app", "form", "record_id", "revision_no", name="uq_record_revisions"),
    )
    sa.Table(
        "audit_log",
        legacy,
        sa.Column("id", id_type, primary_key=True, autoincrement=True),
        sa.Column("at", aware, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("app", sa.String(50)),
        sa.Column("form", sa.String(50)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Index("ix_audit_log_record", "app", "form", "record_id"),
    )
    sa.Table(
        "outbox",
        legacy,
        sa.Column("id", id_type, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", aware, nullable=False),
        sa.Column("available_at", aware, nullable=False),
        sa.Column("delivered_at", aware),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("last_error", sa.Text),
        sa.Index("ix_outbox_pending", "delivered_at", "available_at"),
    )
    sa.Table(
        "serial_counters",
        legacy,
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("form", sa.String(50), primary_key=True),
        sa.Column("field", sa.String(80), primary_key=True),
        sa.Column("period_key", sa.String(100), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    sa.Table(
        "files",
        legacy,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("field", sa.String(80), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("created_at", aware, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("record_id", sa.BigInteger),
    )
    return legacy


#: the definition a legacy form_versions row holds (model.to_data of a one-field form)
LEGACY_DEFINITION = {
    "key": "supplier",
    "name": {"zh-CN": "供应商", "en": "Supplier"},
    "fields": [{"key": "name", "type": "text", "label": "Name", "required": True}],
}


def make_legacy_database(database: Database) -> None:
    """What the previous ``create_engine_tables`` left: tables, version row, some data,
    and a form table (which migrations must leave alone)."""
    legacy = legacy_metadata()
    t = legacy.tables
    with database.write() as conn:
        legacy.create_all(conn)
        conn.execute(
            t["engine_schema"].insert(), {"component": "engine", "version": 1, "applied_at": AT}
        )
        conn.execute(
            t["apps"].insert(),
            {
                "key": "purchase",
                "version": "1.0.0",
                "name": {"zh-CN": "采购", "en": "Purchasing"},
                "content_hash": "a" * 64,
                "installed_at": AT,
                "installed_by": "system",
            },
        )
        conn.execute(
            t["form_versions"].insert(),
            {
                "app": "purchase",
                "form": "supplier",
                "version_no": 1,
                "content_hash": "b" * 64,
                "definition": LEGACY_DEFINITION,
                "published_at": AT,
                "published_by": "system",
            },
        )
        conn.execute(
            t["record_revisions"].insert(),
            {
                "app": "purchase",
                "form": "supplier",
                "record_id": 1,
                "revision_no": 1,
                "action": "created",
                "data": {"name": "Acme"},
                "changes": {},
                "actor": "zhang.wei",
                "at": AT,
            },
        )
        conn.execute(
            t["outbox"].insert(),
            [
                {
                    "topic": "record.created",
                    "payload": {"app": "purchase", "form": "supplier", "id": i, "version": 1},
                    "idempotency_key": f"record.created:purchase.supplier:{i}:v1",
                    "created_at": AT,
                    "available_at": AT,
                    "delivered_at": AT if i == 1 else None,
                    "attempts": 0,
                }
                for i in (1, 2, 3)
            ],
        )
        conn.exec_driver_sql("CREATE TABLE f_purchase_supplier (id INTEGER PRIMARY KEY, name TEXT)")
        conn.exec_driver_sql("INSERT INTO f_purchase_supplier (id, name) VALUES (1, 'Acme')")


def schema_differences(conn: sa.Connection, target: sa.MetaData) -> list:
    """Alembic's autogenerate diff between the database and ``target``: the product's
    filter (engine tables only) for the product's metadata, else ``target``'s tables."""

    def only_target(name, type_, parent_names):
        return type_ != "table" or name in target.tables

    context = MigrationContext.configure(
        conn,
        opts={
            "include_name": include_name if target is metadata else only_target,
            "version_table": VERSION_TABLE,
            "compare_type": True,
        },
    )
    return compare_metadata(context, target)


def columns_of(conn: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def indexes_of(conn: sa.Connection) -> set[tuple[str, str, tuple[str, ...]]]:
    inspector = sa.inspect(conn)
    return {
        (table, i["name"], tuple(i["column_names"]))
        for table in inspector.get_table_names()
        for i in inspector.get_indexes(table)
    }


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    yield db
    db.dispose()


def test_a_fresh_database_goes_straight_to_head_and_matches_the_tables(database):
    with database.write() as conn:
        assert upgrade_engine_tables(conn) == head_revision() == HEAD
    with database.read() as conn:
        assert current_revision(conn) == HEAD
        assert schema_differences(conn, metadata) == []
        assert not sa.inspect(conn).has_table("engine_schema")  # retired by 0002
        assert {"claimed_by", "claimed_until", "dead_at"} <= columns_of(conn, "outbox")


def test_revision_0001_is_exactly_the_schema_before_migrations(database):
    with database.write() as conn:
        command.upgrade(alembic_config(conn), "0001")
    with database.read() as conn:
        assert current_revision(conn) == "0001"
        assert schema_differences(conn, legacy_metadata()) == []


def test_an_older_database_is_upgraded_in_place_with_its_data(database):
    make_legacy_database(database)
    with database.write() as conn:
        assert upgrade_engine_tables(conn) == HEAD
    with database.read() as conn:
        assert current_revision(conn) == HEAD
        assert schema_differences(conn, metadata) == []
        assert conn.execute(sa.text("select key, version from apps")).all() == [
            ("purchase", "1.0.0")
        ]
        # generations start at 0 (no row) and move with the next publish
        assert conn.execute(sa.text("select count(*) from app_generations")).scalar() == 0
        stored = latest_version(conn, "purchase", "supplier")
        assert stored is not None and stored.version_no == 1
        assert stored.definition.field("name").required is True
        assert conn.execute(sa.text("select format_version from form_versions")).all() == [(1,)]
        assert conn.execute(
            sa.text("select record_id, revision_no, form_version from record_revisions")
        ).all() == [(1, 1, None)]
        outbox_rows = conn.execute(
            sa.text(
                "select id, attempts, claimed_by, claimed_until, dead_at from outbox order by id"
            )
        ).all()
        assert outbox_rows == [
            (1, 0, None, None, None),
            (2, 0, None, None, None),
            (3, 0, None, None, None),
        ]
        # the form table is not Alembic's: untouched
        assert conn.execute(sa.text("select id, name from f_purchase_supplier")).all() == [
            (1, "Acme")
        ]
    with database.write() as conn:  # the old, undelivered events can be consumed
        claimed = claim_due(conn, "worker-1", now=AT)
    assert [e.id for e in claimed] == [2, 3]
    assert claimed[0].idempotency_key == "record.created:purchase.supplier:2:v1"


def test_lowcode_init_upgrades_an_older_database_and_a_second_run_changes_nothing(database):
    make_legacy_database(database)
    url = database.engine.url.render_as_string(hide_password=False)
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-m", "engine.cli", "--database", url, "init"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert "database ready" in result.stdout
        with database.read() as conn:
            assert current_revision(conn) == HEAD
            assert schema_differences(conn, metadata) == []
            assert conn.execute(sa.text("select count(*) from outbox")).scalar() == 3
            assert conn.execute(sa.text("select count(*) from apps")).scalar() == 1


def test_running_the_upgrade_again_changes_nothing(database):
    with database.write() as conn:
        upgrade_engine_tables(conn)
    with database.read() as conn:
        before = {t: columns_of(conn, t) for t in sa.inspect(conn).get_table_names()}
        indexes = indexes_of(conn)
    assert ("outbox", "ix_outbox_due", ("id",)) in indexes
    with database.write() as conn:
        assert upgrade_engine_tables(conn) == HEAD
    with database.read() as conn:
        inspector = sa.inspect(conn)
        assert {t: columns_of(conn, t) for t in inspector.get_table_names()} == before
        assert indexes_of(conn) == indexes
        assert conn.execute(sa.text(f"select count(*) from {VERSION_TABLE}")).scalar() == 1


def test_a_failed_upgrade_leaves_the_older_database_as_it_was(database):
    make_legacy_database(database)
    with database.write() as conn:  # a column 0002 will add, in the way
        conn.exec_driver_sql("ALTER TABLE outbox ADD COLUMN dead_at TEXT")
    with pytest.raises(sa.exc.DBAPIError), database.write() as conn:
        upgrade_engine_tables(conn)
    with database.read() as conn:
        assert current_revision(conn) is None  # not even stamped: one transaction
        assert not sa.inspect(conn).has_table("app_generations")
        assert sa.inspect(conn).has_table("engine_schema")


def test_a_database_from_a_newer_engine_is_refused(database):
    with database.write() as conn:
        upgrade_engine_tables(conn)
        conn.execute(sa.text(f"update {VERSION_TABLE} set version_num = '0099'"))
    with (
        pytest.raises(EngineSchemaError, match=f"revision 0099.*newest is {HEAD}"),
        database.write() as conn,
    ):
        upgrade_engine_tables(conn)


def test_engine_tables_without_a_schema_version_are_refused(database):
    legacy = legacy_metadata()
    with database.write() as conn:
        legacy.create_all(conn)  # tables, but no engine_schema row
    with pytest.raises(EngineSchemaError, match="schema is unknown"), database.write() as conn:
        upgrade_engine_tables(conn)
    with database.read() as conn:
        assert current_revision(conn) is None


def test_form_tables_are_outside_the_migrations(database):
    with database.write() as conn:
        upgrade_engine_tables(conn)
        conn.exec_driver_sql("CREATE TABLE f_shop_item (id INTEGER PRIMARY KEY)")
    with database.read() as conn:
        assert schema_differences(conn, metadata) == []  # no "remove f_shop_item"
    assert include_name("f_shop_item", "table", {}) is False
    assert include_name("outbox", "table", {}) is True


def test_needs_upgrade_tells_a_database_behind_this_engine(database):
    make_legacy_database(database)
    with database.read() as conn:
        assert needs_upgrade(conn) is True
    with database.write() as conn:
        upgrade_engine_tables(conn)
    with database.read() as conn:
        assert needs_upgrade(conn) is False


def test_two_initialisers_at_once_both_succeed_and_migrate_once(database):
    barrier = threading.Barrier(2)
    results: list[object] = []

    def initialise() -> None:
        barrier.wait()
        try:
            with database.write() as conn:
                results.append(upgrade_engine_tables(conn))
        except Exception as exc:  # recorded for the assertion below
            results.append(exc)

    threads = [threading.Thread(target=initialise) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [HEAD, HEAD]
    with database.read() as conn:
        assert conn.execute(sa.text(f"select count(*) from {VERSION_TABLE}")).scalar() == 1


def test_revision_0002_downgrades_to_the_schema_before_migrations(database):
    make_legacy_database(database)
    with database.write() as conn:
        upgrade_engine_tables(conn)
    with database.write() as conn:
        command.downgrade(alembic_config(conn), "0001")
    with database.read() as conn:
        assert current_revision(conn) == "0001"
        assert schema_differences(conn, legacy_metadata()) == []
        assert conn.execute(sa.text("select count(*) from outbox")).scalar() == 3
    with database.write() as conn:  # and up again
        assert upgrade_engine_tables(conn) == HEAD
