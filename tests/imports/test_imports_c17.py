"""Scenario C17 of the channel domain: an Excel price list with seven rows, four bad.

All or nothing (the default) imports nothing and reports rows 4-7; "only the valid
rows" imports rows 2, 3 and 8. Values are read as typed: full-width digits, 2025/7/1,
an Excel serial date; 103.055 is refused, never rounded.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.imports.conftest import C17_HEADERS, C17_ROWS, CLERK, count_rows, revisions, xlsx

BOTH = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


def _reasons(report):
    return {issue.row: issue for issue in report.issues}


@BOTH
def test_all_or_nothing_imports_nothing_and_reports_rows_4_to_7(chan, database_url):
    data = xlsx(C17_HEADERS, C17_ROWS)
    report = chan.imports.run(CLERK, "chan", "price", data, "prices.xlsx", dry_run=False)
    assert (report.total, report.created, report.failed) == (7, 0, 4)
    assert report.failed_row_numbers() == [4, 5, 6, 7]
    reasons = _reasons(report)
    assert reasons[4].message == "与第2行SKU重复"
    assert reasons[4].column == "SKU"
    assert "P-9999" in reasons[5].message and reasons[5].column == "SKU"
    assert reasons[6].message == "单价必须大于0"
    assert reasons[7].column == "单价"
    assert report.record_ids == []
    assert count_rows(database_url, "f_chan_price") == 0
    assert revisions(database_url, "price") == 0


@BOTH
def test_valid_rows_only_imports_rows_2_3_and_8(chan, database_url):
    data = xlsx(C17_HEADERS, C17_ROWS)
    report = chan.imports.run(
        CLERK, "chan", "price", data, "prices.xlsx", mode="valid", dry_run=False
    )
    assert (report.created, report.updated, report.unchanged, report.failed) == (3, 0, 0, 4)
    assert report.failed_row_numbers() == [4, 5, 6, 7]
    assert [n for n, _cells in report.failed_rows] == [4, 5, 6, 7]
    assert count_rows(database_url, "f_chan_price") == 3
    assert revisions(database_url, "price") == 3
    page = chan.query_records(CLERK, "chan", "price", sort="id")
    got = [(r.values["price"], r.values["valid_from"]) for r in page.items]
    assert got == [
        (Decimal("210.00"), date(2025, 7, 1)),
        (Decimal("162.00"), date(2025, 7, 1)),
        (Decimal("259.20"), date(2025, 7, 1)),
    ]


@BOTH
def test_a_dry_run_counts_and_writes_nothing(chan, database_url):
    data = xlsx(C17_HEADERS, C17_ROWS)
    report = chan.imports.run(CLERK, "chan", "price", data, "prices.xlsx", mode="valid")
    assert report.dry_run is True
    assert (report.created, report.failed) == (3, 4)
    assert count_rows(database_url, "f_chan_price") == 0
    assert revisions(database_url, "price") == 0
