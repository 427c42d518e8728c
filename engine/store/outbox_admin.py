"""The outbox as administrators see it: list pending and failed events, replay them.

Separate from :mod:`engine.store.outbox` (the consumer's claim/acknowledge path); every
function takes a connection inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.engine_tables import outbox
from engine.store.outbox import MAX_ERROR_CHARS

_COLUMNS = (
    outbox.c.id,
    outbox.c.topic,
    outbox.c.payload,
    outbox.c.idempotency_key,
    outbox.c.created_at,
    outbox.c.available_at,
    outbox.c.delivered_at,
    outbox.c.attempts,
    outbox.c.last_error,
    outbox.c.claimed_by,
    outbox.c.claimed_until,
    outbox.c.dead_at,
)


def list_events(conn: sa.Connection, *, failed_only: bool, limit: int) -> list[dict[str, Any]]:
    """Undelivered events, oldest first: all of them, or only those that failed at least once
    (retrying or dead)."""
    stmt = sa.select(*_COLUMNS).where(outbox.c.delivered_at.is_(None))
    if failed_only:
        stmt = stmt.where(sa.or_(outbox.c.attempts > 0, outbox.c.dead_at.is_not(None)))
    stmt = stmt.order_by(outbox.c.id).limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def event_row(conn: sa.Connection, event_id: int) -> dict[str, Any] | None:
    """One event by id, or None."""
    row = conn.execute(sa.select(*_COLUMNS).where(outbox.c.id == event_id)).mappings().first()
    return None if row is None else dict(row)


def replay(conn: sa.Connection, event_ids: Iterable[int], now: datetime) -> list[int]:
    """Make undelivered events due now again, dead ones revived with their attempts reset;
    the ids that changed (delivered or unknown ids are left alone)."""
    ids = sorted(set(event_ids))
    if not ids:
        return []
    rows = conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(ids), outbox.c.delivered_at.is_(None))
        .values(
            available_at=now,
            dead_at=None,
            attempts=0,
            claimed_by=None,
            claimed_until=None,
        )
        .returning(outbox.c.id)
    )
    return sorted(row[0] for row in rows)


def mark_dead(conn: sa.Connection, consumer: str, event_id: int, error: str, now: datetime) -> bool:
    """Give up on an event this consumer holds (a permanent failure): attempts + 1, dead now."""
    result = conn.execute(
        outbox.update()
        .where(
            outbox.c.id == event_id,
            outbox.c.claimed_by == consumer,
            outbox.c.delivered_at.is_(None),
            outbox.c.dead_at.is_(None),
        )
        .values(
            attempts=outbox.c.attempts + 1,
            last_error=error[:MAX_ERROR_CHARS],
            dead_at=now,
            claimed_by=None,
            claimed_until=None,
        )
    )
    return result.rowcount == 1
