"""Checking stored records against a form definition: which records break which rule.

A publish may bring a new or stricter rule (a validation, ``required`` / ``required_if``,
a field option such as ``min``, a unique rule) that records saved earlier break. The
check reads every live record through the record source, in batches, and prepares its
stored values as an update with no changes through the runtime's
:meth:`CompiledForm.prepare` (the same path a re-save takes: formulas are recomputed,
defaults are not applied, relations kept as they are are not judged again), so the
runtime's own checks decide; nothing here re-implements a rule. Unique rules are
checked in SQL (one GROUP BY per rule, see :meth:`RecordSource.duplicates`).

For a publish the records are checked against both the published and the new
definition, and only what the new one adds is reported: a record that already broke a
rule before is no news (and must not block a ``strict`` publish of something else).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.definitions.model import FieldDefinition, FormDefinition
from engine.errors import RecordError, RecordValidationError
from engine.fields import registry
from engine.fields.base import FieldValueError
from engine.runtime.forms import CompiledForm, RecordEnvironment, compile_form
from engine.service.forms import FormRuntime
from engine.service.reading import row_values
from engine.store.records import RecordSource

#: how many record ids one failure line spells out before "…"
SHOWN_IDS = 10
#: records read (and prepared) per batch
BATCH_SIZE = 500
#: system columns an update's preparation sees on the stored record (as the writer does)
RECORD_COLUMNS = ("id", "status", "title", "version")


@dataclass(frozen=True)
class RuleFailure:
    """One rule of a form and the live records that break it.

    ``rule`` is the rule as written: a validation's expression (``end_date >=
    start_date``), ``required: reason``, ``unique: supplier + needed_by``, or the
    runtime's error code and field for anything else (``min: qty``, ``min_rows: lines``).
    ``kind`` is ``validation``, ``required``, ``unique`` or that code. ``blocking`` is set
    for a unique rule over repeated values: the database cannot enforce it, so the
    form cannot be published until the records are made unique.
    """

    app: str
    form: str
    rule: str
    kind: str
    message: str
    record_ids: tuple[int, ...]
    blocking: bool = False

    @property
    def count(self) -> int:
        return len(self.record_ids)

    def ids_text(self) -> str:
        """``#3, #8, …``: the first :data:`SHOWN_IDS` ids."""
        shown = ", ".join(f"#{i}" for i in self.record_ids[:SHOWN_IDS])
        return shown + (", …" if self.count > SHOWN_IDS else "")

    def describe(self, *, would: bool = False) -> str:
        """One line: ``2 records would fail end_date >= start_date: #2, #4 (message)``."""
        noun = "record" if self.count == 1 else "records"
        verb = "would fail" if would else ("fails" if self.count == 1 else "fail")
        return f"{self.count} {noun} {verb} {self.rule}: {self.ids_text()} ({self.message})"


def check_form_data(
    source: RecordSource,
    published: FormRuntime,
    env: Callable[[], RecordEnvironment],
    form: FormDefinition | None = None,
    *,
    batch_size: int = BATCH_SIZE,
) -> list[RuleFailure]:
    """The rules of ``form`` that live records of the published form break.

    ``source`` reads the published form's rows; ``form`` is the definition to check
    (a new version being published) or None for the published one itself. With a new
    version only failures that the published version does not already have are
    returned. ``env`` makes the environment each record is prepared in.
    """
    locale = env().locale
    current = _DefinitionCheck(published.definition, locale)
    target = current if form is None else _DefinitionCheck(form, locale)
    translate = None if form is None else _Translator(published.definition, form, locale)
    for batch in source.batches(batch_size):
        for row, children in batch:
            stored = row_values(published, row, children)
            stored.update({c: row[c] for c in RECORD_COLUMNS})
            record_id = row["id"]
            record_env = env()
            current.check(record_id, stored, record_env)
            if translate is not None:
                target.check(record_id, translate(record_id, stored, target.tally), record_env)
    target.check_unique(source, published, current if target is not current else None)
    failures = target.tally.failures(published.app, form.key if form else published.key)
    if target is current:
        return failures
    before = {f.rule: set(f.record_ids) for f in current.tally.failures(published.app, "")}
    news = []
    for failure in failures:
        fresh = tuple(i for i in failure.record_ids if i not in before.get(failure.rule, ()))
        if fresh:
            news.append(replace(failure, record_ids=fresh))
    return news


