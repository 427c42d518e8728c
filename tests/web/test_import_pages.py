"""The import pages (web/imports.py): upload -> mapping -> dry run -> background run, with
the "导入" buttons on the list page only for someone holding the import grant; every
refusal (no grant, no CSRF token, an empty, foreign or too large file, another person's
upload or run) with the page's own answer, never a traceback."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from engine.service import SYSTEM_ACTOR, Actor, load_app
from engine.service.import_files import MAX_IMPORT_BYTES
from tests.web.conftest import PASSWORD, Browser

PRICES_APP = Path(__file__).resolve().parents[1] / "browser" / "apps" / "price_list"
LIST = "/l/prices/price"
IMPORT = "/apps/prices/price/import"
#: a csv of five price rows: row 3's price is 0 (the form's validation), row 5's date
#: is not a date; rows 2, 4 and 6 are good
CSV = (
    "商品编码,名称,价格,生效日期,渠道\n"
    "A-001,绿茶,12.50,2026-03-05,零售\n"
    "A-002,红茶,0,2026-03-05,批发\n"
    'A-003,白茶,"1,200.00",2026/3/6,retail\n'
    "A-004,黑茶,8,明天,零售\n"
    "A-005,花茶,¥9.90,2026年3月7日,批发\n"
).encode()


@pytest.fixture
def prices(site):
    """The site with the price-list app: ma.lan (sales_ops) may import, wu.gang
    (channel manager) only reads, song.jia holds no role of the app."""
    app, service = site
    service.install_app(Actor("admin"), load_app(PRICES_APP))
    return app, service


def _signed_in(app, login: str) -> Browser:
    person = Browser(app.test_client())
    assert person.sign_in(login).status_code == 302
    return person


def _upload(person: Browser, data: bytes, name: str = "prices.csv", **kwargs):
    person.get(IMPORT)
    return person.post(IMPORT, {"file": (io.BytesIO(data), name)}, **kwargs)


def _token(answer) -> str:
    found = re.search(r"/import/([A-Za-z0-9_-]{24})$", answer.headers["Location"])
    assert found, answer.headers.get("Location")
    return found.group(1)


def _records(service) -> list:
    return service.query_records(Actor("admin"), "prices", "price", page_size=100).items


def _run_jobs(app) -> None:
    """What the scheduler's sweep does: run the due jobs (the web's service, whose clock
    is the real one that queued them)."""
    app.extensions["lowcode_service"].jobs.run_due()


def _staged_files(app) -> list[Path]:
    root = Path(app.config["FILES_DIR"]) / ".imports"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_the_list_offers_import_only_to_holders_of_the_grant(prices):
    app, _service = prices
    importer = _signed_in(app, "ma.lan")
    page = importer.get(LIST).get_data(as_text=True)
    assert 'id="import-records"' in page and f'href="{IMPORT}"' in page
    assert 'id="import-template"' in page and f'href="{IMPORT}/template.xlsx"' in page
    assert "导入" in page and "下载导入模板" in page
    template = importer.client.get(f"{IMPORT}/template.xlsx")
    assert template.status_code == 200
    assert template.mimetype.endswith("spreadsheetml.sheet")
    book = CalamineWorkbook.from_filelike(io.BytesIO(template.data))
    rows = book.get_sheet_by_index(0).to_python()
    assert [str(h).rstrip("*").strip() for h in rows[0]][:5] == [
        "商品编码",
        "名称",
        "价格",
        "生效日期",
        "渠道",
    ]

    for login in ("wu.gang", "song.jia"):  # reads the list / may not even read it
        person = _signed_in(app, login)
        listing = person.get(LIST)
        assert 'id="import-records"' not in listing.get_data(as_text=True)
        for path in (IMPORT, f"{IMPORT}/template.xlsx", f"{IMPORT}/runs/1"):
            assert person.get(path).status_code == 404, (login, path)
        person.get("/")  # a page with a CSRF token (song.jia's list is not found)
        refused = person.post(IMPORT, {"file": (io.BytesIO(CSV), "prices.csv")})
        assert refused.status_code == 404
    assert _staged_files(app) == []


def test_upload_map_dry_run_and_import_the_valid_rows(prices):
    app, service = prices
    importer = _signed_in(app, "ma.lan")
    answer = _upload(importer, CSV)
    assert answer.status_code == 302
    token = _token(answer)

    mapping = importer.get(f"{IMPORT}/{token}").get_data(as_text=True)
    assert "5 行数据" in mapping
    # each header's select is pre-filled with the field of the same label
    for index, path in enumerate(("sku", "name", "price", "valid_from", "channel")):
        select = re.search(rf'<select[^>]*id="map-{index}".*?</select>', mapping, re.S).group(0)
        assert re.search(rf'<option value="{path}" selected>', select), (index, path)

    checked = importer.post(
        f"{IMPORT}/{token}/check",
        {
            "sheet": "prices",
            "map-0": "sku",
            "map-1": "name",
            "map-2": "price",
            "map-3": "valid_from",
            "map-4": "channel",
            "mode": "valid",
            "match": "",
        },
    )
    assert checked.status_code == 302 and checked.headers["Location"].endswith("/check")
    assert _records(service) == []  # a dry run writes nothing
    page = importer.get(f"{IMPORT}/{token}/check").get_data(as_text=True)
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', page))
    assert counts == {"total": "5", "created": "3", "updated": "0", "unchanged": "0", "failed": "2"}
    rows = re.findall(r'<tr data-row="(\d+)"><td[^>]*>\d+</td><td[^>]*>([^<]*)</td>', page)
    assert rows == [("3", "价格"), ("5", "生效日期")]
    assert "价格必须大于 0" in page

    errors = importer.client.get(f"{IMPORT}/{token}/errors.xlsx")
    assert errors.status_code == 200
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(errors.data)).get_sheet_by_index(0)
    table = sheet.to_python()
    assert table[0][-1] == "错误原因" and len(table) == 3
    assert [int(r[0]) for r in table[1:]] == [3, 5]
    assert [r[1] for r in table[1:]] == ["A-002", "A-004"]
    assert "价格必须大于 0" in table[1][-1]

    started = importer.post(f"{IMPORT}/{token}/run", {"mode": "valid"})
    assert started.status_code == 302
    run_url = started.headers["Location"]
    run_id = int(re.search(r"/runs/(\d+)", run_url).group(1))
    assert _staged_files(app) == []  # the run keeps the bytes now
    queued = importer.get(run_url).get_data(as_text=True)
    assert 'data-status="queued"' in queued and 'id="cancel-import"' in queued
    assert f'data-poll="{IMPORT}/runs/{run_id}/progress.json"' in queued
    progress = importer.get(f"{IMPORT}/runs/{run_id}/progress.json").get_json()
    assert progress["status"] == "queued" and progress["over"] is False
    assert progress["total"] == 5

    _run_jobs(app)
    progress = importer.get(f"{IMPORT}/runs/{run_id}/progress.json").get_json()
    assert progress | {"status_text": ""} == {
        "id": run_id,
        "status": "done",
        "status_text": "",
        "done": 5,
        "total": 5,
        "over": True,
    }
    done = importer.get(run_url).get_data(as_text=True)
    assert 'data-poll=""' in done and 'id="cancel-import"' not in done
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', done))
    assert counts["created"] == "3" and counts["failed"] == "2"
    assert importer.client.get(f"{IMPORT}/runs/{run_id}/errors.xlsx").status_code == 200
    assert sorted(r.values["sku"] for r in _records(service)) == ["A-001", "A-003", "A-005"]
    upload_page = importer.get(IMPORT).get_data(as_text=True)
    assert f'<tr data-run="{run_id}">' in upload_page and "prices.csv" in upload_page


def test_posts_without_the_csrf_token_are_refused(prices):
    app, service = prices
    importer = _signed_in(app, "ma.lan")
    token = _token(_upload(importer, CSV))
    client = importer.client
    bare = client.post(IMPORT, data={"file": (io.BytesIO(CSV), "prices.csv")})
    assert bare.status_code == 400
    assert client.post(f"{IMPORT}/{token}/check", data={"mode": "valid"}).status_code == 400
    assert client.post(f"{IMPORT}/{token}/run", data={"mode": "valid"}).status_code == 400
    started = importer.post(f"{IMPORT}/{token}/run", {"mode": "valid"})
    run_id = int(re.search(r"/runs/(\d+)", started.headers["Location"]).group(1))
    assert client.post(f"{IMPORT}/runs/{run_id}/cancel").status_code == 400
    assert service.imports.get_run(Actor("ma.lan"), run_id).status == "queued"
    # with the token the cancel goes through: a queued run ends at once, writing nothing
    cancelled = importer.post(f"{IMPORT}/runs/{run_id}/cancel")
    assert cancelled.status_code == 302
    assert service.imports.get_run(Actor("ma.lan"), run_id).status == "cancelled"
    _run_jobs(app)
    assert _records(service) == []


NOT_A_SHEET = " 不是表格文件，请上传 .xlsx、.xls、.ods 或 .csv 文件"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "prices.xlsx", "prices.xlsx 是空文件（0 字节）：请选择保存好的文件"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.xlsx", "photo.xlsx" + NOT_A_SHEET),
        (b"%PDF-1.7\n" + bytes(range(256)) * 4, "prices.pdf", "prices.pdf" + NOT_A_SHEET),
    ],
    ids=["empty", "png", "pdf"],
)
def test_bad_files_are_refused_with_a_message(prices, data, name, message):
    app, _service = prices
    importer = _signed_in(app, "ma.lan")
    answer = _upload(importer, data, name)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    error = re.search(r'id="upload-error">([^<]*)<', page).group(1)
    assert error == message
    assert "Traceback" not in page
    assert _staged_files(app) == []


def test_a_file_over_the_limit_is_refused(prices):
    app, _service = prices
    importer = _signed_in(app, "ma.lan")
    answer = _upload(importer, b"a" * (MAX_IMPORT_BYTES + 1), "huge.csv")
    assert answer.status_code == 400
    error = re.search(r'id="upload-error">([^<]*)<', answer.get_data(as_text=True)).group(1)
    assert error == "huge.csv 超过 50 MB"
    assert _staged_files(app) == []


def test_another_persons_upload_and_run_read_as_not_found(prices):
    app, service = prices
    service.org.set_password(SYSTEM_ACTOR, "admin", PASSWORD)
    importer = _signed_in(app, "ma.lan")
    token = _token(_upload(importer, CSV))
    started = importer.post(f"{IMPORT}/{token}/run", {"mode": "valid"})
    run_id = int(re.search(r"/runs/(\d+)", started.headers["Location"]).group(1))
    other_token = _token(_upload(importer, CSV))

    admin = _signed_in(app, "admin")  # may import too, but these are ma.lan's
    assert admin.get(IMPORT).status_code == 200
    for path in (
        f"{IMPORT}/{other_token}",
        f"{IMPORT}/{other_token}/check",
        f"{IMPORT}/runs/{run_id}",
        f"{IMPORT}/runs/{run_id}/progress.json",
        f"{IMPORT}/runs/{run_id}/errors.xlsx",
    ):
        assert admin.get(path).status_code == 404, path
    assert admin.post(f"{IMPORT}/{other_token}/run", {"mode": "valid"}).status_code == 404
    assert admin.post(f"{IMPORT}/runs/{run_id}/cancel").status_code == 404
    # a run of this form seen under another form's address is not found either
    assert importer.get(f"/apps/orders/product/import/runs/{run_id}").status_code == 404
    assert service.imports.get_run(Actor("ma.lan"), run_id).status == "queued"


def _two_sheets() -> bytes:
    """A workbook whose first sheet is a note and whose second holds three price rows."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.add_worksheet("说明").write_row(0, 0, ["请填写第二个工作表"])
    rows = book.add_worksheet("价格")
    rows.write_row(0, 0, ["SKU", "名称", "价格"])
    for number in range(1, 4):
        rows.write_row(number, 0, [f"B-{number:03d}", f"茶{number}", number * 10])
    book.close()
    return out.getvalue()


