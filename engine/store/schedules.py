"""SQL on ``schedule_runs``: which fire time of each scheduled job was last claimed.

The scheduler claims a fire time with one conditional UPDATE (``last_fire_at <
fire_time``) before it runs the job, so a fire time runs at most once whichever process
leads; the stored time also tells a new leader which runs were missed during downtime.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from engine.store.job_tables import schedule_runs
from engine.store.outbox import MAX_ERROR_CHARS


def last_fire_time(conn: sa.Connection, key: str) -> datetime | None:
    """The last fire time claimed for ``key``; None when the job never was scheduled."""
    return conn.execute(
        sa.select(schedule_runs.c.last_fire_at).where(schedule_runs.c.key == key)
    ).scalar()


def start_schedule(conn: sa.Connection, key: str, now: datetime) -> datetime:
    """Record ``key`` as scheduled from ``now`` (runs before it are not owed); the stored
    last fire time (an existing row is kept)."""
    existing = last_fire_time(conn, key)
    if existing is not None:
        return existing
    conn.execute(schedule_runs.insert().values(key=key, last_fire_at=now))
    return now


def claim_fire_time(conn: sa.Connection, key: str, fire_time: datetime) -> bool:
    """Advance ``key`` to ``fire_time``; True when this caller claimed it (run it), False
    when it (or a later one) was already claimed."""
    result = conn.execute(
        schedule_runs.update()
        .where(schedule_runs.c.key == key, schedule_runs.c.last_fire_at < fire_time)
        .values(last_fire_at=fire_time)
    )
    return result.rowcount == 1


def record_run(conn: sa.Connection, key: str, now: datetime, error: str | None) -> None:
    """Note when ``key`` last ran and its error (None: it succeeded)."""
    conn.execute(
        schedule_runs.update()
        .where(schedule_runs.c.key == key)
        .values(last_run_at=now, last_error=None if error is None else error[:MAX_ERROR_CHARS])
    )


def schedule_rows(conn: sa.Connection) -> list[dict]:
    """Every scheduled job's state, by key."""
    return [
        dict(r)
        for r in conn.execute(sa.select(schedule_runs).order_by(schedule_runs.c.key)).mappings()
    ]