class _Tally:
    """Record ids per rule, with the rule's kind and first message, in a stable order."""

    def __init__(self, order: Mapping[str, int]):
        self._order = order
        self._kinds: dict[str, tuple[str, str, bool]] = {}
        self._ids: dict[str, dict[int, None]] = {}

    def add(
        self, rule: str, kind: str, message: str, record_id: int, *, blocking: bool = False
    ) -> None:
        self._kinds.setdefault(rule, (kind, message, blocking))
        self._ids.setdefault(rule, {})[record_id] = None

    def failures(self, app: str, form: str) -> list[RuleFailure]:
        # the definition's order (validations, then fields, then unique rules); rules the
        # definition does not name (a runtime code) after them, by text
        ranked = sorted(self._ids, key=lambda r: (self._order.get(r, len(self._order)), r))
        out = []
        for rule in ranked:
            kind, message, blocking = self._kinds[rule]
            ids = tuple(sorted(self._ids[rule]))
            out.append(RuleFailure(app, form, rule, kind, message, ids, blocking))
        return out


class _DefinitionCheck:
    """One definition's checks over stored records: prepare, then attribute the errors."""

    def __init__(self, form: FormDefinition, locale: str):
        self.form = form
        self.locale = locale
        self.compiled = compile_form(form)
        self.targets: dict[str | None, list[int]] = {}
        for index, validation in enumerate(form.validations):
            self.targets.setdefault(validation.field, []).append(index)
        self._single: dict[int, CompiledForm] = {}
        self.tally = _Tally(_rule_order(form))

    def check(self, record_id: int, values: Mapping[str, Any], env: RecordEnvironment) -> None:
        """Prepare the stored values as an unchanged update; tally every error."""
        errors = _errors(self.compiled, values, env)
        ambiguous: set[str | None] = set()
        for error in errors:
            if error.code == "validation" and error.row is None and error.field in self.targets:
                candidates = self.targets[error.field]
                if len(candidates) == 1:
                    rule = self.form.validations[candidates[0]].expr
                    self.tally.add(rule, "validation", error.message, record_id)
                else:
                    ambiguous.add(error.field)
                continue
            self.tally.add(_rule_text(error), error.code, error.message, record_id)
        for target in ambiguous:
            self._attribute(target, record_id, values, env)

    def _attribute(
        self, target: str | None, record_id: int, values: Mapping[str, Any], env: RecordEnvironment
    ) -> None:
        """Several validations show on one field: ask each alone which of them failed.

        Rare (only records that failed one of them get here), so the cost of preparing
        the record once per candidate is acceptable; each variant is compiled once.
        """
        for index in self.targets[target]:
            validation = self.form.validations[index]
            compiled = self._single.get(index)
            if compiled is None:
                compiled = compile_form(replace(self.form, validations=(validation,)))
                self._single[index] = compiled
            for error in _errors(compiled, values, env):
                if error.code == "validation" and error.row is None and error.field == target:
                    self.tally.add(validation.expr, "validation", error.message, record_id)

    def check_unique(
        self, source: RecordSource, published: FormRuntime, previous: _DefinitionCheck | None
    ) -> None:
        """Repeated values of each unique rule, among live records (one query per rule).

        A rule the published version already has is enforced by its index and skipped
        when checking a new version; a rule over a field the published table does not
        store the same way (new, or of another type) starts out blank and cannot repeat.
        """
        old_rules = {r.fields for r in previous.form.unique} if previous else set()
        for rule in self.form.unique:
            if rule.fields in old_rules or not _stored_alike(published, self.form, rule.fields):
                continue
            if rule.keyed:  # its key is computed at publish, which lists clashing records
                continue
            text = _unique_text(rule.fields)
            names = ", ".join(rule.fields)
            if self.locale.startswith("en"):
                message = f"these records repeat the values of {names}"
            else:
                message = f"这些记录的 {names} 取值重复"
            if rule.message is not None:
                message = f"{rule.message.get(self.locale)} ({message})"
            for group in source.duplicates(rule.fields):
                for record_id in group:
                    self.tally.add(text, "unique", message, record_id, blocking=True)


