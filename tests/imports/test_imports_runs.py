"""Background imports through the embedded job runner: progress, cancel, the error
workbook read back with python-calamine; the template."""

from __future__ import annotations

import io

import openpyxl
import pytest

from engine.errors import NotFoundError
from engine.service import imports as import_module
from tests.imports.conftest import (
    ADMIN,
    C17_HEADERS,
    C17_ROWS,
    CLERK,
    CLERK_EN,
    count_rows,
    read_xlsx,
    revisions,
    xlsx,
)

BOTH = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@BOTH
def test_a_background_run_reports_progress_and_its_error_workbook(chan, database_url):
    data = xlsx(C17_HEADERS, C17_ROWS)
    run_id = chan.imports.submit(CLERK, "chan", "price", data, "prices.xlsx", mode="valid")
    queued = chan.imports.get_run(CLERK, run_id)
    assert (queued.status, queued.done, queued.total) == ("queued", 0, 7)
    done = chan.jobs.run_due()
    assert len(done.finished) == 1 and not done.failed
    run = chan.imports.get_run(CLERK, run_id)
    assert (run.status, run.done, run.total) == ("done", 7, 7)
    assert (run.report.created, run.report.failed) == (3, 4)
    assert run.has_errors_file
    assert count_rows(database_url, "f_chan_price") == 3
    sheet = read_xlsx(chan.imports.run_errors(CLERK, run_id))
    assert sheet[0] == ["原行号", "SKU", "单价", "生效日期", "错误原因"]
    assert [int(r[0]) for r in sheet[1:]] == [4, 5, 6, 7]
    assert sheet[1][1] == "P-1001" and sheet[1][4] == "SKU：与第2行SKU重复"
    assert sheet[3][4] == "单价：单价必须大于0"
    assert sheet[4][2] == 103.055  # the cell as it was typed, to be fixed
    assert [r.id for r in chan.imports.runs(CLERK, "chan", "price")] == [run_id]


@BOTH
def test_a_cancelled_queued_run_writes_nothing(chan, database_url):
    data = xlsx(C17_HEADERS, C17_ROWS[:3])
    run_id = chan.imports.submit(CLERK, "chan", "price", data, "prices.xlsx", mode="valid")
    assert chan.imports.cancel(CLERK, run_id).status == "cancelled"
    chan.jobs.run_due()
    assert chan.imports.get_run(CLERK, run_id).status == "cancelled"
    assert count_rows(database_url, "f_chan_price") == 0


@BOTH
def test_a_cancel_between_chunks_keeps_finished_chunks_in_valid_mode_only(
    chan, database_url, monkeypatch
):
    monkeypatch.setattr(import_module, "CHUNK_ROWS", 2)
    rows = [[f"P-8{n:03d}", f"商品{n}"] for n in range(7)]
    data = xlsx(["SKU", "名称"], rows)
    seen: list[tuple[int, int]] = []

    def after_two_chunks() -> bool:
        return len(seen) >= 2

    report = chan.imports.run(
        CLERK,
        "chan",
        "product",
        data,
        "p.xlsx",
        mode="valid",
        dry_run=False,
        progress=lambda done, total: seen.append((done, total)),
        cancelled=after_two_chunks,
    )
    assert seen == [(2, 7), (4, 7)]
    assert (report.cancelled, report.created, report.written_rows) == (True, 4, 4)
    assert count_rows(database_url, "f_chan_product") == 4 + 4
    seen.clear()
    before = revisions(database_url, "product")
    rows = [[f"P-9{n:03d}", f"商品{n}"] for n in range(7)]
    report = chan.imports.run(
        CLERK,
        "chan",
        "product",
        xlsx(["SKU", "名称"], rows),
        "p.xlsx",
        dry_run=False,
        progress=lambda done, total: seen.append((done, total)),
        cancelled=after_two_chunks,
    )
    assert (report.cancelled, report.created, report.written_rows) == (True, 0, 0)
    assert revisions(database_url, "product") == before
    assert count_rows(database_url, "f_chan_product") == 8


@BOTH
def test_a_background_all_or_nothing_run_that_fails_keeps_nothing(chan, database_url):
    run_id = chan.imports.submit(CLERK, "chan", "price", xlsx(C17_HEADERS, C17_ROWS), "prices.xlsx")
    chan.jobs.run_due()
    run = chan.imports.get_run(CLERK, run_id)
    assert (run.status, run.done, run.total) == ("done", 7, 7)
    assert (run.report.created, run.report.failed) == (0, 4)
    assert count_rows(database_url, "f_chan_price") == 0
    assert revisions(database_url, "price") == 0


