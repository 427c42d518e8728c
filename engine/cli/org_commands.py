"""Handlers of ``lowcode user ...`` and ``lowcode org ...``: parse input, call the service, print.

Passwords never come from the command line (it is visible to other users of the machine
and kept in shell history): they are asked for with getpass on a terminal, or read
from standard input (``--password-stdin``, or when stdin is not a terminal).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from engine.cli import commands
from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, format_table
from engine.service import SYSTEM_ACTOR, OrgFileError, Service, ServiceError, read_org_file


def _call(work: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return work(*args, **kwargs)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc


def init(args: argparse.Namespace) -> int:
    """``lowcode init``: the tables, the user ``admin`` when the organisation is empty, and
    the working calendar from chinese-calendar when it has no day yet."""
    status = commands.init(args)
    service = open_service(args)
    if _call(service.org.ensure_admin, SYSTEM_ACTOR):
        print(
            "created the user admin (organisation role admin, no password yet): "
            "`--user admin` acts as it; `lowcode user password admin` lets it sign in"
        )
    seeded = _call(service.calendar.ensure_seeded, SYSTEM_ACTOR)
    if seeded is not None and seeded.written:
        years = ", ".join(str(y) for y in sorted(seeded.written))
        print(f"working calendar seeded from chinese-calendar: {years} (`lowcode calendar show`)")
    return status


# -- passwords ------------------------------------------------------------------------
def _read_password(*, from_stdin: bool, confirm: bool) -> str | None:
    """A password from stdin (first line) or a terminal prompt; None when none is given."""
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        return password or None
    password = getpass.getpass("password: ")
    if not password:
        return None
    if confirm and getpass.getpass("password again: ") != password:
        raise CommandFailed("the two passwords differ: nothing changed")
    return password


# -- users ----------------------------------------------------------------------------
def user_create(args: argparse.Namespace) -> int:
    service = open_service(args)
    password = None
    if args.password_stdin or sys.stdin.isatty():
        password = _read_password(from_stdin=args.password_stdin, confirm=True)
    user = _call(
        service.org.create_user,
        actor_of(args),
        args.login,
        args.name,
        kind=args.kind,
        email=args.email,
        mobile=args.mobile,
        department=args.department,
        dealer=args.dealer,
        password=password,
        roles=tuple(args.role),
    )
    roles = ", ".join(user.roles) or "none"
    where = f"dealer {user.dealer}" if user.dealer else f"department {user.department or '-'}"
    print(
        f"created user {user.login} ({user.name}, {user.kind}, {where}, roles: {roles}, "
        f"password: {'set' if user.has_password else 'none'})"
    )
    return 0


def user_password(args: argparse.Namespace) -> int:
    service = open_service(args)
    password = _read_password(from_stdin=args.password_stdin, confirm=True)
    if password is None:
        raise CommandFailed("no password given: nothing changed")
    _call(service.org.set_password, actor_of(args), args.login, password)
    print(f"password of {args.login} set")
    return 0


def user_set_active(args: argparse.Namespace) -> int:
    service = open_service(args)
    active = args.user_command == "enable"
    changed = _call(service.org.set_active, actor_of(args), args.login, active)
    state = "enabled" if active else "disabled"
    print(f"{args.login} {state}" if changed else f"{args.login} was already {state}")
    return 0


def user_token(args: argparse.Namespace) -> int:
    service = open_service(args)
    token = _call(service.org.create_token, actor_of(args), args.login, args.name)
    print(token)
    print(
        "this token is shown once: store it now (only its hash is kept)",
        file=sys.stderr,
    )
    return 0


def user_tokens(args: argparse.Namespace) -> int:
    service = open_service(args)
    tokens = _call(service.org.list_tokens, actor_of(args), args.login)
    if not tokens:
        print(f"{args.login} has no API tokens")
        return 0
    rows = [
        [
            str(t.id),
            t.name,
            t.prefix + "...",
            _moment(t.created_at),
            _moment(t.last_used_at),
            "revoked " + _moment(t.revoked_at) if t.revoked_at else "active",
        ]
        for t in tokens
    ]
    print(format_table(["id", "name", "token", "created", "last used", "state"], rows))
    return 0


def user_revoke(args: argparse.Namespace) -> int:
    service = open_service(args)
    changed = _call(service.org.revoke_token, actor_of(args), args.login, args.token_id)
    print(
        f"token {args.token_id} of {args.login} revoked"
        if changed
        else f"token {args.token_id} of {args.login} was already revoked"
    )
    return 0


def _moment(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


# -- the organisation -------------------------------------------------------------------
def org_load(args: argparse.Namespace) -> int:
    try:
        snapshot = read_org_file(args.path)
    except OrgFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        raise CommandFailed(
            f"{count} problem{'s' if count != 1 else ''} in {args.path}: nothing loaded"
        ) from exc
    service = open_service(args)
    summary = _call(service.org.load, actor_of(args), snapshot)
    for line in summary.lines():
        print(line)
    if not summary.changed:
        print("nothing changed")
    return 0


def org_managers(args: argparse.Namespace) -> int:
    service: Service = open_service(args)
    if args.exact:
        found = _call(service.org.managers, actor_of(args), args.login, args.level)
    else:
        found = _call(service.org.managers_up_to, actor_of(args), args.login, args.level)
    if not found:
        print(f"no managers of {args.login} up to level {args.level}")
        return 0
    print(format_table(["level", "manager"], [[str(level), login] for level, login in found]))
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``lowcode user`` and ``lowcode org`` on the top-level subparsers."""
    user = sub.add_parser("user", help="create users, set passwords, manage API tokens")
    user_sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    create = user_sub.add_parser("create", help="create a user (no password unless given)")
    create.add_argument("login")
    create.add_argument("--name", required=True, help="display name, e.g. 李明")
    create.add_argument("--kind", choices=("internal", "external"), default="internal")
    create.add_argument("--dealer", help="the dealer of an external user")
    create.add_argument("--department", help="the main department of an internal user")
    create.add_argument("--email")
    create.add_argument("--mobile")
    create.add_argument(
        "--role", action="append", default=[], help="organisation role (repeatable)"
    )
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (a terminal is prompted)",
    )
    create.set_defaults(handler=user_create)
    password = user_sub.add_parser(
        "password", help="set a user's password (prompted, or read from stdin)"
    )
    password.add_argument("login")
    password.add_argument("--password-stdin", action="store_true")
    password.set_defaults(handler=user_password)
    for action, text in (("disable", "stop a user signing in"), ("enable", "let a user sign in")):
        toggle = user_sub.add_parser(action, help=text)
        toggle.add_argument("login")
        toggle.set_defaults(handler=user_set_active)
    token = user_sub.add_parser("token", help="create an API token (printed once)")
    token.add_argument("login")
    token.add_argument("--name", required=True, help="what the token is for, e.g. erp-sync")
    token.set_defaults(handler=user_token)
    tokens = user_sub.add_parser("tokens", help="list a user's API tokens")
    tokens.add_argument("login")
    tokens.set_defaults(handler=user_tokens)
    revoke = user_sub.add_parser("revoke", help="revoke an API token")
    revoke.add_argument("login")
    revoke.add_argument("token_id", type=int)
    revoke.set_defaults(handler=user_revoke)

    org = sub.add_parser("org", help="load the organisation, find managers")
    org_sub = org.add_subparsers(dest="org_command", required=True, metavar="ACTION")
    load = org_sub.add_parser(
        "load", help="load an organisation file (.yaml or .xlsx); prints what changed"
    )
    load.add_argument("path")
    load.set_defaults(handler=org_load)
    managers = org_sub.add_parser(
        "managers", help="a user's managers up the department tree, level by level"
    )
    managers.add_argument("login")
    managers.add_argument("--level", type=int, default=1, help="how many levels up (default 1)")
    managers.add_argument(
        "--exact", action="store_true", help="only that level (default: every level up to it)"
    )
    managers.set_defaults(handler=org_managers)
