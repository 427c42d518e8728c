"""Handlers of the ``lowcode`` commands: parse input, call the service, print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.cli.output import CommandFailed, error_lines, format_table, to_json_text
from engine.service import (
    Actor,
    DefinitionErrors,
    RecordValidationError,
    Service,
    ServiceError,
    check_app,
    load_app,
    sqlite_file,
)


def open_service(args: argparse.Namespace, *, must_exist: bool = True) -> Service:
    """A service on ``--database``; refuses a missing SQLite file unless creating one."""
    url_text = getattr(args, "demo_database", None) or args.database
    try:
        path = sqlite_file(url_text)
        if path is not None:
            if must_exist and not path.exists():
                raise CommandFailed(
                    f"no database at {path}: run `lowcode init` first "
                    "(or pass --database / set LOWCODE_DATABASE_URL)"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
        service = Service(url_text, files_dir=args.files_dir)
        if must_exist:
            service.check_database()
            args.opened_service = service  # --user is checked against its organisation
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    return service


def actor_of(args: argparse.Namespace) -> Actor:
    """The actor ``--user`` names: a login of the organisation once it has users."""
    service = getattr(args, "opened_service", None)
    if service is None:
        return Actor(args.user, locale=args.locale)
    try:
        return service.org.acting(args.user, locale=args.locale)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc


def _existing_path(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise CommandFailed(f"no such file or folder: {text}")
    return path


def check(args: argparse.Namespace) -> int:
    """``lowcode check PATH``: print every definition error; exit 1 when there are any."""
    path = _existing_path(args.path)
    errors = check_app(path)
    if errors:
        for error in errors:
            print(error)
        noun = "error" if len(errors) == 1 else "errors"
        sys.stdout.flush()
        print(f"{len(errors)} {noun} in {path}", file=sys.stderr)
        return 1
    app = load_app(path)
    fields = sum(len(form.fields) for form in app.forms)
    flows = f", {len(app.flows)} flow{'s' if len(app.flows) != 1 else ''}" if app.flows else ""
    print(f"ok: app {app.key} {app.version}, {len(app.forms)} forms, {fields} fields{flows}")
    return 0


def init(args: argparse.Namespace) -> int:
    service = open_service(args, must_exist=False)
    service.init_database()
    print(f"database ready: {service.database_url}")
    return 0


def app_install(args: argparse.Namespace) -> int:
    path = _existing_path(args.path)
    try:
        app = load_app(path)
    except DefinitionErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        raise CommandFailed(f"{len(exc.errors)} definition error(s): nothing installed") from exc
    service = open_service(args)
    if args.dry_run:
        return _print_install_plan(service, actor_of(args), app, strict=args.strict)
    try:
        report = service.install_app(
            actor_of(args),
            app,
            allow_blank=args.allow_blank,
            strict=args.strict,
            role_map=_role_map(args.map_role),
        )
    except ServiceError as exc:
        raise CommandFailed(f"nothing installed: {exc}") from exc
    print(report.summary())
    return 0


def _role_map(items: list[str]) -> dict[str, str]:
    """``["finance=财务部"]`` -> ``{"finance": "财务部"}``."""
    out: dict[str, str] = {}
    for item in items:
        role, sep, target = item.partition("=")
        if not sep or not role.strip() or not target.strip():
            raise CommandFailed(
                f"cannot read --map-role {item!r}: write APP_ROLE=ORG_ROLE, e.g. finance=财务部",
                status=2,
            )
        out[role.strip()] = target.strip()
    return out


def permissions_explain(args: argparse.Namespace) -> int:
    """``lowcode permissions explain APP FORM --as LOGIN [--record ID]``."""
    service = open_service(args)
    try:
        found = service.explain_permissions(
            actor_of(args), args.app, args.form, args.login, record_id=args.record
        )
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(found.text())
    return 0


def _print_install_plan(service: Service, actor: Actor, app: Any, *, strict: bool = False) -> int:
    """Print each form's migration plan and data check; exit 1 when the install would fail.

    It would when some rows would not convert, when a new unique rule meets repeated
    values, or (``strict``) when existing records break any new or stricter rule.
    """
    blocked = False
    repeated = broken = False
    for form in app.forms:
        plan = service.plan_form_change(actor, app.key, form)
        steps = [f"new table {t}" for t in plan.new_tables]
        steps += [f"add column {c}" for c in plan.added]
        steps += [f"show again {c} (its data was kept)" for c in plan.restored]
        steps += [f"hide {c} (the column and its data stay)" for c in plan.hidden]
        steps += [
            f"convert {c.field}: {c.old_type} -> {c.new_type}, {c.rows_checked} rows checked"
            for c in plan.changed
        ]
        steps += [f"create index {name}" for name in plan.indexes_added]
        steps += [f"drop index {name}" for name in plan.indexes_dropped]
        print(f"{form.key}: " + ("; ".join(steps) if steps else "no table change"))
        for problem in plan.problems:
            print(f"  would not convert: {problem}")
        blocked = blocked or not plan.ok
        for failure in service.check_form_change(actor, app.key, form):
            print(f"  {failure.describe(would=True)}")
            repeated = repeated or failure.blocking
            broken = True
    if blocked:
        print("some values would not convert: fix them, or install with --allow-blank")
    if repeated:
        print("a new unique rule meets repeated values: make those records unique first")
    elif broken and strict:
        print("existing records break new rules: --strict refuses the install")
    elif broken:
        print("existing records break new rules: the install publishes anyway (--strict refuses)")
    return 1 if blocked or repeated or (broken and strict) else 0


def app_check_data(args: argparse.Namespace) -> int:
    """``lowcode app check-data APP [--form FORM]``: one line per broken rule; exit 1 if any."""
    service = open_service(args)
    try:
        failures = service.check_data(actor_of(args), args.app, args.form)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    for failure in failures:
        print(f"{failure.form}: {failure.describe()}")
    if failures:
        return 1
    where = f"{args.app}.{args.form}" if args.form else args.app
    print(f"ok: every live record of {where} passes its rules")
    return 0


def app_list(args: argparse.Namespace) -> int:
    service = open_service(args)
    apps = service.list_apps(actor_of(args))
    if not apps:
        print("no apps installed: run `lowcode app install PATH`")
        return 0
    rows = [(a.key, a.version, str(a.name), ", ".join(a.forms)) for a in apps]
    print(format_table(("app", "version", "name", "forms"), rows))
    return 0


def files_upload(args: argparse.Namespace) -> int:
    """``files upload APP FORM FIELD PATH``: print the metadata an attachment value holds."""
    path = _existing_path(args.path)
    if not path.is_file():
        raise CommandFailed(f"not a file: {args.path}")
    service = open_service(args)
    try:
        with path.open("rb") as stream:
            metadata = service.save_file(
                actor_of(args), args.app, args.form, args.field, path.name, stream
            )
    except RecordValidationError as exc:
        raise CommandFailed(f"file not saved:\n{error_lines(exc.errors)}") from exc
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(to_json_text(metadata))
    return 0


def demo(args: argparse.Namespace) -> int:
    """The walk-through, then (unless ``--no-serve``) the web front on its database."""
    from engine.cli.demo import run_demo
    from engine.cli.serve import serve

    status = run_demo(args)
    if status != 0 or args.no_serve:
        return status
    return serve(args, database_url=args.demo_database)


def serve_web(args: argparse.Namespace) -> int:
    """``lowcode serve``: the web front on the configured database."""
    from engine.cli.serve import serve

    service = open_service(args)
    try:
        service.check_database()  # a clear message now, not a traceback in each worker
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        service.close()
    return serve(args)
