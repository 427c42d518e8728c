"""Checks of a form's ``aggregates``, its ``lock`` and its ``AGGREGATE("name")`` calls.

- each aggregate's name is an identifier; ``form`` is a form of the app; ``measure`` is
  ``SUM/MIN/MAX(field)``, ``COUNT()`` or ``COUNT(field)`` of that form, SUM needing a
  number field and MIN/MAX a number or date field;
- ``where`` compiles over that form's fields, may read this record as ``record.x`` (a
  field of this form that is not a formula: input is known before formulas run, so the
  aggregate reads what the record says) and is a condition the database applies (the
  subset permission row rules use);
- ``lock`` is a relation or organisation field of this form, or ``field.target`` where
  ``target`` is a relation or organisation field of the related form;
- ``AGGREGATE`` takes one name in quotes, declared under ``aggregates``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any

from engine.definitions.aggregates import (
    AGGREGATE_FUNCTION,
    ORG_LOCK_TYPES,
    parse_lock,
)
from engine.definitions.checks.expressions import expression_sites, scope_for
from engine.definitions.checks.identifiers import identifier_error
from engine.definitions.checks.jobs import UNGROUPABLE, value_type
from engine.definitions.checks.rules import DATE_TYPES, NUMBER_TYPES
from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS, AppContext, FormInfo
from engine.definitions.jobs import parse_aggregate
from engine.errors import DefinitionError, ExpressionError

MEASURES = "SUM(field), MIN(field), MAX(field), COUNT() or COUNT(field)"


def _hint(word: Any, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(str(word), sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def check_aggregates(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """The form's aggregates, lock and AGGREGATE calls (see the module docstring)."""
    declared = form.source.get(("aggregates",))
    names: set[str] = set()
    if isinstance(declared, dict):
        for name, entry in declared.items():
            names.add(str(name))
            if isinstance(entry, dict):
                yield from _aggregate(form, app, str(name), entry)
    yield from _lock(form, app)
    yield from _calls(form, app, names)


def _aggregate(
    form: FormInfo, app: AppContext, name: str, entry: dict[str, Any]
) -> Iterator[DefinitionError]:
    source = form.source
    path = ("aggregates", name)
    problem = identifier_error(source, path, name, "aggregate", 60, at_key=True)
    if problem:
        yield problem
    target_key = entry.get("form")
    target = app.forms.get(target_key) if isinstance(target_key, str) else None
    if target is None:
        if isinstance(target_key, str):
            yield source.fail(
                (*path, "form"), f"the app has no form {target_key!r}", _hint(target_key, app.forms)
            )
        return
    measure = parse_aggregate(entry.get("measure"))
    if measure is None or measure.function == "AVG":
        if isinstance(entry.get("measure"), str):
            yield source.fail(
                (*path, "measure"), f"{entry['measure']!r} is not a measure", f"one of {MEASURES}"
            )
    elif measure.field is None and measure.function != "COUNT":
        yield source.fail((*path, "measure"), f"{measure.function}() needs a field")
    elif measure.field is not None:
        site = target.top.get(measure.field)
        if site is None:
            yield source.fail(
                (*path, "measure"),
                f"form {target.key!r} has no field {measure.field!r}",
                _hint(measure.field, target.top),
            )
        else:
            kind = value_type(site)
            if measure.function == "SUM" and kind not in NUMBER_TYPES:
                yield source.fail(
                    (*path, "measure"),
                    f"SUM needs a number field; {measure.field!r} is a {kind} field",
                    "use COUNT(field), or a number, money or percent field",
                )
            elif measure.function in ("MIN", "MAX") and kind not in NUMBER_TYPES | DATE_TYPES:
                yield source.fail(
                    (*path, "measure"),
                    f"{measure.function} needs a number or date field; {measure.field!r} is a "
                    f"{kind} field",
                )
            elif site.type in UNGROUPABLE:
                yield source.fail(
                    (*path, "measure"),
                    f"field {measure.field!r} is a {site.type} field: it cannot be aggregated",
                )
    yield from _where(form, app, target, path, entry.get("where"))


