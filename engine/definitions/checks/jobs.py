"""Semantic checks of batch job documents, each problem located at its key.

- the job key is an identifier, unique in the app; both forms exist and differ;
- ``source.date`` is a date or datetime field (or ``created_at`` / ``updated_at``);
- ``source.where`` compiles over the source form and is a condition the database can
  apply (comparisons of a field with literals, and/or/not: as a permission row rule);
- ``group_by`` names fields of one stored value each (no sub-tables, files, lists);
- each aggregate is ``SUM/AVG/MIN/MAX(field)``, ``COUNT()`` or ``COUNT(field)``; SUM
  and AVG need a number field, MIN and MAX a number or date field; its name is an
  identifier other than a group field or a period name;
- output fields exist and can be set; their formulas compile over the group fields,
  the aggregate names and ``period``, ``period_start``, ``period_end``; ``match`` names
  output fields that have a value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any

from engine.definitions.checks.expressions import scope_for
from engine.definitions.checks.identifiers import identifier_error
from engine.definitions.checks.rules import DATE_TYPES, NUMBER_TYPES, UNSETTABLE
from engine.definitions.context import AppContext, FieldSite, FormInfo
from engine.definitions.jobs import (
    AGGREGATE_FUNCTIONS,
    NUMBER_AGGREGATES,
    PERIOD_NAMES,
    SYSTEM_DATE_COLUMNS,
    parse_aggregate,
)
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError, ExpressionError

#: field types a job cannot group by: several values, files, long text
UNGROUPABLE = frozenset(
    {"subtable", "attachment", "image", "signature", "address", "multiselect", "richtext"}
)


def _hint(word: Any, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def value_type(site: FieldSite) -> str | None:
    """The type of the value a field holds (a formula's result type)."""
    if site.type == "formula":
        return str(site.definition.get("result", "number"))
    return site.type


def check_jobs(app: AppContext) -> Iterator[DefinitionError]:
    """Every job document of the app."""
    seen: dict[str, Source] = {}
    for source in app.documents.get("job", []):
        if not isinstance(source.data, dict):
            continue
        key = source.get(("job",))
        if isinstance(key, str):
            problem = identifier_error(source, ("job",), key, "job", 60)
            if problem:
                yield problem
            elif key in seen:
                yield source.fail(
                    ("job",),
                    f"job {key!r} is defined twice (also in {seen[key].file})",
                    "rename one",
                )
            seen.setdefault(key, source)
        yield from JobCheck(source, app).run()


class JobCheck:
    """The checks of one job document against its forms."""

    def __init__(self, source: Source, app: AppContext):
        self.source, self.app = source, app

    def _form(self, path: Path) -> FormInfo | None:
        key = self.source.get(path)
        if not isinstance(key, str):
            return None
        return self.app.forms.get(key)

    def _missing_form(self, path: Path) -> Iterator[DefinitionError]:
        key = self.source.get(path)
        if isinstance(key, str) and key not in self.app.forms:
            yield self.source.fail(path, f"the app has no form {key!r}", _hint(key, self.app.forms))

    def run(self) -> Iterator[DefinitionError]:
        yield from self._missing_form(("source", "form"))
        yield from self._missing_form(("output", "form"))
        source_form = self._form(("source", "form"))
        output_form = self._form(("output", "form"))
        if source_form is not None and output_form is source_form:
            yield self.source.fail(
                ("output", "form"),
                "a job writes to another form than the one it reads",
                "name a form of its own for the results",
            )
            return
        names: set[str] = set(PERIOD_NAMES)
        if source_form is not None:
            yield from self._date(source_form)
            yield from self._where(source_form)
            yield from self._group_by(source_form)
            yield from self._aggregates(source_form)
        names |= {k for k in self.source.get(("group_by",)) or () if isinstance(k, str)}
        names |= {k for k in self.source.get(("values",)) or {} if isinstance(k, str)}
        if output_form is not None:
            yield from self._output(output_form, frozenset(names))

    # -- the rows read --------------------------------------------------------------------
    def _date(self, form: FormInfo) -> Iterator[DefinitionError]:
        key = self.source.get(("source", "date"))
        if not isinstance(key, str) or key in SYSTEM_DATE_COLUMNS:
            return
        site = form.top.get(key)
        if site is None:
            yield self.source.fail(
                ("source", "date"),
                f"form {form.key!r} has no field {key!r}",
                _hint(key, [*form.top, *SYSTEM_DATE_COLUMNS]),
            )
        elif value_type(site) not in DATE_TYPES:
            yield self.source.fail(
                ("source", "date"),
                f"field {key!r} is a {site.type} field, not a date",
                "name a date or datetime field (or created_at / updated_at)",
            )

    def _where(self, form: FormInfo) -> Iterator[DefinitionError]:
        text = self.source.get(("source", "where"))
        if not isinstance(text, str):
            return
        from engine.expressions import compile_expression
        from engine.expressions.row_conditions import check_row_condition

        try:
            compiled = compile_expression(text, scope_for(form, self.app))
            check_row_condition(compiled.to_json()["tree"])
        except ExpressionError as exc:
            hint = exc.hint or "compare fields with values: status == 'approved' and amount > 0"
            # the row-condition checker speaks of permission row rules: say "where" here
            message = exc.message.replace("a row rule", "a job's where")
            yield self.source.fail(("source", "where"), message, hint, text_column=exc.column)

    def _group_by(self, form: FormInfo) -> Iterator[DefinitionError]:
        for i, key in enumerate(self.source.get(("group_by",)) or ()):
            if not isinstance(key, str):
                continue
            site = form.top.get(key)
            if site is None:
                yield self.source.fail(
                    ("group_by", i), f"form {form.key!r} has no field {key!r}", _hint(key, form.top)
                )
            elif site.type in UNGROUPABLE:
                yield self.source.fail(
                    ("group_by", i),
                    f"field {key!r} is a {site.type} field: a job cannot group by it",
                    "group by a field of one value (text, select, relation, user, date...)",
                )

    def _aggregates(self, form: FormInfo) -> Iterator[DefinitionError]:
        values = self.source.get(("values",))
        if not isinstance(values, dict):
            return
        groups = {k for k in self.source.get(("group_by",)) or () if isinstance(k, str)}
        for name, text in values.items():
            path = ("values", name)
            problem = identifier_error(self.source, path, str(name), "value", 60, at_key=True)
            if problem:
                yield problem
                continue
            if name in groups or name in PERIOD_NAMES:
                yield self.source.fail(
                    path,
                    f"the value name {name!r} is already a group field or a period name",
                    "rename the value",
                    at_key=True,
                )
            if not isinstance(text, str):
                continue
            aggregate = parse_aggregate(text)
            if aggregate is None:
                yield self.source.fail(
                    path,
                    f"{text!r} is not an aggregate",
                    "one of " + ", ".join(f"{f}(field)" for f in AGGREGATE_FUNCTIONS) + ", COUNT()",
                )
                continue
            if aggregate.field is None:
                if aggregate.function != "COUNT":
                    yield self.source.fail(
                        path,
                        f"{aggregate.function}() needs a field",
                        f"{aggregate.function}(amount)",
                    )
                continue
            site = form.top.get(aggregate.field)
            if site is None:
                yield self.source.fail(
                    path,
                    f"form {form.key!r} has no field {aggregate.field!r}",
                    _hint(aggregate.field, form.top),
                )
                continue
            kind = value_type(site)
            if aggregate.function in NUMBER_AGGREGATES and kind not in NUMBER_TYPES:
                yield self.source.fail(
                    path,
                    f"{aggregate.function} needs a number field; {aggregate.field!r} is a "
                    f"{kind} field",
                    "use COUNT(field), or a number, money or percent field",
                )
            elif aggregate.function in ("MIN", "MAX") and kind not in NUMBER_TYPES | DATE_TYPES:
                yield self.source.fail(
                    path,
                    f"{aggregate.function} needs a number or date field; {aggregate.field!r} "
                    f"is a {kind} field",
                )
            elif site.type in UNGROUPABLE:
                yield self.source.fail(
                    path, f"field {aggregate.field!r} is a {site.type} field: it cannot be counted"
                )

    # -- what is written ------------------------------------------------------------------
    def _output(self, form: FormInfo, names: frozenset[str]) -> Iterator[DefinitionError]:
        from engine.expressions import ExpressionScope, compile_expression

        values = self.source.get(("output", "values"))
        if not isinstance(values, dict):
            return
        scope = ExpressionScope(names)
        for key, text in values.items():
            path = ("output", "values", key)
            site = form.top.get(key)
            if site is None:
                yield self.source.fail(
                    path,
                    f"form {form.key!r} has no field {key!r}",
                    _hint(key, form.top),
                    at_key=True,
                )
                continue
            if site.type in UNSETTABLE:
                yield self.source.fail(
                    path,
                    f"field {key!r} is a {site.type} field: a job cannot set it",
                    at_key=True,
                )
                continue
            if not isinstance(text, str):
                continue
            try:
                compile_expression(text, scope)
            except ExpressionError as exc:
                hint = exc.hint or "names: " + ", ".join(sorted(names))
                yield self.source.fail(path, exc.message, hint, text_column=exc.column)
        for i, key in enumerate(self.source.get(("output", "match")) or ()):
            if isinstance(key, str) and key not in values:
                yield self.source.fail(
                    ("output", "match", i),
                    f"match field {key!r} has no value in output.values",
                    f"add {key}: <formula> to output.values",
                )
