"""Reading uploaded files (engine/service/import_files.py): real workbooks built with
openpyxl and XlsxWriter, csv in UTF-8 (with and without BOM), GB18030 and UTF-16, and
every refusal with its message."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest
import xlsxwriter

from engine.errors import InvalidArgumentError
from engine.service.import_files import (
    MAX_IMPORT_BYTES,
    ImportFileError,
    ImportTable,
    column_letter,
    read_table,
)


def workbook(sheets: dict[str, list[list[object]]], *, hidden: tuple[str, ...] = ()) -> bytes:
    """An .xlsx made by openpyxl: sheet name -> rows (None leaves a cell empty)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


PRICES = [
    ["SKU", "单价", "生效日期", "备注"],
    ["P-1001", 210.0, date(2025, 7, 1), None],
    ["P-1002", "１６２．００", "2025/7/1", "全角"],
    [None, None, None, None],
    ["P-2001", 259.2, 45839, None],
]


def test_an_xlsx_reads_headers_and_rows_with_their_spreadsheet_numbers():
    table = read_table(workbook({"价格表": PRICES, "说明": [["x"]]}), "价格.xlsx")
    assert isinstance(table, ImportTable)
    assert table.sheets == ("价格表", "说明")
    assert table.sheet == "价格表"
    assert table.headers == ("SKU", "单价", "生效日期", "备注")
    # the blank row 4 is left out; row 5 keeps its number
    assert [number for number, _cells in table.rows] == [2, 3, 5]
    assert table.rows[0][1][:2] == ("P-1001", 210.0)
    assert table.rows[0][1][2] in (date(2025, 7, 1), datetime(2025, 7, 1))
    assert table.rows[0][1][3] is None
    assert table.rows[1][1] == ("P-1002", "１６２．００", "2025/7/1", "全角")
    assert table.rows[2][1] == ("P-2001", 259.2, 45839.0, None)


def test_a_sheet_is_picked_by_name_and_an_unknown_one_lists_the_sheets():
    data = workbook({"价格表": PRICES, "目标": [["经销商", "目标"], ["DA", 100]]})
    assert read_table(data, "a.xlsx", sheet="目标").rows == [(2, ("DA", 100))]
    with pytest.raises(ImportFileError) as caught:
        read_table(data, "a.xlsx", sheet="订单")
    assert str(caught.value) == "文件中没有工作表“订单”，现有工作表：价格表、目标"
    assert caught.value.code == "unknown_sheet"
    with pytest.raises(ImportFileError) as caught:
        read_table(data, "a.xlsx", sheet="Orders", locale="en")
    assert str(caught.value) == "the file has no sheet Orders; its sheets: 价格表, 目标"


def test_the_first_visible_sheet_is_read_when_none_is_named():
    data = workbook({"helper": [["x"], [1]], "价格表": PRICES}, hidden=("helper",))
    assert read_table(data, "a.xlsx").sheet == "价格表"


def test_a_header_below_blank_rows_and_trailing_empty_columns_and_rows():
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet("S")
    sheet.write_row(2, 0, ["名称", "数量"])
    sheet.write_row(3, 0, ["螺丝", 5])
    sheet.write(3, 5, "")  # a formatted empty cell widens the sheet's range
    sheet.write_row(4, 0, ["  ", None])  # only spaces: a blank row
    sheet.write_row(5, 0, [None, 0])  # a zero is data
    sheet.write_blank(9, 0, None, book.add_format({"bold": True}))
    book.close()
    table = read_table(out.getvalue(), "s.xlsx")
    assert table.headers == ("名称", "数量")
    assert table.rows == [(4, ("螺丝", 5.0)), (6, (None, 0.0))]


def test_formulas_read_their_cached_values():
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["a", "b", "sum"])
    sheet.write_row(1, 0, [1, 2])
    sheet.write_formula(1, 2, "=A2+B2", None, 3)
    book.close()
    assert read_table(out.getvalue(), "f.xlsx").rows == [(2, (1.0, 2.0, 3.0))]


def test_unnamed_and_duplicate_headers():
    data = workbook({"S": [["名称", None, "数量"], ["螺丝", "x", 5]]})
    assert read_table(data, "a.xlsx").headers == ("名称", "列B", "数量")
    assert read_table(data, "a.xlsx", locale="en").headers == ("名称", "Column B", "数量")
    with pytest.raises(ImportFileError) as caught:
        read_table(workbook({"S": [["名称", "数量", "名称"], ["a", 1, "b"]]}), "a.xlsx")
    assert str(caught.value) == "第 A 列和第 C 列的表头都是“名称”，请改掉其中一个"
    assert caught.value.code == "duplicate_header"


CSV_TEXT = 'SKU,单价,生效日期\nP-1001,210.00,2025-07-01\nP-1002,"1,162.00",2025/7/1\n'


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "utf-16"])
def test_a_csv_is_decoded_in_the_encoding_it_was_saved_in(encoding):
    table = read_table(CSV_TEXT.encode(encoding), "价格.csv")
    assert table.sheets == ("价格",)
    assert table.headers == ("SKU", "单价", "生效日期")
    assert table.rows == [
        (2, ("P-1001", "210.00", "2025-07-01")),
        (3, ("P-1002", "1,162.00", "2025/7/1")),
    ]


