"""Leadership on PostgreSQL is per schema: the advisory lock is per database, the engine's
tables per schema, so two deployments in two schemas of one database each have a leader,
and two processes of one deployment never both lead."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.service import Service
from engine.store.leadership import Leadership, advisory_key
from tests.conftest import fresh_database_url

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def test_the_public_schema_keeps_the_earlier_key() -> None:
    assert advisory_key("scheduler") == advisory_key("scheduler", "public")
    assert advisory_key("scheduler", "t_a") != advisory_key("scheduler", "t_b")


@pytest.mark.postgres
def test_two_schemas_lead_each_on_its_own(request, tmp_path) -> None:
    with (
        fresh_database_url(request, tmp_path, "postgresql") as first_url,
        fresh_database_url(request, tmp_path, "postgresql") as second_url,
    ):
        services = [Service(first_url), Service(second_url), Service(first_url)]
        try:
            for service in services[:2]:
                service.init_database()
            leaders = [
                Leadership(s._context.transactions.database, "scheduler", f"host:{i}")
                for i, s in enumerate(services)
            ]
            assert leaders[0].hold(NOW) is True
            assert leaders[1].hold(NOW) is True  # the other schema: its own leader
            assert leaders[2].hold(NOW) is False  # the first schema's second process
            leaders[0].release(NOW)
            assert leaders[2].hold(NOW) is True
            for leader in leaders:
                leader.release(NOW)
        finally:
            for service in services:
                service.close()
