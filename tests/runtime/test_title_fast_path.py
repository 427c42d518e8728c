"""A title template that is one ``{{ name }}`` in plain text renders without Jinja, with
the same text Jinja gives; anything else still goes through Jinja."""

from __future__ import annotations

import pytest

from engine.runtime.forms.title import compile_template

CONTEXTS = [{"a": "v", "b": "B"}, {"a": "  v \n", "b": ""}, {"a": None}, {"a": 3}, {}]


@pytest.mark.parametrize(
    ("source", "simple"),
    [
        ("{{ a }}", True),
        ("PR {{ a }} x\n", True),
        ("{{a}}\n\n", True),
        ("{{ a }}{{ b }}", False),
        ("{{ a|upper }}", False),
        ("{{- a }}", False),
        ("{{ none }}", False),
        ("#{{ a }} {# note #}", False),
        ("{% if a %}{{ a }}{% endif %}", False),
    ],
)
def test_simple_templates_render_as_jinja_does(source, simple):
    template = compile_template(source)
    assert (template.simple is not None) is simple
    for context in CONTEXTS:
        assert template.render(context) == template.template.render(context).strip()
