"""What an evaluation may know about the world: the time, the user, related records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.expressions.limits import DEFAULT_TIME_BUDGET

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: (relation field key, record id, target field key) -> the target field's value
LookupFunction = Callable[[str, Any, str], Any]
#: (aggregate name, the record's values) -> the declared aggregate's value (AGGREGATE)
AggregateFunction = Callable[[str, Any], Any]


def _now_in_shanghai() -> datetime:
    return datetime.now(SHANGHAI)


@dataclass
class EvaluationContext:
    """The moment and the actor an evaluation runs for.

    ``now`` is timezone-aware (TODAY() is its date in ``timezone``); ``lookup`` reads a
    related record's field for LOOKUP; ``time_budget`` bounds the seconds one evaluation
    may spend on sub-table rows and lookups.
    """

    now: datetime = field(default_factory=_now_in_shanghai)
    timezone: ZoneInfo = SHANGHAI
    user: str | None = None
    department: str | None = None
    lookup: LookupFunction | None = None
    #: the dealer an external user belongs to (CURRENT_DEALER())
    dealer: str | None = None
    #: the actor's region (CURRENT_REGION())
    region: str | None = None
    time_budget: float = DEFAULT_TIME_BUDGET
    #: reads a form's declared aggregate in the current transaction (AGGREGATE)
    aggregate: AggregateFunction | None = None
    #: (lookup name, the record's or row's values, field or None) -> the best row's
    #: value for a form's declared lookup (MATCH; docs/lookups.md)
    match: Callable[[str, Any, str | None], Any] | None = None
    #: ("balance" | "available", ledger key, account key values) -> the amount
    #: (BALANCE / AVAILABLE; docs/ledgers.md)
    ledger: Callable[[str, str, list[Any]], Any] | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            # A naive moment is read in the context's zone rather than rejected: callers
            # in tests and scripts write datetime(2024, 5, 20) and mean local time.
            self.now = self.now.replace(tzinfo=self.timezone)
