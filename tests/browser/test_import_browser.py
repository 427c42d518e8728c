"""Importing a workbook in Chromium: a 500-row xlsx with 3 bad rows is uploaded from the
list's "导入" button, its columns map themselves, the dry run lists exactly the 3 failing
rows with their reasons, the failing rows download as an xlsx (read back with
python-calamine), and "only valid rows" imports the other 497 in the background while
the run page's progress bar follows it (polling, surviving a reload); a queued import is
cancelled with its button. The form is the small price list of ``tests/browser/apps``."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from engine.service import Actor, load_app
from tests.browser.conftest import sign_in

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips (fails under CI=true) with the reason
    expect = None

pytestmark = pytest.mark.browser

PRICES_APP = Path(__file__).resolve().parent / "apps" / "price_list"
HEADERS = ["商品编码", "名称", "价格", "生效日期", "渠道"]
#: the bad rows (spreadsheet row numbers: the header is row 1) and their reasons
BAD = {
    51: ("价格", "价格必须大于 0"),
    202: ("渠道", "团购 不是可选项（零售、批发）"),
    403: ("生效日期", "应为日期，例如 2026-03-05 或 2026/3/5，收到 2026-02-30"),
}


def _workbook(path: Path, rows: int = 500) -> Path:
    """``rows`` price rows as Excel writes them (numbers, date cells), three of them bad:
    a zero price (row 51), a channel that is no option (row 202), February 30th (403)."""
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("价格表")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADERS)
    for number in range(1, rows + 1):
        line = number + 1  # the spreadsheet's row number
        sheet.write_string(number, 0, f"SKU-{number:04d}")
        sheet.write_string(number, 1, f"商品{number}")
        sheet.write_number(number, 2, 0 if line == 51 else 10 + number * 0.25)
        if line == 403:
            sheet.write_string(number, 3, "2026-02-30")
        else:
            moment = datetime.combine(date(2026, 3, 1) + timedelta(days=number % 28), time())
            sheet.write_datetime(number, 3, moment, day)
        sheet.write_string(number, 4, "团购" if line == 202 else ("零售" if number % 2 else "批发"))
    book.close()
    return path


@pytest.fixture
def prices(live_site):
    """The live site with the price-list app (ma.lan of sales operations may import)."""
    live_site.service.install_app(Actor("admin"), load_app(PRICES_APP))
    return live_site


@pytest.fixture
def job_runner(prices) -> Iterator[threading.Event]:
    """What the scheduler's sweep does, every 0.3 s once the event is set: run due jobs."""
    go, stop = threading.Event(), threading.Event()

    def sweep() -> None:
        while not stop.is_set():
            if go.is_set():
                prices.service.jobs.run_due()
            stop.wait(0.3)

    thread = threading.Thread(target=sweep, name="job-runner", daemon=True)
    thread.start()
    yield go
    stop.set()
    thread.join(timeout=30)


def _records(service) -> int:
    return service.query_records(Actor("admin"), "prices", "price", page_size=1).total