def test_the_sheet_is_chosen_and_a_wrong_mapping_is_refused_with_its_header(prices):
    app, service = prices
    importer = _signed_in(app, "ma.lan")
    token = _token(_upload(importer, _two_sheets(), "prices.xlsx"))
    # the first sheet holds no rows: its message and a box to name the sheet
    first = importer.get(f"{IMPORT}/{token}")
    assert first.status_code == 400
    error = re.search(r'id="sheet-error">([^<]*)<', first.get_data(as_text=True)).group(1)
    assert error == "工作表只有表头，没有数据行"
    wrong = importer.get(f"{IMPORT}/{token}?sheet=价钱").get_data(as_text=True)
    error = re.search(r'id="sheet-error">([^<]*)<', wrong).group(1)
    assert error == "文件中没有工作表“价钱”，现有工作表：说明、价格"
    page = importer.get(f"{IMPORT}/{token}?sheet=价格").get_data(as_text=True)
    assert "工作表 价格 共 3 行数据" in page
    assert re.search(r'<option value="价格" selected>', page)
    # two columns on one field: refused, naming the header, and the choices are kept
    refused = importer.post(
        f"{IMPORT}/{token}/check",
        {"sheet": "价格", "map-0": "sku", "map-1": "sku", "map-2": "price", "mode": "all"},
    )
    assert refused.status_code == 302 and refused.headers["Location"].endswith(token)
    again = importer.get(refused.headers["Location"]).get_data(as_text=True)
    message = re.search(r'class="alert alert-danger" role="alert">([^<]*)<', again).group(1)
    assert "名称" in message and "商品编码" in message, message
    assert "工作表 价格 共 3 行数据" in again  # the sheet chosen is kept
    assert _records(service) == []
    # saved for the form: the next upload of the file proposes the same mapping
    checked = importer.post(
        f"{IMPORT}/{token}/check",
        {
            "sheet": "价格",
            "map-0": "sku",
            "map-1": "name",
            "map-2": "",
            "mode": "all",
            "save_mapping": "on",
        },
    )
    assert checked.headers["Location"].endswith("/check")
    page = importer.get(checked.headers["Location"]).get_data(as_text=True)
    assert dict(re.findall(r'id="count-(\w+)">(\d+)<', page))["failed"] == "3"  # no price
    token = _token(_upload(importer, _two_sheets(), "prices.xlsx"))
    page = importer.get(f"{IMPORT}/{token}?sheet=价格").get_data(as_text=True)
    third = re.search(r'<select[^>]*id="map-2".*?</select>', page, re.S).group(0)
    assert '<option value="" selected' not in third  # the saved mapping left it unmapped
    assert not re.search(r"<option value=\"\w+\" selected>", third)


