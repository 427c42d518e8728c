"""The driver fast path refuses what it cannot run correctly, and its caches stay bounded."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.store.database import Database
from engine.store.driver import MAX_SHAPES, BoundedCache, DriverStatement, DriverStatementError

_metadata = sa.MetaData()
_things = sa.Table(
    "things", _metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text)
)


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    with database.write() as conn:
        _metadata.create_all(conn)
        conn.execute(_things.insert(), [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}])
    yield database
    database.dispose()


def test_a_missing_bind_is_refused_instead_of_writing_null(db):
    insert = DriverStatement(
        _things.insert().values(id=sa.bindparam("id"), name=sa.bindparam("name"))
    )
    with db.write() as conn, pytest.raises(DriverStatementError, match="no value given for 'name'"):
        insert.run(conn, {"id": 3})
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(_things)).scalar_one() == 2


def test_an_expanding_bind_is_refused_instead_of_running_wrong_sql(db):
    select = DriverStatement(
        sa.select(_things.c.name).where(_things.c.id.in_(sa.bindparam("ids", expanding=True)))
    )
    with db.read() as conn, pytest.raises(DriverStatementError, match="expanding bind"):
        select.first(conn, {"ids": [1, 2]})


def test_statement_caches_keep_at_most_a_bounded_number_of_shapes():
    cache: BoundedCache[int, str] = BoundedCache(3)
    for n in range(10):
        cache.put(n, str(n))
    assert len(cache) == 3 and cache.get(9) == "9" and cache.get(0) is None


def test_a_driver_statement_compiles_at_most_max_shapes_parameter_sets(db):
    select = DriverStatement(sa.select(_things.c.name).where(_things.c.id == sa.bindparam("id")))
    with db.read() as conn:
        for n in range(MAX_SHAPES + 20):
            # every extra, unused parameter name makes a new shape
            assert select.first(conn, {"id": 1, f"extra_{n}": n}) == ("a",)
    assert len(select._compiled) == MAX_SHAPES
