"""A form's logic for the browser: the checked expression trees of its formulas and
conditions, in the order the server computes them, and each relation's ``fill_from``
values for a picked record.

The browser evaluates the same trees (``web/static/js/formula.js``) while a person
types; the server computes again on saving and is the authority.
"""

from __future__ import annotations

from typing import Any

from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.transactions import Transaction

#: the expressions the browser runs, by the name the form plan keeps them under
PURPOSES = ("formula", "visible_if", "required_if", "readonly_if")


class FormLogic:
    """``service.form_logic``: what the form page needs to run a form live."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def of(self, actor: Actor, app_key: str, form_key: str) -> dict[str, Any]:
        """``{"fields": {path: {"type", "result", "exprs": {purpose: tree}}},
        "formula_order": [path...], "fill_from": {path: {field: target_field}}}`` for the
        fields the actor may see (hidden fields and their formulas left out)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)

        def work(tx: Transaction) -> dict[str, Any]:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            access.require(runtime.definition, "create", locale)
            hidden = set(access.hidden(runtime.definition, "create"))
            plan = runtime.compiled.plan
            fields: dict[str, Any] = {}
            fill_from: dict[str, Any] = {}
            for field in plan.fields:
                for item in (field, *field.columns):
                    if item.path.split(".")[0] in hidden:
                        continue
                    exprs = {
                        purpose: item.expressions[purpose].to_json()
                        for purpose in PURPOSES
                        if purpose in item.expressions
                    }
                    fields[item.path] = {
                        "type": item.definition.type,
                        "result": item.definition.option("result"),
                        "precision": item.definition.option("precision"),
                        "exprs": exprs,
                    }
                    if item.fill_from:
                        fill_from[item.path] = dict(item.fill_from)
            order = [f.path for f in plan.formula_order if f.path in fields]
            return {"fields": fields, "formula_order": order, "fill_from": fill_from}

        return self._context.transactions.read_with(app_key, work)

    def filled(
        self, actor: Actor, app_key: str, form_key: str, field_path: str, record_id: int
    ) -> dict[str, Any]:
        """The values a relation's ``fill_from`` copies from the record ``record_id``
        (read within the actor's scope on the target form), as JSON values."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_field_path("field_path", field_path, locale)
        check.check_record_id(record_id, locale)

        def work(tx: Transaction) -> dict[str, Any]:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            head, _, column = field_path.partition(".")
            definition = runtime.definition.field(head)
            field = definition.field(column) if column else definition
            mapping = field.option("fill_from") or {}
            target = field.option("to")
            if not mapping or not target:
                return {}
            source = tx.source(target, access.scope(target, "read"))
            found = source.related_record(target, record_id)
            if found is None:
                return {}
            target_runtime = tx.form(target)
            hidden = set(access.hidden(target_runtime.definition))
            values = {k: v for k, v in found.items() if k not in hidden}
            from engine.store.rows import values_to_json

            plain = values_to_json(target_runtime.tables, values)
            return {mine: plain.get(theirs) for mine, theirs in mapping.items()}

        return self._context.transactions.read_with(app_key, work)
