"""Rows to records: what an import reads from a form (the plan) and each record's data
built from its spreadsheet rows, cells converted.

- The plan checks the permission (``import``; ``update`` for update mode), the mapping
  (given, else the form's saved one, else suggested: engine/service/import_mapping.py)
  and the match field, and lists the columns with their fields.
- Records: when sub-table columns are mapped, consecutive rows whose parent columns (the
  mapped non-sub-table columns, or only the ``match`` column) hold the same cells are one
  record whose sub-table rows are those rows' sub-table cells (a row whose parent cells
  are all blank continues the record above); otherwise a row is a record. Cells are
  converted by engine/service/import_values.py; relations are looked up in one batch per
  column through the actor's scoped sources (engine/service/import_lookups.py).
- Update mode: the record each row names by its match value, in the actor's update scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.errors import InvalidArgumentError
from engine.fields import registry
from engine.service.actor import Actor
from engine.service.import_files import ImportTable
from engine.service.import_lookups import ImportResolver
from engine.service.import_mapping import (
    ImportTarget,
    check_mapping,
    import_targets,
    suggest_mapping,
)
from engine.service.import_report import ImportIssue
from engine.service.import_values import CellError, converter_for
from engine.service.permissions import Access
from engine.service.transactions import Transaction
from engine.store import transfers as stored
from engine.store.query_input import Filter

#: values per lookup query of update mode
MATCH_BATCH = 250


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


@dataclass
class PendingRecord:
    """One record to write: its spreadsheet rows, its data, the record it updates, and
    its unique values (rule -> value tuple) for the in-file repeat check."""

    rows: list[int]
    data: dict[str, Any]
    existing: int | None = None
    keys: dict[tuple[str, ...], tuple[Any, ...]] = field(default_factory=dict)


@dataclass
class ImportPlan:
    """What a run needs from the form: the columns, their fields and converters."""

    definition: FormDefinition
    headers: tuple[str, ...]
    mapping: dict[str, str | None]
    #: (column index, header, path, field) of the mapped top-level columns
    parents: list[tuple[int, str, str, FieldDefinition]]
    #: (column index, header, sub-table, column key, field) of mapped sub-table columns
    children: list[tuple[int, str, str, str, FieldDefinition]]
    #: the one-field and several-field unique rules, as field tuples
    unique: list[tuple[str, ...]]
    match: str | None
    #: field path -> the header mapped to it
    header_of: dict[str, str]
    labels: dict[str, str]


def make_plan(
    tx: Transaction,
    actor: Actor,
    form_key: str,
    table: ImportTable,
    mapping: Mapping[str, str | None] | None,
    match: str | None,
    locale: str,
) -> ImportPlan:
    """Check the permission, the mapping and the match field; the columns to read."""
    definition = tx.form(form_key).definition
    access = tx.access(actor)
    access.require(definition, "import", locale)
    if match is not None:
        access.require(definition, "update", locale)
    targets = fillable_targets(access, definition, locale)
    if mapping is None:
        saved = stored.saved_mapping(tx.conn, tx.app, form_key)
        chosen, _ = proposed_mapping(targets, table.headers, saved, locale)
    else:
        chosen = check_mapping(targets, table.headers, mapping, locale)
    header_of = {path: header for header, path in chosen.items() if path}
    if not header_of:
        raise InvalidArgumentError(
            _say(
                locale,
                "没有一列对应到表单的字段：请在列映射中为列选择字段",
                "no column is mapped to a field of the form: choose fields in the mapping",
            ),
            argument="mapping",
            code="empty",
        )
    if match is not None:
        _check_match(definition, match, header_of, locale)
    parents: list[tuple[int, str, str, FieldDefinition]] = []
    children: list[tuple[int, str, str, str, FieldDefinition]] = []
    for index, header in enumerate(table.headers):
        path = chosen.get(header)
        if not path:
            continue
        head, _, column = path.partition(".")
        if column:
            children.append((index, header, head, column, definition.field(head).field(column)))
        else:
            parents.append((index, header, path, definition.field(path)))
    labels = {t.path: t.label for t in targets}
    return ImportPlan(
        definition,
        table.headers,
        chosen,
        parents,
        children,
        [tuple(rule.fields) for rule in definition.unique],
        match,
        header_of,
        labels,
    )


# -- the plan ---------------------------------------------------------------------------
def fillable_targets(access: Access, definition: FormDefinition, locale: str) -> list[ImportTarget]:
    """The fields the actor may fill from a file: not hidden from them, not read-only
    for them when importing."""
    closed = set(access.hidden(definition)) | set(access.readonly(definition, "import"))
    return import_targets(definition, closed, locale)


def proposed_mapping(
    targets: list[ImportTarget],
    headers: Sequence[str],
    saved: Mapping[str, str | None] | None,
    locale: str,
) -> tuple[dict[str, str | None], bool]:
    """The saved mapping for the headers it knows (suggestions for the others) when it
    still fits the form; else the suggestion. Whether the saved one was used."""
    suggested = suggest_mapping(targets, headers)
    if not saved or not set(saved).intersection(headers):
        return suggested, False
    merged: dict[str, str | None] = {}
    for header in headers:
        merged[header] = saved[header] if header in saved else suggested.get(header)
    # a suggestion for a new column may repeat a saved column's field: the saved wins
    seen: set[str] = set()
    for header in headers:
        path = merged[header]
        if path and path in seen:
            merged[header] = None
        elif path:
            seen.add(path)
    try:
        return check_mapping(targets, headers, merged, locale), True
    except InvalidArgumentError:  # the form changed since: a fresh suggestion
        return suggested, False


def match_fields(definition: FormDefinition) -> list[str]:
    """Fields with a one-field unique rule: what update mode may match by."""
    return [rule.fields[0] for rule in definition.unique if len(rule.fields) == 1]


def _check_match(
    definition: FormDefinition, match: str, header_of: Mapping[str, str], locale: str
) -> None:
    allowed = match_fields(definition)
    if match not in allowed:
        shown = "、".join(allowed) if allowed else _say(locale, "（无）", "(none)")
        raise InvalidArgumentError(
            _say(
                locale,
                f"match：{match} 不是唯一字段，更新模式只能按唯一字段匹配（可用：{shown}）",
                f"match: {match} is not a unique field; update mode matches by a unique "
                f"field ({shown})",
            ),
            argument="match",
            given=match,
            code="match",
        )
    if match not in header_of:
        raise InvalidArgumentError(
            _say(
                locale,
                f"match：文件中没有一列对应到 {match}，无法按它查找已有记录",
                f"match: no column of the file is mapped to {match}, so records cannot "
                "be found by it",
            ),
            argument="match",
            given=match,
            code="match",
        )


# -- rows to records --------------------------------------------------------------------
def build_records(
    tx: Transaction, access: Access, plan: ImportPlan, table: ImportTable, locale: str
) -> tuple[list[PendingRecord], list[ImportIssue]]:
    """Every record's data from its rows, cells converted; the cell issues."""
    issues: list[ImportIssue] = []
    return list(iter_records(tx, access, plan, table, locale, issues)), issues


