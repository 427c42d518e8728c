"""Record titles and message templates: sandboxed Jinja, compiled once per form version.

One :class:`SandboxedEnvironment` serves every form (creating one per call is slow), and
each template remembers which names it reads, so rendering formats only those fields.
Autoescaping is off: a title is plain text, and the web layer escapes what it shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinja2 import meta

from engine.definitions.text_templates import TEXT_TEMPLATES, template_problem

if TYPE_CHECKING:
    from engine.runtime.forms.plan import FieldPlan

_ENVIRONMENT = TEXT_TEMPLATES

#: field types whose value reads as a name for a record without a title template
TITLE_TYPES = frozenset({"text"})


@dataclass(frozen=True)
class TextTemplate:
    """A compiled template and the top-level names it reads."""

    template: Any
    names: frozenset[str]
    #: (text before, name, text after) when the source is a single ``{{ name }}`` in
    #: plain text (the usual title, ``{{ serial }}``), else None
    simple: tuple[str, str, str] | None = field(default=None, compare=False)

    def render(self, context: Mapping[str, Any]) -> str:
        simple = self.simple
        if simple is not None:
            # Jinja prints a str value as itself, so joining the parts gives the same
            # text without building a Jinja context (most of a title's cost). Any other
            # value (None prints "None", objects print their str) goes through Jinja.
            value = context.get(simple[1])
            if type(value) is str:
                return f"{simple[0]}{value}{simple[2]}".strip()
        return self.template.render(context).strip()


#: ``text {{ name }} text`` with no other Jinja syntax in the text around it
_SIMPLE = re.compile(r"([^{}%#]*)\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}([^{}%#]*)", re.S)


def compile_template(source: str) -> TextTemplate:
    """Compile ``source`` in the shared sandbox.

    Raises jinja2.TemplateSyntaxError, or ValueError for what text templates may not do
    (loops, assignments, other filters: see engine.definitions.text_templates).
    """
    tree = _ENVIRONMENT.parse(source)
    problem = template_problem(tree)
    if problem is not None:
        raise ValueError(problem)
    names = frozenset(meta.find_undeclared_variables(tree))
    match = _SIMPLE.fullmatch(source)
    simple = match.groups() if match and match.group(2) in names else None
    return TextTemplate(_ENVIRONMENT.from_string(source), names, simple)


def first_text_field(fields: Iterable[FieldPlan]) -> FieldPlan | None:
    """The first plain text field of a form, the fallback title."""
    return next((f for f in fields if f.definition.type in TITLE_TYPES), None)


def display_context(
    template: TextTemplate,
    index: Mapping[str, FieldPlan],
    values: Mapping[str, Any],
    locale: str,
    relation_display: Callable[[FieldPlan, Any], str | None] | None = None,
) -> dict[str, Any]:
    """Display text of each field the template reads (other names pass through as-is)."""
    context: dict[str, Any] = {}
    for name in template.names:
        plan = index.get(name)
        value = values.get(name)
        if plan is None:
            context[name] = value
            continue
        text = relation_display(plan, value) if relation_display is not None else None
        context[name] = text if text is not None else display(plan, value, locale)
    return context


def display(plan: FieldPlan, value: Any, locale: str) -> str:
    """The field type's display text; blank values show as empty text."""
    if plan.is_blank(value):
        return ""
    return plan.field_type.display(plan.definition, value, locale)
