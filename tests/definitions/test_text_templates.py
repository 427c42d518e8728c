"""Titles and messages are cut-down templates: they show values and cannot run up work."""

from __future__ import annotations

import pytest

from engine.definitions import check_app_text
from engine.definitions.text_templates import TEXT_TEMPLATES

APP = """app: shop
version: 1.0.0
name: Shop
---
form: order
title: {title}
fields:
  name: text
  qty: number
validations:
  - expr: "qty > 0"
    message: {message}
"""


def _errors(title: str = '"{{ name }}"', message: str = "quantity must be positive"):
    return [str(e) for e in check_app_text(APP.format(title=title, message=message))]


def test_plain_titles_and_conditions_are_allowed():
    title = '"{{ name|upper }}{% if qty > 10 %} (bulk){% endif %} ~ {{ qty|default(0) }}"'
    assert _errors(title=title, message='"{{ qty }} is not positive"') == []


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ('"{% for i in range(9) %}{{ i }}{% endfor %}"', "'for' is not allowed here"),
        ('"{% set x = 1 %}{{ x }}"', "'assign' is not allowed here"),
        ("\"{{ '%999999999d'|format(1) }}\"", "the filter 'format' is not allowed here"),
        ('"{{ name.upper }}"', "attributes and indexes are not allowed here"),
        ('"{{ lipsum() }}"', "calls are not allowed here"),
    ],
)
def test_titles_that_could_run_up_work_are_refused_where_written(title, message):
    (error,) = _errors(title=title)
    assert error.startswith("app.yaml:6:8 title: ")
    assert message in error


def test_a_validation_message_template_is_checked_too():
    (error,) = _errors(message='"{% for r in rows %}x{% endfor %}"')
    assert error.startswith("app.yaml:12:14 validations[0].message: 'for' is not allowed here")


def test_repetition_is_bounded_when_a_template_runs():
    template = TEXT_TEMPLATES.from_string("{{ name * n }}")
    assert template.render(name="ab", n=3) == "ababab"
    with pytest.raises(ValueError, match="repeated text is too long"):
        template.render(name="x", n=300_000_000)
    with pytest.raises(ValueError, match="exponent"):
        TEXT_TEMPLATES.from_string("{{ 10 ** n }}").render(n=100_000)
