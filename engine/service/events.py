"""Events: the outbox as consumers (flows, rules, notifications, webhooks) read it.

A consumer claims a batch of due events under a lease, handles each, then acknowledges
it or records a failure (retried later with backoff, dead after too many attempts).
Two consumers, in two processes or on two machines, never hold the same event: the
store claims with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and under SQLite's write
lock. Delivery itself (webhooks, e-mail) comes with the rules issue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from engine.errors import InvalidArgumentError
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.org_arguments import localised, optional_text_argument
from engine.service.principals import require_org_admin
from engine.store import outbox, outbox_admin
from engine.store.database import Connection
from engine.store.outbox import DEFAULT_LEASE, FailureRecorded, OutboxEvent

#: most events one claim hands out
MAX_BATCH = 1000
#: the views of :meth:`EventUseCases.page`: undelivered (retrying too), dead, delivered
EVENT_VIEWS = outbox_admin.EVENT_VIEWS
#: a view's count at or above which the page says "more than" (counting stops there)
EVENT_COUNT_CAP = outbox_admin.COUNT_CAP


@dataclass(frozen=True)
class EventPage:
    """A page of the outbox as the admin page shows it.

    ``events`` newest first (dicts as :meth:`EventUseCases.list_events` gives, plus
    ``delivered_at``); ``counts`` per view, each stopping at ``EVENT_COUNT_CAP + 1``;
    ``older`` the ``before`` of the next page (None on the last one).
    """

    view: str
    topic: str | None
    events: list[dict[str, Any]]
    counts: dict[str, int]
    older: int | None

    def count_text(self, view: str) -> str:
        """A view's count as a page shows it: ``1000+`` past the cap."""
        count = self.counts.get(view, 0)
        return f"{EVENT_COUNT_CAP}+" if count > EVENT_COUNT_CAP else str(count)


@dataclass
class Routes:
    """What a dispatcher delivers: its topics and payload channels, and the topic
    prefixes whose events must never be acknowledged unrouted; ``acknowledged`` is set
    by :meth:`EventUseCases.claim` to the ids it marked delivered as unrouted."""

    topics: tuple[str, ...]
    channels: tuple[str, ...]
    keep_prefixes: tuple[str, ...]
    acknowledged: list[int] = field(default_factory=list)

    def unwanted(self, topic: str, payload: Any) -> bool:
        """Whether no deliverer wants an event (and it may be acknowledged unrouted)."""
        if topic in self.topics or topic.startswith(self.keep_prefixes):
            return False
        channel = payload.get("channel") if isinstance(payload, dict) else None
        return not (isinstance(channel, str) and channel in self.channels)


