"""Ledger balances in formulas and validations: BALANCE and AVAILABLE.

``BALANCE("credit_points", holder, "bonus")`` is the balance of the account of ledger
``credit_points`` keyed by those values (in the order the ledger declares its account
fields); ``AVAILABLE`` is the balance less what holds freeze, above the ledger's floor.
Both read the account's running balance in the current transaction (one indexed read;
docs/ledgers.md). An account with no entries reads 0.
"""

from __future__ import annotations

from decimal import Decimal
from time import perf_counter
from typing import Any

from engine.errors import ExpressionError
from engine.expressions.context import EvaluationContext
from engine.expressions.functions.spec import FunctionSpec
from engine.expressions.values import kind


def _read(what: str, context: EvaluationContext, ledger: Any, *key: Any) -> Decimal | None:
    name = what.upper()
    if not isinstance(ledger, str) or not ledger:
        raise ExpressionError(
            f"{name}: the first argument is the ledger's key as text, got {kind(ledger)}",
            hint=f'for example {name}("credit_points", holder, "bonus")',
        )
    if any(value is None or value == "" for value in key):
        return None  # a blank account key (the holder not chosen yet): blank
    reader = context.ledger
    if reader is None:
        raise ExpressionError(
            f"{name}({ledger!r}, ...) cannot read ledgers here",
            hint="evaluate with an EvaluationContext that has a ledger function",
        )
    started = perf_counter()
    value = reader(what, ledger, list(key))
    if perf_counter() - started > context.time_budget:
        raise ExpressionError(f"{name}({ledger!r}, ...) took longer than the time budget")
    return value


def balance(context: EvaluationContext, ledger: Any, *key: Any) -> Decimal | None:
    """BALANCE: the balance of a ledger account; blank when a key value is blank."""
    return _read("balance", context, ledger, *key)


def available(context: EvaluationContext, ledger: Any, *key: Any) -> Decimal | None:
    """AVAILABLE: balance − held − floor: what a consume or hold may still take."""
    return _read("available", context, ledger, *key)


SPECS = (
    FunctionSpec(
        "BALANCE",
        'BALANCE("ledger", key1, key2, ...)',
        "The balance of a ledger account; the account's key values follow the ledger's "
        "key in the order the ledger declares them (docs/ledgers.md).",
        'BALANCE("credit_points", "DL-HZ-001", "bonus")',
        "40000.00",
        balance,
        2,
        None,
        needs="context",
    ),
    FunctionSpec(
        "AVAILABLE",
        'AVAILABLE("ledger", key1, key2, ...)',
        "What a ledger account can still give: its balance less held amounts, above "
        "the ledger's floor.",
        'AVAILABLE("credit_points", "DL-HZ-001", "bonus")',
        "35000.00",
        available,
        2,
        None,
        needs="context",
    ),
)
