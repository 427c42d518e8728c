"""The JSON Schema of rule documents (part of the DSL schema, ``$defs``).

Editors complete rule files from ``docs/schema/rule.schema.json``; the loader validates
every rule document against it before the semantic checks
(engine/definitions/checks/rules.py) look at forms, fields, expressions and triggers.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.ledger_action_schema import LEDGER_ACTION_SCHEMAS
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


def _chain(branches: list[dict[str, Any]], about: str) -> dict[str, Any]:
    """if/then/else by each branch's one required key, so errors come from the branch
    that applies; a mapping with no known key is left to the rule checks, which say so."""
    chain: dict[str, Any] = {"type": "object"}
    for branch in reversed(branches):
        key = branch["required"][0]
        chain = {"if": {"type": "object", "required": [key]}, "then": branch, "else": chain}
    chain["description"] = about
    return chain


_OFFSET = _object(
    ["field"],
    "a date or datetime field of the record and an offset",
    field=TEXT,
    days={"type": "integer", "minimum": 0},
    hours={"type": "integer", "minimum": 0},
    at={
        "type": "string",
        "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
        "description": "a date field: the time of day the date stands for (default 09:00)",
    },
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
            misfire={
                "enum": ["run_once", "skip"],
                "description": "runs missed while no scheduler ran: run once, or skip",
            },
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
                _object(
                    [],
                    "the button",
                    label=_ref("i18n"),
                    confirm=_ref("i18n"),
                    roles={
                        "type": "array",
                        "items": TEXT,
                        "description": "app roles that see it (default: all who may update)",
                    },
                ),
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

#: the group robots a notify may post to (engine/service/rule_delivery.py)
NOTIFY_CHANNELS = ("dingtalk", "wecom", "feishu", "webhook")
#: where a notify to people delivers, and the digests it may send
NOTIFY_VIA = ("inbox", "email")
NOTIFY_DIGESTS = ("pending_approvals",)
#: what a ``to:`` item names: an organisation role, a user, a department's members, or
#: a field of the record holding a login
RECIPIENT_KINDS = ("role", "user", "department", "field")
#: a notify's keys for a robot (besides channel, title, message)
ROBOT_KEYS = ("url", "secret", "timeout")
#: the account keys of create_user that are expressions over the record
ACCOUNT_EXPRESSIONS = ("login", "name", "email", "mobile", "department", "dealer")

_RECIPIENT = _chain(
    [
        _object(["role"], "the members of an organisation role", role=TEXT),
        _object(["user"], "a user (login)", user=TEXT),
        _object(["department"], "the members of a department (code)", department=TEXT),
        _object(["field"], "the user a field of the record names (created_by)", field=TEXT),
    ],
    "one recipient: {role: code} | {user: login} | {department: code} | {field: key}",
)
_VIA = {"enum": list(NOTIFY_VIA)}
_NOTIFY = {
    "type": "object",
    "description": "a group robot (channel), people (to) or a digest (see docs/rules.md)",
    "additionalProperties": False,
    "properties": {
        "channel": {"enum": list(NOTIFY_CHANNELS), "description": "a group robot"},
        "url": {"type": "string", "description": "the robot's webhook URL"},
        "secret": {"type": "string", "description": "DingTalk / Feishu signing secret"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
        "to": {
            "description": "people of the organisation",
            "anyOf": [_RECIPIENT, {"type": "array", "items": _RECIPIENT, "minItems": 1}],
        },
        "via": {
            "description": "in-app (inbox, the default) and e-mail",
            "anyOf": [_VIA, {"type": "array", "items": _VIA, "minItems": 1}],
        },
        "digest": {
            "enum": list(NOTIFY_DIGESTS),
            "description": "one message per person with open approval tasks",
        },
        "title": {"type": "string", "description": "a template ({{ record.x }})"},
        "message": {"type": "string", "description": "a template ({{ record.x }})"},
    },
}
_ACCOUNT_TEXT = {
    "type": "string",
    "description": "an expression over the record (record.x, or 'literal text')",
}
_CREATE_USER = _object(
    ["login"],
    "a user account from the record (a generated password, mailed when mail is set up)",
    **dict.fromkeys(ACCOUNT_EXPRESSIONS, _ACCOUNT_TEXT),
    roles={"type": "array", "items": TEXT, "description": "organisation role codes"},
    kind={"enum": ["internal", "external"], "description": "external: a dealer's person"},
    locale={"enum": ["zh-CN", "en"]},
)

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
    _object(["notify"], "a message to people (delivered after commit)", notify=_NOTIFY),
    _object(["webhook"], "an HTTP POST (delivered after commit)", webhook=_DATA),
    _object(["create_user"], "a user account (after commit)", create_user=_CREATE_USER),
    *LEDGER_ACTION_SCHEMAS,  # post, hold, release, consume, reverse (docs/ledgers.md)
]


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

_TRANSITION = _object(
    ["key", "from", "to"],
    "one transition: a button that moves the record from some states to one",
    key={"type": "string", "description": "the transition key (an identifier)"},
    label=_ref("i18n"),
    **{
        "from": {
            "anyOf": [TEXT, {"type": "array", "items": TEXT, "minItems": 1}],
            "description": "the state(s) it leaves from",
        }
    },
    to={"type": "string", "description": "the state it moves to"},
    roles={"type": "array", "items": TEXT, "description": "app roles that may press it"},
    when={**EXPRESSION, "description": "a guard over the record and the step's inputs"},
    message=_ref("i18n"),
    require={"type": "array", "items": TEXT, "description": "fields filled in this step"},
    confirm=_ref("i18n"),
    actions={"type": "array", "items": _chain(_ACTIONS, "one action")},
)

_MACHINE = _object(
    ["machine", "form", "field", "transitions"],
    "a status machine over a select field of a form (docs/rules.md)",
    machine={"type": "string", "description": "the machine key (an identifier)"},
    name=_ref("i18n"),
    description=_ref("i18n"),
    form={"type": "string", "description": "the form whose records it moves"},
    field={"type": "string", "description": "a select field: its options are the states"},
    transitions={"type": "array", "minItems": 1, "items": _TRANSITION},
)

RULE_DEFS: dict[str, Any] = {
    "machine": _MACHINE,
    "rule": {
        "description": "one rule, or a list of rules (docs/rules.md)",
        "anyOf": [_ref("rule_item"), {"type": "array", "items": _ref("rule_item"), "minItems": 1}],
    },
    "rule_item": _RULE,
}