def test_import_500_rows_with_3_bad_ones(prices, job_runner, desktop, shot, tmp_path):
    page = desktop
    workbook = _workbook(tmp_path / "价格表.xlsx")
    sign_in(page, prices, "ma.lan")
    page.goto(prices.at("/l/prices/price"))
    expect(page.locator("#import-template")).to_have_text("下载导入模板")
    page.click("#import-records")
    expect(page.locator("h1")).to_have_text("导入到“商品价格”")
    page.set_input_files("#import-file", str(workbook))
    shot(page, "upload")
    page.click("#upload-button")

    # the mapping: every header found its field by label
    expect(page.locator("#row-count")).to_have_text("工作表 价格表 共 500 行数据")
    for index, path in enumerate(("sku", "name", "price", "valid_from", "channel")):
        expect(page.locator(f"#map-{index}")).to_have_value(path)
    page.check("#mode-valid")
    shot(page, "mapping")
    page.click("#dry-run")

    # the dry run: 497 new, the 3 failing rows with their row, column and reason
    expect(page.locator("#count-total")).to_have_text("500")
    expect(page.locator("#count-created")).to_have_text("497")
    expect(page.locator("#count-failed")).to_have_text("3")
    rows = page.locator("#import-issues tbody tr")
    expect(rows).to_have_count(3)
    seen = {
        int(rows.nth(i).locator(".issue-row").inner_text()): (
            rows.nth(i).locator(".issue-column").inner_text(),
            rows.nth(i).locator(".issue-message").inner_text(),
        )
        for i in range(3)
    }
    assert seen == BAD
    assert _records(prices.service) == 0  # a dry run writes nothing
    shot(page, "dry-run")

    with page.expect_download() as download:
        page.click("#download-errors")
    failing = download.value.path()
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(Path(failing).read_bytes()))
    table = sheet.get_sheet_by_index(0).to_python()
    assert table[0] == ["原行号", *HEADERS, "错误原因"]
    assert len(table) == 4
    assert [int(row[0]) for row in table[1:]] == sorted(BAD)
    assert [row[1] for row in table[1:]] == ["SKU-0050", "SKU-0201", "SKU-0402"]
    for row in table[1:]:
        column, reason = BAD[int(row[0])]
        assert row[-1] == f"{column}：{reason}"

    # the import proper: only the valid rows, in the background
    expect(page.locator("#run-mode-valid")).to_be_checked()
    page.click("#start-import")
    expect(page.locator("#run-status")).to_have_text("排队中")
    expect(page.locator("#run-progress")).to_have_attribute("max", "500")
    expect(page.locator("#run-progress")).to_have_attribute("value", "0")
    run_url = page.url
    page.reload()  # the run is in the URL: a reload shows the same run
    assert page.url == run_url
    expect(page.locator("#run-status")).to_have_text("排队中")
    shot(page, "queued")
    job_runner.set()  # the job runner takes it; the page follows by polling
    expect(page.locator("#count-created")).to_have_text("497", timeout=30_000)
    expect(page.locator("#run-status")).to_have_text("已完成")
    expect(page.locator("#count-failed")).to_have_text("3")
    assert page.evaluate("document.getElementById('run-progress').value") == 500
    expect(page.locator("#cancel-import")).to_have_count(0)
    with page.expect_download() as download:
        page.click("#download-errors")
    again = CalamineWorkbook.from_filelike(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert len(again.get_sheet_by_index(0).to_python()) == 4
    shot(page, "done")

    assert _records(prices.service) == 497
    page.click("#to-list")
    expect(page.locator("#total")).to_contain_text("497")
    shot(page, "list")


def test_a_queued_import_is_cancelled_from_its_page(prices, desktop, shot, tmp_path):
    page = desktop
    workbook = _workbook(tmp_path / "prices.xlsx", rows=20)
    sign_in(page, prices, "ma.lan")
    page.goto(prices.at("/apps/prices/price/import"))
    page.set_input_files("#import-file", str(workbook))
    page.click("#upload-button")
    page.click("#dry-run")  # all or nothing (the default)
    expect(page.locator("#count-created")).to_have_text("20")
    page.click("#start-import")
    expect(page.locator("#run-status")).to_have_text("排队中")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-import")
    expect(page.locator("#run-status")).to_have_text("已取消")
    expect(page.locator("#cancel-import")).to_have_count(0)
    expect(page.locator("#cancelled-before-start")).to_have_text(
        "导入在开始前已取消，没有写入任何数据。"
    )
    shot(page, "cancelled")
    prices.service.jobs.run_due()
    assert _records(prices.service) == 0
    page.goto(prices.at("/apps/prices/price/import"))
    expect(page.locator("#import-runs tbody tr")).to_have_count(1)
    expect(page.locator("#import-runs tbody tr td").nth(2)).to_have_text("已取消")
