"""Handlers of the ``lowcode`` commands: parse input, call the service, print."""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import re
import sys
from pathlib import Path
from typing import Any

from engine.cli.output import CommandFailed, format_table, to_json_text
from engine.service import (
    Actor,
    BatchValidationError,
    DefinitionErrors,
    RecordValidationError,
    Service,
    ServiceError,
    check_app,
    display_value,
    load_app,
    sqlite_file,
)

# Longest operators first so '>=' is not read as '>' followed by '=...'.
_FILTER_OPERATORS = (
    (">=", "ge"),
    ("<=", "le"),
    ("!=", "ne"),
    ("^=", "startswith"),
    ("=", "eq"),
    (">", "gt"),
    ("<", "lt"),
    ("~", "contains"),
)
_FILTER_FIELD = re.compile(r"^\s*([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)\s*")


def parse_filter(text: str) -> tuple[str, str, str]:
    """``'total>=100'`` -> ``('total', 'ge', '100')``; a clear error otherwise."""
    match = _FILTER_FIELD.match(text)
    if match:
        rest = text[match.end() :]
        for symbol, op in _FILTER_OPERATORS:
            if rest.startswith(symbol):
                return match.group(1), op, rest[len(symbol) :].strip()
    raise CommandFailed(
        f"cannot read the filter {text!r}: write FIELD OPERATOR VALUE, e.g. 'total>=100' "
        "(operators: = != > >= < <= ~ ^=)",
        status=2,
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
    print(f"ok: app {app.key} {app.version}, {len(app.forms)} forms, {fields} fields")
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


def _read_json(args: argparse.Namespace) -> Any:
    if args.json_text is not None:
        text, origin = args.json_text, "--json"
    elif args.file == "-":
        text, origin = sys.stdin.read(), "standard input"
    else:
        text, origin = _existing_path(args.file).read_text(encoding="utf-8"), args.file
    try:
        return json.loads(text, parse_float=str)
    except json.JSONDecodeError as exc:
        raise CommandFailed(
            f"bad JSON in {origin} at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except RecursionError as exc:
        # the json module parses nested arrays and objects recursively; no record is
        # nested anywhere near Python's recursion limit, so say what is wrong instead
        raise CommandFailed(
            f"the JSON in {origin} is nested too deeply to be a record "
            "(arrays or objects inside each other hundreds of levels deep): "
            "give one object per record, with sub-table rows as a list of objects"
        ) from exc


def records_create(args: argparse.Namespace) -> int:
    """``records create``: one object, or a list saved all or nothing (``--each``: one by one)."""
    data = _read_json(args)
    items = data if isinstance(data, list) else [data]
    if not all(isinstance(item, dict) for item in items):
        raise CommandFailed("the JSON must be an object, or a list of objects")
    service = open_service(args)
    actor = actor_of(args)
    if not isinstance(data, list):
        try:
            record = service.create_record(actor, args.app, args.form, data)
        except RecordValidationError as exc:
            raise CommandFailed(f"record not saved:\n{_error_lines(exc.errors)}") from exc
        except ServiceError as exc:  # not found, an invalid app or form key...
            raise CommandFailed(str(exc)) from exc
        _print_created(args, record)
        return 0
    if args.each:
        return _create_each(args, service, actor, items)
    try:
        records = service.create_records(actor, args.app, args.form, items)
    except BatchValidationError as exc:
        listing = "\n".join(
            f"  item {number}:\n{_error_lines(errors, indent='    ')}"
            for number, errors in exc.items.items()
        )
        raise CommandFailed(
            f"nothing saved: {len(exc.items)} of {len(items)} items are invalid "
            f"(fix them, or pass --each to save the valid ones):\n{listing}"
        ) from exc
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    for record in records:
        _print_created(args, record)
    return 0


def _create_each(args: argparse.Namespace, service: Service, actor: Actor, items: list) -> int:
    """Save the valid items one by one; report every invalid one; exit 1 if any failed."""
    failed: list[int] = []
    for number, item in enumerate(items, start=1):
        try:
            record = service.create_record(actor, args.app, args.form, item)
        except RecordValidationError as exc:
            failed.append(number)
            print(f"item {number} not saved:\n{_error_lines(exc.errors)}", file=sys.stderr)
            continue
        except ServiceError as exc:
            raise CommandFailed(str(exc)) from exc
        _print_created(args, record)
    if failed:
        sys.stdout.flush()
        numbers = ", ".join(str(n) for n in failed)
        raise CommandFailed(
            f"saved {len(items) - len(failed)} of {len(items)} items; not saved: item(s) {numbers}"
        )
    return 0


def _print_created(args: argparse.Namespace, record: Any) -> None:
    print(f"created {args.app}/{args.form} #{record.id}: {record.title}")


def _error_lines(errors: Any, indent: str = "  ") -> str:
    return "\n".join(f"{indent}{e}" for e in errors)


def records_update(args: argparse.Namespace) -> int:
    """``records update APP FORM ID --json '{...}' [--version N]``."""
    changes = _read_json(args)
    if not isinstance(changes, dict):
        raise CommandFailed("the JSON must be an object of the fields to change")
    service = open_service(args)
    try:
        record = service.update_record(
            actor_of(args), args.app, args.form, args.id, changes, expected_version=args.version
        )
    except RecordValidationError as exc:
        raise CommandFailed(f"record not saved:\n{_error_lines(exc.errors)}") from exc
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(f"updated {args.app}/{args.form} #{record.id} (version {record.version}): {record.title}")
    return 0


def records_delete(args: argparse.Namespace) -> int:
    """``records delete APP FORM ID [--version N]``: soft delete, the history stays."""
    service = open_service(args)
    try:
        record = service.delete_record(
            actor_of(args), args.app, args.form, args.id, expected_version=args.version
        )
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(f"deleted {args.app}/{args.form} #{record.id} (version {record.version}): {record.title}")
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
        raise CommandFailed(f"file not saved:\n{_error_lines(exc.errors)}") from exc
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(to_json_text(metadata))
    return 0


def records_list(args: argparse.Namespace) -> int:
    service = open_service(args)
    filters = [parse_filter(text) for text in args.where]
    try:
        form = service.get_form(actor_of(args), args.app, args.form)
        page = service.query_records(
            actor_of(args),
            args.app,
            args.form,
            filters=filters,
            sort=args.sort or None,
            search=args.search,
            page=args.page,
            page_size=args.page_size,
        )
    except (ServiceError, RecordValidationError) as exc:
        raise CommandFailed(str(exc)) from exc
    if args.json:
        print(to_json_text([r.to_json() for r in page.items]))
        return 0
    columns = list(form.list_columns) or [f.key for f in form.fields[:5]]
    rows = [[str(r.id), *(_cell(form, r, c) for c in columns)] for r in page.items]
    print(format_table(["id", *columns], rows))
    shown = f"{len(page.items)} of {page.total}" if page.total is not None else len(page.items)
    print(f"({shown} records, page {page.page})")
    return 0


def _cell(form: Any, record: Any, column: str) -> str:
    name = record.names.get(column)  # people, departments, regions, dealers: by name
    if name:
        return "、".join(name) if isinstance(name, list) else str(name)
    if column in record.values:
        return display_value(form, column, record.values[column])
    value = getattr(record, column, "")
    return "" if value is None else str(value)


def records_export(args: argparse.Namespace) -> int:
    """``lowcode records export``: the rows of the actor's export scope, hidden fields left out."""
    service = open_service(args)
    filters = [parse_filter(text) for text in args.where]
    actor = actor_of(args)
    try:
        form = service.get_form(actor, args.app, args.form)
        records = service.records.export(
            actor,
            args.app,
            args.form,
            filters=filters,
            sort=args.sort or None,
            search=args.search,
            with_subtables=args.format == "jsonl",
        )
        first = next(records, None)
    except (ServiceError, RecordValidationError) as exc:
        raise CommandFailed(str(exc)) from exc
    if first is None:
        return 0
    rest = itertools.chain([first], records)
    if args.format == "jsonl":
        for record in rest:
            print(json.dumps(record.to_json(), ensure_ascii=False))
        return 0
    # the columns of the first record: fields hidden from the actor are not among them
    keys = [f.key for f in form.fields if f.key in first.values and f.type != "subtable"]
    writer = csv.writer(sys.stdout)
    writer.writerow(["id", *keys])
    for record in rest:
        writer.writerow([record.id, *(_cell(form, record, k) for k in keys)])
    return 0


def records_show(args: argparse.Namespace) -> int:
    service = open_service(args)
    try:
        record = service.get_record(actor_of(args), args.app, args.form, args.id)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(to_json_text(record.to_json()))
    return 0


def demo(args: argparse.Namespace) -> int:
    from engine.cli.demo import run_demo

    return run_demo(args)
