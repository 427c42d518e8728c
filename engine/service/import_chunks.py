"""Writing an import's records in chunks, in order, through the one write path.

:func:`feed` hands the records to a ``write`` function (engine/service/import_writes.py
``write_rows``, in the transaction the mode chose) a chunk at a time, asks ``cancelled()``
before each chunk and reports ``progress(done, total)`` after it. A value of a unique
field (or of the match field) that repeats an earlier *written* row's is refused naming
that row (与第2行重复) without being written; a chunk is written early when the next
record repeats a value of one still waiting, so "earlier" is exact. The writer's errors
become issues at their spreadsheet row (a sub-table row's own row) and column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import RecordError
from engine.service.collector import sweep_young
from engine.service.import_report import ImportIssue
from engine.service.import_rows import ImportPlan, PendingRecord, label_of
from engine.service.import_writes import WriteItem, WriteResult


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


@dataclass
class Outcome:
    """What the writing phase produced."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    record_ids: list[int] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    failed_rows: set[int] = field(default_factory=set)
    written_rows: int = 0
    done: int = 0
    cancelled: bool = False


# -- writing ----------------------------------------------------------------------------
def feed(
    plan: ImportPlan,
    records: Iterable[PendingRecord],
    write: Callable[[list[WriteItem]], list[WriteResult]],
    total: int,
    progress: Callable[[int, int], None] | None,
    cancelled: Callable[[], bool] | None,
    locale: str,
    chunk_rows: int,
) -> Outcome:
    """Write the records in chunks through ``write``, in order, refusing a unique value
    that repeats an earlier written row's (a chunk is written early when the next
    record repeats a value of one still waiting, so "earlier" is exact)."""
    outcome = Outcome()
    accepted: dict[tuple[tuple[str, ...], tuple[Any, ...]], int] = {}
    pending: list[PendingRecord] = []
    pending_keys: set[tuple[tuple[str, ...], tuple[Any, ...]]] = set()
    rows_pending = 0

    def flush() -> None:
        nonlocal rows_pending
        if not pending:
            return
        if cancelled is not None and cancelled():
            raise _Stop
        items: list[WriteItem] = [(r.rows, _clean(r.data), r.existing) for r in pending]
        results = write(items)
        sweep_young()  # the chunk's reference cycles (engine/service/collector.py)
        for record, result in zip(pending, results, strict=True):
            if result.action == "failed":
                outcome.issues.extend(_issues(plan, record, result.errors, locale))
                outcome.failed_rows.update(record.rows)
                continue
            setattr(outcome, result.action, getattr(outcome, result.action) + 1)
            assert result.record_id is not None
            outcome.record_ids.append(result.record_id)
            outcome.written_rows += len(record.rows)
            for rule, value in record.keys.items():
                accepted.setdefault((rule, value), record.rows[0])
        outcome.done += rows_pending
        pending.clear()
        pending_keys.clear()
        rows_pending = 0
        if progress is not None:
            progress(outcome.done, total)

    try:
        for record in records:
            keys = {(rule, value) for rule, value in record.keys.items()}
            if keys & pending_keys:
                flush()
            repeated = next((k for k in sorted(keys, key=str) if k in accepted), None)
            if repeated is not None:
                outcome.issues.append(_repeat_issue(plan, record, repeated, accepted, locale))
                outcome.failed_rows.update(record.rows)
                outcome.done += len(record.rows)
                continue
            pending.append(record)
            pending_keys.update(keys)
            rows_pending += len(record.rows)
            if rows_pending >= chunk_rows:
                flush()
        flush()
    except _Stop:
        outcome.cancelled = True
    if not outcome.cancelled:
        outcome.done = total
    return outcome


class _Stop(Exception):
    """The owner asked the run to stop."""


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """The record data without the bookkeeping of sub-table rows' origin."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            out[key] = [{k: v for k, v in line.items() if k != "_row"} for line in value]
        else:
            out[key] = value
    return out


def _repeat_issue(
    plan: ImportPlan,
    record: PendingRecord,
    repeated: tuple[tuple[str, ...], tuple[Any, ...]],
    accepted: Mapping[tuple[tuple[str, ...], tuple[Any, ...]], int],
    locale: str,
) -> ImportIssue:
    rule = repeated[0]
    other = accepted[repeated]
    label = "+".join(plan.labels.get(k, k) for k in rule)
    return ImportIssue(
        record.rows[0],
        plan.header_of.get(rule[0]),
        rule[0],
        _say(locale, f"与第{other}行{label}重复", f"repeats row {other}'s {label}"),
    )


def _issues(
    plan: ImportPlan, record: PendingRecord, errors: Sequence[RecordError], locale: str
) -> list[ImportIssue]:
    """The writer's errors of a record as issues at their spreadsheet row and column."""
    out: list[ImportIssue] = []
    for error in errors:
        number = record.rows[0]
        path = error.field
        if error.row is not None and path:
            sub = path.split(".", 1)[0]
            lines = record.data.get(sub) or []
            if 0 < error.row <= len(lines) and isinstance(lines[error.row - 1], dict):
                number = int(lines[error.row - 1].get("_row", number))
        column = plan.header_of.get(path) if path else None
        message = error.message
        if path and column is None:  # a field the file does not fill: say which
            label = plan.labels.get(path) or label_of(plan.definition, path, locale)
            message = _say(locale, f"{label}：{message}", f"{label}: {message}")
        out.append(ImportIssue(number, column, path, message))
    return out
