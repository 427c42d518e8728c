"""The one place imported rows are written: :func:`write_rows`.

Every record of an import goes through the writer (engine/service/writer.py), exactly as
a form submission does: the actor's permissions (``import`` to create, ``update`` to
change), preparation (defaults, formulas, validations), uniqueness, serial numbers, the
journal (revision, audit, outbox event) and the hooks.

Consecutive new records go through the batch path (engine/service/record_batch.py): the
same checks, with the unique rules asked for the batch at once and the rows and journal
written with one executemany per table. A refused record leaves nothing behind (not even
a serial number taken) and the others stay written. An update is written on its own in a
savepoint. The caller decides whether the transaction is then committed ("valid" mode)
or rolled back (all or nothing, dry runs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RecordError,
    RecordValidationError,
)
from engine.service import writer
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.record_batch import create_records
from engine.service.records import write_context
from engine.service.transactions import Transaction

#: an item to write: (the spreadsheet rows it came from, the record data, the id of the
#: record it updates or None to create one)
WriteItem = tuple[Sequence[int], Mapping[str, Any], int | None]


@dataclass(frozen=True)
class WriteResult:
    """What happened to one item: ``action`` is created, updated, unchanged or failed;
    ``record_id`` is set unless it failed, ``errors`` only when it failed."""

    action: str
    record_id: int | None = None
    errors: tuple[RecordError, ...] = ()


def write_rows(
    tx: Transaction,
    actor: Actor,
    app_key: str,
    form_key: str,
    items: Sequence[WriteItem],
    source: str = "import",
    *,
    context: ServiceContext,
) -> list[WriteResult]:
    """Write ``items`` in order in ``tx``; one :class:`WriteResult` per item.

    A refused item (validation, uniqueness, permission, a concurrent change) is rolled
    back to its savepoint and reported with its errors; the others stay written.
    """
    del app_key  # the transaction is bound to the app already
    results: list[WriteResult] = []
    start = 0
    while start < len(items):
        # consecutive creates go as one batch; an update is written on its own, in order
        end = start
        creating = items[start][2] is None
        while end < len(items) and (items[end][2] is None) == creating:
            end += 1
        run = items[start:end]
        if creating:
            results.extend(_create(tx, actor, form_key, run, source, context))
        else:
            results.extend(_update(tx, actor, form_key, item, source, context) for item in run)
        start = end
    return results


def _create(
    tx: Transaction,
    actor: Actor,
    form_key: str,
    items: Sequence[WriteItem],
    source: str,
    context: ServiceContext,
) -> list[WriteResult]:
    """New records through the batch path (engine/service/record_batch.py): the single
    write's checks and journal, with the rows and journal in one executemany per table."""
    ctx = write_context(tx, actor, form_key, context)
    try:
        outcomes = create_records(ctx, [data for _rows, data, _id in items], source)
    except PermissionDeniedError as exc:  # the actor may not import into this form at all
        refused = (RecordError(None, str(exc), "refused"),)
        return [WriteResult("failed", None, refused) for _ in items]
    return [
        WriteResult("failed", None, tuple(outcome.errors))
        if isinstance(outcome, RecordValidationError)
        else WriteResult("created", outcome.id)
        for outcome in outcomes
    ]


def _update(
    tx: Transaction,
    actor: Actor,
    form_key: str,
    item: WriteItem,
    source: str,
    context: ServiceContext,
) -> WriteResult:
    """One update in its own savepoint: a refused one leaves nothing behind."""
    _rows, data, existing_id = item
    assert existing_id is not None
    ctx = write_context(tx, actor, form_key, context)
    try:
        with tx.conn.begin_nested():
            before = ctx.scoped("update").row(existing_id)["version"]
            record = writer.update_record(ctx, existing_id, data, None, source)
            action = "updated" if record.version != before else "unchanged"
            return WriteResult(action, record.id)
    except RecordValidationError as exc:
        return WriteResult("failed", None, tuple(exc.errors))
    except (PermissionDeniedError, NotFoundError, ConflictError) as exc:
        return WriteResult("failed", None, (RecordError(None, str(exc), "refused"),))
