"""Consuming the outbox: claims under leases, acknowledgements, failures with backoff,
dead events, and two consumer processes that never get the same event."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.store.database import Database
from engine.store.engine_tables import outbox, upgrade_engine_tables
from engine.store.outbox import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    FailureRecorded,
    OutboxEvent,
    acknowledge,
    backoff,
    claim_due,
    record_failure,
)

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
CONSUMER = Path(__file__).with_name("outbox_consumer.py")


@pytest.fixture
def database(database_url):
    db = Database(database_url)
    with db.write() as conn:
        upgrade_engine_tables(conn)
    yield db
    db.dispose()


def add_events(database: Database, count: int, *, at: datetime = T0, available_at=None) -> None:
    with database.write() as conn:
        start = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
        conn.execute(
            outbox.insert(),
            [
                {
                    "topic": "record.created",
                    "payload": {"app": "shop", "form": "order", "id": i, "version": 1},
                    "idempotency_key": f"record.created:shop.order:{i}:v1",
                    "created_at": at,
                    "available_at": available_at or at,
                    "attempts": 0,
                }
                for i in range(start + 1, start + count + 1)
            ],
        )


def claim(database: Database, consumer: str, now: datetime, **options) -> list[OutboxEvent]:
    with database.write() as conn:
        return claim_due(conn, consumer, now=now, **options)


def row(database: Database, event_id: int) -> dict:
    with database.read() as conn:
        return dict(conn.execute(sa.select(outbox).where(outbox.c.id == event_id)).mappings().one())


def test_a_claim_takes_the_oldest_due_events_under_a_lease(database):
    add_events(database, 5)
    add_events(database, 1, available_at=T0 + timedelta(minutes=1))  # not due yet
    first = claim(database, "a", T0, limit=3)
    assert [e.id for e in first] == [1, 2, 3]
    assert first[0] == OutboxEvent(
        1,
        "record.created",
        {"app": "shop", "form": "order", "id": 1, "version": 1},
        "record.created:shop.order:1:v1",
        0,
        T0,
    )
    assert row(database, 1)["claimed_by"] == "a"
    assert row(database, 1)["claimed_until"] == T0 + timedelta(minutes=5)
    # held events are not due for anyone, the future one is not due yet
    assert [e.id for e in claim(database, "b", T0)] == [4, 5]
    assert claim(database, "c", T0) == []
    assert [e.id for e in claim(database, "c", T0 + timedelta(minutes=1))] == [6]


def test_acknowledged_events_are_delivered_and_never_claimed_again(database):
    add_events(database, 3)
    claim(database, "a", T0)
    with database.write() as conn:
        assert acknowledge(conn, "a", [1, 3], T0 + timedelta(seconds=2)) == {1, 3}
        assert acknowledge(conn, "a", [1], T0 + timedelta(seconds=3)) == set()  # already done
    assert row(database, 1)["delivered_at"] == T0 + timedelta(seconds=2)
    assert row(database, 2)["delivered_at"] is None
    later = T0 + timedelta(hours=1)  # every lease ran out: only the unacknowledged comes back
    assert [e.id for e in claim(database, "b", later)] == [2]


def test_only_the_consumer_holding_the_lease_can_acknowledge_or_fail(database):
    add_events(database, 1)
    claim(database, "a", T0)
    with database.write() as conn:
        assert acknowledge(conn, "b", [1], T0) == set()
        assert record_failure(conn, "b", 1, "boom", T0) is None
    assert row(database, 1)["delivered_at"] is None
    assert row(database, 1)["attempts"] == 0


def test_an_expired_lease_lets_another_consumer_claim_and_the_first_changes_nothing(database):
    add_events(database, 2)
    claim(database, "a", T0, lease=timedelta(seconds=30))
    assert claim(database, "b", T0 + timedelta(seconds=30)) == []  # lease still live at its end
    taken = claim(database, "b", T0 + timedelta(seconds=31))
    assert [e.id for e in taken] == [1, 2]
    with database.write() as conn:
        assert acknowledge(conn, "a", [1], T0 + timedelta(seconds=32)) == set()
        assert record_failure(conn, "a", 2, "late", T0 + timedelta(seconds=32)) is None
    assert row(database, 1)["claimed_by"] == "b"
    assert row(database, 1)["delivered_at"] is None
    assert row(database, 2)["attempts"] == 0
    with database.write() as conn:
        assert acknowledge(conn, "b", [1, 2], T0 + timedelta(seconds=33)) == {1, 2}


def test_a_late_acknowledgement_counts_while_nobody_else_claimed_the_event(database):
    add_events(database, 1)
    claim(database, "a", T0, lease=timedelta(seconds=30))
    with database.write() as conn:
        assert acknowledge(conn, "a", [1], T0 + timedelta(minutes=10)) == {1}
    assert claim(database, "b", T0 + timedelta(minutes=11)) == []


def test_backoff_doubles_from_thirty_seconds_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
    ]
    assert backoff(500) == BACKOFF_CAP == timedelta(hours=1)


def test_a_failure_counts_the_attempt_and_makes_the_event_due_after_the_backoff(database):
    add_events(database, 1)
    claim(database, "a", T0)
    with database.write() as conn:
        outcome = record_failure(conn, "a", 1, "HTTP 503 from https://erp.example", T0)
    assert outcome == FailureRecorded(1, 1, T0 + timedelta(seconds=30), False)
    stored = row(database, 1)
    assert (stored["attempts"], stored["last_error"]) == (1, "HTTP 503 from https://erp.example")
    assert (stored["claimed_by"], stored["claimed_until"]) == (None, None)
    assert stored["available_at"] == T0 + timedelta(seconds=30)
    assert claim(database, "b", T0 + timedelta(seconds=29)) == []
    again = claim(database, "b", T0 + timedelta(seconds=30))
    assert [(e.id, e.attempts) for e in again] == [(1, 1)]
    with database.write() as conn:  # the second failure waits twice as long
        second = record_failure(conn, "b", 1, "timeout", T0 + timedelta(seconds=40))
        assert second == FailureRecorded(1, 2, T0 + timedelta(seconds=100), False)
        # the failure ended the lease: a late acknowledgement by b no longer matches
        assert acknowledge(conn, "b", [1], T0 + timedelta(seconds=41)) == set()


def test_retry_in_overrides_the_backoff(database):
    add_events(database, 1)
    claim(database, "a", T0)
    with database.write() as conn:
        outcome = record_failure(conn, "a", 1, "429", T0, retry_in=timedelta(minutes=7))
    assert outcome is not None and outcome.retry_at == T0 + timedelta(minutes=7)
    assert claim(database, "a", T0 + timedelta(minutes=6, seconds=59)) == []
    assert len(claim(database, "a", T0 + timedelta(minutes=7))) == 1


def test_an_event_failing_the_maximum_number_of_times_is_dead(database):
    add_events(database, 2)
    now = T0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        events = claim(database, "a", now, limit=1)
        assert [e.id for e in events] == [1]
        with database.write() as conn:
            outcome = record_failure(conn, "a", 1, f"failure {attempt}", now)
        assert outcome is not None and outcome.attempts == attempt
        if outcome.dead:
            break
        now = outcome.retry_at
    assert outcome == FailureRecorded(1, MAX_ATTEMPTS, None, True)
    stored = row(database, 1)
    assert stored["dead_at"] == now and stored["delivered_at"] is None
    assert stored["last_error"] == f"failure {MAX_ATTEMPTS}"
    # never claimed again, however late; the next event is
    assert [e.id for e in claim(database, "b", now + timedelta(days=365))] == [2]


def test_two_consumer_processes_never_claim_the_same_event(database, tmp_path):
    add_events(database, 500)
    url = database.engine.url.render_as_string(hide_password=False)
    start = tmp_path / "start"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    consumers = [
        subprocess.Popen(
            [sys.executable, str(CONSUMER), url, name, str(start), "7"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("consumer-1", "consumer-2")
    ]
    ready = [tmp_path / f"start.ready-{name}" for name in ("consumer-1", "consumer-2")]
    deadline = time.monotonic() + 60
    while not all(path.exists() for path in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    start.touch()  # both are past their imports: they start together
    claimed = []
    for process in consumers:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        claimed.append([int(line) for line in out.split()])
    first, second = claimed
    assert first and second, "both consumers must have claimed some events"
    assert not set(first) & set(second)
    assert sorted(first + second) == list(range(1, 501))  # every event exactly once
    with database.read() as conn:
        undelivered = conn.execute(
            sa.select(sa.func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))
        ).scalar_one()
    assert undelivered == 0
