"""When to try a failed delivery again: the outbox's own back-off, without jitter.

The constants are those of :mod:`engine.store.outbox` (BACKOFF_BASE 30 s doubling up to
BACKOFF_CAP 1 h, MAX_ATTEMPTS 10), so what a dispatcher computes here is what
``record_failure`` stores.
"""

from __future__ import annotations

from datetime import datetime

from engine.service.delivery.errors import DeliveryError
from engine.service.delivery.settings import invalid
from engine.store.outbox import MAX_ATTEMPTS, backoff

__all__ = ["MAX_ATTEMPTS", "next_attempt_at"]


def next_attempt_at(attempts: int, error: BaseException, now: datetime) -> datetime | None:
    """The time of the next attempt after ``attempts`` failed ones (this one included),
    or None when there is none: the error is permanent (a :class:`DeliveryError` with
    ``retryable`` False; any other exception counts as retryable) or ``attempts``
    reached MAX_ATTEMPTS. ``now`` must be timezone-aware."""
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise invalid("attempts", attempts, "a whole number >= 1")
    if not isinstance(error, BaseException):
        raise invalid("error", error, "an exception")
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise invalid("now", now, "a timezone-aware datetime")
    if isinstance(error, DeliveryError) and not error.retryable:
        return None
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + backoff(attempts)
