"""A form's logic for the browser: the checked expression trees of its formulas,
conditions and default expressions, in the order the server computes them, each field's
literal default and flags, the actor's context (``CURRENT_USER()``, ``TODAY()``...),
and each relation's ``fill_from`` values for a picked record.

The browser evaluates the same trees (``web/static/js/formula.js``) while a person
types; the server computes again on saving and is the authority.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.runtime.forms.messages import message
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.transactions import Transaction

#: the expressions the browser runs, by the name the form plan keeps them under
PURPOSES = ("formula", "default_expr", "visible_if", "required_if", "readonly_if")


class FormLogic:
    """``service.form_logic``: what the form page needs to run a form live."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def of(self, actor: Actor, app_key: str, form_key: str) -> dict[str, Any]:
        """The logic of the form's fields the actor may see (hidden fields and their
        formulas left out)::

            {"fields": {path: {"type", "result", "precision", "exprs": {purpose: tree},
                               "required", "readonly", "default", "required_message",
                               "max_rows" (sub-tables)}},
             "formula_order": [path...],
             "fill_from": {path: {field: target_field}},
             "context": {"user", "department", "dealer", "region", "now"}}

        ``required`` and ``readonly`` are the definition's flags (``required_if`` and
        ``readonly_if`` are in ``exprs``); ``default`` is the literal default as a JSON
        value (absent without one), ``default_expr`` in ``exprs``; ``required_message``
        is the server's own message for a blank required field, in the actor's
        language; ``context`` holds what ``CURRENT_USER()``/``CURRENT_DEPARTMENT()``/
        ``CURRENT_DEALER()``/``CURRENT_REGION()`` and ``TODAY()``/``NOW()`` read on the
        server for this actor now."""
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
                    spec = {
                        "type": item.definition.type,
                        "result": item.definition.option("result"),
                        "precision": item.definition.option("precision"),
                        "exprs": exprs,
                        "required": bool(item.definition.required),
                        "readonly": bool(item.definition.readonly),
                        "required_message": message("required", locale, item.label),
                    }
                    if item.definition.default is not None:
                        spec["default"] = _plain(item.definition.default)
                    if item.is_subtable:
                        spec["max_rows"] = item.definition.option("max_rows")
                    fields[item.path] = spec
                    if item.fill_from:
                        fill_from[item.path] = dict(item.fill_from)
            order = [f.path for f in plan.formula_order if f.path in fields]
            who = access.principal
            context = {
                "user": actor.user_id,
                "department": who.department or actor.department,
                "dealer": who.dealer,
                "region": who.region,
                # the server's clock, so TODAY() in a default agrees with the server's
                "now": {"$datetime": self._context.clock().isoformat()},
            }
            return {
                "fields": fields,
                "formula_order": order,
                "fill_from": fill_from,
                "context": context,
            }

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


def _plain(value: Any) -> Any:
    """A literal default as the JSON value an input shows (dates as ISO text, numbers as
    decimal text so no float carries them)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)
