"""Checks of a form's ``lookups``, ``lock_when`` and ``versions`` (docs/lookups.md).

Every problem is reported with its file, line and column: an unknown target form or
field, an expression that does not compile over the record (a lookup's match values may
read the form's fields and the columns of its sub-tables: MATCH is checked again where
it is used), a ``where`` that the database cannot apply, a ``rank`` entry that is not a
match, range or effective field, and a ``value`` the target form lacks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from engine.definitions.checks.references import unknown_name
from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS, AppContext, FormInfo
from engine.definitions.lookups import RANGE_OPERATORS
from engine.errors import DefinitionError, ExpressionError

#: field types a range or an effective date may compare
_ORDERED_TYPES = frozenset(
    {"number", "money", "percent", "date", "datetime", "formula", "integer", "serial"}
)


def _lookups(form: FormInfo) -> Mapping[str, Any]:
    data = form.source.get(("lookups",))
    return data if isinstance(data, dict) else {}


def record_scope(form: FormInfo, app: AppContext) -> Any:
    """What a lookup's match expressions may name: the form's fields, every sub-table's
    columns and the visible system columns (MATCH is re-checked at each use)."""
    from engine.definitions.checks.expressions import scope_for
    from engine.expressions import ExpressionScope

    top = scope_for(form, app, with_lookups=False)
    fields, relations = set(top.fields), dict(top.relation_targets)
    for site in form.subtable_sites():
        row = scope_for(form, app, site, with_lookups=False)
        fields |= row.fields
        relations.update(row.relation_targets)
    return ExpressionScope(frozenset(fields), top.subtables, relations)


def lookup_scope(
    form: FormInfo, app: AppContext
) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    """(lookup name -> names its expressions read, lookup name -> target fields) for the
    expression scopes of the form; a lookup whose expressions do not compile reads nothing
    (its own error is reported by :func:`check_lookups`)."""
    from engine.expressions import compile_expression

    inputs: dict[str, frozenset[str]] = {}
    targets: dict[str, frozenset[str]] = {}
    for name, item in _lookups(form).items():
        if not isinstance(item, dict):
            continue
        names: set[str] = set()
        for text in _expression_texts(item):
            with contextlib.suppress(ExpressionError):  # reported by check_lookups
                names |= compile_expression(text, None).names
        inputs[name] = frozenset(names)
        fields = app.form_fields(item.get("form"))
        if fields is not None:
            targets[name] = fields | VISIBLE_SYSTEM_COLUMNS
    return inputs, targets


def _match_expr(spec: Any) -> Any:
    """The expression of a ``match`` entry: the text itself, or ``{value, tree}``'s value."""
    return spec.get("value") if isinstance(spec, dict) else spec


def _expression_texts(item: Mapping[str, Any]) -> Iterator[str]:
    for spec in (item.get("match") or {}).values():
        expr = _match_expr(spec)
        if isinstance(expr, str):
            yield expr
    for spec in (item.get("ranges") or {}).values():
        for expr in (spec or {}).values() if isinstance(spec, dict) else ():
            if isinstance(expr, str):
                yield expr
    effective = item.get("effective")
    if isinstance(effective, dict) and isinstance(effective.get("date"), str):
        yield effective["date"]