def iter_records(
    tx: Transaction,
    access: Access,
    plan: ImportPlan,
    table: ImportTable,
    locale: str,
    issues: list[ImportIssue],
) -> Iterator[PendingRecord]:
    """The records' data, converted as they are asked for (a big import never holds
    every converted record at once); the cell issues are appended to ``issues``.

    The lookups are read before the first record: the relation texts of the whole file
    in one query per column, and the organisation's people and codes.
    """
    resolver = ImportResolver(tx, access, locale)
    for index, _header, _path, fld in plan.parents:
        _prefetch(resolver, fld, (cells[index] for _n, cells in table.rows))
    for index, _header, _sub, _col, fld in plan.children:
        _prefetch(resolver, fld, (cells[index] for _n, cells in table.rows))
    convert_parent = [(i, h, p, converter_for(f, resolver, locale)) for i, h, p, f in plan.parents]
    convert_child = [
        (i, h, s, c, converter_for(f, resolver, locale)) for i, h, s, c, f in plan.children
    ]
    for _index, _header, _path, fld in plan.parents:
        resolver.prepare_org(fld)
    for _index, _header, _sub, _col, fld in plan.children:
        resolver.prepare_org(fld)
    for rows in _groups(plan, table):
        data: dict[str, Any] = {}
        bad = False
        first_number, first_cells = rows[0]
        for index, header, path, convert in convert_parent:
            try:
                data[path] = convert(first_cells[index])
            except CellError as exc:
                issues.append(ImportIssue(first_number, header, path, exc.message))
                bad = True
        if convert_child:
            lines: dict[str, list[dict[str, Any]]] = {}
            for number, cells in rows:
                line: dict[str, dict[str, Any]] = {}
                for index, header, sub, column, convert in convert_child:
                    try:
                        value = convert(cells[index])
                    except CellError as exc:
                        issues.append(ImportIssue(number, header, f"{sub}.{column}", exc.message))
                        bad = True
                        continue
                    line.setdefault(sub, {})[column] = value
                for sub, values in line.items():
                    if any(v not in (None, "", []) for v in values.values()):
                        lines.setdefault(sub, []).append({**values, "_row": number})
            for sub in {s for _i, _h, s, _c, _f in convert_child}:
                data[sub] = lines.get(sub, [])
        if bad:
            continue
        record = PendingRecord([n for n, _c in rows], data)
        for rule in plan.unique:
            values = tuple(data.get(k) for k in rule)
            if all(k in data for k in rule) and all(v not in (None, "") for v in values):
                record.keys[rule] = tuple(key_value(v) for v in values)
        if plan.match is not None and (plan.match,) not in record.keys:
            value = data.get(plan.match)
            if value not in (None, ""):
                record.keys[(plan.match,)] = (key_value(value),)
        yield record


