"""Consuming the outbox: claim due events under a lease, acknowledge them, record failures.

The write path puts one event per record change in ``outbox`` (in the change's own
transaction, see ``engine/service/journal.py``). A consumer (the delivery worker of the
rules issue, one per process) then loops::

    with database.write() as conn:
        events = claim_due(conn, consumer, now=now)
    for event in events:  # deliver outside any transaction
        ...
    with database.write() as conn:
        acknowledge(conn, consumer, delivered_ids, now)   # or record_failure(...)

Claiming takes a lease: the events are the consumer's until ``claimed_until``. A
consumer that dies loses nothing; once the lease runs out another consumer claims the
events again, so delivery is at least once and receivers dedupe on the idempotency key.
Two consumers never hold the same event at once: on PostgreSQL the claim locks its rows
with ``FOR UPDATE SKIP LOCKED`` (a concurrent claimer skips them instead of waiting), on
SQLite the write transaction (``BEGIN IMMEDIATE``) serialises claimers.

Every function takes a connection inside a write transaction
(:meth:`engine.store.database.Database.write`) and an aware ``now``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.store.engine_tables import outbox

#: failed deliveries after which an event is dead (``dead_at`` set, never claimed again)
MAX_ATTEMPTS = 10
#: the wait after the first failure; it doubles with every further failure ...
BACKOFF_BASE = timedelta(seconds=30)
#: ... up to this cap (30 s, 1 min, 2 min, ... 1 h, 1 h ...)
BACKOFF_CAP = timedelta(hours=1)
#: how long a claim holds its events by default
DEFAULT_LEASE = timedelta(minutes=5)
#: the longest error text kept in ``last_error``
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class OutboxEvent:
    """One claimed event; ``attempts`` counts the failed deliveries before this claim."""

    id: int
    topic: str
    payload: Mapping[str, Any]
    idempotency_key: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class FailureRecorded:
    """What :func:`record_failure` did: the attempt count, and when the event is due again.

    ``retry_at`` is None when the event is dead (``dead`` is True).
    """

    event_id: int
    attempts: int
    retry_at: datetime | None
    dead: bool


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failures (exponential, capped)."""
    if attempts < 1:
        return timedelta(0)
    # 2**(n-1) grows past the cap quickly; stop doubling before it overflows anything
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** min(attempts - 1, 30)))


def due_condition(now: datetime) -> sa.ColumnElement[bool]:
    """Not delivered, not dead, available by ``now``, and no lease running at ``now``."""
    return sa.and_(
        outbox.c.delivered_at.is_(None),
        outbox.c.dead_at.is_(None),
        outbox.c.available_at <= now,
        sa.or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now),
    )


def claim_due(
    conn: sa.Connection,
    consumer: str,
    *,
    now: datetime,
    limit: int = 100,
    lease: timedelta = DEFAULT_LEASE,
    unwanted: Callable[[str, Any], bool] | None = None,
    acknowledged: list[int] | None = None,
) -> list[OutboxEvent]:
    """Lease up to ``limit`` due events to ``consumer`` until ``now + lease``, oldest first.

    ``consumer`` names the claimer (e.g. ``host:pid``) and must be unique per running
    consumer. Call inside a write transaction; the lease is taken when it commits.

    ``unwanted(topic, payload)`` marks events the consumer has no use for: among the
    chosen ones, those are marked delivered in the same statement round instead of
    leased (their ids appended to ``acknowledged``), so they cost no lease and no
    acknowledgement later.
    """
    if not consumer:
        raise ValueError("a consumer needs a name (e.g. host:pid)")
    if limit < 1:
        return []
    chosen = conn.execute(
        sa.select(
            outbox.c.id,
            outbox.c.topic,
            outbox.c.payload,
            outbox.c.idempotency_key,
            outbox.c.attempts,
            outbox.c.created_at,
        )
        .where(due_condition(now))
        .order_by(outbox.c.id)
        .limit(limit)
        # PostgreSQL: lock the chosen rows, skipping rows a concurrent claimer holds; a
        # row another claimer leased and committed after this statement's snapshot is
        # re-checked against the due condition when locked and dropped. SQLite renders
        # nothing: its write transaction already excludes other claimers.
        .with_for_update(skip_locked=True)
    ).all()
    if not chosen:
        return []
    if unwanted is not None:
        skipped = [row for row in chosen if unwanted(row[1], row[2])]
        if skipped:
            ids = [row[0] for row in skipped]
            conn.execute(outbox.update().where(outbox.c.id.in_(ids)).values(delivered_at=now))
            if acknowledged is not None:
                acknowledged.extend(ids)
            chosen = [row for row in chosen if not unwanted(row[1], row[2])]
        if not chosen:
            return []
    # the rows are locked (PostgreSQL) or the database is (SQLite) until commit
    conn.execute(
        outbox.update()
        .where(outbox.c.id.in_([row[0] for row in chosen]))
        .values(claimed_by=consumer, claimed_until=now + lease)
    )
    return [OutboxEvent(*row) for row in chosen]


