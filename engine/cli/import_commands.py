"""Handlers of ``lowcode records import`` and ``lowcode records import-template``.

    lowcode records import sales order orders.xlsx                  # dry run: counts, errors
    lowcode records import sales order orders.xlsx --commit         # all or nothing
    lowcode records import sales order orders.xlsx --commit --mode valid --errors bad.xlsx
    lowcode records import sales order prices.csv --commit --match code
    lowcode records import sales order orders.xlsx --map "客户名称=customer" --save-mapping
    lowcode records import-template sales order --out order-template.xlsx

A run is a dry run unless ``--commit`` is given (nothing is written by mistake); the
exit status is 1 when any row failed, so a script can stop on it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, to_json_text
from engine.service import ImportReport, ServiceError

#: issues printed before "... and N more"
SHOWN_ISSUES = 50


def _mapping(items: list[str]) -> dict[str, str | None] | None:
    """``["客户=customer", "备注="]`` -> ``{"客户": "customer", "备注": None}``."""
    if not items:
        return None
    out: dict[str, str | None] = {}
    for item in items:
        header, sep, path = item.rpartition("=")
        if not sep or not header.strip():
            raise CommandFailed(
                f"cannot read --map {item!r}: write HEADER=FIELD (HEADER= leaves a column out), "
                "e.g. --map 客户名称=customer",
                status=2,
            )
        out[header.strip()] = path.strip() or None
    return out


def _read(path_text: str) -> bytes:
    path = Path(path_text)
    if not path.is_file():
        raise CommandFailed(f"no such file: {path_text}")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandFailed(f"cannot read {path_text}: {exc.strerror or exc}") from exc


def _write(path_text: str, data: bytes) -> None:
    try:
        Path(path_text).write_bytes(data)
    except OSError as exc:
        raise CommandFailed(f"cannot write {path_text}: {exc.strerror or exc}") from exc


def records_import(args: argparse.Namespace) -> int:
    """``lowcode records import APP FORM FILE``: check (or with ``--commit`` import) a
    spreadsheet; prints the counts and every failing row with its column and reason."""
    data = _read(args.file)
    mapping = _mapping(args.map)
    service = open_service(args)
    actor = actor_of(args)
    try:
        if args.save_mapping:
            if mapping is None:
                raise CommandFailed("--save-mapping needs --map HEADER=FIELD", status=2)
            service.imports.save_mapping(actor, args.app, args.form, mapping)
        report = service.imports.run(
            actor,
            args.app,
            args.form,
            data,
            Path(args.file).name,
            sheet=args.sheet,
            mapping=mapping,
            mode=args.mode,
            match=args.match,
            dry_run=not args.commit,
        )
        if args.errors and report.failed:
            _write(args.errors, service.imports.error_workbook(report, actor.locale))
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.output == "json":
        print(to_json_text(report.to_json()))
    else:
        _print_report(args, report)
    return 1 if report.failed else 0


def _print_report(args: argparse.Namespace, report: ImportReport) -> None:
    english = args.locale.startswith("en")
    if report.dry_run:
        head = "dry run, nothing written" if english else "试运行，未写入"
    elif report.mode == "all" and report.failed:
        head = "nothing imported (all or nothing)" if english else "未导入（全部或不导入）"
    else:
        head = "imported" if english else "已导入"
    if english:
        print(
            f"{head}: {report.total} rows; created {report.created}, updated {report.updated}, "
            f"unchanged {report.unchanged}, failed rows {report.failed}"
        )
    else:
        print(
            f"{head}：共 {report.total} 行；新建 {report.created}，更新 {report.updated}，"
            f"未变 {report.unchanged}，失败 {report.failed} 行"
        )
    for issue in report.issues[:SHOWN_ISSUES]:
        where = issue.column or issue.field or ""
        place = f"row {issue.row}" if english else f"第 {issue.row} 行"
        print(f"  {place} {where}: {issue.message}".replace("  :", ":"))
    if len(report.issues) > SHOWN_ISSUES:
        rest = len(report.issues) - SHOWN_ISSUES
        print(f"  ... and {rest} more" if english else f"  …… 另有 {rest} 条")
    if args.errors and report.failed:
        print(f"failed rows written to {args.errors}" if english else f"错误行已写入 {args.errors}")
    if report.dry_run and not report.failed:
        print("add --commit to import" if english else "加上 --commit 正式导入")


def records_import_template(args: argparse.Namespace) -> int:
    """``lowcode records import-template APP FORM --out FILE``: the form's xlsx template."""
    service = open_service(args)
    actor = actor_of(args)
    try:
        data = service.imports.template(actor, args.app, args.form)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    _write(args.out, data)
    print(f"template written to {args.out}")
    return 0


def add_parsers(records_sub: Any) -> None:
    """Register ``lowcode records import`` and ``lowcode records import-template``."""
    run = records_sub.add_parser(
        "import", help="import an xlsx or csv file (a dry run unless --commit)"
    )
    run.add_argument("app")
    run.add_argument("form")
    run.add_argument("file", help="an .xlsx, .xls, .ods or .csv file (UTF-8 or GB18030)")
    run.add_argument("--sheet", help="the workbook's sheet (default: the first)")
    run.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="HEADER=FIELD",
        help="map a column to a field (repeat; HEADER= leaves it out); default: saved or by name",
    )
    run.add_argument("--save-mapping", action="store_true", help="keep --map for this form")
    run.add_argument(
        "--mode",
        choices=("all", "valid"),
        default="all",
        help="all: everything or nothing (default); valid: import the valid rows",
    )
    run.add_argument("--match", metavar="FIELD", help="update records found by this unique field")
    run.add_argument("--commit", action="store_true", help="write (without it: a dry run)")
    run.add_argument("--errors", metavar="FILE", help="write the failing rows to this xlsx")
    run.add_argument("--output", choices=("table", "json"), default="table")
    run.set_defaults(handler=records_import)
    template = records_sub.add_parser(
        "import-template", help="write a form's import template (xlsx)"
    )
    template.add_argument("app")
    template.add_argument("form")
    template.add_argument("--out", required=True, metavar="FILE")
    template.set_defaults(handler=records_import_template)


__all__ = ["add_parsers"]
