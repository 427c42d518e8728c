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


# -- the admin page: one view at a time, a page at a time ------------------------------------
#: the admin page's views: not yet delivered (retrying included), dead, delivered
EVENT_VIEWS = ("pending", "failed", "delivered")
#: counts stop here (the page says "1000+"): counting a big delivered backlog exactly
#: would read the whole table on every visit
COUNT_CAP = 1000


def _view_condition(view: str) -> sa.ColumnElement[bool]:
    if view == "pending":
        # exactly the predicate of the partial index ix_outbox_due
        return sa.and_(outbox.c.delivered_at.is_(None), outbox.c.dead_at.is_(None))
    if view == "failed":
        return sa.and_(outbox.c.delivered_at.is_(None), outbox.c.dead_at.is_not(None))
    if view == "delivered":
        return outbox.c.delivered_at.is_not(None)
    raise ValueError(f"unknown outbox view {view!r}; one of {', '.join(EVENT_VIEWS)}")


def events_page_statement(
    view: str, *, topic: str | None, before_id: int | None, limit: int
) -> sa.Select[Any]:
    """The page query: newest first, keyset on ``id`` (``before_id``: the last id shown).

    Walks an index backwards and stops after ``limit`` rows: ``pending`` the partial
    index ``ix_outbox_due`` (its predicate is the view's), the others the primary key.
    """
    stmt = sa.select(*_COLUMNS).where(_view_condition(view))
    if topic:
        stmt = stmt.where(outbox.c.topic == topic)
    if before_id is not None:
        stmt = stmt.where(outbox.c.id < before_id)
    return stmt.order_by(outbox.c.id.desc()).limit(limit)


def events_page(
    conn: sa.Connection,
    view: str,
    *,
    topic: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Up to ``limit`` events of ``view`` (see :data:`EVENT_VIEWS`), newest first, older
    than ``before_id`` when given, only of ``topic`` when given."""
    stmt = events_page_statement(view, topic=topic, before_id=before_id, limit=limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def event_counts(conn: sa.Connection, *, topic: str | None = None) -> dict[str, int]:
    """How many events each view holds, each count stopping at ``COUNT_CAP + 1``."""
    counts: dict[str, int] = {}
    for view in EVENT_VIEWS:
        inner = sa.select(outbox.c.id).where(_view_condition(view))
        if topic:
            inner = inner.where(outbox.c.topic == topic)
        capped = inner.limit(COUNT_CAP + 1).subquery()
        counts[view] = int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar())
    return counts