def _groups(plan: ImportPlan, table: ImportTable) -> Iterator[list[tuple[int, tuple[Any, ...]]]]:
    """The rows of each record, in order."""
    if not plan.children:
        for row in table.rows:
            yield [row]
        return
    if plan.match is not None:
        key_columns = [i for i, _h, p, _f in plan.parents if p == plan.match]
    else:
        key_columns = [i for i, _h, _p, _f in plan.parents]
    current: list[tuple[int, tuple[Any, ...]]] = []
    current_key: tuple[Any, ...] | None = None
    for number, cells in table.rows:
        key = tuple(_blank_to_none(cells[i]) for i in key_columns)
        continues = current and (key == current_key or all(v is None for v in key))
        if continues and key_columns:
            current.append((number, cells))
            continue
        if current:
            yield current
        current, current_key = [(number, cells)], key
    if current:
        yield current


def _blank_to_none(value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else value


def key_value(value: Any) -> Any:
    """A unique value as compared between rows (text without case or outer blanks)."""
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return Decimal(str(value)).normalize()
    if isinstance(value, list):
        return tuple(value)
    return value


def _prefetch(resolver: Any, fld: FieldDefinition, cells: Iterable[Any]) -> None:
    """Let the resolver look up every distinct text of a relation column at once."""
    if registry.canonical(fld.type) != "relation" or not hasattr(resolver, "prefetch"):
        return
    texts = {shown_cell(c).strip() for c in cells}
    texts.discard("")
    if texts:
        resolver.prefetch(fld, sorted(texts))


def with_existing(
    tx: Transaction, access: Access, form_key: str, match: str, records: Iterable[PendingRecord]
) -> Iterator[PendingRecord]:
    """:func:`find_existing` over the records as they come, a batch at a time."""
    batch: list[PendingRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= MATCH_BATCH:
            find_existing(tx, access, form_key, match, batch)
            yield from batch
            batch = []
    find_existing(tx, access, form_key, match, batch)
    yield from batch


def find_existing(
    tx: Transaction, access: Access, form_key: str, match: str, records: list[PendingRecord]
) -> None:
    """Update mode: the record each row names by its match value, in the actor's update
    scope (a record they may not change is not found: a create is tried, and refused
    by the unique rule)."""
    values = list({r.data[match] for r in records if r.data.get(match) not in (None, "")})
    if not values:
        return
    source = tx.source(form_key, access.scope(form_key, "update"))
    found: dict[Any, int] = {}
    for start in range(0, len(values), MATCH_BATCH):
        batch = values[start : start + MATCH_BATCH]
        page = source.page(filters=[Filter(match, "in", batch)], page_size=500, with_total=False)
        for row in page.rows:
            found[key_value(row[match])] = int(row["id"])
    for record in records:
        value = record.data.get(match)
        if value not in (None, ""):
            record.existing = found.get(key_value(value))


def label_of(definition: FormDefinition, path: str, locale: str) -> str:
    try:
        return field_at(definition, path).label.get(locale)
    except KeyError:
        return path


def field_at(definition: FormDefinition, path: str) -> FieldDefinition:
    head, _, column = path.partition(".")
    found = definition.field(head)
    return found.field(column) if column else found


def shown_cell(value: Any) -> str:
    """A cell as preview text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
