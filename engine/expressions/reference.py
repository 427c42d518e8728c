"""The function reference in docs/expressions.md, generated from the registry.

``EXAMPLE_VALUES`` and ``EXAMPLE_CONTEXT`` are the record and moment every example in
:data:`FUNCTIONS` is written against; a test evaluates each example and compares it with
its documented result, and another checks that the docs contain this table verbatim.
Regenerate with ``python -m engine.expressions.reference``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.expressions.context import SHANGHAI, EvaluationContext
from engine.expressions.functions import FUNCTIONS

EXAMPLE_VALUES: dict[str, Any] = {
    "qty": Decimal(12),
    "price": Decimal("9.99"),
    "urgent": True,
    "remark": None,
    "region": "east",
    "name": " Zhang Wei ",
    "order_date": date(2024, 1, 31),
    "supplier": 7,
    "lines": [
        {"amount": Decimal("1.50")},
        {"amount": None},
        {"amount": Decimal("3.00")},
    ],
}

_SUPPLIERS = {7: {"name": "华东供应商"}}
#: the example form's declared aggregates (AGGREGATE)
_AGGREGATES = {"open_credit": Decimal("177400.00")}
#: the example form's declared lookups (MATCH): the best row's fields
_MATCHES = {"line_price": {"value": Decimal("210.00")}}
#: the example ledger accounts (BALANCE, AVAILABLE): balance and held
_LEDGER = {"credit_points": {("DL-HZ-001", "bonus"): (Decimal("40000.00"), Decimal("5000.00"))}}


def _ledger(what: str, ledger: str, key: list[Any]) -> Decimal:
    balance, held = _LEDGER[ledger][tuple(key)]
    return balance if what == "balance" else balance - held


def example_context() -> EvaluationContext:
    """The moment and actor the examples assume: 2024-05-20 10:30 in Shanghai."""
    return EvaluationContext(
        now=datetime(2024, 5, 20, 10, 30, tzinfo=SHANGHAI),
        user="zhang.wei",
        department="sales_east",
        dealer="DL-HZ-001",
        region="hangzhou",
        lookup=lambda relation, record_id, target: _SUPPLIERS[record_id][target],
        aggregate=lambda name, values: _AGGREGATES[name],
        match=lambda name, values, field: _MATCHES[name][field or "value"],
        ledger=_ledger,
    )


def display(value: Any) -> str:
    """How an example's result is written in the docs: text quoted, the rest as Python
    would print it (dates ISO, date-times with their offset)."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def function_table() -> str:
    """The Markdown table of every function: signature, what it does, an example."""
    rows = ["| Function | What it does | Example | Result |", "|---|---|---|---|"]
    for spec in sorted(FUNCTIONS.values(), key=lambda s: s.name):
        doc = spec.doc.replace("|", "\\|")
        rows.append(f"| `{spec.signature}` | {doc} | `{spec.example}` | `{spec.result}` |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(function_table(), end="")
