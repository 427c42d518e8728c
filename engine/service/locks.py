"""A form's row lock and its declared aggregates, in the writing transaction.

A form that declares ``lock:`` (docs/aggregates.md) has that row locked before a record
is prepared (create, update, a flow's submit and approval), so the aggregates its
formulas and validations read come after the lock: two orders of one account racing
for the last credit are decided one after the other, the second seeing the first.
``aggregate_reader`` gives the ``AGGREGATE`` callback of a submission: one SQL aggregate
per (name, record values) per submission, on the transaction's connection, never cached
beyond it. No SQL here: the store runs it (engine/store/form_aggregates.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from engine.definitions.aggregates import ORG_LOCK_TYPES, RowLock
from engine.errors import ExpressionError, NotFoundError
from engine.fields import registry
from engine.fields.base import FieldValueError
from engine.store.form_aggregates import lock_org_row, lock_row, stored_value

if TYPE_CHECKING:
    from engine.definitions.model import FormDefinition
    from engine.service.forms import FormRuntime
    from engine.service.transactions import Transaction
    from engine.service.writer import WriteContext
    from engine.store.records import RecordSource

#: ``record.x`` in a where
_RECORD_NAME = re.compile(r"\brecord\.([A-Za-z_]\w*)")
#: what a lock took: (the form or organisation type, the key) or None
Locked = tuple[str, Any] | None


def needs_fresh_values(runtime: FormRuntime) -> bool:
    """True when the form locks a row or reads aggregates: its formulas must be computed
    again (after the lock) when a flow submits or approves its record."""
    definition = runtime.definition
    return definition.lock is not None or bool(definition.aggregates)


def take_lock(
    ctx: WriteContext, data: Mapping[str, Any], existing: Mapping[str, Any] | None, source: str
) -> Locked:
    """Lock the row the form's ``lock`` names for a record about to be prepared from
    ``data`` (over ``existing`` on an update). A value that cannot be read yet (it will
    fail the record's own checks) locks nothing."""
    lock = ctx.runtime.definition.lock
    if lock is None:
        return None
    field = _field(ctx.runtime, lock)
    if field is None:
        return None
    if isinstance(data, Mapping) and lock.field in data:
        try:
            value = registry.get(field.type).coerce(field, data[lock.field], source)
        except (FieldValueError, TypeError, ValueError):
            return None
    else:
        value = (existing or {}).get(lock.field)
    return _lock(ctx.tx, ctx.runtime, lock, field, value)


def relock(ctx: WriteContext, values: Mapping[str, Any], locked: Locked) -> bool:
    """After preparing: lock the row the prepared values name when it is not the one
    locked before (a default or fill set the field); True when the record must be
    prepared again, after this lock."""
    lock = ctx.runtime.definition.lock
    if lock is None:
        return False
    field = _field(ctx.runtime, lock)
    if field is None or values.get(lock.field) is None:
        return False
    now = _target(ctx.tx, lock, field, values.get(lock.field))
    if now is None or now == locked:
        return False
    _lock(ctx.tx, ctx.runtime, lock, field, values.get(lock.field))
    return True


def _field(runtime: FormRuntime, lock: RowLock) -> Any:
    definition = runtime.definition
    return definition.field(lock.field) if definition.has_field(lock.field) else None


def _target(tx: Transaction, lock: RowLock, field: Any, value: Any) -> Locked:
    """Which row a lock on ``value`` takes, without taking it (a through lock reads the
    related record)."""
    if value is None or value == "":
        return None
    if field.type in ORG_LOCK_TYPES:
        return (field.type, value)
    target_form = field.option("to")
    if lock.through is None:
        return (target_form, value)
    return ("through", (target_form, value))


def _lock(tx: Transaction, runtime: FormRuntime, lock: RowLock, field: Any, value: Any) -> Locked:
    if value is None or value == "":
        return None
    conn = tx.conn
    if field.type in ORG_LOCK_TYPES:
        lock_org_row(conn, field.type, value)
        return (field.type, value)
    target_form = field.option("to")
    target = tx.stored(target_form)
    if lock.through is None:
        lock_row(conn, target, value)
        return (target_form, value)
    # one step further: the record the related record points to (its row is locked;
    # the related record itself is only read)
    row = _read(tx, target_form, value)
    if row is None:
        return ("through", (target_form, value))
    further = stored_value(target, row, lock.through)
    through_field = target.definition.field(lock.through)
    if through_field.type in ORG_LOCK_TYPES:
        lock_org_row(conn, through_field.type, further)
    elif further is not None:
        lock_row(conn, tx.stored(through_field.option("to")), further)
    return ("through", (target_form, value))


def _read(tx: Transaction, form_key: str, record_id: Any) -> Mapping[str, Any] | None:
    from engine.store.records import ALL_ROWS

    if not isinstance(record_id, int) or isinstance(record_id, bool):
        return None
    try:
        return tx.source(form_key, ALL_ROWS).row(record_id)
    except NotFoundError:  # a missing record locks nothing; its own checks say why
        return None


def aggregate_reader(
    source: RecordSource, definition: FormDefinition
) -> Callable[[str, Mapping[str, Any]], Any] | None:
    """The AGGREGATE callback of one submission of ``definition``'s form, read through
    ``source`` (its connection: the writing transaction; None: the form declares no
    aggregate). Each (name, record values) is read once per submission."""
    declared = {a.name: a for a in definition.aggregates}
    if not declared:
        return None
    record_fields = frozenset(f.key for f in definition.fields)
    # the record values each where reads (record.x): the cache key and the bound values
    reads = {
        name: tuple(sorted(set(_RECORD_NAME.findall(a.where or ""))))
        for name, a in declared.items()
    }
    seen: dict[tuple[Any, ...], Any] = {}

    def read(name: str, values: Mapping[str, Any]) -> Any:
        aggregate = declared.get(name)
        if aggregate is None:
            raise ExpressionError(f"the form declares no aggregate {name!r}")
        record = {key: values.get(key) for key in reads[name]}
        key = (name, *(repr(record[k]) for k in reads[name]))
        if key not in seen:
            seen[key] = source.declared_aggregate(aggregate, record, record_fields)
        return seen[key]

    return read


def flow_aggregate_reader(
    tx: Transaction, form_key: str
) -> Callable[[str, Mapping[str, Any]], Any] | None:
    """The AGGREGATE callback of a flow's conditions on ``form_key`` (this transaction)."""
    from engine.store.records import ALL_ROWS

    runtime = tx.form(form_key)
    if not runtime.definition.aggregates:
        return None
    return aggregate_reader(tx.source(form_key, ALL_ROWS), runtime.definition)