def test_gb18030_that_latin_1_would_also_read_is_read_as_chinese():
    # every byte of these is a valid Latin-1 character: a decoder that tried Latin-1
    # (or guessed from byte frequencies) would turn them into "Ã»Óñ..." silently
    text = "名称,单价\n联通,12\n华东经销商有限公司,１６２．００\n"
    data = text.encode("gb18030")
    data.decode("latin-1")  # proves the trap is there
    table = read_table(data, "p.csv")
    assert table.headers == ("名称", "单价")
    assert table.rows == [(2, ("联通", "12")), (3, ("华东经销商有限公司", "１６２．００"))]


@pytest.mark.parametrize(("delimiter", "name"), [("\t", "a.txt"), (";", "a.csv"), (",", "a.csv")])
def test_the_delimiter_is_the_one_the_header_uses(delimiter, name):
    text = delimiter.join(["名称", "金额", "备注"]) + "\n"
    text += delimiter.join(["甲", "1,200.50", "a,b"]) + "\n"
    if delimiter == ",":
        text = '名称,金额,备注\n甲,"1,200.50","a,b"\n'
    table = read_table(text.encode("utf-8"), name)
    assert table.rows == [(2, ("甲", "1,200.50", "a,b"))]


def test_a_quoted_cell_across_lines_is_one_row():
    text = '名称,备注\n甲,"第一行\n第二行"\n乙,x\n'
    table = read_table(text.encode("utf-8"), "a.csv")
    assert table.rows == [(2, ("甲", "第一行\n第二行")), (3, ("乙", "x"))]


def test_short_rows_are_padded_and_blank_rows_left_out():
    table = read_table(b"a,b,c\n1\n,,\n2,3,4,5\n", "a.csv")
    assert table.rows == [(2, ("1", None, None)), (4, ("2", "3", "4"))]


@pytest.mark.parametrize(
    ("data", "name", "code", "message"),
    [
        (b"", "a.xlsx", "empty", "文件是空的"),
        (b"PK\x03\x04garbage", "a.xlsx", "not_a_spreadsheet", None),
        (b"hello", "a.xlsx", "not_a_spreadsheet", None),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "a.png", "not_a_spreadsheet", None),
        (b"a,b\n", "a.csv", "empty", "工作表只有表头，没有数据行"),
        (b"\n\n ,\n", "a.csv", "empty", "工作表是空的"),
        (b"\xff\xfe\x00", "a.csv", "encoding", None),
    ],
)
def test_files_that_cannot_be_imported(data, name, code, message):
    with pytest.raises(ImportFileError) as caught:
        read_table(data, name)
    assert caught.value.code == code
    assert isinstance(caught.value, InvalidArgumentError)
    if message:
        assert str(caught.value) == message
    if code == "not_a_spreadsheet":
        assert str(caught.value) == f"{name} 不是表格文件，请上传 .xlsx、.xls、.ods 或 .csv 文件"


def test_a_csv_in_no_known_encoding_says_what_to_do():
    with pytest.raises(ImportFileError) as caught:
        read_table(b"a,b\n\x81\x20,1\n", "a.csv", locale="en")
    assert str(caught.value) == (
        "the csv is neither UTF-8 nor GB18030: save it as 'CSV UTF-8' and import again"
    )


def test_limits_of_size_rows_and_columns():
    with pytest.raises(ImportFileError) as caught:
        read_table(b"a" * (MAX_IMPORT_BYTES + 1), "a.csv")
    assert str(caught.value) == "文件超过 50 MB，请拆分后再导入"
    rows = "n\n" + "".join(f"{i}\n" for i in range(11))
    with pytest.raises(ImportFileError) as caught:
        read_table(rows.encode(), "a.csv", max_rows=10)
    assert str(caught.value) == "工作表的数据超过 10 行，请拆分成几个文件导入"
    assert len(read_table(rows.encode(), "a.csv", max_rows=11).rows) == 11
    wide = ",".join(f"c{i}" for i in range(201)) + "\n" + ",".join("1" * 201) + "\n"
    with pytest.raises(ImportFileError) as caught:
        read_table(wide.encode(), "a.csv")
    assert str(caught.value) == "工作表有 201 列，最多可导入 200 列"


def test_arguments_of_the_wrong_type():
    with pytest.raises(ImportFileError) as caught:
        read_table("a,b", "a.csv")  # type: ignore[arg-type]
    assert str(caught.value) == "文件内容应为字节（bytes）"
    with pytest.raises(ImportFileError):
        read_table(b"a,b\n1,2\n", None)  # type: ignore[arg-type]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "ZZ",
        "AAA",
    ]


def test_a_big_sheet_keeps_every_row_and_its_row_number():
    """Speed is measured by tests/bench/bench_import.py, never asserted here."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, [f"c{i}" for i in range(10)])
    for r in range(1, 5_001):
        sheet.write_row(
            r, 0, [f"P-{r}", r * 1.5, 45839 + r % 300, "是", "紧急", r, "x", 1.25, "", r]
        )
    book.close()
    table = read_table(out.getvalue(), "big.xlsx")
    assert len(table.rows) == 5_000
    assert table.rows[-1] == (
        5_001,
        ("P-5000", 7500.0, 45839.0 + 5_000 % 300, "是", "紧急", 5000.0, "x", 1.25, None, 5000.0),
    )