def test_a_large_file_is_dry_run_in_the_background(prices, monkeypatch):
    import web.imports

    monkeypatch.setattr(web.imports, "SYNC_DRY_RUN_ROWS", 2)  # the CSV's 5 rows are "large"
    app, service = prices
    importer = _signed_in(app, "ma.lan")
    token = _token(_upload(importer, CSV))
    fields = {f"map-{i}": p for i, p in enumerate(("sku", "name", "price", "valid_from"))}
    checked = importer.post(
        f"{IMPORT}/{token}/check", {"sheet": "prices", **fields, "mode": "valid"}
    )
    dry_url = checked.headers["Location"]
    assert re.search(rf"/runs/\d+\?upload={token}$", dry_url), dry_url
    assert 'data-status="queued"' in importer.get(dry_url).get_data(as_text=True)
    _run_jobs(app)
    page = importer.get(dry_url).get_data(as_text=True)
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', page))
    assert counts["created"] == "3" and counts["failed"] == "2"
    assert 'id="start-import"' in page and _records(service) == []
    # without the upload in the URL (another tab, the list of runs) no start button
    plain = importer.get(dry_url.split("?")[0]).get_data(as_text=True)
    assert 'id="start-import"' not in plain
    started = importer.post(f"{IMPORT}/{token}/run", {"mode": "valid"})
    _run_jobs(app)
    assert importer.get(started.headers["Location"]).status_code == 200
    assert len(_records(service)) == 3


