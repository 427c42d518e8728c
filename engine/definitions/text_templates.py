"""The template language of text shown to people (record titles, validation messages).

Jinja's sandbox stops attribute escapes but not work: ``{{ 'x' * 300000000 }}``, nested
``range`` loops or ``'%999999999d'|format(1)`` would hold a write transaction for as long
as they run. Titles and messages only need to place values in text, so the language is
cut down to that: output, conditions (``{% if %}``), comparisons, ``~`` joins and a short
list of filters. Loops, assignments, macros, includes and the sandbox's globals
(``range``, ``dict``...) are refused when the definition is loaded, and ``*`` / ``**`` are
bounded when a template runs.

Pure code: the loader checks templates with :func:`template_problem`; the runtime
compiles them in :data:`TEXT_TEMPLATES`.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

#: filters a template may use; each keeps the text about the size of its input
ALLOWED_FILTERS = frozenset(
    {
        "default",
        "d",
        "upper",
        "lower",
        "trim",
        "title",
        "capitalize",
        "truncate",
        "length",
        "string",
    }
)
#: statements a template may use (everything else is output and expressions)
_ALLOWED_STATEMENTS = (nodes.Template, nodes.Output, nodes.If)
MAX_REPEATED_LENGTH = 1_000
MAX_EXPONENT = 100


class _TextTemplateEnvironment(SandboxedEnvironment):
    """A sandbox whose ``*`` and ``**`` cannot build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise ValueError(f"exponent {right} is too large in a text template")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                repeats = isinstance(seq, str | list | tuple) and isinstance(count, int)
                if repeats and len(seq) * count > MAX_REPEATED_LENGTH:
                    raise ValueError("repeated text is too long in a text template")
        return super().call_binop(context, operator, left, right)


def _build_environment() -> SandboxedEnvironment:
    environment = _TextTemplateEnvironment(autoescape=False, keep_trailing_newline=False)
    environment.filters = {k: v for k, v in environment.filters.items() if k in ALLOWED_FILTERS}
    environment.globals.clear()
    return environment


#: the one environment every text template is parsed and compiled in
TEXT_TEMPLATES = _build_environment()


def template_problem(tree: nodes.Template) -> str | None:
    """Why a parsed template is not allowed in titles and messages, or None when it is."""
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Stmt) and not isinstance(node, _ALLOWED_STATEMENTS):
            kind = type(node).__name__.lower()
            return f"'{kind}' is not allowed here: titles and messages only show values"
        if isinstance(node, nodes.Filter) and node.name not in ALLOWED_FILTERS:
            allowed = ", ".join(sorted(ALLOWED_FILTERS))
            return f"the filter '{node.name}' is not allowed here (allowed: {allowed})"
        if isinstance(node, nodes.Getattr | nodes.Getitem):
            return "attributes and indexes are not allowed here: name a field, e.g. {{ serial }}"
        if isinstance(node, nodes.Call):
            return "calls are not allowed here: name a field, e.g. {{ serial }}"
    return None


@functools.lru_cache(maxsize=1024)
def template_names(template: str) -> frozenset[str]:
    """The field keys a text template shows (``{{ serial }} {{ supplier }}``).

    Parsing costs most of a millisecond: the answer is kept per template text.
    """
    from jinja2 import meta

    try:
        return frozenset(meta.find_undeclared_variables(TEXT_TEMPLATES.parse(template)))
    except Exception:  # a template the loader refused never gets here; be safe anyway
        return frozenset()