def _errors(
    compiled: CompiledForm, values: Mapping[str, Any], env: RecordEnvironment
) -> list[RecordError]:
    try:
        compiled.prepare({}, existing=values, env=env)
    except RecordValidationError as exc:
        return exc.errors
    return []


def _rule_text(error: RecordError) -> str:
    return f"{error.code}: {error.field or 'record'}"


def _unique_text(fields: Iterable[str]) -> str:
    return "unique: " + " + ".join(fields)


def _rule_order(form: FormDefinition) -> dict[str, int]:
    order: dict[str, int] = {}
    for validation in form.validations:
        order.setdefault(validation.expr, len(order))
    for field in form.fields:
        for column in (field, *field.fields):
            path = column.key if column is field else f"{field.key}.{column.key}"
            order.setdefault(f"required: {path}", len(order))
    for rule in form.unique:
        order.setdefault(_unique_text(rule.fields), len(order))
    return order


def _stored_alike(published: FormRuntime, form: FormDefinition, keys: Iterable[str]) -> bool:
    """Whether every field of ``keys`` is stored by the published table as ``form`` has it."""
    for key in keys:
        stored = published.tables.fields.get(key)
        if stored is None or not form.has_field(key):
            return False
        field = form.field(key)
        if stored.field.type != field.type or stored.field.options != field.options:
            return False
    return True


class _Translator:
    """Stored values of the published version -> values as the new version reads them.

    A field the same in both keeps its value; a field whose options changed has its
    value checked by its type again (a new ``min`` is a stricter rule: a value that no
    longer fits is tallied under ``<code>: <field>``); a field of another type is
    converted as the migration converts it (what would not convert is the migration's
    report, and becomes blank); a new field is blank, as its new column is.
    """

    def __init__(self, old: FormDefinition, new: FormDefinition, locale: str):
        self.locale = locale
        self.old = {f.key: f for f in old.fields}
        self.new = new

    def __call__(self, record_id: int, stored: Mapping[str, Any], tally: _Tally) -> dict[str, Any]:
        values: dict[str, Any] = {c: stored[c] for c in RECORD_COLUMNS}
        for field in self.new.fields:
            old = self.old.get(field.key)
            if old is None:
                values[field.key] = [] if field.type == "subtable" else None
            elif field.type == "subtable" and old.type == "subtable":
                old_columns = {c.key: c for c in old.fields}
                rows = []
                for row in stored.get(field.key) or []:
                    new_row = {"id": row.get("id")}
                    for column in field.fields:
                        path = f"{field.key}.{column.key}"
                        new_row[column.key] = self._value(
                            old_columns.get(column.key), column, row.get(column.key), path,
                            record_id, tally,
                        )  # fmt: skip
                    rows.append(new_row)
                values[field.key] = rows
            elif field.type == "subtable" or old.type == "subtable":
                values[field.key] = [] if field.type == "subtable" else None
            else:
                values[field.key] = self._value(
                    old, field, stored.get(field.key), field.key, record_id, tally
                )
        return values

    def _value(
        self,
        old: FieldDefinition | None,
        new: FieldDefinition,
        value: Any,
        path: str,
        record_id: int,
        tally: _Tally,
    ) -> Any:
        if old is None or value is None:
            return None
        if old == new or new.type == "formula":
            return value
        old_type, new_type = registry.get(old.type), registry.get(new.type)
        if old_type.is_blank(value):
            return None
        try:
            return new_type.coerce(new, old_type.to_json(old, value), "json")
        except FieldValueError as exc:
            if old.type == new.type:
                tally.add(f"{exc.code}: {path}", exc.code, exc.in_locale(self.locale), record_id)
            return None
