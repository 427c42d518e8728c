"""``service.reports.export_xlsx``: a dashboard as an xlsx workbook (engine/service/report_xlsx.py),
read back with python_calamine (values) and from the file's XML (sheet names in order,
number formats), against figures computed in the test from the inserted orders
(tests/service/report_sales.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook

from engine.runtime.reports.results import ResultColumn
from engine.service import InvalidArgumentError
from engine.service.report_xlsx import _SheetNames, number_format
from tests.service.report_sales import (
    ADMIN,
    ADMIN_EN,
    BOSS_A,
    DEALER_NAMES,
    LONG_TITLE,
    in_month,
    install_sales,
    month_start,
    sums_by,
    total,
)

TODAY = date(2026, 3, 15)
#: Excel's built-in number formats XlsxWriter refers to by id instead of writing them out
BUILTIN_FORMATS = {0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 10: "0.00%"}


@pytest.fixture
def sales(make_service, clock):
    """The sales app on 2026-03-15: orders in January, February and March 2026."""
    clock.set(2026, 3, 15, 10, 0)
    service = make_service()
    return service, install_sales(service, TODAY)


def export(service, actor, **options) -> bytes:
    out = io.BytesIO()
    service.reports.export_xlsx(actor, "sales", "cockpit", out, **options)
    return out.getvalue()


def sheets(data: bytes) -> dict[str, list[list]]:
    """Sheet name -> its rows as python_calamine reads them, in workbook order."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def formats(data: bytes, index: int) -> dict[str, str]:
    """Cell reference -> number format code of the ``index``-th sheet (0 = overview)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        styles = archive.read("xl/styles.xml").decode()
        sheet = archive.read(f"xl/worksheets/sheet{index + 1}.xml").decode()
    codes = dict(BUILTIN_FORMATS)
    for fmt_id, code in re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles):
        codes[int(fmt_id)] = code.replace("&quot;", '"')
    xfs_text = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S).group(1)
    xfs = [int(n) for n in re.findall(r'<xf numFmtId="(\d+)"', xfs_text)]
    out = {}
    for ref, style in re.findall(r'<c r="([A-Z]+\d+)" s="(\d+)"', sheet):
        out[ref] = codes[xfs[int(style)]]
    return out


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_dashboard_workbook_has_a_sheet_per_widget_with_figures_and_formats(sales):
    service, orders = sales
    data = export(service, ADMIN, filters={"period": "2026-01-01..2026-03-31"})
    book = sheets(data)
    long_title = LONG_TITLE
    assert (
        list(book)
        == [
            "概览",
            "本月销售额",
            "各渠道销售额_毛利率 _按渠道_",  # / [ ] are refused in sheet names
            long_title[:31],
            "经销商 × 月份",
            "最大的订单",
            "目标",
        ]
    )

    overview = book["概览"]
    assert overview[0][0] == "销售驾驶舱"
    assert ["导出时间", "2026-03-15 10:00:00 +0800"] in overview
    assert ["期间", "2026-01-01..2026-03-31"] in overview
    assert [long_title, long_title[:31]] in overview

    # bar: a row per channel, numbers as numbers, the totals row 合计
    bar = book["各渠道销售额_毛利率 _按渠道_"]
    assert bar[0] == ["渠道", "销售额", "订单数", "毛利率", "数量"]
    by_channel = sums_by(orders, lambda o: o.channel)
    rows = {r[0]: r[1:] for r in bar[1:]}
    for channel, label in (("online", "online"), ("store", "store"), (None, "（空）")):
        chosen = [o for o in orders if o.channel == channel]
        cost = sum((Decimal(o.cost) for o in chosen if o.cost), Decimal(0))
        margin = ((by_channel[channel] - cost) / by_channel[channel]).quantize(Decimal("0.0001"))
        assert rows[label] == [
            float(by_channel[channel]),
            float(len(chosen)),
            float(margin),
            float(sum(o.qty for o in chosen)),
        ]
    assert rows["合计"][:2] == [float(total(orders)), float(len(orders))]
    assert rows["合计"][0] == 1235335.99
    cells = formats(data, 2)
    assert [cells[f"{c}2"] for c in "BCDE"] == ["¥#,##0.00", "#,##0", "0.00%", "#,##0.00"]
    assert [cells[f"{c}5"] for c in "BCDE"] == ["¥#,##0.00", "#,##0", "0.00%", "#,##0.00"]

    # ranking: the top two and the others, which sum to the total
    ranking = book[long_title[:31]]
    by_seller = sums_by(orders, lambda o: o.seller)
    top = sorted(by_seller, key=lambda s: by_seller[s], reverse=True)[:2]
    assert ranking[1:] == [
        *([DEALER_NAMES[s], float(by_seller[s])] for s in top),
        ["其他", float(sum(v for s, v in by_seller.items() if s not in top))],
        ["合计", float(total(orders))],
    ]

    # pivot: dealers by month, the row totals, the column totals and the grand total
    pivot = book["经销商 × 月份"]
    months = [month_start(TODAY, n) for n in (2, 1, 0)]
    assert pivot[0] == ["经销商 \\ 月份", "2026-01", "2026-02", "2026-03", "合计"]
    for row in pivot[1:-1]:
        seller = next(k for k, v in DEALER_NAMES.items() if v == row[0])
        mine = [o for o in orders if o.seller == seller]
        expected = [float(total(in_month(mine, m))) if in_month(mine, m) else "" for m in months]
        assert row[1:] == [*expected, float(total(mine))]
    assert pivot[-1] == [
        "合计",
        *(float(total(in_month(orders, m))) for m in months),
        float(total(orders)),
    ]
    assert formats(data, 4)["B2"] == "¥#,##0.00"

    # KPI: label / value rows
    kpi = {r[0]: r[1] for r in book["本月销售额"][1:] if r[0]}
    march, february = total(in_month(orders, months[2])), total(in_month(orders, months[1]))
    assert kpi["销售额"] == float(march)
    assert kpi["期间"] == "2026-03-01..2026-03-31"
    assert kpi["对比值（上期）"] == float(february)
    assert kpi["变化"] == float(((march - february) / february).quantize(Decimal("0.0001")))
    assert formats(data, 1)["B6"] == "0.00%"

    # table: display text of the first page, and a note saying it is the first page
    table = book["最大的订单"]
    assert table[0] == ["单号", "经销商", "金额", "下单日期"]
    largest = sorted((o for o in orders if o.amount), key=lambda o: o.money, reverse=True)[:3]
    assert [r[0] for r in table[1:4]] == [o.ref for o in largest]
    assert table[1][2] == "¥1,234,567.89"
    assert table[5][0] == "仅含第 1 页：3 条，共 7 条"


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_dealer_exports_only_their_rows_and_a_refused_widget_as_a_note(sales):
    service, orders = sales
    book = sheets(export(service, BOSS_A, widgets=["by_channel", "targets"]))
    assert list(book) == ["概览", "各渠道销售额_毛利率 _按渠道_", "目标"]
    mine = [o for o in orders if o.seller == "DA"]
    bar = book["各渠道销售额_毛利率 _按渠道_"]
    assert bar[-1][:3] == ["合计", float(total(mine)), float(len(mine))]
    assert float(total(mine)) == 400.43
    (note,) = book["目标"]
    assert "无权" in note[0]


def test_english_words_and_a_blank_dashboard_filter(sales):
    service, orders = sales
    book = sheets(export(service, ADMIN_EN, widgets=["by_channel"], filters={"channel": "store"}))
    assert list(book)[0] == "Overview"
    assert ["Channel", "store"] in book["Overview"]
    bar = book["Sales_margin _by channel_"]
    assert bar[0] == ["Channel", "Sales", "Orders", "Margin", "Quantity"]
    store = [o for o in orders if o.channel == "store"]
    assert bar[-1][:3] == ["Total", float(total(store)), float(len(store))]


def test_out_must_be_writable(sales):
    service, _orders = sales
    with pytest.raises(InvalidArgumentError) as caught:
        service.reports.export_xlsx(ADMIN_EN, "sales", "cockpit", "out.xlsx")
    assert caught.value.argument == "out"


def test_sheet_names_are_cut_cleaned_and_unique():
    names = _SheetNames()
    assert names.take("概览") == "概览"
    assert names.take("a/b\\c[d]e:f*g?h") == "a_b_c_d_e_f_g_h"
    long = "x" * 40
    assert names.take(long) == "x" * 31
    assert names.take(long) == "x" * 27 + " (2)"
    assert names.take("X" * 31) == "X" * 27 + " (3)"  # Excel ignores case
    assert names.take("'quoted'") == "quoted"
    assert names.take("History") == "History (2)"  # reserved by Excel
    assert names.take("   ") == "Sheet"


def test_number_formats_follow_the_measure_format_and_decimals():
    def column(fmt, decimals=None):
        return ResultColumn("m", "m", "measure", fmt, decimals)

    assert number_format(column("money")) == "¥#,##0.00"
    assert number_format(column("integer")) == "#,##0"
    assert number_format(column("number")) == "#,##0.00"
    assert number_format(column("percent")) == "0.00%"
    assert number_format(column(None)) == "#,##0.00"
    assert number_format(column("number", 3)) == "#,##0.000"
    assert number_format(column("percent", 3)) == "0.0%"
    assert number_format(column("money", 0)) == "¥#,##0"
