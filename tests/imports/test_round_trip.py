"""Export, change two cells in the workbook, import in update mode: exactly two records
change, each with a revision; every other row is read as unchanged and writes nothing."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from tests.imports.conftest import CLERK, count_rows, revisions

BOTH = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@BOTH
def test_an_exported_list_changed_in_two_cells_updates_exactly_two_records(chan, database_url):
    for n in range(1, 7):
        chan.create_record(CLERK, "chan", "order", {"order_no": f"SO-{n}", "customer": f"客户{n}"})
    orders_before = revisions(database_url, "order")
    exported = chan.exports.export_bytes(CLERK, "chan", "order", format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(exported))
    sheet = book.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    number, customer = headers.index("单号") + 1, headers.index("客户") + 1
    changed = {}
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, number).value in ("SO-2", "SO-5"):
            sheet.cell(row, customer).value = f"改过的{sheet.cell(row, number).value}"
            changed[sheet.cell(row, number).value] = sheet.cell(row, customer).value
    assert len(changed) == 2
    edited = io.BytesIO()
    book.save(edited)

    report = chan.imports.run(
        CLERK, "chan", "order", edited.getvalue(), "orders.xlsx", match="order_no", dry_run=False
    )

    assert (report.created, report.updated, report.unchanged, report.failed) == (0, 2, 4, 0)
    assert revisions(database_url, "order") == orders_before + 2
    assert count_rows(database_url, "f_chan_order") == 6
    page = chan.query_records(CLERK, "chan", "order", sort="order_no")
    seen = {r.values["order_no"]: (r.values["customer"], r.version) for r in page.items}
    assert seen == {
        "SO-1": ("客户1", 1),
        "SO-2": ("改过的SO-2", 2),
        "SO-3": ("客户3", 1),
        "SO-4": ("客户4", 1),
        "SO-5": ("改过的SO-5", 2),
        "SO-6": ("客户6", 1),
    }


@BOTH
def test_a_price_list_round_trips_money_and_dates_exactly(chan, database_url):
    for sku, price in (("P-1001", "210.00"), ("P-1002", "162.05")):
        product = chan.query_records(CLERK, "chan", "product", filters=[("sku", "eq", sku)])
        chan.create_record(
            CLERK,
            "chan",
            "price",
            {"sku": product.items[0].id, "price": price, "valid_from": "2025-07-01"},
        )
    exported = chan.exports.export_bytes(CLERK, "chan", "price", format="xlsx")
    report = chan.imports.run(
        CLERK, "chan", "price", exported, "prices.xlsx", match="sku", dry_run=False
    )
    # money read back from the number cells and dates from date cells: nothing changed
    assert (report.created, report.updated, report.unchanged, report.failed) == (0, 0, 2, 0)
    page = chan.query_records(CLERK, "chan", "price", sort="id")
    assert [r.values["price"] for r in page.items] == [Decimal("210.00"), Decimal("162.05")]
