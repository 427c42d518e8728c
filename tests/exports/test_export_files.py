"""Exported files read back: headers, typed values and formats, the frozen header, the
sub-table sheet keyed by order number, csv with a BOM, no formula from data, the
actor's scope and hidden fields, the list's filters, sort and columns."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from engine.service import Actor, InvalidArgumentError, PermissionDeniedError
from tests.exports.conftest import FINANCE

HEADERS = [
    "订单号",
    "经销商",
    "负责人",
    "下单日期",
    "下单时间",
    "数量",
    "金额",
    "折扣率",
    "加急",
    "进度",
    "标签",
    "主推商品",
    "备注",
    "内部备注",
]


def sheets(data: bytes) -> dict[str, list[list[object]]]:
    """Every sheet's rows as python-calamine reads them."""
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return {name: book.get_sheet_by_name(name).to_python() for name in book.sheet_names}


def test_xlsx_has_labels_typed_values_formats_and_a_frozen_bold_header(exports):
    service, records = exports["service"], exports["records"]
    data = service.exports.export_bytes(FINANCE, "exp", "order", format="xlsx")
    found = sheets(data)
    assert list(found) == ["订单", "明细"]
    rows = found["订单"]
    assert rows[0] == HEADERS
    assert len(rows) == 5
    first = rows[1]
    assert first[:3] == ["SO-2026-0001", "杭州恒泰商贸有限公司", "吴刚"]
    assert first[3] == date(2026, 3, 5)
    assert first[4] == datetime(2026, 3, 5, 14, 30)
    assert first[5] == 3 and first[6] == 1200.5 and first[7] == 0.125
    assert first[8:13] == [
        "是",
        "待处理",
        "重点客户、新客户",
        "龙井茶",
        '=HYPERLINK("http://evil")',
    ]
    assert first[13] == "机密：底价"
    # a record with blanks: empty cells, not "None" or "—"
    assert rows[4][0] == "SO-2026-0004" and rows[4][2:8] == ["", "", "", "", "", ""]
    assert rows[4][12] == "-2"  # text that looks like a number stays text
    # number formats, the frozen header row and its bold font (openpyxl reads styles)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["订单"]
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b is True
    assert sheet["D2"].number_format == "yyyy-mm-dd" and sheet["D2"].is_date
    assert sheet["E2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert sheet["F2"].number_format == "#,##0" and sheet["F2"].value == 3
    assert sheet["G2"].number_format == "¥#,##0.00" and sheet["G2"].value == 1200.5
    assert sheet["H2"].number_format == "0.00%"
    # data never becomes a formula: strings, whatever they start with
    for cell in ("M2", "M3", "M4", "M5"):
        assert sheet[cell].data_type == "s", cell
    assert [sheet[c].value for c in ("M3", "M4")] == ["+1 加急", "@SUM(A1)"]
    # the sub-table sheet: keyed by the order number, then its columns
    lines = found["明细"]
    assert lines == [
        ["单号", "商品", "数量", "单价"],
        ["SO-2026-0001", "龙井茶", 2.0, 100.25],
        ["SO-2026-0001", "茶杯", 1.0, 999.99],
        ["SO-2026-0002", "龙井茶", 5.0, 3.0],
    ]
    lines_sheet = book["明细"]
    assert lines_sheet.freeze_panes == "A2"
    assert lines_sheet["D2"].number_format == "¥#,##0.00"
    assert len(records) == 4


def test_english_headers_for_an_english_actor(exports):
    service = exports["service"]
    data = service.exports.export_bytes(
        Actor("zhao.min", locale="en"),
        "exp",
        "order",
        format="xlsx",
        columns=["order_no", "stage", "urgent", "status"],
    )
    found = sheets(data)
    assert list(found) == ["Order", "Lines"]
    assert found["Order"][0] == ["Order no.", "Stage", "Urgent", "Status"]
    assert found["Order"][1] == ["SO-2026-0001", "Open", "Yes", "active"]
    assert found["Lines"][0] == ["Record no.", "Item", "Qty", "Price"]


def test_csv_is_utf8_with_a_bom_exact_money_and_no_formula(exports):
    service = exports["service"]
    data = service.exports.export_bytes(FINANCE, "exp", "order", format="csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    assert rows[1] == [
        "SO-2026-0001",
        "杭州恒泰商贸有限公司",
        "吴刚",
        "2026-03-05",
        "2026-03-05 14:30:00",
        "3",
        "1200.50",
        "0.1250",
        "是",
        "待处理",
        "重点客户、新客户",
        "龙井茶",
        '\'=HYPERLINK("http://evil")',
        "机密：底价",
    ]
    assert rows[2][6] == "0.10" and rows[2][12] == "'+1 加急"
    assert rows[3][12] == "'@SUM(A1)" and rows[4][12] == "'-2"
    assert rows[4][1:8] == ["佛山粤华分销部", "", "", "", "", "", ""]
    assert len(rows) == 5


def test_a_dealers_export_holds_only_their_rows_and_no_hidden_field(exports):
    service = exports["service"]
    boss = Actor("hz.boss")
    for file_format in ("xlsx", "csv"):
        data = service.exports.export_bytes(boss, "exp", "order", format=file_format)
        if file_format == "xlsx":
            found = sheets(data)
            rows = found["订单"]
            assert [r[0] for r in found["明细"][1:]] == ["SO-2026-0001"] * 2 + ["SO-2026-0002"]
        else:
            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert rows[0] == [h for h in HEADERS if h != "内部备注"]
        assert [r[0] for r in rows[1:]] == ["SO-2026-0001", "SO-2026-0002"]
        assert {r[1] for r in rows[1:]} == {"杭州恒泰商贸有限公司"}
        assert "机密".encode() not in data
    # a list's columns naming the hidden field do not bring it in
    data = service.exports.export_bytes(
        boss, "exp", "order", format="csv", columns=["order_no", "internal_note", "amount"]
    )
    assert data.decode("utf-8-sig").splitlines() == [
        "订单号,金额",
        "SO-2026-0001,1200.50",
        "SO-2026-0002,0.10",
    ]
    # someone with read but no export grant is refused, with the action named
    with pytest.raises(PermissionDeniedError, match="导出|export"):
        service.exports.export_bytes(Actor("hz.boss"), "exp", "product", format="csv")


def test_the_lists_filters_search_sort_and_columns_are_honoured(exports):
    service = exports["service"]
    data = service.exports.export_bytes(
        FINANCE,
        "exp",
        "order",
        format="csv",
        filters=[("amount", "ge", "50")],
        sort=["-amount"],
        columns=["order_no", "amount", "dealer"],
    )
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["订单号", "金额", "经销商"],
        ["SO-2026-0001", "1200.50", "杭州恒泰商贸有限公司"],
        ["SO-2026-0003", "88.00", "广州粤华贸易有限公司"],
    ]
    data = service.exports.export_bytes(
        FINANCE, "exp", "order", format="csv", search="加急", columns=["order_no"]
    )
    assert data.decode("utf-8-sig").splitlines() == ["订单号", "SO-2026-0002"]
    assert service.exports.count(FINANCE, "exp", "order", filters=[("stage", "eq", "open")]) == 2


def test_bad_arguments_are_clear_refusals_in_the_actors_language(exports):
    service = exports["service"]
    with pytest.raises(InvalidArgumentError, match="format"):
        service.exports.export_bytes(FINANCE, "exp", "order", format="pdf")
    with pytest.raises(InvalidArgumentError, match="nope"):
        service.exports.export_bytes(FINANCE, "exp", "order", filters=[("nope", "eq", 1)])
    with pytest.raises(InvalidArgumentError, match="columns"):
        service.exports.export_bytes(FINANCE, "exp", "order", columns="order_no")
    hostile = [
        {"filters": 5},
        {"filters": ["amount>=1"]},
        {"sort": 5},
        {"sort": ["-nope"]},
        {"search": 5},
        {"columns": [1]},
        {"columns": ["x" * 5000]},
        {"format": None},
    ]
    for options in hostile:
        with pytest.raises(InvalidArgumentError):
            service.exports.export_bytes(FINANCE, "exp", "order", **options)
        with pytest.raises(InvalidArgumentError):
            service.exports.submit(FINANCE, "exp", "order", **options)
    with pytest.raises(InvalidArgumentError):
        service.exports.get_run(FINANCE, "1 OR 1=1")
    assert service.exports.runs(FINANCE, "exp") == []
