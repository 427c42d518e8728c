"""Text templates: the record title and validation messages (sandboxed, cut-down Jinja)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from jinja2 import TemplateSyntaxError, meta

from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS, AppContext, FormInfo
from engine.definitions.schema_errors import did_you_mean
from engine.definitions.text_templates import TEXT_TEMPLATES, template_problem
from engine.errors import DefinitionError


def check_title(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """The title parses, and every name it uses is a field or a system column."""
    text = form.source.get(("title",))
    if not isinstance(text, str):
        return
    try:
        tree = TEXT_TEMPLATES.parse(text)
    except TemplateSyntaxError as error:
        yield form.source.fail(
            ("title",), f"template syntax error: {error.message}", "write names as {{ serial }}"
        )
        return
    problem = template_problem(tree)
    if problem is not None:
        yield form.source.fail(("title",), problem)
        return
    known = form.field_keys() | VISIBLE_SYSTEM_COLUMNS
    for name in sorted(meta.find_undeclared_variables(tree)):
        if name in known:
            continue
        found = re.search(rf"\b{re.escape(name)}\b", text)
        yield form.source.fail(
            ("title",),
            f"unknown field '{name}' in the title",
            did_you_mean(name, known),
            text_column=found.start() + 1 if found else None,
        )


def check_messages(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """Validation messages that are templates parse and use only what templates may use."""
    validations = form.source.get(("validations",))
    rules = [
        (("validations", index), validation)
        for index, validation in enumerate(validations if isinstance(validations, list) else ())
    ]
    for site in form.subtable_sites():
        rules += form.row_validations(site)
    for rule_path, validation in rules:
        message = validation.get("message") if isinstance(validation, dict) else None
        texts = message.items() if isinstance(message, dict) else [(None, message)]
        for locale, text in texts:
            if not isinstance(text, str) or "{" not in text:
                continue
            path = (*rule_path, "message") + ((locale,) if locale else ())
            try:
                problem = template_problem(TEXT_TEMPLATES.parse(text))
            except TemplateSyntaxError as error:
                problem = f"template syntax error: {error.message}"
            if problem is not None:
                yield form.source.fail(path, problem)
