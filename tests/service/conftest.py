"""Fixtures shared by the service tests."""

from __future__ import annotations

import pytest

from engine.store.database import Database


@pytest.fixture
def db(database_url):
    """The test database seen directly, to look at engine tables such as ``files``."""
    database = Database(database_url)
    yield database
    database.dispose()