def _held_by(consumer: str) -> sa.ColumnElement[bool]:
    # A lease that ran out still counts while no other consumer claimed the event since:
    # accepting the late acknowledgement saves a second delivery. Once another consumer
    # claimed it, ``claimed_by`` names that one and nothing here matches.
    return sa.and_(
        outbox.c.claimed_by == consumer,
        outbox.c.delivered_at.is_(None),
        outbox.c.dead_at.is_(None),
    )


def acknowledge(
    conn: sa.Connection, consumer: str, event_ids: Iterable[int], now: datetime
) -> set[int]:
    """Mark events delivered; returns the ids acknowledged.

    Only events this consumer holds change: an id missing from the result was claimed
    by another consumer after this one's lease ran out (or was already delivered), and
    that consumer now owns its delivery.
    """
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    rows = conn.execute(
        outbox.update()
        .where(outbox.c.id.in_(ids), _held_by(consumer))
        .values(delivered_at=now, claimed_until=None)
        .returning(outbox.c.id)
    )
    return {row[0] for row in rows}


def record_failure(
    conn: sa.Connection,
    consumer: str,
    event_id: int,
    error: str,
    now: datetime,
    retry_in: timedelta | None = None,
) -> FailureRecorded | None:
    """Record a failed delivery: attempts + 1, the error, the next due time, lease cleared.

    The event is due again after ``retry_in`` when given (a receiver's Retry-After),
    else after :func:`backoff` of the new attempt count. At :data:`MAX_ATTEMPTS` the
    event is dead instead: ``dead_at`` is set and it is never claimed again. Returns
    None, changing nothing, when this consumer does not hold the event (see
    :func:`acknowledge`).
    """
    row = conn.execute(
        sa.select(outbox.c.attempts)
        .where(outbox.c.id == event_id, _held_by(consumer))
        # PostgreSQL: a concurrent claim of this (expired) lease waits for this failure
        .with_for_update()
    ).first()
    if row is None:
        return None
    attempts = row[0] + 1
    dead = attempts >= MAX_ATTEMPTS
    retry_at = None if dead else now + (retry_in if retry_in is not None else backoff(attempts))
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_error": error[:MAX_ERROR_CHARS],
        # the lease ends with the failure: a late acknowledgement must not match
        "claimed_by": None,
        "claimed_until": None,
    }
    if dead:
        values["dead_at"] = now
    else:
        values["available_at"] = retry_at
    updated = conn.execute(
        outbox.update().where(outbox.c.id == event_id, _held_by(consumer)).values(**values)
    ).rowcount
    if updated != 1:  # cannot happen under the row lock / write lock; never report wrongly
        return None
    return FailureRecorded(event_id, attempts, retry_at, dead)