def test_runs_are_their_owners_only(chan):
    run_id = chan.imports.submit(CLERK, "chan", "price", xlsx(C17_HEADERS, C17_ROWS), "p.xlsx")
    with pytest.raises(NotFoundError, match=f"没有编号为 {run_id} 的导入"):
        chan.imports.get_run(ADMIN, run_id)
    with pytest.raises(NotFoundError):
        chan.imports.cancel(ADMIN, run_id)
    assert chan.imports.runs(ADMIN, "chan", "price") == []


def test_the_template_has_headers_an_example_and_option_lists(chan):
    data = chan.imports.template(CLERK, "chan", "product")
    rows = read_xlsx(data)
    assert rows[0] == ["SKU", "名称", "等级"]
    assert rows[1] == ["示例", "示例", "A"]
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    [rule] = sheet.data_validations.dataValidation
    assert (rule.type, rule.formula1, str(rule.sqref)) == ("list", '"A,B,C"', "C2:C10001")
    english = read_xlsx(chan.imports.template(CLERK_EN, "chan", "order"))
    assert english[0] == [
        "Number",
        "Customer",
        "Dealer",
        "Internal note",
        "Lines.Item",
        "Lines.Qty",
    ]


@BOTH
def test_a_background_run_writes_progress_every_chunk_and_stops_when_cancelled(
    chan, database_url, monkeypatch
):
    monkeypatch.setattr(import_module, "CHUNK_ROWS", 2)
    written: list[tuple[int, int]] = []
    original = import_module.stored.set_progress

    def observed(conn, run_id, done, total):
        written.append((done, total))
        original(conn, run_id, done, total)

    monkeypatch.setattr(import_module.stored, "set_progress", observed)
    rows = [[f"P-6{n:03d}", f"商品{n}"] for n in range(7)]
    run_id = chan.imports.submit(
        CLERK, "chan", "product", xlsx(["SKU", "名称"], rows), "p.xlsx", mode="valid"
    )
    chan.jobs.run_due()
    assert written == [(0, 7), (2, 7), (4, 7), (6, 7), (7, 7), (7, 7)]
    assert chan.imports.get_run(CLERK, run_id).report.created == 7

    # a cancel asked while the run is going: seen before the next chunk
    written.clear()

    real_check = import_module.stored_cancel

    def cancel_after_first_chunk(database, run_id):
        # the owner presses cancel once the bar shows the first chunk
        if written and written[-1] == (2, 7):
            chan.imports.cancel(CLERK, run_id)
        return real_check(database, run_id)

    monkeypatch.setattr(import_module, "stored_cancel", cancel_after_first_chunk)
    rows = [[f"P-5{n:03d}", f"商品{n}"] for n in range(7)]
    run_id = chan.imports.submit(
        CLERK, "chan", "product", xlsx(["SKU", "名称"], rows), "p.xlsx", mode="valid"
    )
    chan.jobs.run_due()
    run = chan.imports.get_run(CLERK, run_id)
    assert run.status == "cancelled"
    assert (run.report.cancelled, run.report.created, run.report.written_rows) == (True, 2, 2)
    assert count_rows(database_url, "f_chan_product", "WHERE sku LIKE 'P-5%'") == 2


def test_a_long_option_list_goes_to_a_hidden_sheet():
    from engine.service.import_xlsx import template_workbook

    options = [f"选项{n:03d}" for n in range(100)]
    data = template_workbook(["等级"], ["选项000"], [options], [True], "zh-CN")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["导入", "options"]
    assert book["options"].sheet_state == "hidden"
    [rule] = book["导入"].data_validations.dataValidation
    assert rule.formula1 == "'options'!$A$1:$A$100"
    assert read_xlsx(data, 1)[99] == ["选项099"]


def test_a_valid_run_interrupted_midway_is_not_imported_twice(chan, database_url):
    from engine.store import transfers
    from engine.store.database import Database

    rows = [[f"P-4{n:03d}", "x"] for n in range(3)]
    run_id = chan.imports.submit(
        CLERK, "chan", "product", xlsx(["SKU", "名称"], rows), "p.xlsx", mode="valid"
    )
    database = Database(database_url)
    try:  # a worker took it, wrote some chunks and died: the runner delivers it again
        with database.write() as conn:
            transfers.start_run(conn, run_id, chan.clock())
            transfers.set_progress(conn, run_id, 2, 3)
    finally:
        database.dispose()
    chan.jobs.run_due()
    run = chan.imports.get_run(CLERK, run_id)
    assert run.status == "failed"
    assert run.error.startswith("导入在完成约 2 行后中断")
    assert count_rows(database_url, "f_chan_product", "WHERE sku LIKE 'P-4%'") == 0
