"""Names that must exist: fields in layout, list, unique and validations (a sub-table's
row validations name its columns); forms and fields named by relations and by options
taken from another form."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from engine.definitions.checks.structure import index_problem
from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS, AppContext, FieldSite, FormInfo
from engine.definitions.schema_errors import did_you_mean
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError


def unknown_name(
    source: Source, path: Path, name: str, known: Iterable[str], what: str = "field", **kw: Any
) -> DefinitionError:
    """``unknown field 'qtty'`` with a did-you-mean hint over ``known``."""
    return source.fail(path, f"unknown {what} '{name}'", did_you_mean(name, known), **kw)


def _names(source: Source, path: Path) -> list[tuple[Path, Any]]:
    items = source.get(path)
    if not isinstance(items, list):
        return []
    return [((*path, i), v) for i, v in enumerate(items) if isinstance(v, str)]


def _sections(source: Source, key: str) -> list[tuple[int, dict[str, Any]]]:
    items = source.get((key,))
    if not isinstance(items, list):
        return []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def check_layout(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Layout names form fields, each at most once."""
    placed: dict[str, int] = {}
    for i, _section in _sections(form.source, "layout"):
        for path, name in _names(form.source, ("layout", i, "fields")):
            if name not in form.top:
                yield unknown_name(form.source, path, name, form.top)
            elif name in placed:
                yield form.source.fail(
                    path,
                    f"field '{name}' is placed twice in the layout",
                    f"it is already in layout[{placed[name]}]; keep one",
                )
            else:
                placed[name] = i


def check_list(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """List columns, sort keys and filters name fields or system columns (sort may start
    with -); a filter is a field the store can index."""
    known = form.field_keys() | VISIBLE_SYSTEM_COLUMNS
    for path, name in _names(form.source, ("list", "columns")):
        if name not in known:
            yield unknown_name(form.source, path, name, known)
    for path, name in _names(form.source, ("list", "sort")):
        bare = name.removeprefix("-")
        if bare not in known:
            yield unknown_name(
                form.source, path, bare, known, text_column=len(name) - len(bare) + 1
            )
    for path, name in _names(form.source, ("list", "filters")):
        if name not in known:
            yield unknown_name(form.source, path, name, known)
        elif name in form.top:
            problem = index_problem(form, form.top[name])
            if problem is not None:
                reason, hint = problem
                yield form.source.fail(
                    path, f"list filter '{name}' cannot be indexed: {reason}", hint
                )


def check_unique_and_validations(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Unique constraints and validations name the form's own fields."""
    for i, _item in _sections(form.source, "unique"):
        for path, name in _names(form.source, ("unique", i, "fields")):
            if name not in form.top:
                yield unknown_name(form.source, path, name, form.top)
            elif form.top[name].type == "subtable":
                yield form.source.fail(path, "a sub-table cannot be part of a unique constraint")
    for i, item in _sections(form.source, "validations"):
        name = item.get("field")
        if isinstance(name, str) and name not in form.top:
            yield unknown_name(form.source, ("validations", i, "field"), name, form.top)
    # a sub-table's row rules show their message on one of the row's columns
    for site in form.subtable_sites():
        columns = form.columns(site)
        for path, item in form.row_validations(site):
            name = item.get("field")
            if isinstance(name, str) and name not in columns:
                yield unknown_name(form.source, (*path, "field"), name, columns, "column")


def _target_fields(
    form: FormInfo, app: AppContext, site: FieldSite, key: str
) -> tuple[frozenset[str] | None, list[DefinitionError]]:
    """The fields of the form named by ``site``'s option ``key`` (an error when unknown)."""
    target = site.definition.get(key)
    if not isinstance(target, str):
        return None, []
    fields = app.form_fields(target)
    if fields is None:
        return None, [unknown_name(form.source, site.at(key), target, app.forms, "form")]
    return fields | VISIBLE_SYSTEM_COLUMNS, []


def check_relation(form: FormInfo, app: AppContext, site: FieldSite) -> Iterator[DefinitionError]:
    """``to`` is a form of the app; ``display`` and ``fill_from`` name fields that exist."""
    target_fields, errors = _target_fields(form, app, site, "to")
    yield from errors
    display = site.definition.get("display")
    shown = [(site.at("display"), display)] if isinstance(display, str) else []
    shown += _names(form.source, site.at("display")) if isinstance(display, list) else []
    fill_from = site.definition.get("fill_from")
    siblings = form.siblings(site)
    for local, remote in fill_from.items() if isinstance(fill_from, dict) else ():
        if local not in siblings:
            yield unknown_name(
                form.source, site.at("fill_from", local), local, siblings, at_key=True
            )
        shown.append((site.at("fill_from", local), remote))
    if target_fields is None:
        return
    for path, name in shown:
        if isinstance(name, str) and name not in target_fields:
            where = f"in form '{site.definition['to']}'"
            error = unknown_name(form.source, path, name, target_fields)
            yield form.source.fail(path, f"{error.message} {where}", error.hint)


def check_options_from(
    form: FormInfo, app: AppContext, site: FieldSite
) -> Iterator[DefinitionError]:
    """``options: {from: form, value: field, label: field}`` names a form and its fields."""
    options = site.definition.get("options")
    if not isinstance(options, dict):
        return
    sub = form.source
    inner = FieldSite(site.key, site.at("options"), options, site.type, site.parent)
    target_fields, errors = _target_fields(form, app, inner, "from")
    yield from errors
    if target_fields is None:
        return
    for key in ("value", "label"):
        name = options.get(key)
        if isinstance(name, str) and name not in target_fields:
            error = unknown_name(sub, inner.at(key), name, target_fields)
            yield sub.fail(
                inner.at(key), f"{error.message} in form '{options['from']}'", error.hint
            )


TypeCheck = Callable[[FormInfo, AppContext, FieldSite], Iterable[DefinitionError]]

#: reference checks by canonical field type (one entry per type that names other things)
TYPE_REFERENCE_CHECKS: dict[str, TypeCheck] = {
    "relation": check_relation,
    "select": check_options_from,
    "multiselect": check_options_from,
}


def check_field_references(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Run the reference check of each field's type."""
    for site in form.sites():
        check = TYPE_REFERENCE_CHECKS.get(site.type or "")
        if check:
            yield from check(form, app, site)
