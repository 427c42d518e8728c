"""The record title: a sandboxed Jinja template naming the form's fields."""

from __future__ import annotations

import re
from collections.abc import Iterator

from jinja2 import TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS, AppContext, FormInfo
from engine.definitions.schema_errors import did_you_mean
from engine.errors import DefinitionError

_ENVIRONMENT = SandboxedEnvironment()


def check_title(form: FormInfo, app: AppContext) -> Iterator[DefinitionError]:
    """The title parses, and every name it uses is a field or a system column."""
    text = form.source.get(("title",))
    if not isinstance(text, str):
        return
    try:
        tree = _ENVIRONMENT.parse(text)
    except TemplateSyntaxError as error:
        yield form.source.fail(
            ("title",), f"template syntax error: {error.message}", "write names as {{ serial }}"
        )
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
