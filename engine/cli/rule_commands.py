"""Handlers of ``lowcode rules ...``: list an app's rules, run one on a record.

The rules are the ones the installed app published (``lowcode app install`` stores
them with its forms and flows).

    lowcode rules list purchase
    lowcode rules run purchase create_purchase_order --record 3 --dry-run
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, format_table, to_json_text
from engine.service import (
    RecordValidationError,
    ServiceError,
)


def _service(args: argparse.Namespace) -> tuple[Any, Any]:
    service = open_service(args)
    args.opened_service = service
    return service, actor_of(args)


def rules_list(args: argparse.Namespace) -> int:
    """``lowcode rules list APP``: every rule of the app, its trigger and actions."""
    service, actor = _service(args)
    try:
        rules = service.rules.list(actor, args.app)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.output == "json":
        print(to_json_text([r.to_json() for r in rules]))
        return 0
    if not rules:
        print(f"{args.app}: no rules")
        return 0
    rows = [[r.key, r.form, r.trigger, r.run, ", ".join(r.actions), r.where] for r in rules]
    print(format_table(["rule", "form", "trigger", "run", "actions", "defined at"], rows))
    return 0


def rules_run(args: argparse.Namespace) -> int:
    """``lowcode rules run APP RULE --record ID [--dry-run]``: run a rule on a record."""
    service, actor = _service(args)
    try:
        run = service.rules.run(actor, args.app, args.rule, args.record, dry_run=args.dry_run)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    except RecordValidationError as exc:
        raise CommandFailed("\n".join(str(e) for e in exc.errors)) from exc
    if args.output == "json":
        print(to_json_text(run.to_json()))
        return 0
    if not run.matched:
        print(f"{run.rule}: the condition does not hold for record {run.record_id}: nothing to do")
        return 0
    verb = "would" if run.dry_run else "did"
    for change in run.changes:
        target = change["form"] + (f" #{change['record_id']}" if change["record_id"] else " (new)")
        values = json.dumps(change["values"], ensure_ascii=False, default=str)
        print(f"{run.rule} {verb} {change['action']} {target}: {values}")
    if run.dry_run:
        print("dry run: nothing was written")
    return 0


def add_parsers(sub: Any) -> None:
    """``lowcode rules list`` and ``lowcode rules run``."""
    rules = sub.add_parser("rules", help="rules: list them, run one on a record")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    listing = rules_sub.add_parser("list", help="the rules an installed app published")
    listing.add_argument("app", help="the app's key")
    listing.add_argument("--output", choices=("table", "json"), default="table")
    listing.set_defaults(handler=rules_list)
    run = rules_sub.add_parser("run", help="run a rule on one record (--dry-run: show only)")
    run.add_argument("app", help="the app's key")
    run.add_argument("rule")
    run.add_argument("--record", type=int, required=True, help="the record's id")
    run.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    run.add_argument("--output", choices=("table", "json"), default="table")
    run.set_defaults(handler=rules_run)


__all__ = ["add_parsers"]
