"""The ``lowcode`` command line.

Each command parses its arguments, calls :mod:`engine.definitions` or the service
facade, and prints the result; no business logic lives here. Problems a person can fix
(a wrong path, bad JSON, a missing database, invalid data) print one clear message to
stderr and exit with status 1 (2 for usage errors, as argparse does).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from engine.cli import (
    calendar_commands,
    commands,
    flow_commands,
    import_commands,
    job_commands,
    ledger_commands,
    lookup_commands,
    org_commands,
    record_commands,
    report_commands,
    rule_commands,
    scheduler_commands,
)
from engine.cli.output import CommandFailed
from engine.cli.serve import add_serve_options

DEFAULT_DATABASE_URL = "sqlite:///instance/lowcode.db"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (kept separate so docs and tests can read it)."""
    parser = argparse.ArgumentParser(
        prog="lowcode",
        description="Low-code form-and-workflow engine: check and install apps, manage records.",
    )
    parser.add_argument(
        "--database",
        default=os.environ.get("LOWCODE_DATABASE_URL", DEFAULT_DATABASE_URL),
        help="SQLAlchemy URL (env LOWCODE_DATABASE_URL; default %(default)s)",
    )
    parser.add_argument(
        "--files-dir",
        default=os.environ.get("LOWCODE_FILES_DIR", "instance/files"),
        help="folder for uploaded files (env LOWCODE_FILES_DIR; default %(default)s)",
    )
    parser.add_argument(
        "--user", default=os.environ.get("LOWCODE_USER", "admin"), help="acting user id"
    )
    parser.add_argument(
        "--locale",
        choices=("zh-CN", "en"),
        default=os.environ.get("LOWCODE_LOCALE", "zh-CN"),
        help="language of messages (env LOWCODE_LOCALE; default %(default)s)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate an app folder or file; list every error")
    check.add_argument("path")
    check.set_defaults(handler=commands.check)

    init = sub.add_parser(
        "init", help="create the database tables, or upgrade older ones in place (data kept)"
    )
    init.set_defaults(handler=org_commands.init)  # tables, then the admin user

    app = sub.add_parser("app", help="install and list apps")
    app_sub = app.add_subparsers(dest="app_command", required=True, metavar="ACTION")
    install = app_sub.add_parser("install", help="install or upgrade an app from a folder or file")
    install.add_argument("path")
    install.add_argument(
        "--map-role",
        action="append",
        default=[],
        metavar="APP_ROLE=ORG_ROLE",
        help="the organisation role (code or name) whose members hold an app role "
        "(repeatable; default: the role with the same code)",
    )
    install.add_argument(
        "--dry-run",
        action="store_true",
        help="only show what would change in each form's table, and rows that would not convert",
    )
    install.add_argument(
        "--allow-blank",
        action="store_true",
        help="when a field's type changes, blank the values that do not convert (the old column is kept)",
    )
    install.add_argument(
        "--strict",
        action="store_true",
        help="refuse to install (nothing changes) when existing records break a new or stricter rule",
    )
    install.set_defaults(handler=commands.app_install)
    check_data = app_sub.add_parser(
        "check-data", help="list live records that break their form's rules (exit 1 if any)"
    )
    check_data.add_argument("app")
    check_data.add_argument("--form", help="check only this form")
    check_data.set_defaults(handler=commands.app_check_data)
    app_list = app_sub.add_parser("list", help="list installed apps and their forms")
    app_list.set_defaults(handler=commands.app_list)

    records = sub.add_parser("records", help="create, list and show records")
    rec_sub = records.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    create = rec_sub.add_parser("create", help="create a record from JSON")
    create.add_argument("app")
    create.add_argument("form")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--json", dest="json_text", help="the record as a JSON object")
    source.add_argument(
        "--file", help="a JSON file with one object or a list of objects ('-' = stdin)"
    )
    create.add_argument(
        "--each",
        action="store_true",
        help="with a list: save the valid items one by one and report the others "
        "(default: all or nothing)",
    )
    create.set_defaults(handler=record_commands.records_create)

    update = rec_sub.add_parser("update", help="change a record with a JSON object of changes")
    update.add_argument("app")
    update.add_argument("form")
    update.add_argument("id", type=int)
    update.add_argument("--json", dest="json_text", required=True, help="the changed fields")
    update.add_argument(
        "--version", type=int, help="refuse when the record is no longer at this version"
    )
    update.set_defaults(handler=record_commands.records_update, file=None)

    delete = rec_sub.add_parser("delete", help="delete a record (its history is kept)")
    delete.add_argument("app")
    delete.add_argument("form")
    delete.add_argument("id", type=int)
    delete.add_argument(
        "--version", type=int, help="refuse when the record is no longer at this version"
    )
    delete.set_defaults(handler=record_commands.records_delete)

    listing = rec_sub.add_parser("list", help="list records with filters, sort and paging")
    listing.add_argument("app")
    listing.add_argument("form")
    listing.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COND",
        help="filter like 'total>=100', 'supplier.name^=Hang', 'state=active' (repeatable); "
        "operators: = != > >= < <= ~ (contains) ^= (starts with)",
    )
    listing.add_argument("--sort", action="append", default=[], help="field, '-field' descending")
    listing.add_argument("--search", help="text searched in text fields and titles")
    listing.add_argument("--page", type=int, default=1)
    listing.add_argument("--page-size", type=int, default=20)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=record_commands.records_list)

    export = rec_sub.add_parser(
        "export", help="every record you may export, as CSV (display values) or JSON lines"
    )
    export.add_argument("app")
    export.add_argument("form")
    export.add_argument("--where", action="append", default=[], metavar="COND")
    export.add_argument("--sort", action="append", default=[])
    export.add_argument("--search")
    export.add_argument("--format", choices=("csv", "jsonl", "xlsx"), default="csv")
    export.add_argument(
        "--out",
        metavar="FILE",
        help="write the file here (xlsx needs it; csv: labelled headers, UTF-8 with BOM)",
    )
    export.add_argument(
        "--column", action="append", default=[], help="a column to export (repeat; default: all)"
    )
    export.set_defaults(handler=record_commands.records_export)

    show = rec_sub.add_parser("show", help="show one record as JSON")
    show.add_argument("app")
    show.add_argument("form")
    show.add_argument("id", type=int)
    show.set_defaults(handler=record_commands.records_show)

    files = sub.add_parser("files", help="upload files for attachment and image fields")
    files_sub = files.add_subparsers(dest="files_command", required=True, metavar="ACTION")
    upload = files_sub.add_parser(
        "upload", help="store a file for a field; prints the metadata its value holds"
    )
    upload.add_argument("app")
    upload.add_argument("form")
    upload.add_argument("field", help="a field (quote) or a sub-table column (lines.photo)")
    upload.add_argument("path")
    upload.set_defaults(handler=commands.files_upload)

    # lowcode user ... and lowcode org ... (engine/cli/org_commands.py)
    org_commands.add_parsers(sub)
    # lowcode calendar ... (engine/cli/calendar_commands.py)
    calendar_commands.add_parsers(sub)
    # lowcode flow ..., tasks ..., task ... (engine/cli/flow_commands.py)
    flow_commands.add_parsers(sub)
    # lowcode rules list / run (engine/cli/rule_commands.py)
    rule_commands.add_parsers(sub)
    # lowcode job list / run / runs (engine/cli/job_commands.py)
    job_commands.add_parsers(sub)
    # lowcode lookups ties, records new-version (engine/cli/lookup_commands.py)
    lookup_commands.add_parsers(sub, rec_sub)
    # lowcode records import / import-template (engine/cli/import_commands.py)
    import_commands.add_parsers(rec_sub)
    # lowcode ledger balance / entries / lots / accounts / expire (engine/cli/ledger_commands.py)
    ledger_commands.add_parsers(sub)
    # lowcode report list / run (engine/cli/report_commands.py)
    report_commands.add_parsers(sub)

    permissions = sub.add_parser("permissions", help="what a person may do, and why")
    perm_sub = permissions.add_subparsers(
        dest="permissions_command", required=True, metavar="ACTION"
    )
    explain = perm_sub.add_parser(
        "explain", help="the actions, rows and fields of a form a user may use, with the grants"
    )
    explain.add_argument("app")
    explain.add_argument("form")
    explain.add_argument("--as", dest="login", required=True, help="the user's login")
    explain.add_argument("--record", type=int, help="also say whether this record is in scope")
    explain.set_defaults(handler=commands.permissions_explain)

    demo = sub.add_parser("demo", help="walk through the examples on a fresh SQLite database")
    demo.add_argument(
        "--database",
        dest="demo_database",
        default="sqlite:///instance/demo.db",
        help="database for the demo (recreated; default %(default)s)",
    )
    demo.add_argument(
        "--no-serve", action="store_true", help="only the walk-through; do not serve the web front"
    )
    add_serve_options(demo)
    demo.set_defaults(handler=commands.demo)

    # lowcode scheduler, outbox (engine/cli/scheduler_commands.py)
    scheduler_commands.add_parsers(sub)

    serve_parser = sub.add_parser("serve", help="serve the web front on a WSGI server")
    add_serve_options(serve_parser)
    serve_parser.set_defaults(handler=commands.serve_web)
    return parser


def _join_sort_values(argv: Sequence[str]) -> list[str]:
    """Read ``--sort -total`` as ``--sort=-total``.

    argparse takes a value starting with '-' for an option, yet a leading '-' is exactly
    how a descending sort is written.
    """
    joined: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--sort":
            value = next(items, None)
            joined.append(item if value is None else f"--sort={value}")
        else:
            joined.append(item)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lowcode`` console script; returns the exit status."""
    args = build_parser().parse_args(_join_sort_values(sys.argv[1:] if argv is None else argv))
    try:
        return args.handler(args) or 0
    except CommandFailed as failure:
        print(failure.message, file=sys.stderr)
        return failure.status
    except KeyboardInterrupt:
        return 130
