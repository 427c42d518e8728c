"""Compile every expression of a form against the names it may use.

Scopes: a form field's expressions see the form's fields (and visible system columns);
a sub-table column's expressions, and the sub-table's row validations, see its row's
columns plus the parent form's fields;
a relation's ``filter`` sees the target form's fields; an options-from ``filter`` sees
the fields of the form the options come from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS, AppContext, FieldSite, FormInfo
from engine.definitions.source import Path
from engine.errors import DefinitionError, ExpressionError

#: expression keys every field takes
COMMON_EXPRESSION_KEYS = ("default_expr", "visible_if", "required_if", "readonly_if")


def scope_for(
    form: FormInfo, app: AppContext, row_of: FieldSite | None = None, with_lookups: bool = False
) -> Any:
    """The :class:`ExpressionScope` of the form, or of a row of its sub-table ``row_of``.

    ``with_lookups``: MATCH may name the form's lookups (its own formulas, defaults,
    conditions and validations; not rules or other forms' filters).
    """
    from engine.expressions import ExpressionScope

    levels = [form.top] + ([form.columns(row_of)] if row_of else [])
    fields = set(VISIBLE_SYSTEM_COLUMNS)
    subtables: dict[str, frozenset[str]] = {}
    relations: dict[str, frozenset[str]] = {}
    for level in levels:
        for key, site in level.items():
            if site.type == "subtable":
                subtables[key] = frozenset(form.columns(site))
            else:
                fields.add(key)
            target = app.form_fields(site.definition.get("to")) if site.type == "relation" else None
            if target is not None:
                relations[key] = target | VISIBLE_SYSTEM_COLUMNS
    if with_lookups:
        from engine.definitions.checks.lookups import lookup_scope

        inputs, targets = lookup_scope(form, app)
        return ExpressionScope(
            frozenset(fields), subtables, relations, lookups=inputs, lookup_fields=targets
        )
    return ExpressionScope(frozenset(fields), subtables, relations)


def _target_scope(app: AppContext, form_key: Any) -> Any:
    target = app.forms.get(form_key) if isinstance(form_key, str) else None
    return scope_for(target, app) if target else None


ScopeOf = Callable[[FormInfo, AppContext, FieldSite], tuple[Path, Any] | None]


def _own_level(key: str) -> ScopeOf:
    def resolve(form: FormInfo, app: AppContext, site: FieldSite):
        return site.at(key), scope_for(form, app, site.parent, with_lookups=True)

    return resolve


def _relation_filter(form: FormInfo, app: AppContext, site: FieldSite):
    scope = _target_scope(app, site.definition.get("to"))
    return (site.at("filter"), scope) if scope else None


def _options_filter(form: FormInfo, app: AppContext, site: FieldSite):
    options = site.definition.get("options")
    scope = _target_scope(app, options.get("from")) if isinstance(options, dict) else None
    return (site.at("options", "filter"), scope) if scope else None


#: type-specific expression keys by canonical field type, with the scope each one sees
TYPE_EXPRESSIONS: dict[str, tuple[ScopeOf, ...]] = {
    "formula": (_own_level("expr"),),
    "relation": (_relation_filter,),
    "select": (_options_filter,),
    "multiselect": (_options_filter,),
}


def expression_sites(form: FormInfo, app: AppContext) -> Iterator[tuple[Path, Any]]:
    """Every expression of the form as (path, scope), in file order."""
    for site in form.sites():
        resolvers = [_own_level(key) for key in COMMON_EXPRESSION_KEYS if key in site.definition]
        for resolve in (*resolvers, *TYPE_EXPRESSIONS.get(site.type or "", ())):
            found = resolve(form, app, site)
            if found is not None:
                yield found
    items = form.source.get(("validations",))
    for i in range(len(items) if isinstance(items, list) else 0):
        yield ("validations", i, "expr"), scope_for(form, app, with_lookups=True)
    # row validations see the row's columns, then the parent form's fields
    for site in form.subtable_sites():
        for path, _rule in form.row_validations(site):
            yield (*path, "expr"), scope_for(form, app, site, with_lookups=True)


def check_expressions(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Compile each expression; syntax errors and unknown names point into the text."""
    from engine.expressions import compile_expression

    for path, scope in expression_sites(form, app):
        text = form.source.get(path)
        if not isinstance(text, str):
            continue
        try:
            compile_expression(text, scope)
        except ExpressionError as error:
            yield form.source.fail(path, error.message, error.hint, text_column=error.column)
