"""Who may import, the dealer's scope, and hostile input: each a clear error, never a
traceback and never a half-written import."""

from __future__ import annotations

import pytest

from engine.errors import InvalidArgumentError, PermissionDeniedError
from tests.imports.conftest import (
    C17_HEADERS,
    C17_ROWS,
    CLERK,
    CLERK_EN,
    DEALER,
    VIEWER,
    count_rows,
    xlsx,
)

BOTH = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@BOTH
def test_an_actor_without_import_is_refused(chan, database_url):
    data = xlsx(C17_HEADERS, C17_ROWS)
    with pytest.raises(PermissionDeniedError, match="导入"):
        chan.imports.run(VIEWER, "chan", "price", data, "p.xlsx", dry_run=False)
    with pytest.raises(PermissionDeniedError):
        chan.imports.submit(VIEWER, "chan", "price", data, "p.xlsx")
    with pytest.raises(PermissionDeniedError):
        chan.imports.template(VIEWER, "chan", "price")
    assert count_rows(database_url, "f_chan_price") == 0


@BOTH
def test_a_dealer_users_import_stays_in_their_dealers_rows(chan, database_url):
    chan.create_record(
        CLERK, "chan", "order", {"order_no": "B-1", "dealer": "DB", "customer": "乙"}
    )
    headers = ["单号", "客户", "经销商", "明细.品名"]
    rows = [
        ["A-1", "甲客户", "DA", "螺丝"],
        ["A-2", "乙客户", "DB", "螺母"],
        ["B-1", "改名", "DB", "扳手"],
    ]
    report = chan.imports.run(
        DEALER,
        "chan",
        "order",
        xlsx(headers, rows),
        "o.xlsx",
        mode="valid",
        match="order_no",
        dry_run=False,
    )
    assert (report.created, report.updated, report.failed) == (1, 0, 2)
    assert report.failed_row_numbers() == [3, 4]
    # the other dealer's record B-1 is neither found nor named
    assert "B-1" not in report.issues[-1].message
    assert count_rows(database_url, "f_chan_order") == 2
    assert count_rows(database_url, "f_chan_order", "WHERE customer = '改名'") == 0
    page = chan.query_records(DEALER, "chan", "order")
    assert [r.values["order_no"] for r in page.items] == ["A-1"]


def test_a_mapping_to_a_hidden_field_is_refused(chan):
    data = xlsx(["单号", "内部备注"], [["A-1", "x"]])
    preview = chan.imports.inspect(DEALER, "chan", "order", data, "o.xlsx")
    assert preview.mapping == {"单号": "order_no", "内部备注": None}
    assert "secret" not in [t.path for t in preview.targets]
    with pytest.raises(InvalidArgumentError, match="secret"):
        chan.imports.run(
            DEALER,
            "chan",
            "order",
            data,
            "o.xlsx",
            mapping={"单号": "order_no", "内部备注": "secret"},
        )


@pytest.mark.parametrize(
    ("data", "name", "sheet", "expected"),
    [
        (b"\x00\x01\x02 not a workbook at all", "p.xlsx", None, "xlsx"),
        (b"", "p.xlsx", None, "空"),
        (None, "p.xlsx", None, "bytes"),
        ("SKU,单价", "p.csv", None, "bytes"),
    ],
)
def test_hostile_files_are_clear_errors(chan, data, name, sheet, expected):
    with pytest.raises(InvalidArgumentError, match=expected):
        chan.imports.run(CLERK, "chan", "price", data, name, sheet=sheet)


def test_an_unknown_sheet_lists_the_sheets(chan):
    data = xlsx(C17_HEADERS, C17_ROWS, sheet="价格")
    with pytest.raises(InvalidArgumentError, match="价格"):
        chan.imports.run(CLERK, "chan", "price", data, "p.xlsx", sheet="Sheet9")


@pytest.mark.parametrize(
    ("options", "argument"),
    [
        ({"mode": "some"}, "mode"),
        ({"match": "price"}, "match"),
        ({"match": "1; drop"}, "match"),
        ({"dry_run": "yes"}, "dry_run"),
        ({"mapping": ["SKU"]}, "mapping"),
        ({"mapping": {"SKU": "nope"}}, "mapping"),
        ({"mapping": {"无此列": "price"}}, "mapping"),
    ],
)
def test_wrong_options_name_the_argument(chan, options, argument):
    data = xlsx(C17_HEADERS, C17_ROWS)
    with pytest.raises(InvalidArgumentError) as caught:
        chan.imports.run(CLERK_EN, "chan", "price", data, "p.xlsx", **options)
    assert caught.value.argument.startswith(argument)


def test_a_match_field_the_file_does_not_fill_is_refused(chan):
    data = xlsx(["名称"], [["x"]])
    with pytest.raises(InvalidArgumentError, match="sku"):
        chan.imports.run(CLERK, "chan", "product", data, "p.xlsx", match="sku")
