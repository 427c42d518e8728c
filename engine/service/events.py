"""Events: the outbox as consumers (flows, rules, notifications, webhooks) read it.

A consumer claims a batch of due events under a lease, handles each, then acknowledges
it or records a failure (retried later with backoff, dead after too many attempts).
Two consumers, in two processes or on two machines, never hold the same event: the
store claims with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and under SQLite's write
lock. Delivery itself (webhooks, e-mail) comes with the rules issue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from engine.errors import InvalidArgumentError
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.store import outbox
from engine.store.outbox import DEFAULT_LEASE, FailureRecorded, OutboxEvent

#: most events one claim hands out
MAX_BATCH = 1000


class EventUseCases:
    """The outbox operations of one Service (each call is one short transaction)."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def claim(
        self, actor: Actor, consumer: str, *, limit: int = 100, lease: timedelta = DEFAULT_LEASE
    ) -> list[OutboxEvent]:
        """Due events, oldest first, now held by ``consumer`` until the lease runs out."""
        _check_consumer(consumer)
        check.check_whole_number("limit", limit, 1, MAX_BATCH, check.actor_locale(actor))
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise InvalidArgumentError(
                f"lease must be a positive timedelta, got {lease!r}", argument="lease", code="type"
            )
        with self._context.transactions.database.write() as conn:
            return outbox.claim_due(
                conn, consumer, now=self._context.clock(), limit=limit, lease=lease
            )

    def acknowledge(self, actor: Actor, consumer: str, event_ids: Iterable[int]) -> set[int]:
        """Mark handled events delivered; the ids this consumer still held (others unchanged)."""
        _check_consumer(consumer)
        locale = check.actor_locale(actor)
        ids = [check.check_record_id(i, locale, "event_ids") for i in event_ids]
        with self._context.transactions.database.write() as conn:
            return outbox.acknowledge(conn, consumer, ids, self._context.clock())

    def fail(
        self,
        actor: Actor,
        consumer: str,
        event_id: int,
        error: str,
        *,
        retry_in: timedelta | None = None,
    ) -> FailureRecorded | None:
        """Record a failed attempt (retried with backoff); None when the lease was lost."""
        _check_consumer(consumer)
        check.check_record_id(event_id, check.actor_locale(actor), "event_id")
        with self._context.transactions.database.write() as conn:
            return outbox.record_failure(
                conn, consumer, event_id, str(error), self._context.clock(), retry_in=retry_in
            )


def _check_consumer(consumer: object) -> None:
    if not isinstance(consumer, str) or not consumer.strip() or len(consumer) > 100:
        raise InvalidArgumentError(
            f"a consumer is named by text of 1 to 100 characters, got {consumer!r}",
            argument="consumer",
            code="type",
        )