class EventUseCases:
    """The outbox operations of one Service (each call is one short transaction)."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def claim(
        self,
        actor: Actor,
        consumer: str,
        *,
        limit: int = 100,
        lease: timedelta = DEFAULT_LEASE,
        routes: Routes | None = None,
    ) -> list[OutboxEvent]:
        """Due events, oldest first, now held by ``consumer`` until the lease runs out.

        With ``routes`` (the dispatcher's topics, channels and must-deliver prefixes),
        the chosen events none of them wants are marked delivered in the same
        transaction instead of leased, their ids kept in ``routes.acknowledged``.
        """
        _check_consumer(consumer)
        check.check_whole_number("limit", limit, 1, MAX_BATCH, check.actor_locale(actor))
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise InvalidArgumentError(
                f"lease must be a positive timedelta, got {lease!r}", argument="lease", code="type"
            )
        with self._context.transactions.database.write() as conn:
            return outbox.claim_due(
                conn,
                consumer,
                now=self._context.clock(),
                limit=limit,
                lease=lease,
                unwanted=None if routes is None else routes.unwanted,
                acknowledged=None if routes is None else routes.acknowledged,
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

    def give_up(self, actor: Actor, consumer: str, event_id: int, error: str) -> bool:
        """Mark a held event dead at once (a permanent failure, e.g. HTTP 400); False when
        the lease was lost. It stays listed and replayable like any dead event."""
        _check_consumer(consumer)
        check.check_record_id(event_id, check.actor_locale(actor), "event_id")
        with self._context.transactions.database.write() as conn:
            return outbox_admin.mark_dead(
                conn, consumer, event_id, str(error), self._context.clock()
            )

    def list_events(
        self, actor: Actor, *, failed_only: bool = False, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Undelivered events, oldest first (``failed_only``: retrying or dead); admin only.

        Each is a dict with id, topic, payload, idempotency_key, created_at,
        available_at, attempts, last_error, claimed_by, claimed_until and dead_at.
        """
        say = check.actor_locale(actor)
        check.check_whole_number("limit", limit, 1, MAX_BATCH, say)
        with self._context.transactions.database.read() as conn:
            self._require_admin(conn, actor, say)
            return outbox_admin.list_events(conn, failed_only=bool(failed_only), limit=limit)

    def page(
        self,
        actor: Actor,
        *,
        view: str = "pending",
        topic: str | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> EventPage:
        """One page of a view of the outbox (see :data:`EVENT_VIEWS`), newest first, with
        the count of every view; admin only.

        ``topic`` keeps one topic; ``before`` (an event id) pages on to older events.
        """
        say = check.actor_locale(actor)
        view = check.check_choice("view", view, EVENT_VIEWS, say)
        topic = optional_text_argument("topic", topic, 100, say)
        if before is not None:
            before = check.check_record_id(before, say, "before")
        check.check_whole_number("limit", limit, 1, MAX_BATCH, say)
        with self._context.transactions.database.read() as conn:
            self._require_admin(conn, actor, say)
            # one more than asked: whether an older page exists
            rows = outbox_admin.events_page(
                conn, view, topic=topic, before_id=before, limit=limit + 1
            )
            counts = outbox_admin.event_counts(conn, topic=topic)
        older = rows[limit - 1]["id"] if len(rows) > limit else None
        return EventPage(view, topic, rows[:limit], counts, older)

    def replay(self, actor: Actor, event_ids: Iterable[int]) -> list[int]:
        """Make failed or dead events due now with their attempts reset; admin only.

        Returns the ids replayed; an id that is unknown or already delivered is an
        :class:`InvalidArgumentError` naming it (nothing is changed then).
        """
        say = check.actor_locale(actor)
        if isinstance(event_ids, (str, bytes)) or not isinstance(event_ids, Iterable):
            raise InvalidArgumentError(
                localised(
                    say, "event_ids 须为事件编号的列表", "event_ids must be a list of event ids"
                ),
                argument="event_ids",
                code="type",
            )
        ids = [check.check_record_id(i, say, "event_ids") for i in event_ids]
        with self._context.transactions.database.write() as conn:
            self._require_admin(conn, actor, say)
            for event_id in ids:
                row = outbox_admin.event_row(conn, event_id)
                if row is None or row["delivered_at"] is not None:
                    state = "不存在" if row is None else "已投递"
                    raise InvalidArgumentError(
                        localised(
                            say,
                            f"事件 {event_id} {state}，无法重放；用 `lowcode outbox --failed` 查看可重放的事件",
                            f"event {event_id} "
                            f"{'does not exist' if row is None else 'was already delivered'}"
                            "; nothing replayed (`lowcode outbox --failed` lists the replayable ones)",
                        ),
                        argument="event_ids",
                        code="not_found" if row is None else "delivered",
                    )
            return outbox_admin.replay(conn, ids, self._context.clock())

    def _require_admin(self, conn: Connection, actor: Actor, say: str) -> None:
        """Refuse anyone but an administrator once the organisation has users."""
        principals = self._context.transactions.principals
        require_org_admin(
            principals, conn, actor, say, zh="查看和重放事件", en="list and replay outbox events"
        )


def _check_consumer(consumer: object) -> None:
    if not isinstance(consumer, str) or not consumer.strip() or len(consumer) > 100:
        raise InvalidArgumentError(
            f"a consumer is named by text of 1 to 100 characters, got {consumer!r}",
            argument="consumer",
            code="type",
        )
