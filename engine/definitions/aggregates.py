"""A form's cross-form aggregates and its row lock, as immutable values.

A form may declare named aggregates over another form's rows::

    aggregates:
      open_credit:
        form: order
        measure: "SUM(credit_amount)"
        where: "dealer == record.dealer and status == 'approved' and id != record.id"
    lock: credit_account

``AGGREGATE("open_credit")`` in the form's formulas, validations and flow conditions is
then one SQL aggregate, run by the store inside the writing transaction (never a cached
figure); ``where`` is a condition the database applies (the subset of the language that
permission row rules use), where ``record.x`` is this record's value of ``x``, bound as a
parameter. ``lock`` names a field of this form (a relation: the related record's row; an
organisation field: that organisation row) or a one-step path ``field.target_field``
(the record the related record points to): that row is locked before the record is
prepared, so every aggregate is read after the lock (engine/service/locks.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from engine.definitions.jobs import parse_aggregate
from engine.definitions.model import SourceSpan

#: the expression function that reads a declared aggregate
AGGREGATE_FUNCTION = "AGGREGATE"
#: the name through which a ``where`` reads this record's values: ``record.dealer``
RECORD_NAME = "record"
#: what a measure may be: SUM/MIN/MAX(field), COUNT() or COUNT(field)
MEASURE_FUNCTIONS = ("SUM", "COUNT", "MIN", "MAX")
#: organisation field types a lock may name (the organisation row is locked)
ORG_LOCK_TYPES = frozenset({"user", "department", "region", "dealer"})


@dataclass(frozen=True)
class FormAggregate:
    """``name``: ``function(field)`` over the live rows of ``form`` that meet ``where``."""

    name: str
    form: str
    function: str
    field: str | None = None
    where: str | None = None
    location: SourceSpan | None = dc_field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RowLock:
    """The row locked while a record is written: the one ``field`` names, or (``through``)
    the one the related record's ``through`` field names."""

    field: str
    through: str | None = None
    location: SourceSpan | None = dc_field(default=None, compare=False, repr=False)

    @property
    def text(self) -> str:
        """The lock as written: ``dealer`` or ``budget_line.account``."""
        return self.field if self.through is None else f"{self.field}.{self.through}"


def parse_lock(value: Any, location: SourceSpan | None = None) -> RowLock | None:
    """``dealer`` -> RowLock("dealer"); ``budget_line.account`` -> RowLock("budget_line",
    "account"); None for anything else (the checks say why)."""
    if not isinstance(value, str) or not value.strip():
        return None
    head, _dot, tail = value.strip().partition(".")
    if not head or "." in tail or (_dot and not tail):
        return None
    return RowLock(head, tail or None, location)


def build_aggregates(
    data: Mapping[str, Any] | None, locate: Any = None
) -> tuple[FormAggregate, ...]:
    """The checked ``aggregates`` mapping as values, in written order.

    ``locate(name)`` gives the :class:`SourceSpan` of one entry (None: no locations).
    """
    out = []
    for name, entry in (data or {}).items():
        measure = parse_aggregate(entry.get("measure"))
        if measure is None:  # pragma: no cover - the checks refuse it first
            continue
        out.append(
            FormAggregate(
                name=str(name),
                form=entry["form"],
                function=measure.function,
                field=measure.field,
                where=entry.get("where"),
                location=locate(name) if locate else None,
            )
        )
    return tuple(out)


def aggregates_from_data(items: Any) -> tuple[FormAggregate, ...]:
    """Aggregates as ``to_data`` stored them."""
    return tuple(
        FormAggregate(
            name=item["name"],
            form=item["form"],
            function=item["function"],
            field=item.get("field"),
            where=item.get("where"),
        )
        for item in items or ()
    )


def lock_from_data(data: Any) -> RowLock | None:
    """The lock as ``to_data`` stored it."""
    if not data:
        return None
    return RowLock(data["field"], data.get("through"))