def check_lookups(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Check each lookup, ``lock_when`` and ``versions`` of the form."""
    from engine.definitions.checks.expressions import scope_for
    from engine.expressions import compile_expression
    from engine.expressions.row_conditions import check_row_condition

    source = form.source
    scope = None
    for name, item in _lookups(form).items():
        base = ("lookups", name)
        if not isinstance(item, dict) or form.is_broken(base):
            continue
        target_key = item.get("form")
        target = app.forms.get(target_key) if isinstance(target_key, str) else None
        if target is None:
            yield unknown_name(source, (*base, "form"), str(target_key), app.forms, "form")
            continue
        fields = target.top

        def known(
            path: tuple, key: Any, ordered: bool = False, fields: Mapping[str, Any] = fields
        ) -> Iterator[DefinitionError]:
            if key not in fields:
                yield unknown_name(source, path, str(key), fields, at_key=True)
            elif fields[key].type == "subtable":
                yield source.fail(path, "a lookup compares fields, not a sub-table", at_key=True)
            elif ordered and fields[key].type not in _ORDERED_TYPES:
                yield source.fail(
                    path,
                    f"'{key}' is a {fields[key].type} field: a range or date needs a number, "
                    "money, percent, date or date-time field",
                    at_key=True,
                )

        if scope is None:
            scope = record_scope(form, app)
        checks: list[tuple[tuple, Any]] = []
        for key, spec in (item.get("match") or {}).items():
            yield from known((*base, "match", key), key)
            if isinstance(spec, dict):
                yield from _check_tree(source, (*base, "match", key), key, spec, fields)
                checks.append(((*base, "match", key, "value"), spec.get("value")))
            else:
                checks.append(((*base, "match", key), spec))
        for key, spec in (item.get("ranges") or {}).items():
            yield from known((*base, "ranges", key), key, ordered=True)
            for op, expr in spec.items():
                if op in RANGE_OPERATORS:
                    checks.append(((*base, "ranges", key, op), expr))
        effective = item.get("effective")
        if isinstance(effective, dict):
            for end in ("from", "to"):
                if end in effective:
                    yield from _named(source, (*base, "effective", end), effective[end], fields)
            if "from" not in effective and "to" not in effective:
                yield source.fail(
                    (*base, "effective"), "name the validity fields: from, to or both"
                )
            checks.append(((*base, "effective", "date"), effective.get("date")))
        for path, expr in checks:
            if isinstance(expr, str):
                try:
                    compile_expression(expr, scope)
                except ExpressionError as error:
                    yield source.fail(path, error.message, error.hint, text_column=error.column)
        where = item.get("where")
        if isinstance(where, str):
            try:
                compiled = compile_expression(where, scope_for(target, app, with_lookups=False))
                check_row_condition(compiled.to_json()["tree"])
            except ExpressionError as error:
                yield source.fail(
                    (*base, "where"), error.message, error.hint, text_column=error.column
                )
        rankable = set(item.get("match") or {}) | set(item.get("ranges") or {})
        if isinstance(effective, dict) and isinstance(effective.get("from"), str):
            rankable.add(effective["from"])
        for i, key in enumerate(item.get("rank") or ()):
            if key not in rankable:
                yield source.fail(
                    (*base, "rank", i),
                    f"rank '{key}' is not a match, range or effective 'from' field of this lookup",
                    "rank lists the match fields, range fields and the effective from field, "
                    "most important first",
                )
        yield from _named(source, (*base, "value"), item.get("value"), fields)
    yield from _check_lock_when(form, app)
    yield from _check_versions(form)


#: field types whose values may be organisation codes, per tree: a text-like field, or
#: the organisation field of that tree (one code, not ``many``)
_TREE_TEXT_TYPES = frozenset({"text", "select", "radio"})


def _check_tree(
    source: Any, path: tuple, key: Any, spec: Mapping[str, Any], fields: Mapping[str, Any]
) -> Iterator[DefinitionError]:
    """A ``match`` entry ``{value, tree}``: a known tree, over a field that holds one code."""
    from engine.definitions.lookups import MATCH_TREES

    tree = spec.get("tree")
    if tree not in MATCH_TREES:
        yield source.fail(
            (*path, "tree"),
            f"unknown organisation tree '{tree}'",
            f"use one of: {', '.join(MATCH_TREES)}",
        )
        return
    field = fields.get(key)
    if field is None or field.type == "subtable":
        return  # reported by known()
    many = bool(field.definition.get("many"))
    if field.type in _TREE_TEXT_TYPES or (field.type == tree and not many):
        return
    yield source.fail(
        (*path, "tree"),
        f"'{key}' is a {field.type}{' (many)' if many else ''} field: a {tree} tree match "
        f"needs a text, select or single {tree} field holding the {tree} code",
        f"declare '{key}' as {{type: {tree}}} or text",
    )


def _named(source: Any, path: tuple, key: Any, fields: Mapping[str, Any]):
    if isinstance(key, str) and key not in fields and key not in VISIBLE_SYSTEM_COLUMNS:
        yield unknown_name(source, path, key, fields)


def _check_lock_when(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    from engine.definitions.checks.expressions import scope_for
    from engine.expressions import compile_expression

    text = form.source.get(("lock_when",))
    if not isinstance(text, str):
        return
    try:
        compile_expression(text, scope_for(form, app, with_lookups=False))
    except ExpressionError as error:
        yield form.source.fail(("lock_when",), error.message, error.hint, text_column=error.column)


def _check_versions(form: FormInfo) -> Iterator[DefinitionError]:
    data = form.source.get(("versions",))
    if not isinstance(data, dict) or form.is_broken(("versions",)):
        return
    for role in ("number", "effective_from", "effective_to"):
        key = data.get(role)
        if isinstance(key, str) and key not in form.top:
            yield unknown_name(form.source, ("versions", role), key, form.top)
    for i, key in enumerate(data.get("key") or ()):
        if key not in form.top:
            yield unknown_name(form.source, ("versions", "key", i), str(key), form.top)
    number = data.get("number")
    if (
        isinstance(number, str)
        and number in form.top
        and form.top[number].type not in ("number", "integer")
    ):
        yield form.source.fail(
            ("versions", "number"), "the version number field must be a number field"
        )
