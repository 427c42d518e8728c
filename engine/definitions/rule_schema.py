"""The JSON Schema of rule documents (part of the DSL schema, ``$defs``).

Editors complete rule files from ``docs/schema/rule.schema.json``; the loader validates
every rule document against it before the semantic checks
(engine/definitions/checks/rules.py) look at forms, fields, expressions and triggers.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.rules import FLOW_EVENTS, RUN_MODES

TEXT = {"type": "string"}
EXPRESSION = {"type": "string", "description": "an expression (see docs/rules.md for names)"}
_MAP = {
    "type": "object",
    "description": "field -> expression",
    "additionalProperties": EXPRESSION,
}
_FIELDS = {"type": "array", "items": TEXT, "minItems": 1}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _object(required: list[str], about: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": about,
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


_OFFSET = _object(
    ["field"],
    "a date or datetime field of the record and an offset",
    field=TEXT,
    days={"type": "integer", "minimum": 0},
    hours={"type": "integer", "minimum": 0},
)

_TRIGGERS = [
    {"enum": ["created", "updated", "deleted"], "description": "a record event"},
    _object(["created"], "record created", created={"type": "null"}),
    _object(
        ["updated"],
        "record updated, optionally only when one of the fields changed",
        updated={
            "anyOf": [
                {"type": "null"},
                _object([], "which changes count", fields=_FIELDS),
            ]
        },
    ),
    _object(["deleted"], "record deleted", deleted={"type": "null"}),
    _object(
        ["flow"],
        "an approval flow event",
        flow={"enum": list(FLOW_EVENTS)},
        node={"type": "string", "description": "node_reached / node_timed_out: the node"},
    ),
    _object(
        ["schedule"],
        "a cron schedule",
        schedule=_object(
            ["cron"],
            "minute hour day month weekday",
            cron=TEXT,
            timezone={"type": "string", "default": "Asia/Shanghai"},
        ),
    ),
    _object(["before"], "N days/hours before a date field", before=_OFFSET),
    _object(["after"], "N days/hours after a date field", after=_OFFSET),
    _object(
        ["manual"],
        "a button on the record",
        manual={
            "anyOf": [
                {"type": "null"},
                _object([], "the button", label=_ref("i18n"), confirm=_ref("i18n")),
            ]
        },
    ),
]

_LIMIT = {"type": "integer", "minimum": 1, "description": "rows at most (default 1,000)"}
_ROWS = {
    "type": "object",
    "description": "new sub-table -> rows made from a sub-table of the record",
    "additionalProperties": _object(
        ["from"], "one row per source row", **{"from": TEXT}, values=_MAP
    ),
}
_DATA = {"type": "object", "description": "checked by the delivery that sends it"}

_ACTIONS = [
    _object(["set"], "set fields of the triggering record", set=_MAP),
    _object(
        ["create"],
        "create a record in a form",
        create=_object(["form", "values"], "the new record", form=TEXT, values=_MAP, rows=_ROWS),
    ),
    _object(
        ["update"],
        "update the records of a form matching a filter",
        update=_object(
            ["form", "where", "set"],
            "which records and what to set",
            form=TEXT,
            where=EXPRESSION,
            set=_MAP,
            limit=_LIMIT,
            for_each={"type": "string", "description": "a sub-table of the record (row.x)"},
        ),
    ),
    _object(
        ["upsert"],
        "update the record matching on fields, or create it",
        upsert=_object(
            ["form", "match", "values"], "match and values", form=TEXT, match=_FIELDS, values=_MAP
        ),
    ),
    _object(
        ["delete"],
        "soft-delete the records of a form matching a filter",
        delete=_object(
            ["form", "where"], "which records", form=TEXT, where=EXPRESSION, limit=_LIMIT
        ),
    ),
    _object(
        ["start_flow"],
        "start the approval flow of the triggering record",
        start_flow={"anyOf": [{"type": "null"}, {"type": "object"}]},
    ),
    _object(["notify"], "a message to people (delivered after commit)", notify=_DATA),
    _object(["webhook"], "an HTTP POST (delivered after commit)", webhook=_DATA),
    _object(["create_user"], "a user account (after commit)", create_user=_DATA),
]


def _chain(branches: list[dict[str, Any]], about: str) -> dict[str, Any]:
    """if/then/else by each branch's one required key, so errors come from the branch
    that applies; a mapping with no known key is left to the rule checks, which say so."""
    chain: dict[str, Any] = {"type": "object"}
    for branch in reversed(branches):
        key = branch["required"][0]
        chain = {"if": {"type": "object", "required": [key]}, "then": branch, "else": chain}
    chain["description"] = about
    return chain


_RULE = _object(
    ["rule", "form", "trigger", "actions"],
    "one rule",
    rule={"type": "string", "description": "the rule key (an identifier, unique in the app)"},
    name=_ref("i18n"),
    description=_ref("i18n"),
    form={"type": "string", "description": "the form whose records trigger the rule"},
    trigger={
        "anyOf": [
            _TRIGGERS[0],
            {"type": "object", **_chain(_TRIGGERS[1:], "a trigger: created, {flow: ...}...")},
        ]
    },
    when=EXPRESSION,
    run={"enum": list(RUN_MODES)},
    enabled={"type": "boolean", "default": True},
    actions={"type": "array", "minItems": 1, "items": _chain(_ACTIONS, "one action")},
)

RULE_DEFS: dict[str, Any] = {
    "rule": {
        "description": "one rule, or a list of rules (docs/rules.md)",
        "anyOf": [_ref("rule_item"), {"type": "array", "items": _ref("rule_item"), "minItems": 1}],
    },
    "rule_item": _RULE,
}
