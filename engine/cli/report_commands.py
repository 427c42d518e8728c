"""Handlers of ``lowcode report ...``: list the dashboards, run one and print its widgets.

    lowcode report list [APP]
    lowcode report run purchase/purchasing --filter period=2026-01-01..2026-03-31
    lowcode report run purchasing --widget by_department --as ma.lan --xlsx spend.xlsx

A dashboard is named ``APP/DASHBOARD``, or by its key alone when exactly one installed
app has a dashboard with that key. Every figure is computed in the acting user's row
scope (``--as LOGIN``, default the global ``--user``), as in the web (docs/reports.md).
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, format_table, to_json_text
from engine.service import PermissionDeniedError, ServiceError


def _say(args: argparse.Namespace, zh: str, en: str) -> str:
    return en if str(args.locale).startswith("en") else zh


def _service(args: argparse.Namespace) -> tuple[Any, Any]:
    """The service and the actor: ``--as LOGIN`` on the command, else ``--user``."""
    service = open_service(args)
    args.opened_service = service
    if getattr(args, "as_user", None):
        args.user = args.as_user
    return service, actor_of(args)


def report_list(args: argparse.Namespace) -> int:
    """``lowcode report list [APP]``: the dashboards the user may open, per app."""
    service, actor = _service(args)
    try:
        if args.app:
            service.get_app(actor, args.app)  # an unknown app: NotFoundError names the known
        apps = [args.app] if args.app else [a.key for a in service.list_apps(actor)]
        found = [d for app in apps for d in service.reports.dashboards(actor, app)]
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.json:
        print(
            to_json_text(
                [{"app": d.app, "key": d.key, "name": d.name, "widgets": d.widgets} for d in found]
            )
        )
        return 0
    if not found:
        where = args.app or _say(args, "已安装的应用", "the installed apps")
        print(_say(args, f"{where} 中没有可查看的仪表盘", f"no dashboards you may open in {where}"))
        return 0
    rows = [[f"{d.app}/{d.key}", d.name, str(d.widgets)] for d in found]
    headers = [_say(args, "仪表盘", "dashboard"), _say(args, "名称", "name")]
    print(format_table([*headers, _say(args, "组件数", "widgets")], rows))
    return 0


def _resolve(args: argparse.Namespace, service: Any, actor: Any, name: str) -> tuple[str, str]:
    """(app, dashboard) of ``APP/DASHBOARD`` or of a key found in exactly one app."""
    if "/" in name:
        app, _slash, key = name.partition("/")
        if not app or not key:
            raise CommandFailed(
                _say(
                    args,
                    f"仪表盘写作 应用/仪表盘（如 purchase/purchasing），而不是 {name!r}",
                    f"name a dashboard as APP/DASHBOARD (purchase/purchasing), not {name!r}",
                )
            )
        return app, key
    try:
        apps = [a.key for a in service.list_apps(actor)]
        visible = [d for app in apps for d in service.reports.dashboards(actor, app)]
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    matches = [d for d in visible if d.key == name]
    if len(matches) == 1:
        return matches[0].app, matches[0].key
    if len(matches) > 1:
        listed = ", ".join(f"{d.app}/{d.key}" for d in matches)
        raise CommandFailed(
            _say(
                args,
                f"多个应用都有仪表盘 {name}：{listed}；请写明 应用/仪表盘",
                f"several apps have a dashboard {name}: {listed}; write APP/DASHBOARD",
            )
        )
    # not among the ones the user may open: say so when it exists elsewhere
    for app in apps:
        try:
            service.reports.definition(actor, app, name)
        except PermissionDeniedError as exc:
            raise CommandFailed(str(exc)) from exc
        except ServiceError:
            continue
        return app, name
    known = ", ".join(f"{d.app}/{d.key}" for d in visible) or "-"
    raise CommandFailed(
        _say(
            args,
            f"没有仪表盘 {name}（可查看的仪表盘：{known}；`lowcode report list` 列出它们）",
            f"no dashboard {name} (dashboards you may open: {known}; see `lowcode report list`)",
        )
    )


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    """``--filter k=v`` (repeatable): ``k=v1,v2`` and a repeated key give a list."""
    out: dict[str, Any] = {}
    for item in args.filter or ():
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise CommandFailed(
                _say(
                    args,
                    f"--filter {item!r}：应写作 键=值，如 period=2026-01-01..2026-03-31 "
                    "或 department=sales,hq",
                    f"--filter {item!r}: write KEY=VALUE, such as "
                    "period=2026-01-01..2026-03-31 or department=sales,hq",
                )
            )
        parts = [p.strip() for p in value.split(",")] if "," in value else [value.strip()]
        if key in out:
            before = out[key] if isinstance(out[key], list) else [out[key]]
            out[key] = [*before, *parts]
        else:
            out[key] = parts if len(parts) > 1 else parts[0]
    return out


def report_run(args: argparse.Namespace) -> int:
    """``lowcode report run DASHBOARD [--widget W]... [--filter k=v]... [--as LOGIN]
    [--xlsx FILE] [--json]``: every widget (or the ones named) as text tables."""
    service, actor = _service(args)
    app, key = _resolve(args, service, actor, args.dashboard)
    widgets = list(args.widget) if args.widget else None
    filters = _filters(args)
    try:
        result = service.reports.run(actor, app, key, widgets=widgets, filters=filters)
        data = None
        if args.xlsx:
            # into memory first, so a failed export leaves no half-written file behind
            buffer = io.BytesIO()
            service.reports.export_xlsx(actor, app, key, buffer, widgets=widgets, filters=filters)
            data = buffer.getvalue()
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if data is not None:
        try:
            Path(args.xlsx).write_bytes(data)
        except OSError as exc:
            raise CommandFailed(
                _say(
                    args,
                    f"无法写入 {args.xlsx}：{exc.strerror}",
                    f"cannot write {args.xlsx}: {exc.strerror}",
                )
            ) from exc
    if args.json:
        print(to_json_text(result.to_json()))
        return 0
    print(f"{result.name} ({app}/{key})")
    for flt, value in result.filters.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else value
        shown = result.filter_labels.get(flt, shown)
        found = result.dashboard.filter(flt)
        label = found.label.get(args.locale) if found is not None and found.label else flt
        print(f"  {label} ({flt}): {shown}")
    for widget in result.widgets:
        print()
        print(f"## {widget.title} [{widget.key}, {widget.kind}]")
        print(_widget_text(args, widget))
    if data is not None:
        print()
        print(_say(args, f"已写入 {args.xlsx}", f"wrote {args.xlsx}"))
    return 0


def _widget_text(args: argparse.Namespace, widget: Any) -> str:
    if widget.error:
        return f"! {widget.error}"
    if widget.kind == "kpi":
        return _kpi_text(args, widget)
    if widget.kind == "pivot" and "pivot" in widget.extra:
        return _pivot_text(args, widget)
    if widget.kind == "table":
        rows = [list(r.values) for r in widget.rows]
        text = format_table([c.label for c in widget.columns], rows)
        page = widget.extra.get("page") or {}
        total = page.get("total", len(rows))
        return (
            text
            + "\n"
            + _say(
                args,
                f"第 {page.get('page', 1)} 页：{len(rows)} 条，共 {total} 条",
                f"page {page.get('page', 1)}: {len(rows)} of {total} rows",
            )
        )
    dims = [c for c in widget.columns if c.role == "dimension"]
    measures = [c for c in widget.columns if c.role == "measure"]
    rows = [
        [*r.labels[: len(dims)], *(figure(v, m) for v, m in zip(r.values, measures, strict=False))]
        for r in widget.rows
    ]
    if widget.totals is not None:
        total = [_say(args, "合计", "Total"), *([""] * (len(dims) - 1))]
        rows.append(
            [*total, *(figure(v, m) for v, m in zip(widget.totals, measures, strict=False))]
        )
    headers = [c.label for c in (*dims, *measures)]
    # a row always has a cell per column (a widget without dimensions still has 合计)
    width = max([len(headers), *(len(r) for r in rows)])
    headers += [""] * (width - len(headers))
    return format_table(headers, [r + [""] * (width - len(r)) for r in rows])


def _kpi_text(args: argparse.Namespace, widget: Any) -> str:
    kpi = widget.extra.get("kpi") or {}
    column = widget.columns[0] if widget.columns else None
    label = column.label if column else widget.key
    lines = [f"{label}: {figure(kpi.get('value'), column)}  ({kpi.get('period')})"]
    compare = kpi.get("compare")
    if compare in ("previous_period", "last_year"):
        word = _say(args, "上期", "previous period")
        if compare == "last_year":
            word = _say(args, "去年同期", "same period last year")
        lines.append(
            f"{word}: {figure(kpi.get('compared'), column)}  ({kpi.get('compare_period') or '-'})"
        )
        lines.append(f"{_say(args, '变化', 'change')}: {percent(kpi.get('change'))}")
    if "target" in kpi:
        lines.append(f"{_say(args, '目标', 'target')}: {figure(kpi.get('target'), column)}")
        lines.append(f"{_say(args, '达成率', 'achievement')}: {percent(kpi.get('rate'))}")
    return "\n".join(lines)


def _pivot_text(args: argparse.Namespace, widget: Any) -> str:
    grid = widget.extra["pivot"]
    by_key = {c.key: c for c in widget.columns if c.role == "measure"}
    measures = [by_key.get(k) for k in grid["measures"]]
    heads = grid["columns"]
    n_col_dims = max((len(h["labels"]) for h in heads), default=0)
    dims = [c for c in widget.columns if c.role == "dimension"]
    row_dims = dims[: max(len(dims) - n_col_dims, 1)]
    n = len(row_dims)
    total_word = _say(args, "合计", "Total")

    def named(text: str, measure: Any) -> str:
        # with several measures each column says which one it holds
        return f"{text} {measure.label}" if len(measures) > 1 and measure else text

    headers = [d.label for d in row_dims]
    headers += [named(" / ".join(h["labels"]), m) for h in heads for m in measures]
    headers += [named(total_word, m) for m in measures]

    def values(cell: Sequence[Any] | None) -> list[str]:
        return [
            "" if cell is None or j >= len(cell) else figure(cell[j], m)
            for j, m in enumerate(measures)
        ]

    rows = []
    for grid_row in grid["rows"]:
        labels = list(grid_row["labels"][:n]) + [""] * (n - len(grid_row["labels"][:n]))
        if grid_row["kind"] == "subtotal":
            subtotal = _say(args, "小计", "subtotal")
            if n > 1:
                labels[1] = subtotal
            else:
                labels[0] = f"{labels[0]} {subtotal}"
        cells = [v for cell in grid_row["cells"] for v in values(cell)]
        rows.append([*labels, *cells, *values(grid_row.get("total"))])
    column_totals = grid.get("column_totals") or [None] * len(heads)
    rows.append(
        [
            total_word,
            *([""] * (n - 1)),
            *(v for cell in column_totals for v in values(cell)),
            *values(grid.get("grand")),
        ]
    )
    return format_table(headers, rows)


def figure(value: Any, column: Any) -> str:
    """A measure's value as the xlsx shows it: ¥1,234.50 (money), 1,234 (integer),
    12.34% (percent), 1,234.50 (number); blank for none."""
    if value is None:
        return ""
    if not isinstance(value, Decimal | int | float):
        return str(value)
    number = Decimal(str(value))
    kind = getattr(column, "format", None) or "number"
    decimals = getattr(column, "decimals", None)
    if kind == "percent":
        return percent(number, None if decimals is None else max(decimals - 2, 0))
    if kind == "integer":
        return f"{number:,.0f}"
    places = 2 if decimals is None else decimals
    text = f"{number:,.{places}f}"
    return f"¥{text}" if kind == "money" else text


def percent(value: Any, places: int | None = None) -> str:
    """0.1234 -> 12.34%; blank for none."""
    if value is None:
        return "-"
    return f"{Decimal(str(value)) * 100:,.{2 if places is None else places}f}%"


def add_parsers(sub: Any) -> None:
    """``lowcode report list`` and ``lowcode report run``."""
    report = sub.add_parser("report", help="dashboards: list them, run one, export it to xlsx")
    report_sub = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    listing = report_sub.add_parser("list", help="the dashboards you may open (of one app)")
    listing.add_argument("app", nargs="?", help="only this app's dashboards")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.add_argument("--as", dest="as_user", metavar="LOGIN", help="as this user")
    listing.set_defaults(handler=report_list)
    run = report_sub.add_parser("run", help="run a dashboard and print each widget")
    run.add_argument("dashboard", help="APP/DASHBOARD, or DASHBOARD when only one app has that key")
    run.add_argument(
        "--widget", action="append", default=[], metavar="W", help="only this widget (repeatable)"
    )
    run.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dashboard filter (repeatable): period=2026-01-01..2026-03-31, "
        "period=this_month, department=sales,hq (a list)",
    )
    run.add_argument(
        "--as", dest="as_user", metavar="LOGIN", help="act as this user (default: --user)"
    )
    run.add_argument("--xlsx", metavar="FILE", help="also write the figures to this xlsx file")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.set_defaults(handler=report_run)


__all__ = ["add_parsers", "figure", "percent"]
