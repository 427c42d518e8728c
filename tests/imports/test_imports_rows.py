"""Rows to records: a GB18030 csv, sub-table rows from repeated parent keys, update
mode (an unchanged row writes nothing), mappings saved per form."""

from __future__ import annotations

import pytest

from tests.imports.conftest import CLERK, count_rows, revisions, xlsx

BOTH = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@BOTH
def test_a_gb18030_csv_is_read_with_its_chinese_headers(chan, database_url):
    text = "SKU,名称,等级\r\nP-5001,华为手机,A\r\nP-5002,小米电视,b\r\nP-5003,联想电脑,Z\r\n"
    data = text.encode("gb18030")
    report = chan.imports.run(
        CLERK, "chan", "product", data, "商品.csv", mode="valid", dry_run=False
    )
    assert (report.total, report.created, report.failed) == (3, 2, 1)
    [issue] = report.issues
    assert (issue.row, issue.column, issue.field) == (4, "等级", "grade")
    assert "Z" in issue.message
    page = chan.query_records(CLERK, "chan", "product", sort="id")
    names = {r.values["sku"]: (r.values["name"], r.values["grade"]) for r in page.items}
    assert names["P-5001"] == ("华为手机", "A")
    assert names["P-5002"] == ("小米电视", "B")
    assert count_rows(database_url, "f_chan_product") == 6


@BOTH
def test_repeated_parent_keys_make_one_record_with_its_lines(chan, database_url):
    headers = ["单号", "客户", "明细.品名", "明细.数量"]
    rows = [
        ["SO-1", "张三", "螺丝", 10],
        ["SO-1", "张三", "螺母", 20],
        ["SO-1", "张三", "垫片", 30],
        ["SO-2", "李四", "扳手", 1],
        [None, None, "钳子", 2],
    ]
    report = chan.imports.run(
        CLERK, "chan", "order", xlsx(headers, rows), "orders.xlsx", dry_run=False
    )
    assert (report.total, report.created, report.failed) == (5, 2, 0)
    assert count_rows(database_url, "f_chan_order") == 2
    assert count_rows(database_url, "f_chan_order__lines") == 5
    first = chan.get_record(CLERK, "chan", "order", report.record_ids[0])
    assert [(line["item"], int(line["qty"])) for line in first.values["lines"]] == [
        ("螺丝", 10),
        ("螺母", 20),
        ("垫片", 30),
    ]


@BOTH
def test_a_bad_line_is_reported_at_its_own_row(chan, database_url):
    headers = ["单号", "明细.品名", "明细.数量"]
    rows = [["SO-1", "螺丝", 1], ["SO-1", None, 2], ["SO-2", "扳手", "三"]]
    report = chan.imports.run(
        CLERK, "chan", "order", xlsx(headers, rows), "orders.xlsx", mode="valid", dry_run=False
    )
    assert (report.created, report.failed) == (0, 3)
    rows_and_columns = sorted((i.row, i.column) for i in report.issues)
    assert rows_and_columns == [(3, "明细.品名"), (4, "明细.数量")]
    assert count_rows(database_url, "f_chan_order") == 0


@BOTH
def test_update_mode_changes_one_creates_one_and_writes_nothing_for_the_unchanged(
    chan, database_url
):
    before = revisions(database_url, "product")
    headers = ["SKU", "名称"]
    rows = [["P-1001", "商品 P-1001"], ["P-1002", "新名字"], ["P-7777", "新商品"]]
    report = chan.imports.run(
        CLERK, "chan", "product", xlsx(headers, rows), "p.xlsx", match="sku", dry_run=False
    )
    assert (report.created, report.updated, report.unchanged, report.failed) == (1, 1, 1, 0)
    # one revision for the change, one for the new record, none for the unchanged row
    assert revisions(database_url, "product") == before + 2
    assert count_rows(database_url, "f_chan_product") == 5
    page = chan.query_records(CLERK, "chan", "product", sort="id")
    assert [r.version for r in page.items[:2]] == [1, 2]
    # the same file again: nothing changes at all
    again = chan.imports.run(
        CLERK, "chan", "product", xlsx(headers, rows), "p.xlsx", match="sku", dry_run=False
    )
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert revisions(database_url, "product") == before + 2


@BOTH
def test_update_mode_refuses_a_repeated_key_naming_the_row(chan, database_url):
    headers = ["SKU", "名称"]
    rows = [["P-1001", "一"], ["P-1001", "二"]]
    report = chan.imports.run(
        CLERK,
        "chan",
        "product",
        xlsx(headers, rows),
        "p.xlsx",
        match="sku",
        mode="valid",
        dry_run=False,
    )
    assert (report.updated, report.failed) == (1, 1)
    assert report.issues[0].row == 3 and report.issues[0].message == "与第2行SKU重复"


def test_inspect_suggests_then_offers_the_saved_mapping(chan):
    data = xlsx(["sku", "Name", "备注"], [["P-1", "x", "y"]])
    preview = chan.imports.inspect(CLERK, "chan", "product", data, "p.xlsx")
    assert preview.mapping == {"sku": "sku", "Name": "name", "备注": None}
    assert (preview.row_count, preview.sample, preview.saved) == (1, [["P-1", "x", "y"]], False)
    assert preview.unique_fields == ["sku"]
    chan.imports.save_mapping(
        CLERK, "chan", "product", {"sku": "sku", "备注": "name", "Name": None}
    )
    again = chan.imports.inspect(CLERK, "chan", "product", data, "p.xlsx")
    assert again.mapping == {"sku": "sku", "Name": None, "备注": "name"}
    assert again.saved is True
    # a run without a mapping uses the saved one
    report = chan.imports.run(CLERK, "chan", "product", data, "p.xlsx", dry_run=False)
    assert report.created == 1
    record = chan.get_record(CLERK, "chan", "product", report.record_ids[0])
    assert record.values["name"] == "y"
