"""Handlers of ``lowcode ledger ...``: read an app's ledgers (balances, entries, lots).

    lowcode ledger accounts loyalty points
    lowcode ledger balance loyalty points C-001 bonus
    lowcode ledger entries loyalty points C-001 bonus
    lowcode ledger lots loyalty points C-001 bonus
    lowcode ledger expire            # the expiry sweep now (the scheduler runs it too)

The account's key values follow the ledger's ``account:`` fields in their order.
Reading needs an administrator of the app (``--user``).
"""

from __future__ import annotations

import argparse
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, format_table, to_json_text
from engine.service import ServiceError


def _service(args: argparse.Namespace) -> tuple[Any, Any]:
    service = open_service(args)
    args.opened_service = service
    return service, actor_of(args)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _account(args: argparse.Namespace, **parts: bool) -> Any:
    service, actor = _service(args)
    try:
        return service.ledgers.account(actor, args.app, args.ledger, args.key, **parts)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc


def _summary(view: Any) -> dict[str, str]:
    return {
        "ledger": view.ledger,
        "account": "/".join(view.key),
        "balance": str(view.balance),
        "held": str(view.held),
        "available": str(view.available),
    }


def ledger_balance(args: argparse.Namespace) -> int:
    """``lowcode ledger balance APP LEDGER KEY...``: balance, held and available."""
    view = _account(args)
    summary = _summary(view)
    if args.output == "json":
        print(to_json_text(summary))
        return 0
    print(format_table(list(summary), [list(summary.values())]))
    return 0


def ledger_accounts(args: argparse.Namespace) -> int:
    """``lowcode ledger accounts APP LEDGER``: every account with its balance."""
    service, actor = _service(args)
    try:
        views = service.ledgers.accounts(actor, args.app, args.ledger)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    rows = [_summary(v) for v in views]
    if args.output == "json":
        print(to_json_text(rows))
        return 0
    if not rows:
        print(f"{args.app}.{args.ledger}: no accounts")
        return 0
    print(format_table(list(rows[0]), [list(r.values()) for r in rows]))
    return 0


def ledger_entries(args: argparse.Namespace) -> int:
    """``lowcode ledger entries APP LEDGER KEY...``: the account's entries, oldest first."""
    view = _account(args, entries=True)
    columns = ["id", "at", "kind", "amount", "held", "lot_id", "hold_id", "source", "memo"]
    rows = [
        [
            _text(e["id"]),
            _text(e["at"]),
            e["kind"],
            _text(e["amount"]),
            _text(e["held"]),
            _text(e["lot_id"]),
            _text(e["hold_id"]),
            f"{e['source_form']}:{e['source_id']}" if e["source_form"] else "",
            _text(e["memo"]),
        ]
        for e in view.entries
    ]
    if args.output == "json":
        print(to_json_text([dict(zip(columns, r, strict=True)) for r in rows]))
        return 0
    print(format_table(columns, rows) if rows else "no entries")
    return 0


def ledger_lots(args: argparse.Namespace) -> int:
    """``lowcode ledger lots APP LEDGER KEY...``: the account's lots and what remains."""
    view = _account(args, lots=True)
    columns = ["id", "posted_on", "original", "remaining", "expires_on"]
    rows = [[_text(lot[c]) for c in columns] for lot in view.lots]
    if args.output == "json":
        print(to_json_text([dict(zip(columns, r, strict=True)) for r in rows]))
        return 0
    print(format_table(columns, rows) if rows else "no lots")
    return 0


def ledger_expire(args: argparse.Namespace) -> int:
    """``lowcode ledger expire``: run the expiry sweep now (idempotent)."""
    service = open_service(args)
    args.opened_service = service
    run = service.ledgers.expire()
    print(
        f"expired {run.lots} lot(s) in {run.accounts} account(s); "
        f"queued {run.reminders} reminder(s)"
    )
    return 0


def add_parsers(sub: Any) -> None:
    """``lowcode ledger accounts|balance|entries|lots|expire``."""
    ledger = sub.add_parser("ledger", help="ledgers: balances, entries, lots; the expiry sweep")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="ACTION")
    for name, handler, about in (
        ("balance", ledger_balance, "an account's balance, held and available amounts"),
        ("entries", ledger_entries, "an account's entries, oldest first"),
        ("lots", ledger_lots, "an account's lots, what remains of each and its expiry"),
    ):
        parser = ledger_sub.add_parser(name, help=about)
        parser.add_argument("app", help="the app's key")
        parser.add_argument("ledger", help="the ledger's key")
        parser.add_argument("key", nargs="+", help="the account's key values, in order")
        parser.add_argument("--output", choices=("table", "json"), default="table")
        parser.set_defaults(handler=handler)
    accounts = ledger_sub.add_parser("accounts", help="every account of a ledger")
    accounts.add_argument("app", help="the app's key")
    accounts.add_argument("ledger", help="the ledger's key")
    accounts.add_argument("--output", choices=("table", "json"), default="table")
    accounts.set_defaults(handler=ledger_accounts)
    expire = ledger_sub.add_parser("expire", help="run the lot expiry sweep now")
    expire.set_defaults(handler=ledger_expire)


__all__ = ["add_parsers"]
