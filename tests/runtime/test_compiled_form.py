"""compile_form caching, field_states and render_title."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.definitions.model import FieldDefinition, FormDefinition, I18nText, frozen_mapping
from engine.errors import DefinitionErrors
from engine.runtime.forms import compile_form

SAVED = {
    "id": 12,
    "serial": "PR-1",
    "supplier": 1,
    "total": Decimal("78.97"),
    "urgent": False,
    "lines": [{"id": 101, "product": 7, "qty": 3}, {"id": 102, "product": 8, "qty": 1}],
}


def test_an_equal_definition_reuses_the_compiled_form(purchase_form):
    same_content = replace(purchase_form, fields=tuple(purchase_form.fields))

    assert same_content is not purchase_form
    assert compile_form(same_content) is compile_form(purchase_form)


def test_a_changed_definition_is_compiled_again(purchase_form):
    renamed = replace(purchase_form, title="{{ serial }}")

    assert compile_form(renamed) is not compile_form(purchase_form)


def test_formulas_in_a_cycle_are_a_definition_error_even_past_the_loader():
    # The loader refuses such a form; compile_form guards definitions built elsewhere too.
    def formula(key: str, expr: str) -> FieldDefinition:
        options = frozen_mapping({"expr": expr, "result": "number"})
        return FieldDefinition(key=key, type="formula", label=I18nText.of(key), options=options)

    form = FormDefinition(
        key="loop", name=I18nText.of("Loop"), fields=(formula("a", "b + 1"), formula("b", "a + 1"))
    )
    with pytest.raises(DefinitionErrors) as caught:
        compile_form(form)

    assert "fields.a.expr: formulas depend on each other in a cycle: a -> b -> a" in str(
        caught.value
    )


def test_hidden_field_state_follows_visible_if(purchase_form, env):
    states = compile_form(purchase_form).field_states(SAVED, env=env)

    assert states["reason"] == {"visible": False, "required": False, "readonly": False}
    urgent = compile_form(purchase_form).field_states({**SAVED, "urgent": True}, env=env)
    assert urgent["reason"] == {"visible": True, "required": True, "readonly": False}


def test_field_states_mark_readonly_computed_and_required_fields(purchase_form, env):
    states = compile_form(purchase_form).field_states(SAVED, env=env)

    assert states["applicant"]["readonly"] is True
    assert states["total"]["readonly"] is True
    assert states["needed_by"]["required"] is True
    assert states["serial"] == {"visible": True, "required": False, "readonly": False}


def test_subtable_column_states_cover_a_new_row_and_each_row(purchase_form, env):
    states = compile_form(purchase_form).field_states(SAVED, env=env)

    unit = states["lines.unit"]
    assert unit["readonly"] is True
    assert [row["readonly"] for row in unit["rows"]] == [True, True]
    assert states["lines.amount"]["readonly"] is True
    assert states["lines.qty"]["readonly"] is False


def test_title_renders_the_template_with_display_values(purchase_form):
    assert compile_form(purchase_form).render_title(SAVED) == "PR-1 #1 ¥78.97"


def test_title_shows_the_related_record_display_field_with_an_environment(purchase_form, env):
    assert compile_form(purchase_form).render_title(SAVED, env=env) == "PR-1 华东五金 ¥78.97"


def test_title_falls_back_to_the_first_text_field_then_the_id(make_form):
    form = make_form(
        """
        form: contact
        name: Contact
        fields:
          age:  {type: number, precision: 0}
          name: {type: text}
        """
    )
    compiled = compile_form(form)

    assert compiled.render_title({"id": 5, "age": 30, "name": "王芳"}) == "王芳"
    assert compiled.render_title({"id": 5, "age": 30, "name": None}) == "#5"


def test_title_template_cannot_reach_python_internals():
    from engine.definitions.model import FieldDefinition, FormDefinition, I18nText
    from engine.errors import DefinitionErrors

    form = FormDefinition(
        "sneaky",
        I18nText.of("Sneaky"),
        (FieldDefinition("name", "text", I18nText.of("Name")),),
        title="{{ name.__class__.__mro__ }}",
    )
    with pytest.raises(DefinitionErrors, match="attributes and indexes are not allowed"):
        compile_form(form)