def test_the_pages_speak_english(prices):
    app, _service = prices
    importer = _signed_in(app, "ma.lan")
    importer.get("/")
    importer.post("/locale", {"locale": "en", "next": "/"})
    token = _token(_upload(importer, CSV))
    for path in (IMPORT, f"{IMPORT}/{token}"):
        page = importer.get(path).get_data(as_text=True)
        # data only: the form's name, the file's headers and values, option labels
        data = r"<option[^>]*>[^<]*</option>|<tr data-header=.*?</tr>|<td[^>]*>.*?</td>"
        chrome = re.sub(data, "", page, flags=re.S)
        chrome = chrome.replace("中文", "")
        assert not re.findall(r"[\u4e00-\u9fff]", chrome), path
    assert "Import into Product price" in importer.get(IMPORT).get_data(as_text=True)


def test_update_mode_matches_by_the_unique_field(prices):
    app, service = prices
    for sku, price in (("U-1", "10.00"), ("U-2", "20.00")):
        service.create_record(
            Actor("admin"), "prices", "price", {"sku": sku, "name": sku, "price": price}
        )
    importer = _signed_in(app, "ma.lan")
    data = "商品编码,名称,价格\nU-1,U-1,10.00\nU-2,U-2,25.00\nU-3,U-3,30.00\n".encode()
    token = _token(_upload(importer, data))
    mapping = importer.get(f"{IMPORT}/{token}").get_data(as_text=True)
    match = re.search(r'<select[^>]*id="match".*?</select>', mapping, re.S).group(0)
    assert re.findall(r'<option value="(\w*)"', match) == ["", "sku"]
    assert "按“商品编码”更新已有记录" in match
    fields = {"sheet": "prices", "map-0": "sku", "map-1": "name", "map-2": "price"}
    checked = importer.post(f"{IMPORT}/{token}/check", {**fields, "mode": "all", "match": "sku"})
    page = importer.get(checked.headers["Location"]).get_data(as_text=True)
    counts = dict(re.findall(r'id="count-(\w+)">(\d+)<', page))
    assert counts == {"total": "3", "created": "1", "updated": "1", "unchanged": "1", "failed": "0"}
    assert 'id="download-errors"' not in page and 'id="import-issues"' not in page
    started = importer.post(f"{IMPORT}/{token}/run", {"mode": "all"})
    _run_jobs(app)
    done = importer.get(started.headers["Location"]).get_data(as_text=True)
    assert dict(re.findall(r'id="count-(\w+)">(\d+)<', done))["updated"] == "1"
    prices_now = {r.values["sku"]: str(r.values["price"]) for r in _records(service)}
    assert prices_now == {"U-1": "10.00", "U-2": "25.00", "U-3": "30.00"}
