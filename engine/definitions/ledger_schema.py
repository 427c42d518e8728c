"""The JSON Schema of ledger documents (``ledgers/*.yaml``).

Editors complete ledger files from ``docs/schema/ledger.schema.json`` (regenerate it
with ``python -m engine.definitions.ledger_schema docs/schema``); the loader validates
every ledger document against it before the semantic checks
(engine/definitions/checks/ledgers.py). Like the job schema it is self-contained: it
needs only the shared ``i18n`` definition.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from engine.definitions.ledgers import LOT_ORDERS, MAX_DECIMALS
from engine.definitions.rule_schema import _RECIPIENT, _VIA, NOTIFY_CHANNELS
from engine.definitions.schema import _STATIC_DEFS, DRAFT, render
from engine.definitions.schema_errors import translate
from engine.definitions.source import Source
from engine.errors import DefinitionError

_KEY = {"type": "string", "description": "an identifier: letters, digits and _"}

#: a rule's notify without the digest (engine/service/rule_delivery.py delivers it)
_REMIND_NOTIFY = {
    "type": "object",
    "description": "people (to) or a group robot (channel), as a rule's notify "
    "(docs/rules.md); the templates see the lot as record.x",
    "additionalProperties": False,
    "properties": {
        "channel": {"enum": list(NOTIFY_CHANNELS), "description": "a group robot"},
        "url": {"type": "string", "description": "the robot's webhook URL"},
        "secret": {"type": "string", "description": "DingTalk / Feishu signing secret"},
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 120},
        "to": {
            "description": "people of the organisation ({field: x}: the login an "
            "account value names)",
            "anyOf": [_RECIPIENT, {"type": "array", "items": _RECIPIENT, "minItems": 1}],
        },
        "via": {
            "description": "in-app (inbox, the default) and e-mail",
            "anyOf": [_VIA, {"type": "array", "items": _VIA, "minItems": 1}],
        },
        "title": {
            "type": "string",
            "description": "a template: record.<account field>, record.remaining, "
            "record.expires_on, record.days_left, record.ledger_name...",
        },
        "message": {"type": "string", "description": "a template (as title)"},
    },
}

_REMIND = {
    "type": "object",
    "description": "a message before a lot expires, once per lot with something left",
    "required": ["before", "notify"],
    "additionalProperties": False,
    "properties": {
        "before": {
            "description": "'N days' or 'N weeks' before the lot's last usable day "
            "(due from 00:00 of that day in the ledger's zone)",
            "anyOf": [{"type": "string"}, {"type": "integer", "minimum": 0}],
        },
        "notify": _REMIND_NOTIFY,
    },
}

_LEDGER = {
    "type": "object",
    "description": "one ledger: accounts keyed by fields, append-only entries, lots",
    "required": ["ledger", "account"],
    "additionalProperties": False,
    "properties": {
        "ledger": {"type": "string", "description": "the ledger key (unique in the app)"},
        "name": {"$ref": "#/$defs/i18n"},
        "description": {"$ref": "#/$defs/i18n"},
        "account": {
            "description": "the names of the values that key an account, in order",
            "anyOf": [_KEY, {"type": "array", "items": _KEY, "minItems": 1, "uniqueItems": True}],
        },
        "floor": {
            "type": "number",
            "description": "the lowest balance an action may leave (default 0)",
        },
        "decimals": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_DECIMALS,
            "description": "decimals of an amount (default 2)",
        },
        "timezone": {
            "type": "string",
            "description": "the zone expiry dates are read in (default Asia/Shanghai)",
        },
        "lots": {
            "type": "object",
            "description": "posts make lots; consumptions take from them; a sweep expires them",
            "additionalProperties": False,
            "properties": {
                "expires": {
                    "type": "string",
                    "description": "default expiry: 'N days', 'N months', 'N years', "
                    "'N months end of month'",
                },
                "order": {
                    "enum": list(LOT_ORDERS),
                    "description": "fifo: oldest lot first; nearest_expiry: the lot that "
                    "expires first (then the oldest)",
                },
                "remind": _REMIND,
            },
        },
    },
}


def ledger_schema() -> dict[str, Any]:
    """The self-contained schema of one ledger document."""
    return {
        "$schema": DRAFT,
        "title": "Low-code ledger definition",
        "$ref": "#/$defs/ledger",
        "$defs": {"i18n": _STATIC_DEFS["i18n"], "ledger": _LEDGER},
    }


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(ledger_schema())


def ledger_schema_errors(source: Source) -> list[DefinitionError]:
    """Every schema problem of one ledger document, translated and located."""
    found: dict[tuple[Any, ...], DefinitionError] = {}
    for error in _validator().iter_errors(source.data):
        for located in translate(error, source):
            found.setdefault((located.line, located.column, located.path, located.message), located)
    return list(found.values())


def write_ledger_schema(folder: str | Path) -> Path:
    """Write ``ledger.schema.json`` into ``folder``; its path."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    path = target / "ledger.schema.json"
    path.write_text(render(ledger_schema()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_ledger_schema(sys.argv[1] if len(sys.argv) > 1 else "docs/schema"))
