"""The connection layer: SQLite tuning, aware datetimes, exact money."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.store.database import Database, normalise_url
from engine.store.types import AwareDateTime


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with database.read() as conn:
        assert conn.exec_driver_sql("pragma journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("pragma foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("pragma synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("pragma busy_timeout").scalar() == 15000
    database.dispose()


def test_postgres_urls_use_the_psycopg_driver():
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///a.db") == "sqlite:///a.db"


@pytest.fixture
def probe(database_url):
    database = Database(database_url)
    metadata = sa.MetaData()
    table = sa.Table(
        "probe",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", AwareDateTime),
        sa.Column("amount", sa.Numeric(20, 2)),
    )
    with database.write() as conn:
        metadata.create_all(conn)
    yield database, table
    database.dispose()


def test_datetimes_come_back_aware_in_shanghai_time_on_both_databases(probe):
    database, table = probe
    with database.write() as conn:
        conn.execute(table.insert(), {"at": datetime(2026, 1, 5, 2, 0, tzinfo=UTC)})
    with database.read() as conn:
        at = conn.execute(sa.select(table.c.at)).scalar_one()
    assert at.isoformat() == "2026-01-05T10:00:00+08:00"


def test_a_naive_datetime_is_refused(probe):
    database, table = probe
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), database.write() as conn:
        conn.execute(table.insert(), {"at": datetime(2026, 1, 5, 10, 0)})


def test_money_reads_back_as_an_exact_decimal(probe):
    database, table = probe
    with database.write() as conn:
        conn.execute(table.insert(), {"amount": Decimal("12345678901.35")})
    with database.read() as conn:
        assert conn.execute(sa.select(table.c.amount)).scalar_one() == Decimal("12345678901.35")
