"""Handlers of ``lowcode records ...``: create, update, delete, list, export, show.

Each parses its arguments, calls the service as the ``--user`` and prints; filters are
written ``total>=100`` (:func:`parse_filter`).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import shutil
import sys
from typing import Any

from engine.cli.commands import _existing_path, actor_of, open_service
from engine.cli.output import CommandFailed, error_lines, format_table, to_json_text
from engine.service import (
    Actor,
    BatchValidationError,
    RecordValidationError,
    Service,
    ServiceError,
    display_value,
)
from engine.service.filter_text import FILTER_SYNTAX, read_filter


def parse_filter(text: str) -> tuple[str, str, str]:
    """``'total>=100'`` -> ``('total', 'ge', '100')``; a clear error otherwise."""
    found = read_filter(text)
    if found is not None:
        return found
    raise CommandFailed(
        f"cannot read the filter {text!r}: write FIELD OPERATOR VALUE, e.g. 'total>=100' "
        f"(operators: {FILTER_SYNTAX})",
        status=2,
    )


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
            raise CommandFailed(f"record not saved:\n{error_lines(exc.errors)}") from exc
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
            f"  item {number}:\n{error_lines(errors, indent='    ')}"
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
            print(f"item {number} not saved:\n{error_lines(exc.errors)}", file=sys.stderr)
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
        raise CommandFailed(f"record not saved:\n{error_lines(exc.errors)}") from exc
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
    """``lowcode records export``: the rows of the actor's export scope, hidden fields left out.

    With ``--out FILE`` the file is written by ``service.exports`` (xlsx: typed cells and a
    sheet per sub-table; csv: the columns' labels, UTF-8 with a BOM); without it csv and
    JSON lines go to standard output as they always did.
    """
    service = open_service(args)
    filters = [parse_filter(text) for text in args.where]
    actor = actor_of(args)
    if args.out or args.format == "xlsx":
        return _export_file(service, actor, args, filters)
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


def _export_file(
    service: Service, actor: Actor, args: argparse.Namespace, filters: list[Any]
) -> int:
    """``records export --out FILE``: the export written to a file, a summary printed."""
    if not args.out:
        raise CommandFailed(
            "xlsx is written to a file: add --out FILE (e.g. --out orders.xlsx)", status=2
        )
    if args.format == "jsonl":
        with open(args.out, "w", encoding="utf-8") as out:
            try:
                records = service.records.export(
                    actor,
                    args.app,
                    args.form,
                    filters=filters,
                    sort=args.sort or None,
                    search=args.search,
                )
                count = 0
                for record in records:
                    out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
                    count += 1
            except (ServiceError, RecordValidationError) as exc:
                raise CommandFailed(str(exc)) from exc
        print(f"{count} records written to {args.out}")
        return 0
    try:
        made = service.exports.write(
            actor,
            args.app,
            args.form,
            format=args.format,
            filters=filters,
            sort=args.sort or None,
            search=args.search,
            columns=args.column or None,
        )
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    try:
        shutil.copyfile(made.path, args.out)
    except OSError as exc:
        raise CommandFailed(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    finally:
        made.path.unlink(missing_ok=True)
    print(f"{made.count} records written to {args.out}")
    return 0


def records_show(args: argparse.Namespace) -> int:
    service = open_service(args)
    try:
        record = service.get_record(actor_of(args), args.app, args.form, args.id)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    print(to_json_text(record.to_json()))
    return 0
