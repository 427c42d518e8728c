"""``lowcode report list`` and ``lowcode report run`` (engine/cli/report_commands.py), run in
process on a database the test fills through the service (tests/service/report_sales.py),
on SQLite and PostgreSQL. The printed figures are checked against sums computed here
from the inserted orders.

The command reads the real clock, so the orders are dated relative to today's month.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from python_calamine import CalamineWorkbook

from engine.cli import main
from engine.definitions.loader import load_app_text
from tests.service.report_sales import (
    ADMIN,
    APP,
    DEALER_NAMES,
    LONG_TITLE,
    in_month,
    install_sales,
    month_start,
    sums_by,
    total,
)

BOTH_ENGINES = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


def money(value: Decimal) -> str:
    """As the command prints money."""
    return f"¥{value:,.2f}"


@pytest.fixture
def cli(make_service, database_url, tmp_path, monkeypatch):
    """(run, orders, today): ``run(*argv)`` -> (status, stdout, stderr) on the filled database."""
    for name in ("LOWCODE_DATABASE_URL", "LOWCODE_FILES_DIR", "LOWCODE_USER", "LOWCODE_LOCALE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    service = make_service()
    orders = install_sales(service, today)

    def run(capsys, *argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main(["--database", database_url, *argv])
        out, err = capsys.readouterr()
        return status, out, err

    run.service = service  # type: ignore[attr-defined]
    return run, orders, today


def section(out: str, key: str) -> list[str]:
    """The printed lines of one widget (after its ``## title [key, kind]`` line)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## ") and f"[{key}," in line)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start + 1 : end] if line.strip()]


def cells(line: str) -> list[str]:
    """A table line's cells (columns are two or more spaces apart)."""
    return re.split(r"\s{2,}", line.strip())


@BOTH_ENGINES
def test_run_prints_each_widget_with_figures_summed_here(cli, capsys):
    run, orders, today = cli
    m0, m1, m2 = (month_start(today, n) for n in (0, 1, 2))
    status, out, err = run(capsys, "report", "run", "sales/cockpit")
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == "销售驾驶舱 (sales/cockpit)"

    # bar: a row per channel, then the totals row
    bar = section(out, "by_channel")
    assert cells(bar[0]) == ["渠道", "销售额", "订单数", "毛利率", "数量"]
    by_channel = sums_by(orders, lambda o: o.channel)
    rows = {cells(line)[0]: cells(line)[1:] for line in bar[2:]}
    assert rows["online"][:2] == [money(by_channel["online"]), "3"]
    assert rows["store"][:2] == [money(by_channel["store"]), "3"]
    assert rows["（空）"][:2] == [money(by_channel[None]), "1"]
    assert rows["合计"][:2] == [money(total(orders)), str(len(orders))]
    assert rows["合计"][0] == "¥1,235,335.99"
    assert rows["合计"][3] == str(sum(o.qty for o in orders)) + ".00"

    # ranking: the top two dealers and the others
    ranking = section(out, "top_sellers")
    by_seller = sums_by(orders, lambda o: o.seller)
    top = sorted(by_seller, key=lambda s: by_seller[s], reverse=True)[:2]
    others = sum(v for s, v in by_seller.items() if s not in top)
    assert [cells(line) for line in ranking[2:]] == [
        *([DEALER_NAMES[s], money(by_seller[s])] for s in top),
        ["其他", money(others)],
        ["合计", money(total(orders))],
    ]

    # pivot: a grid of dealers by month with the row, column and grand totals
    pivot = section(out, "seller_month")
    months = [m2, m1, m0]
    assert cells(pivot[0]) == ["经销商", *(f"{m:%Y-%m}" for m in months), "合计"]
    grid = {cells(line)[0]: line for line in pivot[2:]}
    for seller, name in DEALER_NAMES.items():
        mine = [o for o in orders if o.seller == seller]
        for m in months:
            if in_month(mine, m):
                assert money(total(in_month(mine, m))) in grid[name]
        assert cells(grid[name])[-1] == money(total(mine))
    assert cells(grid["合计"]) == [
        "合计",
        *(money(total(in_month(orders, m))) for m in months),
        money(total(orders)),
    ]

    # KPI: this month against last month, as lines
    kpi = section(out, "this_month")
    now, before = total(in_month(orders, m0)), total(in_month(orders, m1))
    assert kpi[0].startswith(f"销售额: {money(now)}  ({m0.isoformat()}..")
    assert kpi[1].startswith(f"上期: {money(before)}  ({m1.isoformat()}..")
    change = ((now - before) / before * 100).quantize(Decimal("0.01"))
    assert kpi[2] == f"变化: {change:,.2f}%"

    # detail table: its first page
    table = section(out, "latest")
    largest = sorted((o for o in orders if o.amount), key=lambda o: o.money, reverse=True)[:3]
    assert [cells(line)[0] for line in table[2:5]] == [o.ref for o in largest]
    assert table[-1] == "第 1 页：3 条，共 7 条"

    # a sum with no figures of its own: the target form's
    assert cells(section(out, "targets")[-1]) == ["合计", "¥9.99"]


@BOTH_ENGINES
def test_filters_widgets_acting_user_and_xlsx(cli, capsys, tmp_path):
    run, orders, today = cli
    m1 = month_start(today, 1)
    period = f"period={m1.isoformat()}..{today.isoformat()}"
    status, out, err = run(
        capsys,
        "--locale",
        "en",
        "report",
        "run",
        "cockpit",  # found in the one app that has it
        "--widget",
        "by_channel",
        "--filter",
        period,
        "--filter",
        "channel=online,store",
        "--xlsx",
        "out.xlsx",
    )
    assert (status, err) == (0, "")
    chosen = [o for o in orders if o.day >= m1 and o.channel in ("online", "store")]
    assert [line for line in out.splitlines() if line.startswith("## ")] == [
        "## Sales/margin [by channel] [by_channel, bar]"
    ]
    total_line = section(out, "by_channel")[-2]  # the last line says where the file went
    assert cells(total_line)[:3] == ["Total", money(total(chosen)), str(len(chosen))]
    assert "  Channel (channel): online, store" in out
    assert out.strip().endswith("wrote out.xlsx")
    book = CalamineWorkbook.from_path(str(tmp_path / "out.xlsx"))
    assert book.sheet_names == ["Overview", "Sales_margin _by channel_"]
    rows = book.get_sheet_by_name("Sales_margin _by channel_").to_python()
    assert rows[-1][:3] == ["Total", float(total(chosen)), float(len(chosen))]

    # --as: the dealer's own rows only
    status, out, err = run(
        capsys,
        "report",
        "run",
        "sales/cockpit",
        "--widget",
        "top_sellers",
        "--widget",
        "targets",
        "--as",
        "boss.a",
    )
    mine = [o for o in orders if o.seller == "DA"]
    assert status == 0, err
    assert [cells(line) for line in section(out, "top_sellers")[2:]] == [
        [DEALER_NAMES["DA"], money(total(mine))],
        ["合计", money(total(mine))],
    ]
    # a widget over a form the dealer may not read: one line saying so, no traceback
    (refused,) = section(out, "targets")
    assert refused.startswith("! ") and "无权" in refused

    # --json: the result as the web receives it
    status, out, err = run(
        capsys, "report", "run", "sales/cockpit", "--widget", "top_sellers", "--json"
    )
    data = json.loads(out)
    assert data["dashboard"] == "cockpit"
    assert data["widgets"][0]["totals"] == [format(total(orders), "f")]
    assert data["widgets"][0]["title"] == LONG_TITLE


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_list_and_clear_errors(cli, capsys):
    run, _orders, _today = cli
    status, out, _err = run(capsys, "report", "list")
    assert status == 0
    assert [cells(line) for line in out.splitlines()[2:]] == [["sales/cockpit", "销售驾驶舱", "6"]]
    status, out, _err = run(capsys, "--locale", "en", "report", "list", "sales", "--json")
    assert json.loads(out) == [
        {"app": "sales", "key": "cockpit", "name": "Sales cockpit", "widgets": 6}
    ]

    def fails(*argv: str) -> str:
        status, out, err = run(capsys, "--locale", "en", *argv)
        assert status == 1 and out == "" and "Traceback" not in err
        return err.strip()

    assert fails("report", "run", "nope") == (
        "no dashboard nope (dashboards you may open: sales/cockpit; see `lowcode report list`)"
    )
    assert "has no dashboard nope" in fails("report", "run", "sales/nope")
    assert "has no widget nope" in fails("report", "run", "cockpit", "--widget", "nope")
    assert "has no filter zone" in fails("report", "run", "cockpit", "--filter", "zone=x")
    assert "write KEY=VALUE" in fails("report", "run", "cockpit", "--filter", "period")
    assert "not a date range" in fails("report", "run", "cockpit", "--filter", "period=soon")
    assert "not installed" in fails("report", "list", "nope")
    assert "no user nobody" in fails("report", "run", "cockpit", "--as", "nobody")

    # the same key in two apps: the message names both
    run.service.install_app(  # type: ignore[attr-defined]
        ADMIN,
        load_app_text(APP.replace("app: sales\n", "app: sales2\n")),
        role_map={"dealer_user": "dealer_user"},
    )
    assert fails("report", "run", "cockpit") == (
        "several apps have a dashboard cockpit: sales/cockpit, sales2/cockpit; write APP/DASHBOARD"
    )
