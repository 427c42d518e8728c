"""What a record is prepared against: the moment, the actor and a window on other records.

The runtime never touches the database; the service hands in a
:class:`RecordEnvironment` whose ``fetch_record`` reads a related record inside the
service's transaction, and whose ``find_options`` reads the records behind an
options-from select. :class:`RecordFetcher` remembers what it fetched during one
``prepare`` call, so ``fill_from``, the existence check and ``LOOKUP`` read a related
record once and all see the same version of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from engine.expressions import EvaluationContext

#: seconds one submission may take to be checked (the service's default deadline)
DEFAULT_SUBMISSION_BUDGET_SECONDS = 10

FetchRecord = Callable[[str, int], Mapping[str, Any] | None]
#: (form key, value field, value) -> live records of that form whose value field equals it
FindOptions = Callable[[str, str, str], Sequence[Mapping[str, Any]]]


@dataclass(frozen=True)
class RecordEnvironment:
    """The moment (aware, Asia/Shanghai by default), the actor and access to related records.

    ``fetch_record(form_key, record_id)`` returns that record's current values, or
    ``None`` when it does not exist or the actor may not see it.

    ``find_options(form_key, value_field, value)`` returns the live records (values with
    ``id``, ``status``, ``title``) of ``form_key`` whose ``value_field`` equals ``value``,
    for a select/multiselect with ``options: {from: ...}``. Several records may share a
    value, so it returns all of them (the service caps the number) and the option's
    ``filter`` needs to match one. Without it (``None``) such values are not checked:
    only an environment without a database (a preview, a unit test) leaves it out.

    ``deadline`` is a :func:`time.monotonic` value by which the whole submission must be
    checked (``None``: no limit). Preparation looks at it between steps and every few
    rows; past it, ``prepare`` raises :class:`RecordValidationError` with one
    record-level error of code ``budget`` and nothing is returned to write. The service
    passes ``time.monotonic() + DEFAULT_SUBMISSION_BUDGET_SECONDS``.
    """

    now: datetime
    user: str | None
    department: str | None
    fetch_record: FetchRecord
    locale: str = "zh-CN"
    find_options: FindOptions | None = None
    deadline: float | None = None
    #: the dealer of an external actor and the actor's region (CURRENT_DEALER/REGION)
    dealer: str | None = None
    region: str | None = None
    #: answers MATCH: (engine.runtime.forms.lookups.MatchQuery) -> the best row or None,
    #: one query in the service's transaction (docs/lookups.md); None: MATCH cannot run
    best_match: Callable[[Any], Mapping[str, Any] | None] | None = None
    #: AGGREGATE's callback: (name, record values) -> the form's declared aggregate,
    #: read in the service's transaction (docs/aggregates.md); None: not available
    aggregate: Callable[[str, Mapping[str, Any]], Any] | None = None
    #: BALANCE / AVAILABLE's callback: (what, ledger, account key values) -> amount, read
    #: in the service's transaction (docs/ledgers.md); None: ledgers cannot be read
    ledger: Callable[[str, str, list[Any]], Any] | None = None

    def __post_init__(self) -> None:
        # A naive "now" would make TODAY() depend on the server's zone; refuse it early.
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError(
                "RecordEnvironment.now must be timezone-aware, e.g. "
                "datetime.now(ZoneInfo('Asia/Shanghai'))"
            )


class RecordFetcher:
    """Reads related records through the environment, each at most once per submission."""

    __slots__ = ("_fetch", "_seen")

    def __init__(self, fetch: FetchRecord):
        self._fetch = fetch
        self._seen: dict[tuple[str, int], Mapping[str, Any] | None] = {}

    def get(self, form_key: str, record_id: int) -> Mapping[str, Any] | None:
        """The related record's values, or ``None`` when it does not exist or is not visible."""
        key = (form_key, record_id)
        if key not in self._seen:
            self._seen[key] = self._fetch(form_key, record_id)
        return self._seen[key]


def evaluation_context(
    env: RecordEnvironment, fetcher: RecordFetcher, relation_targets: Mapping[str, str]
) -> EvaluationContext:
    """The expression context of one submission; LOOKUP reads through ``fetcher``.

    ``relation_targets`` maps a relation field key (top-level or sub-table column) to the
    form it points at.
    """

    def lookup(relation_field: str, record_id: Any, target_field: str) -> Any:
        target_form = relation_targets.get(relation_field)
        if target_form is None or record_id is None:
            return None
        if isinstance(record_id, Decimal) and record_id == record_id.to_integral_value():
            # the language reads a stored relation id as a number (Decimal); the store
            # looks records up by int (on create the existence check had cached it)
            record_id = int(record_id)
        record = fetcher.get(target_form, record_id)
        return None if record is None else record.get(target_field)

    return EvaluationContext(
        now=env.now,
        timezone=env.now.tzinfo,
        user=env.user,
        department=env.department,
        lookup=lookup,
        dealer=env.dealer,
        region=env.region,
        aggregate=env.aggregate,
        ledger=env.ledger,
    )
