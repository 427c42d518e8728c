"""Named hook points where later features plug into the service (flows, rules, reports).

A :class:`Hooks` registry belongs to one Service. Each point is a list of handlers run
in registration order, inside the transaction of the call that reached the point, so a
handler's own writes (a flow instance, a rule's follow-up record) commit or roll back
with the change that triggered them, and a handler that raises undoes the whole call.

Points (see ``HOOK_POINTS``):

``before_prepare(ctx, data, existing) -> data | None``
    before a record's input is validated and computed; may return replaced input.
    ``existing`` is the stored record's values for an update, None for a create.
``after_write(ctx, change)``
    after a record was created, updated or deleted and journalled (before COMMIT);
    ``change`` is a :class:`RecordChange`.
``on_publish(ctx, published)``
    after a form version was published (before COMMIT); ``ctx`` is a
    :class:`PublishContext`, ``published`` the store's ``PublishedVersion``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.store.journal import Journal

if TYPE_CHECKING:
    from engine.service.actor import Actor
    from engine.service.results import Record
    from engine.service.transactions import Transaction

HOOK_POINTS = ("before_prepare", "after_write", "on_publish")


@dataclass(frozen=True)
class RecordChange:
    """A record change as the after-write hooks see it."""

    topic: str
    app: str
    form: str
    record_id: int
    version: int
    #: changed fields: {key: {"old": ..., "new": ...}} (JSON values)
    changes: dict[str, Any]
    record: Record


@dataclass(frozen=True)
class PublishContext:
    """The transaction, actor, moment and journal of a publish, for on-publish hooks."""

    tx: Transaction
    actor: Actor
    now: datetime
    journal: Journal


class Hooks:
    """Handlers per hook point; add with :meth:`add`."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Callable[..., Any]]] = {p: [] for p in HOOK_POINTS}

    def add(self, point: str, handler: Callable[..., Any]) -> None:
        """Run ``handler`` at ``point`` from now on (ValueError for an unknown point)."""
        if point not in self._handlers:
            raise ValueError(
                f"unknown hook point {point!r}; the points are {', '.join(HOOK_POINTS)}"
            )
        if not callable(handler):
            raise TypeError(f"a hook handler must be callable, got {type(handler).__name__}")
        self._handlers[point].append(handler)

    def before_prepare(
        self, ctx: Any, data: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> Mapping[str, Any]:
        for handler in self._handlers["before_prepare"]:
            replaced = handler(ctx, data, existing)
            if replaced is not None:
                data = replaced
        return data

    def after_write(self, ctx: Any, change: RecordChange) -> None:
        for handler in self._handlers["after_write"]:
            handler(ctx, change)

    def on_publish(self, ctx: PublishContext, published: Any) -> None:
        for handler in self._handlers["on_publish"]:
            handler(ctx, published)
