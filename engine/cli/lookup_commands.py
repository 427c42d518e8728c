"""Handlers of ``lowcode lookups ties`` and ``lowcode records new-version`` (docs/lookups.md).

``ties APP FORM`` lists every pair of live records of a reference form that one of the
app's lookups cannot tell apart (exit status 1 when there is any, so a script can stop
a release on it); ``new-version APP FORM ID --from DAY`` copies a record of a versioned
form into a new draft version.
"""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, error_lines, format_table
from engine.service import RecordValidationError, ServiceError


def _day(text: str) -> date:
    """argparse type of a day: an ISO date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"cannot read {text!r} as a day: write YYYY-MM-DD, e.g. 2025-08-16"
        ) from None


def lookups_ties(args: argparse.Namespace) -> int:
    """``lookups ties APP FORM``: one line per tie; status 1 when there is one."""
    service = open_service(args)
    try:
        ties = service.lookups.ties(actor_of(args), args.app, args.form)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if not ties:
        print(f"no ties: every lookup into {args.app}/{args.form} can tell its rows apart")
        return 0
    rows = [
        [
            f"{t.lookup_form}.{t.lookup}",
            f"#{t.first_id} {t.first_title or ''}".strip(),
            f"#{t.second_id} {t.second_title or ''}".strip(),
        ]
        for t in ties
    ]
    print(format_table(["lookup", "record", "ties with"], rows))
    return 1


def records_new_version(args: argparse.Namespace) -> int:
    """``records new-version APP FORM ID --from DAY [--to DAY]``: a new draft version."""
    service = open_service(args)
    try:
        record = service.lookups.new_version(
            actor_of(args), args.app, args.form, args.id, args.effective_from, args.effective_to
        )
    except RecordValidationError as exc:
        raise CommandFailed(f"no new version:\n{error_lines(exc.errors)}") from exc
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(f"created {args.app}/{args.form} #{record.id} (a draft): {record.title}")
    return 0


def add_parsers(sub: Any, records_sub: Any) -> None:
    """Register ``lowcode lookups`` and ``lowcode records new-version``."""
    lookups = sub.add_parser("lookups", help="best-match lookups: ties in reference data")
    lookups_sub = lookups.add_subparsers(dest="lookups_command", required=True, metavar="ACTION")
    ties = lookups_sub.add_parser(
        "ties", help="list the records of a reference form that a lookup cannot tell apart"
    )
    ties.add_argument("app")
    ties.add_argument("form", help="the reference form the lookups search")
    ties.set_defaults(handler=lookups_ties)
    new_version = records_sub.add_parser(
        "new-version", help="copy a record of a versioned form into a new draft version"
    )
    new_version.add_argument("app")
    new_version.add_argument("form")
    new_version.add_argument("id", type=int)
    new_version.add_argument(
        "--from", dest="effective_from", type=_day, required=True, help="first valid day"
    )
    new_version.add_argument(
        "--to", dest="effective_to", type=_day, help="last valid day (default: the copied end)"
    )
    new_version.set_defaults(handler=records_new_version)
