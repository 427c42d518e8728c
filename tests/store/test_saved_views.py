"""Saved list views in the database: every read and change is by the owner, and one
default per owner and form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from engine.store import saved_views as views
from engine.store.database import Database
from engine.store.engine_tables import upgrade_engine_tables

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    with db.write() as conn:
        upgrade_engine_tables(conn)
    yield db
    db.dispose()


def test_views_are_read_changed_and_deleted_only_by_their_owner(database):
    with database.write() as conn:
        mine = views.insert_view(
            conn, "anna", "orders", "order", "Big", {"sort": "-total"}, False, T0
        )
        views.insert_view(conn, "ben", "orders", "order", "Big", {"sort": "total"}, False, T0)
    with database.read() as conn:
        assert [v.settings for v in views.list_views(conn, "anna", "orders", "order")] == [
            {"sort": "-total"}
        ]
        assert views.get_view(conn, "ben", mine) is None
        found = views.get_view(conn, "anna", mine)
    assert found is not None and (found.name, found.created_at) == ("Big", T0)
    with database.write() as conn:
        assert not views.delete_view(conn, "ben", mine)
        views.update_view(conn, found, {"name": "Bigger"}, T0 + timedelta(hours=1))
    with database.read() as conn:
        changed = views.get_view(conn, "anna", mine)
        assert changed is not None and changed.name == "Bigger"
        assert changed.updated_at == T0 + timedelta(hours=1)
        assert views.find_view(conn, "ben", "orders", "order", "Big") is not None
    with database.write() as conn:
        assert views.delete_view(conn, "anna", mine)
    with database.read() as conn:
        assert views.list_views(conn, "anna", "orders", "order") == []


def test_one_default_per_owner_and_form_and_names_are_unique_per_owner(database):
    with database.write() as conn:
        first = views.insert_view(conn, "anna", "orders", "order", "A", {}, True, T0)
        second = views.insert_view(conn, "anna", "orders", "order", "B", {}, True, T0)
        views.insert_view(conn, "ben", "orders", "order", "C", {}, True, T0)
    with database.read() as conn:
        assert views.default_view(conn, "anna", "orders", "order").id == second
        assert not views.get_view(conn, "anna", first).is_default
        assert views.default_view(conn, "ben", "orders", "order").name == "C"
    with pytest.raises(sa.exc.IntegrityError), database.write() as conn:
        views.insert_view(conn, "anna", "orders", "order", "A", {}, False, T0)
