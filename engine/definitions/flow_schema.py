"""The JSON Schema of flow documents (part of the DSL schema, ``$defs``).

Editors complete flow files from ``docs/schema/flow.schema.json``; the loader validates
every flow document against it before the semantic checks
(engine/definitions/checks/flows.py) look at names, expressions and reachability.
"""

from __future__ import annotations

from typing import Any

from engine.definitions.flows import (
    COMMENT_RULES,
    EMPTY_POLICIES,
    FIELD_ACCESS,
    MODES,
    REJECT_RULES,
    RESUBMIT,
    SELF_POLICIES,
    TIMEOUT_ACTIONS,
)

TEXT = {"type": "string"}
KEY = {"type": "string", "description": "the node key (an identifier, unique in the flow)"}
EXPRESSION = {"type": "string", "description": "an expression over the record's fields"}
DURATION = {
    "type": "string",
    "description": "e.g. '24 working hours', '2 working days', '3 days', '4 hours'",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/$defs/{name}"}


def _list_of(item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": item, **extra}


def _one(key: str, value: Any, description: str, **others: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "required": [key],
        "additionalProperties": False,
        "properties": {key: value, **others},
    }


_LEVEL = {"type": "integer", "minimum": 1, "maximum": 20}

_SOURCES = [
    _one("user", {"anyOf": [TEXT, _list_of(TEXT, minItems=1)]}, "named users (logins)"),
    _one("users", _list_of(TEXT, minItems=1), "named users (logins)"),
    _one("role", TEXT, "the members of an app role"),
    _one("manager", _LEVEL, "the submitter's manager N levels up", of=TEXT),
    _one("managers_up_to", _LEVEL, "every manager from level 1 up to N", of=TEXT),
    _one("department_manager", TEXT, "the managers of a department (its code)"),
    _one("field", TEXT, "a user field's users, or a department field's managers"),
    _one("path", TEXT, "relations then the organisation: dealer.region.manager"),
    _one("dealer_users", TEXT, "the users of the record's dealer field"),
    _one(
        "chosen",
        {
            "anyOf": [
                {"const": True},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "min": {"type": "integer", "minimum": 0},
                        "max": {"type": "integer", "minimum": 1},
                        "among": _ref("flow_approvers"),
                    },
                },
            ]
        },
        "the submitter picks at submit time (发起人自选)",
    ),
    _one("expr", EXPRESSION, "an expression giving a login or a list of logins"),
]

_TIMEOUT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "after": DURATION,
        "field": {"type": "string", "description": "a date or datetime field: the deadline"},
        "remind_every": DURATION,
        "then": {
            "anyOf": [
                {"enum": [a for a in TIMEOUT_ACTIONS if a != "transfer"]},
                _one("transfer", _ref("flow_approvers"), "hand the tasks to these people"),
            ]
        },
    },
}

_SEND_BACK = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "to": {
            "description": "previous, start, any, or node keys",
            "anyOf": [TEXT, _list_of(TEXT, minItems=1)],
        },
        "resubmit": {"enum": list(RESUBMIT)},
    },
}

_COMMON = {"name": _ref("i18n")}

_TASK_NODE = {
    **_COMMON,
    "approvers": _ref("flow_approvers"),
    "mode": {"enum": list(MODES)},
    "vote": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "maxProperties": 1,
        "properties": {
            "count": {"type": "integer", "minimum": 1},
            "percent": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    },
    "reject": {"enum": list(REJECT_RULES)},
    "empty": {
        "anyOf": [
            {"enum": [p for p in EMPTY_POLICIES if p != "route"]},
            _one("route", _ref("flow_approvers"), "route to these people"),
        ]
    },
    "self_approval": {"enum": list(SELF_POLICIES)},
    "dedupe": {"type": "boolean"},
    "fields": {
        "type": "object",
        "additionalProperties": False,
        "properties": {access: _list_of(TEXT) for access in FIELD_ACCESS},
    },
    "comment": {"enum": list(COMMENT_RULES)},
    "signature": {"type": "boolean"},
    "timeout": _TIMEOUT,
    "send_back": _SEND_BACK,
}


def _node(kind: str, properties: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": description,
        "required": [kind],
        "additionalProperties": False,
        "properties": {kind: KEY, **properties},
    }


def _gateway(kind: str, description: str) -> dict[str, Any]:
    branch = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": _ref("i18n"),
            "when": EXPRESSION,
            "nodes": _ref("flow_nodes"),
            "otherwise": _list_of(_ref("flow_node")),
        },
    }
    return {
        "type": "object",
        "description": description,
        "required": [kind],
        "additionalProperties": False,
        "properties": {
            kind: _list_of(branch, minItems=1),
            "key": KEY,
            **_COMMON,
        },
    }


_NODE_SCHEMAS = {
    "approval": _node("approval", _TASK_NODE, "approvers approve or reject"),
    "handler": _node("handler", _TASK_NODE, "handlers complete fields (办理)"),
    "cc": _node("cc", {**_COMMON, "to": _ref("flow_approvers")}, "informs people (抄送)"),
    "action": _node(
        "action",
        {
            **_COMMON,
            "set": {"type": "object", "additionalProperties": EXPRESSION},
            "emit": {"type": "string", "description": "an event name to emit"},
        },
        "sets fields and/or emits an event, automatically",
    ),
    "end": _node("end", {**_COMMON, "outcome": {"enum": ["approved", "rejected"]}}, "ends"),
    "branches": _gateway("branches", "the first branch whose condition holds runs"),
    "inclusive": _gateway("inclusive", "every branch whose condition holds runs"),
    "parallel": _gateway("parallel", "every branch runs; the join waits for all"),
}


def _node_chain() -> dict[str, Any]:
    """if/then/else by the node's kind key, so errors come from the kind that applies.

    A node with no kind key (or several) is left to the flow checks, which say so.
    """
    chain: dict[str, Any] = {"type": "object"}
    for kind in reversed(list(_NODE_SCHEMAS)):
        chain = {
            "if": {"type": "object", "required": [kind]},
            "then": _NODE_SCHEMAS[kind],
            "else": chain,
        }
    chain["description"] = (
        "one node: approval, handler, cc, action, end, branches, inclusive, parallel"
    )
    return chain


FLOW_DEFS: dict[str, Any] = {
    "flow": {
        "type": "object",
        "required": ["flow", "form", "nodes"],
        "additionalProperties": False,
        "properties": {
            "flow": {"type": "string", "description": "the flow key (an identifier)"},
            "form": {"type": "string", "description": "the form the flow is attached to"},
            "name": _ref("i18n"),
            "description": _ref("i18n"),
            "dedupe": {
                "type": "boolean",
                "description": "someone who already approved this instance auto-passes",
            },
            "withdraw": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"after_approval_days": {"type": "integer", "minimum": 0}},
            },
            "send_back": _SEND_BACK,
            "nodes": _ref("flow_nodes"),
        },
    },
    "flow_nodes": _list_of(_ref("flow_node"), minItems=1),
    "flow_node": _node_chain(),
    "flow_approvers": {
        "description": "one approver source or a list of them",
        "anyOf": [{"anyOf": _SOURCES}, _list_of({"anyOf": _SOURCES}, minItems=1)],
    },
}
