"""Values that name the organisation: checked when written, shown by name when read.

``user``, ``department``, ``region`` and ``dealer`` fields store codes. A record saved
with a code the organisation does not have is refused with the field named (only the
values set or changed by the write: a record whose user has since left can still be
edited). Records read back carry the display names (:attr:`Record.names`).

A database whose organisation has no users yet (scripts, tests, a fresh install before
``lowcode org load``) has nothing to check against: codes are kept as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import RecordError
from engine.service.forms import FormRuntime
from engine.service.results import Record
from engine.service.transactions import Transaction
from engine.store.org import ORG_KINDS

_MESSAGES = {
    "user": ("no user {code!r} in the organisation", "组织中没有用户 {code!r}"),
    "department": ("no department {code!r} in the organisation", "组织中没有部门 {code!r}"),
    "region": ("no region {code!r} in the organisation", "组织中没有区域 {code!r}"),
    "dealer": ("no dealer {code!r} in the organisation", "组织中没有经销商 {code!r}"),
}


def org_fields(runtime: FormRuntime) -> list[tuple[str, str]]:
    """(field key, kind) of the form's top-level organisation fields."""
    return [(f.key, f.type) for f in runtime.definition.fields if f.type in ORG_KINDS]


def _codes(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return [value] if isinstance(value, str) and value else []


def check_org_values(
    tx: Transaction,
    runtime: FormRuntime,
    values: Mapping[str, Any],
    existing: Mapping[str, Any] | None,
    locale: str,
) -> list[RecordError]:
    """Errors for codes the organisation lacks among the values set or changed."""
    fields = org_fields(runtime)
    if not fields:
        return []
    wanted: dict[str, set[str]] = {}
    written: list[tuple[str, str, list[str]]] = []
    for key, kind in fields:
        value = values.get(key)
        if existing is not None and existing.get(key) == value:
            continue
        codes = _codes(value)
        if codes:
            written.append((key, kind, codes))
            wanted.setdefault(kind, set()).update(codes)
    if not written or not tx.has_people():
        return []
    found = {kind: tx.names(kind, codes) for kind, codes in wanted.items()}
    english = locale.startswith("en")
    errors = []
    for key, kind, codes in written:
        for code in codes:
            if code not in found[kind]:
                text = _MESSAGES[kind][0 if english else 1].format(code=code)
                errors.append(RecordError(key, text, "unknown"))
    return errors


def with_names(tx: Transaction, runtime: FormRuntime, records: Iterable[Record]) -> list[Record]:
    """The records with :attr:`Record.names` filled for their organisation fields.

    Names come from the transaction's organisation cache: no statement once known.
    """
    items = list(records)
    fields = org_fields(runtime)
    if not fields or not items:
        return items
    wanted: dict[str, set[str]] = {}
    for record in items:
        for key, kind in fields:
            wanted.setdefault(kind, set()).update(_codes(record.values.get(key)))
    if not tx.has_people():
        return items
    found = {kind: tx.names(kind, codes) for kind, codes in wanted.items() if codes}
    for record in items:
        names: dict[str, Any] = {}
        for key, kind in fields:
            value = record.values.get(key)
            table = found.get(kind, {})
            if isinstance(value, list):
                names[key] = [table.get(code, code) for code in value]
            elif isinstance(value, str) and value:
                names[key] = table.get(value, value)
        record.names = names
    return items
