"""Semantic checks of status machine documents (``machines/*.yaml``), located at their keys.

- the machine key is an identifier, unique in the app; the form exists and has the
  field, a ``select`` with static options (the states), and no other machine uses it;
- every ``from``/``to`` is one of the options, transition keys are unique identifiers;
- ``roles`` are roles of the app; ``require`` names fields a person can fill;
- ``when`` compiles over the record's fields; ``actions`` are checked like a rule's
  (engine/definitions/checks/rules.py) on the machine's form.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.definitions.checks.identifiers import identifier_error
from engine.definitions.checks.rules import UNSETTABLE, RuleCheck, _hint, check_form_documents
from engine.definitions.context import AppContext
from engine.definitions.source import Source
from engine.errors import DefinitionError


def check_machines(app: AppContext) -> Iterator[DefinitionError]:
    """Every machine document of the app."""
    fields_used: dict[tuple[str, str], str] = {}

    def check(source: Source, form: Any) -> Iterator[DefinitionError]:
        field_key = source.get(("field",))
        site = form.top.get(field_key) if isinstance(field_key, str) else None
        if site is None:
            yield source.fail(
                ("field",),
                f"form {form.key!r} has no field {field_key!r}",
                _hint(field_key, form.top),
            )
            return
        states = _states(site.definition)
        if site.type != "select" or states is None:
            yield source.fail(
                ("field",),
                f"field {field_key!r} is a {site.type} field: the states must be the options "
                "of a select field",
                "use a select field with a list of options",
            )
            return
        used_by = fields_used.setdefault((form.key, str(field_key)), str(source.get(("machine",))))
        if used_by != source.get(("machine",)):
            yield source.fail(
                ("field",),
                f"machine {used_by!r} already uses field {field_key!r}",
                "one machine per field",
            )
        yield from _transitions(source, app, form, states)

    return check_form_documents(app, "machine", check)


def _states(definition: Any) -> list[str] | None:
    options = definition.get("options") if isinstance(definition, dict) else None
    if not isinstance(options, list):
        return None
    return [str(o.get("value") if isinstance(o, dict) else o) for o in options]


def _transitions(
    source: Source, app: AppContext, form: Any, states: list[str]
) -> Iterator[DefinitionError]:
    transitions = source.get(("transitions",))
    if not isinstance(transitions, list):
        return
    keys: set[str] = set()
    roles = _app_roles(app)
    for i, item in enumerate(transitions):
        if not isinstance(item, dict):
            continue
        at = ("transitions", i)
        key = item.get("key")
        if isinstance(key, str):
            problem = identifier_error(source, (*at, "key"), key, "transition", 60)
            if problem:
                yield problem
            elif key in keys:
                yield source.fail(
                    (*at, "key"), f"transition {key!r} is defined twice", "rename one"
                )
            keys.add(key)
        sources = item.get("from")
        for j, state in enumerate([sources] if isinstance(sources, str) else sources or []):
            if str(state) not in states:
                path = (*at, "from") if isinstance(sources, str) else (*at, "from", j)
                yield source.fail(
                    path, f"{state!r} is not a state (an option of the field)", _hint(state, states)
                )
        target = item.get("to")
        if target is not None and str(target) not in states:
            yield source.fail(
                (*at, "to"),
                f"{target!r} is not a state (an option of the field)",
                _hint(target, states),
            )
        for j, role in enumerate(item.get("roles") or []):
            if roles is not None and role not in roles:
                yield source.fail(
                    (*at, "roles", j), f"the app has no role {role!r}", _hint(role, roles)
                )
        for j, name in enumerate(item.get("require") or []):
            site = form.top.get(name)
            if site is None:
                yield source.fail(
                    (*at, "require", j),
                    f"form {form.key!r} has no field {name!r}",
                    _hint(name, form.top),
                )
            elif site.type in UNSETTABLE:
                yield source.fail(
                    (*at, "require", j),
                    f"field {name!r} is a {site.type} field and cannot be filled in a step",
                    "name a field a person types or picks",
                )
        # the guard and the actions are checked as a manual rule on the same form
        spans = {p[2:]: s for p, s in source.spans.items() if p[:2] == at}
        data = {**item, "rule": "t", "form": form.key, "trigger": {"manual": None}}
        data.setdefault("actions", [])
        yield from RuleCheck(Source(source.file, data, spans), form, app).run()


def _app_roles(app: AppContext) -> set[str] | None:
    if app.app is None or not isinstance(app.app.data, dict):
        return None
    roles = app.app.data.get("roles")
    return set(roles) if isinstance(roles, dict) else set()
