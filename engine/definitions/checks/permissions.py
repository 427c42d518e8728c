"""Permissions name roles the app declares, fields the form has, and rules that can run.

- every role of a form's ``permissions`` is one of the app's ``roles``;
- ``fields:`` names top-level fields of the form;
- a row rule reads fields of a fitting type (``dealer_tree`` a dealer field...), named
  or, when the form has exactly one candidate, found; an ``expr`` rule compiles against
  the form and stays within what SQL can apply;
- when any form of the app declares permissions, every form does (an app is either
  open or guarded throughout, never half).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from engine.definitions.checks.expressions import scope_for
from engine.definitions.context import AppContext, FormInfo
from engine.definitions.permissions import EXPRESSION_RULE, FIELD_RULES, default_rule_fields
from engine.errors import DefinitionError, ExpressionError


def _hint(word: str, choices: Any) -> str | None:
    close = difflib.get_close_matches(word, sorted(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def check_permissions(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Roles, fields and row rules of one form's ``permissions``."""
    section = form.source.get(("permissions",))
    if not isinstance(section, dict) or form.is_broken(("permissions",)):
        return
    roles = app.app.get(("roles",)) if app.app is not None else None
    declared = set(roles) if isinstance(roles, dict) else set()
    types = {key: site.type for key, site in form.top.items()}
    for role, entry in section.items():
        base = ("permissions", role)
        if role not in declared:
            yield form.source.fail(
                base,
                f"role {role!r} is not declared in the app's roles",
                hint=_hint(role, declared) or "add it under roles: in app.yaml",
            )
        if not isinstance(entry, dict):
            continue
        for key in entry.get("fields") or {}:
            if key not in form.top:
                yield form.source.fail(
                    (*base, "fields", key),
                    f"the form has no field {key!r}",
                    hint=_hint(key, form.top),
                    at_key=True,
                )
        rows = entry.get("rows", "all")
        items = rows if isinstance(rows, list) else [rows]
        for index, item in enumerate(items):
            path = (*base, "rows", index) if isinstance(rows, list) else (*base, "rows")
            yield from _check_rule(form, app, types, item, path)


def _check_rule(
    form: FormInfo, app: AppContext, types: dict[str, str | None], item: Any, path: Any
) -> Iterator[DefinitionError]:
    if isinstance(item, str):
        if item in FIELD_RULES and not default_rule_fields(item, types):
            wanted = " or ".join(FIELD_RULES[item])
            found = [k for k, t in types.items() if t in FIELD_RULES[item]]
            why = f"several fit ({', '.join(found)})" if found else "there is none"
            yield form.source.fail(
                path,
                f"row rule {item!r} reads a {wanted} field of the record and {why}",
                hint=f"write {{{item}: FIELD}}" if found else f"add a field of type {wanted}",
            )
        return
    if not isinstance(item, dict) or len(item) != 1:
        return
    kind, value = next(iter(item.items()))
    if kind == EXPRESSION_RULE:
        yield from _check_expression(form, app, value, (*path, kind))
        return
    names = [value] if isinstance(value, str) else list(value or ())
    for name in names:
        field_type = types.get(name)
        if name not in types:
            yield form.source.fail(
                (*path, kind), f"the form has no field {name!r}", hint=_hint(name, types)
            )
        elif field_type not in FIELD_RULES.get(kind, ()):
            wanted = " or ".join(FIELD_RULES[kind])
            yield form.source.fail(
                (*path, kind),
                f"row rule {kind!r} reads a {wanted} field; {name!r} is a {field_type} field",
            )


def _check_expression(
    form: FormInfo, app: AppContext, source: Any, path: Any
) -> Iterator[DefinitionError]:
    from engine.expressions import compile_expression
    from engine.expressions.row_conditions import check_row_condition

    if not isinstance(source, str):
        return
    try:
        compiled = compile_expression(source, scope_for(form, app))
        check_row_condition(compiled.to_json()["tree"])
        for name in compiled.names:
            site = form.top.get(name)
            if site is not None and site.type in ("subtable", "formula_list"):
                raise ExpressionError(f"a row rule cannot read the sub-table {name!r}")
    except ExpressionError as exc:
        yield form.source.fail(path, exc.message, hint=exc.hint, text_column=exc.column)


def check_app_permissions(app: AppContext) -> Iterator[DefinitionError]:
    """Either no form of the app declares permissions, or every form does."""
    guarded = [f for f in app.forms.values() if f.source.get(("permissions",)) is not None]
    if not guarded:
        return
    first = guarded[0]
    for form in app.forms.values():
        if form.source.get(("permissions",)) is None:
            yield form.source.fail(
                ("form",),
                f"form {form.key!r} declares no permissions while {first.key!r} does, so "
                "nobody but the app's admins could use it",
                hint="add a permissions: section (permissions: {} keeps it to admins)",
            )
