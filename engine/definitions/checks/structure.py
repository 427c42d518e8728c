"""Shape rules the schema cannot say, and each field type's own option checks."""

from __future__ import annotations

from collections.abc import Iterator

from engine.definitions import field_types
from engine.definitions.build import build_field
from engine.definitions.context import AppContext, FieldSite, FormInfo
from engine.definitions.source import parse_path
from engine.errors import DefinitionError


def check_nesting(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Sub-tables hold one level of rows; a column cannot be a sub-table or be unique."""
    for site in form.sites():
        if site.parent is None:
            continue
        if site.type == "subtable":
            yield form.source.fail(
                site.at("type"),
                "sub-tables cannot contain sub-tables",
                f"move '{site.key}' to the form's fields or make it a separate form",
            )
        if site.definition.get("unique") is True:
            yield form.source.fail(
                site.at("unique"),
                "unique is not supported on sub-table columns",
                "check duplicates among rows with a validation",
            )


#: why a field cannot be indexed (field_types.index_refusal), as a message and a hint
INDEX_REFUSALS = {
    "none": ("it has no column of its own", "index the columns a list filters by instead"),
    "several": ("it is stored in several columns", "lists cannot filter or sort by it"),
    "list": ("its value is a list, which has no order", "lists cannot sort by it"),
    "long_text": (
        "long text does not fit an index entry",
        "use a text field, or let the list's search find it",
    ),
}


def index_problem(form: FormInfo, site: FieldSite) -> tuple[str, str] | None:
    """(reason, hint) when the store cannot index the field at ``site``, else None."""
    if site.type is None or form.is_broken(site.path):
        return None
    field = build_field(site.key, site.definition, form.source, site.path)
    refusal = field_types.index_refusal(field)
    return INDEX_REFUSALS[refusal] if refusal else None


def check_indexes(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """``index: true`` is on a form field the store can index (one ordered column)."""
    for site in form.sites():
        if site.definition.get("index") is not True:
            continue
        if site.parent is not None:
            yield form.source.fail(
                site.at("index"),
                "index is not supported on sub-table columns",
                "lists filter and sort by the form's own fields",
            )
            continue
        problem = index_problem(form, site)
        if problem is not None:
            reason, hint = problem
            yield form.source.fail(
                site.at("index"), f"'{site.key}' ({site.type}) cannot be indexed: {reason}", hint
            )


def check_field_options(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Each field type's ``check_options`` problems, located at the field's key."""
    for site in form.sites():
        if site.type is None or form.is_broken(site.path):
            continue  # the schema already reported what is wrong with this field
        field = build_field(site.key, site.definition, form.source, site.path)
        for problem in field_types.check_options(field):
            path = site.at(*parse_path(problem.path))
            if _is_nested_subtable(form, path):
                continue  # reported by check_nesting with the DSL's own wording
            yield form.source.fail(path, problem.message, problem.hint)


def _is_nested_subtable(form: FormInfo, path: tuple) -> bool:
    return any(
        site.path == path and site.parent and site.type == "subtable" for site in form.sites()
    )
