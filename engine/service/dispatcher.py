"""The outbox dispatcher: deliver committed events after commit, each at least once.

Events are written in the transaction of the change that caused them
(:mod:`engine.store.journal`); the dispatcher then, outside any transaction::

    claim due events under a lease  ->  deliver each  ->  acknowledge the delivered,
                                                        record each failure

A deliverer is looked up by the ``channel`` of the event's payload first, then by its
topic (``register("webhook", ...)`` / ``register("order.approved", ...)``). It is a
callable taking the :class:`~engine.store.outbox.OutboxEvent` and returning anything
(e.g. a :class:`engine.service.delivery.DeliveryResult`) on success; it raises on
failure. A failure is recorded with its text and retried after the outbox's back-off
(30 s doubling to 1 h); after :data:`~engine.store.outbox.MAX_ATTEMPTS` failures the
event is dead: never tried again, listed by ``lowcode outbox --failed`` and replayable
(:meth:`engine.service.events.EventUseCases.replay`). An exception whose ``retryable``
attribute is False (:class:`engine.service.delivery.DeliveryError` for an HTTP 4xx, a
wrong robot token...) makes the event dead at once. A record event no deliverer wants is
acknowledged (nothing subscribes to it); a message a rule queued (``rule.*``) with no
deliverer fails like an undeliverable one, so it stays visible and replayable, never
dropped.

Delivery is at least once: a process killed after a receiver answered but before the
acknowledgement committed delivers again once the lease ran out. Every delivery carries
the event's ``idempotency_key`` so receivers drop the repeat. Deliverers must bound
their own time (an HTTP timeout); the claim's lease is longer than a batch may take.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from engine.errors import InvalidArgumentError
from engine.service.actor import SYSTEM_ACTOR
from engine.service.events import Routes
from engine.store.outbox import OutboxEvent

if TYPE_CHECKING:
    from engine.service.service import Service

#: topics whose events are messages someone asked for: never acknowledged unrouted
MUST_DELIVER = ("rule.",)
log = logging.getLogger(__name__)

#: what a deliverer is: the event in, anything out (raise to fail)
Deliverer = Callable[[OutboxEvent], Any]

#: events one claim takes
DEFAULT_BATCH = 100
#: how long a claim holds its events (longer than a batch of deliveries may take)
DEFAULT_DISPATCH_LEASE = timedelta(minutes=5)


def default_consumer_name(role: str = "dispatcher") -> str:
    """``role@host:pid``: unique per running process (the outbox lease holder's name)."""
    return f"{role}@{socket.gethostname()[:60]}:{os.getpid()}"


@dataclass
class DispatchRun:
    """What one :meth:`Dispatcher.dispatch_once` did (event ids)."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    unrouted: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def claimed(self) -> int:
        """How many events the claim took."""
        return len(self.delivered) + len(self.retrying) + len(self.dead) + len(self.unrouted)


class Dispatcher:
    """Delivers the outbox of one :class:`~engine.service.service.Service`.

    ``consumer`` names this dispatcher in the outbox leases (default ``dispatcher@host:pid``).
    """

    def __init__(
        self,
        service: Service,
        *,
        consumer: str | None = None,
        batch: int = DEFAULT_BATCH,
        lease: timedelta = DEFAULT_DISPATCH_LEASE,
    ):
        if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 1000:
            raise InvalidArgumentError(
                f"batch must be a whole number from 1 to 1000, got {batch!r} / "
                f"batch 须为 1 到 1000 的整数",
                argument="batch",
                code="type",
            )
        self._service = service
        self.consumer = consumer or default_consumer_name()
        self.batch = batch
        self.lease = lease
        self._deliverers: dict[str, Deliverer] = {}

    def register(self, topic_or_channel: str, deliver: Deliverer) -> None:
        """Deliver events whose payload ``channel`` or whose topic is ``topic_or_channel``
        with ``deliver`` (a later registration of the same key replaces the earlier)."""
        if not isinstance(topic_or_channel, str) or not topic_or_channel.strip():
            raise InvalidArgumentError(
                f"topic_or_channel must be non-empty text, got {topic_or_channel!r} / "
                "topic_or_channel 须为非空文本",
                argument="topic_or_channel",
                code="type",
            )
        if not callable(deliver):
            raise InvalidArgumentError(
                f"deliver must be callable (event -> result), got {deliver!r} / "
                "deliver 须为可调用对象（事件 -> 结果）",
                argument="deliver",
                code="type",
            )
        self._deliverers[topic_or_channel] = deliver

    def deliverer_for(self, event: OutboxEvent) -> Deliverer | None:
        """The deliverer of ``event``: by its payload's ``channel``, else by its topic."""
        channel = event.payload.get("channel") if isinstance(event.payload, dict) else None
        if isinstance(channel, str) and channel in self._deliverers:
            return self._deliverers[channel]
        return self._deliverers.get(event.topic)

    def dispatch_once(self) -> DispatchRun:
        """Claim one batch of due events and deliver it; what happened to each."""
        events_api = self._service.events
        run = DispatchRun()
        # events nobody here delivers are acknowledged in the claim's transaction,
        # without a claim (half of a busy outbox: every change's record event)
        keys = tuple(self._deliverers)
        routes = Routes(keys, keys, MUST_DELIVER)
        events = events_api.claim(
            SYSTEM_ACTOR, self.consumer, limit=self.batch, lease=self.lease, routes=routes
        )
        run.unrouted.extend(routes.acknowledged)
        done: list[int] = []
        for event in events:
            deliver = self.deliverer_for(event)
            if deliver is None and not event.topic.startswith(MUST_DELIVER):
                run.unrouted.append(event.id)
                done.append(event.id)
                continue
            try:
                if deliver is None:
                    # a message a rule asked for: never dropped, failed visibly instead
                    raise LookupError(f"no deliverer is registered for {event.topic}")
                deliver(event)
            except Exception as error:  # noqa: BLE001  (any failure is recorded, never lost)
                text = f"{type(error).__name__}: {error}"
                run.errors[event.id] = text
                log.warning("outbox event %s (%s) failed: %s", event.id, event.topic, text)
                if getattr(error, "retryable", True) is False:
                    events_api.give_up(SYSTEM_ACTOR, self.consumer, event.id, text)
                    run.dead.append(event.id)
                    continue
                recorded = events_api.fail(SYSTEM_ACTOR, self.consumer, event.id, text)
                if recorded is not None and recorded.dead:
                    run.dead.append(event.id)
                else:
                    run.retrying.append(event.id)
                continue
            run.delivered.append(event.id)
            done.append(event.id)
        if done:
            events_api.acknowledge(SYSTEM_ACTOR, self.consumer, done)
        return run

    def dispatch_all(self, max_batches: int = 100) -> DispatchRun:
        """Dispatch batches until none is due (at most ``max_batches``); the sum of them."""
        total = DispatchRun()
        for _ in range(max_batches):
            run = self.dispatch_once()
            total.delivered += run.delivered
            total.retrying += run.retrying
            total.dead += run.dead
            total.unrouted += run.unrouted
            total.errors.update(run.errors)
            if run.claimed < self.batch:
                break
        return total
