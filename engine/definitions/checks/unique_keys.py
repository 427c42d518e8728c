"""Normalized unique rules (docs/uniqueness.md): ``where`` names fields (or ``status``)
with values they may hold, ``until`` a date or datetime field, ``message`` a template over
the holding record's fields. The normalizer names are checked by the schema (an enum)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jinja2 import TemplateSyntaxError

from engine.definitions.checks.references import unknown_name
from engine.definitions.context import AppContext, FieldSite, FormInfo
from engine.definitions.text_templates import TEXT_TEMPLATES, template_problem
from engine.errors import DefinitionError

#: field types whose stored value a ``where`` list can name
WHERE_TYPES = frozenset({"select", "text", "boolean", "number", "serial"})
#: result types an ``until`` field may have (a formula gives its ``result``)
UNTIL_TYPES = frozenset({"date", "datetime"})


def _until_type(site: FieldSite) -> str | None:
    if site.type == "formula":
        return str(site.definition.get("result", "number"))
    return site.type


def check_unique_keys(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """``where``, ``until`` and message templates of each unique rule."""
    items = form.source.get(("unique",))
    if not isinstance(items, list):
        return
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        where = item.get("where")
        if isinstance(where, dict):
            yield from _check_where(form, i, where)
        message = item.get("message")
        texts = message.items() if isinstance(message, dict) else [(None, message)]
        for locale, text in texts:
            if not isinstance(text, str) or "{" not in text:
                continue
            path = ("unique", i, "message") + ((locale,) if locale else ())
            try:
                problem = template_problem(TEXT_TEMPLATES.parse(text))
            except TemplateSyntaxError as error:
                problem = f"template syntax error: {error.message}"
            if problem is not None:
                yield form.source.fail(path, problem)


def _check_where(form: FormInfo, i: int, where: dict[str, Any]) -> Iterator[DefinitionError]:
    for name, value in where.items():
        path = ("unique", i, "where", name)
        if name == "until":
            site = form.top.get(value) if isinstance(value, str) else None
            if site is None:
                yield unknown_name(form.source, path, str(value), form.top)
            elif _until_type(site) not in UNTIL_TYPES:
                yield form.source.fail(
                    path,
                    f"until names '{value}', a {_until_type(site)} field; it must be a date "
                    "or datetime field (or a formula with result: date or datetime)",
                    "e.g. until: protect_end, with protect_end: {type: formula, result: date, ...}",
                )
            continue
        if name == "status":
            continue  # the system status column (an approval flow moves it)
        site = form.top.get(name)
        if site is None:
            yield unknown_name(form.source, path, name, [*form.top, "status", "until"])
        elif site.type not in WHERE_TYPES:
            yield form.source.fail(
                path,
                f"where cannot test '{name}', a {site.type} field",
                f"use a field of type {', '.join(sorted(WHERE_TYPES))}, or status",
            )
