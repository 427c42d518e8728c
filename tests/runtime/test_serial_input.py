"""Serial numbers are the engine's: what the runtime accepts from a client for them."""

from __future__ import annotations

import pytest

from engine.errors import RecordValidationError
from engine.runtime.forms import compile_form

TICKET = """
form: ticket
name: Ticket
fields:
  number:  {type: serial, pattern: "T-{0000}", keep_imported: true}
  plain:   {type: serial, pattern: "P-{0000}"}
  subject: {type: text}
"""


def _codes(form, raw, env, **kw):
    with pytest.raises(RecordValidationError) as caught:
        compile_form(form).prepare(raw, env=env, **kw)
    return [(e.field, e.code) for e in caught.value.errors]


@pytest.mark.parametrize("source", ["excel", "import"])
def test_imports_keep_legacy_numbers_only_on_fields_that_allow_it(make_form, env, source):
    form = make_form(TICKET)
    values = compile_form(form).prepare({"number": " OLD-7 ", "plain": ""}, env=env, source=source)
    assert (values["number"], values["plain"]) == ("OLD-7", None)
    assert _codes(form, {"plain": "P-0099"}, env, source=source) == [("plain", "serial")]


@pytest.mark.parametrize("source", ["json", "web"])
def test_other_sources_may_not_send_a_number(make_form, env, source):
    form = make_form(TICKET)
    assert _codes(form, {"number": "T-0001"}, env, source=source) == [("number", "serial")]
    assert compile_form(form).prepare({"number": None}, env=env, source=source)["number"] is None


def test_an_update_keeps_the_stored_number(make_form, env):
    form = make_form(TICKET)
    stored = {"id": 3, "number": "T-0003", "plain": None, "subject": "a"}
    compiled = compile_form(form)
    values = compiled.prepare({"number": "T-0003", "subject": "b"}, existing=stored, env=env)
    assert (values["number"], values["subject"]) == ("T-0003", "b")
    assert compiled.prepare({"plain": None}, existing=stored, env=env)["plain"] is None
    with pytest.raises(RecordValidationError) as caught:
        compiled.prepare({"number": "T-0001"}, existing=stored, env=env, source="import")
    assert [e.message for e in caught.value.errors] == [
        "“number” 是已分配的编号（T-0003），不能修改"
    ]
