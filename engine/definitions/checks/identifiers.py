"""Keys that become SQL identifiers: app, form and field keys, and role keys.

Checked here (not only by the schema) so the message can say what to do instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from engine.definitions.context import AppContext, FormInfo
from engine.definitions.naming import (
    IDENTIFIER,
    MAX_APP_KEY,
    MAX_FIELD_KEY,
    MAX_FORM_KEY,
    MAX_TABLE_NAME,
    SYSTEM_COLUMNS,
    form_table_name,
    subtable_table_name,
)
from engine.definitions.source import Path, Source
from engine.errors import DefinitionError

#: role keys are not SQL identifiers but are typed in flows; keep them to the same rule
MAX_ROLE_KEY = 40


def _suggestion(key: str) -> str | None:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()
    snake = re.sub(r"[^a-z0-9_]+", "_", snake).strip("_")
    return snake if snake and IDENTIFIER.match(snake) else None


def identifier_error(
    source: Source,
    path: Path,
    key: str,
    what: str,
    max_length: int,
    *,
    at_key: bool = False,
    reserved: frozenset[str] = frozenset(),
) -> DefinitionError | None:
    """The problem with ``key`` as a ``what`` key, located at ``path``, or None when it is fine."""
    if not IDENTIFIER.match(key):
        hint = "use lower-case letters, digits and _, starting with a letter"
        suggestion = _suggestion(key)
        if suggestion:
            hint += f", e.g. '{suggestion}'"
        return source.fail(path, f"'{key}' is not a valid {what} key", hint, at_key=at_key)
    if "__" in key:
        return source.fail(
            path,
            f"'{key}' contains '__'",
            "use single underscores: '__' separates a sub-table's table name from its form's",
            at_key=at_key,
        )
    if len(key) > max_length:
        return source.fail(
            path,
            f"the {what} key '{key}' is longer than {max_length} characters",
            "shorten it: keys become table and column names",
            at_key=at_key,
        )
    if key in reserved:
        return source.fail(
            path,
            f"'{key}' is a reserved system column",
            f"choose another key; reserved: {', '.join(sorted(reserved))}",
            at_key=at_key,
        )
    return None


def check_form_identifiers(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """The form key and every field key (sub-table columns included)."""
    problem = identifier_error(form.source, ("form",), form.key, "form", MAX_FORM_KEY)
    if problem:
        yield problem
    for site in form.sites():
        problem = identifier_error(
            form.source, site.path, site.key, "field", MAX_FIELD_KEY,
            at_key=True, reserved=SYSTEM_COLUMNS,
        )  # fmt: skip
        if problem:
            yield problem
    yield from _table_name_lengths(form, app)


def _table_name_lengths(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    # Each key fits its own limit, yet app + form + sub-table keys together can pass
    # PostgreSQL's 63-byte identifier limit; SQLite would accept the name, so the app
    # would install there and fail on PostgreSQL later.
    app_key = app.app.get(("app",)) if app.app is not None else None
    if not isinstance(app_key, str) or not isinstance(form.key, str):
        return
    table = form_table_name(app_key, form.key)
    if len(table.encode()) > MAX_TABLE_NAME:
        yield form.source.fail(
            ("form",),
            f"the table name {table} is longer than {MAX_TABLE_NAME} bytes",
            "shorten the app or form key",
        )
        return
    for site in form.sites():
        if site.type != "subtable" or site.parent is not None:
            continue
        child = subtable_table_name(app_key, form.key, site.key)
        if len(child.encode()) > MAX_TABLE_NAME:
            yield form.source.fail(
                site.path,
                f"the sub-table's table name {child} is longer than {MAX_TABLE_NAME} bytes",
                "shorten the sub-table, form or app key",
                at_key=True,
            )


def check_app_identifiers(app: AppContext) -> Iterator[DefinitionError]:
    """The app key and the role keys of app.yaml."""
    source = app.app
    if source is None:
        return
    key = source.get(("app",))
    if isinstance(key, str):
        problem = identifier_error(source, ("app",), key, "app", MAX_APP_KEY)
        if problem:
            yield problem
    roles = source.get(("roles",))
    for role in roles if isinstance(roles, dict) else {}:
        problem = identifier_error(source, ("roles", role), role, "role", MAX_ROLE_KEY, at_key=True)
        if problem:
            yield problem


def check_duplicate_forms(app: AppContext) -> Iterator[DefinitionError]:
    """Two documents defining the same form key (in one file or across files)."""
    first: dict[str, Source] = {}
    for source in app.documents.get("form", []):
        key = source.get(("form",))
        if not isinstance(key, str):
            continue
        if key in first:
            earlier = first[key].span(("form",))
            yield source.fail(
                ("form",),
                f"form '{key}' is already defined in {first[key].file}:{earlier.line}",
                "rename one of them",
            )
        else:
            first[key] = source