def _where(
    form: FormInfo, app: AppContext, target: FormInfo, path: tuple, text: Any
) -> Iterator[DefinitionError]:
    if not isinstance(text, str):
        return
    from dataclasses import replace

    from engine.expressions import compile_expression
    from engine.expressions.row_conditions import check_row_condition

    own = {k for k, site in form.top.items() if site.type not in ("subtable", "formula")}
    scope = replace(scope_for(target, app), record_fields=frozenset(own) | VISIBLE_SYSTEM_COLUMNS)
    where = (*path, "where")
    try:
        compiled = compile_expression(text, scope)
        check_row_condition(compiled.to_json()["tree"], records=True)
    except ExpressionError as exc:
        message = exc.message.replace("a row rule", "an aggregate's where")
        hint = exc.hint
        if "has no field" in message and any(
            site.type == "formula" for k, site in form.top.items() if f"record.{k}" in text
        ):
            hint = "record.x reads a field the record is given, not a formula of it"
        yield form.source.fail(
            where,
            message,
            hint or "compare fields with values or record.x: dealer == record.dealer",
            text_column=exc.column,
        )


def _lock(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    source = form.source
    written = source.get(("lock",))
    if written is None:
        return
    lock = parse_lock(written)
    if lock is None:
        yield source.fail(
            ("lock",),
            f"{written!r} is not a lock",
            "name a relation or organisation field (dealer), or field.field (budget_line.account)",
        )
        return
    site = form.top.get(lock.field)
    if site is None:
        yield source.fail(
            ("lock",), f"this form has no field {lock.field!r}", _hint(lock.field, form.top)
        )
        return
    if lock.through is None:
        if site.type != "relation" and site.type not in ORG_LOCK_TYPES:
            yield source.fail(
                ("lock",),
                f"field {lock.field!r} is a {site.type} field: a lock names a relation or an "
                "organisation field (dealer, region, department, user)",
            )
        return
    if site.type != "relation":
        yield source.fail(
            ("lock",),
            f"{lock.text!r}: field {lock.field!r} is a {site.type} field, not a relation",
            "a path goes through a relation field: budget_line.account",
        )
        return
    target = app.forms.get(site.definition.get("to"))
    if target is None:
        return  # the relation's own check names the missing form
    further = target.top.get(lock.through)
    if further is None:
        yield source.fail(
            ("lock",),
            f"form {target.key!r} has no field {lock.through!r}",
            _hint(lock.through, target.top),
        )
    elif further.type != "relation" and further.type not in ORG_LOCK_TYPES:
        yield source.fail(
            ("lock",),
            f"{lock.text!r}: field {lock.through!r} of form {target.key!r} is a "
            f"{further.type} field, not a relation or organisation field",
        )


def _calls(form: FormInfo, app: AppContext, names: set[str]) -> Iterator[DefinitionError]:
    """Every AGGREGATE call names a declared aggregate, in quotes."""
    for path, scope in expression_sites(form, app):
        yield from check_aggregate_calls(form.source, path, scope, names)


def declared_aggregates(form: FormInfo) -> set[str]:
    """The names under the form's ``aggregates`` (none when it declares none)."""
    declared = form.source.get(("aggregates",))
    return {str(name) for name in declared} if isinstance(declared, dict) else set()


def check_aggregate_calls(
    source: Any, path: tuple[Any, ...], scope: Any, names: set[str]
) -> Iterator[DefinitionError]:
    """The AGGREGATE calls of the expression at ``path`` of ``source`` name one of
    ``names`` in quotes (a form's formulas and validations, and its flow's conditions)."""
    from engine.expressions import compile_expression

    text = source.get(path)
    if not isinstance(text, str) or AGGREGATE_FUNCTION not in text:
        return
    try:
        tree = compile_expression(text, scope).to_json()["tree"]
    except ExpressionError:
        return  # the expression checks report it
    for node in _nodes(tree):
        if node.get("op") != "call" or node.get("function") != AGGREGATE_FUNCTION:
            continue
        arg = node["args"][0]
        if arg.get("op") != "text":
            yield source.fail(
                path,
                "AGGREGATE takes the name of a declared aggregate in quotes",
                'AGGREGATE("open_credit")',
                text_column=arg.get("at"),
            )
        elif arg["value"] not in names:
            hint = _hint(arg["value"], names) or (
                "declare it under aggregates: {name: {form, measure, where}}"
            )
            yield source.fail(
                path,
                f"this form declares no aggregate {arg['value']!r}",
                hint,
                text_column=arg.get("at"),
            )


def _nodes(tree: Any) -> Iterator[dict[str, Any]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "op" in node:
                yield node
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(node)
