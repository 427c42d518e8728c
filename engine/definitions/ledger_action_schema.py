"""The JSON Schema of the ledger rule actions (``post``, ``hold``, ``release``,
``consume``, ``reverse``), part of the rule schema's action list.

Kept apart from engine/definitions/ledger_schema.py (the ledger documents) because the
rule schema imports it while the DSL schema is being built.
"""

from __future__ import annotations

from typing import Any

EXPRESSION = {"type": "string", "description": "an expression over the triggering record"}
_ACCOUNT = {
    "type": "object",
    "description": "the account: each key field of the ledger -> an expression",
    "minProperties": 1,
    "additionalProperties": EXPRESSION,
}
_COMMON: dict[str, Any] = {
    "ledger": {"type": "string", "description": "the ledger key (ledgers/*.yaml)"},
    "account": _ACCOUNT,
    "key": {
        **EXPRESSION,
        "description": "the idempotency key (default: ledger, action, form, record, rule, "
        "action index): a retry with the same key writes nothing",
    },
    "memo": {**EXPRESSION, "description": "a text kept with the entries"},
}
_HOLD_NAME = {
    **EXPRESSION,
    "description": "which hold (default: the triggering record's)",
}


def _action(name: str, about: str, required: list[str], **extra: Any) -> dict[str, Any]:
    body = {
        "type": "object",
        "description": about,
        "required": ["ledger", "account", *required],
        "additionalProperties": False,
        "properties": {**_COMMON, **extra},
    }
    return {
        "type": "object",
        "description": about,
        "required": [name],
        "additionalProperties": False,
        "properties": {name: body},
    }


LEDGER_ACTION_SCHEMAS: list[dict[str, Any]] = [
    _action(
        "post",
        "credit an account (a new lot on a ledger with lots)",
        ["amount"],
        amount={**EXPRESSION, "description": "the amount credited (> 0)"},
        expires={
            **EXPRESSION,
            "description": "the lot's last usable date (default: the ledger's lots.expires)",
        },
    ),
    _action(
        "hold",
        "freeze an amount of an account's available balance",
        ["amount"],
        amount={**EXPRESSION, "description": "the amount frozen (> 0)"},
        hold=_HOLD_NAME,
    ),
    _action("release", "release what is left of a hold", [], hold=_HOLD_NAME),
    _action(
        "consume",
        "debit an account (lots first-in-first-out or nearest expiry), never below the floor",
        [],
        amount={**EXPRESSION, "description": "the amount debited (default: the hold's rest)"},
        from_hold={"type": "boolean", "description": "take the amount out of a hold"},
        hold=_HOLD_NAME,
    ),
    _action(
        "reverse",
        "give back what a source record consumed, to the lots it came from (last first); "
        "for a source that only posted, take back what its lots still hold",
        [],
        amount={**EXPRESSION, "description": "how much (default: all not yet given back)"},
        source={
            "type": "object",
            "description": "the record whose consumption is reversed (default: this one)",
            "required": ["form", "id"],
            "additionalProperties": False,
            "properties": {
                "form": {"type": "string", "description": "its form"},
                "id": {**EXPRESSION, "description": "its record id (a relation field)"},
            },
        },
    ),
]

__all__ = ["LEDGER_ACTION_SCHEMAS"]
