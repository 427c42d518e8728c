"""Background exports through the job runner, the command line, the web list's xlsx
download and its background page, and the API."""

from __future__ import annotations

import io
import re

import pytest
from python_calamine import CalamineWorkbook

import web.lists
from engine.service import (
    SYSTEM_ACTOR,
    Actor,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
)
from tests.exports.conftest import FINANCE
from tests.web.conftest import PASSWORD, Browser


def first_sheet(data: bytes) -> list[list[object]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return book.get_sheet_by_index(0).to_python()


def test_a_background_export_runs_as_a_job_and_only_its_owner_downloads_it(exports):
    service = exports["service"]
    run_id = service.exports.submit(
        FINANCE,
        "exp",
        "order",
        format="xlsx",
        filters=[("dealer", "eq", "DL-HZ-001")],
        columns=["order_no", "amount"],
    )
    run = service.exports.get_run(FINANCE, run_id)
    assert (run.status, run.done, run.total, run.ready) == ("queued", 0, 2, False)
    with pytest.raises(NotFoundError, match="尚未完成"):
        service.exports.download(FINANCE, run_id)
    done = service.jobs.run_due()
    assert len(done.finished) == 1 and not done.failed
    run = service.exports.get_run(FINANCE, run_id)
    assert (run.status, run.done, run.total, run.ready) == ("done", 2, 2, True)
    name, data = service.exports.download(FINANCE, run_id)
    assert name.startswith("exp-order-") and name.endswith(".xlsx")
    assert first_sheet(data) == [
        ["订单号", "金额"],
        ["SO-2026-0001", 1200.5],
        ["SO-2026-0002", 0.1],
    ]
    assert [r.id for r in service.exports.runs(FINANCE, "exp")] == [run_id]
    # nobody else sees or downloads it
    for login in ("hz.boss", "qian.li"):
        with pytest.raises(NotFoundError):
            service.exports.get_run(Actor(login), run_id)
        with pytest.raises(NotFoundError):
            service.exports.download(Actor(login), run_id)
    assert service.exports.runs(Actor("hz.boss"), "exp") == []


def test_a_background_export_that_cannot_run_fails_with_its_reason(exports):
    service = exports["service"]
    run_id = service.exports.submit(FINANCE, "exp", "order", format="csv")
    # the finance role is taken away before the job runs: the run fails and says why
    service.org.remove_role(SYSTEM_ACTOR, "zhao.min", "finance")
    service.jobs.run_due()
    run = service.exports.get_run(FINANCE, run_id)
    assert run.status == "failed" and not run.ready
    assert "导出" in (run.error or "")
    with pytest.raises(NotFoundError, match="failed"):
        service.exports.download(FINANCE, run_id)


def test_a_refused_export_is_refused_at_submit_and_queues_nothing(exports):
    service = exports["service"]
    with pytest.raises(InvalidArgumentError, match="nope"):
        service.exports.submit(FINANCE, "exp", "order", sort=["-nope"])
    with pytest.raises(PermissionDeniedError):
        service.exports.submit(Actor("hz.boss"), "exp", "product")
    assert service.exports.runs(FINANCE, "exp") == []
    assert service.jobs.run_due().finished == []


def test_cli_exports_xlsx_and_csv_to_a_file(exports, database_url, cli, tmp_path):
    out = tmp_path / "orders.xlsx"
    base = ("--database", database_url, "--user", "hz.boss", "records", "export", "exp", "order")
    status, printed, err = cli(*base, "--format", "xlsx", "--out", str(out))
    assert status == 0, err
    assert "2 records written" in printed
    rows = first_sheet(out.read_bytes())
    assert rows[0][:2] == ["订单号", "经销商"] and "内部备注" not in rows[0]
    assert [r[0] for r in rows[1:]] == ["SO-2026-0001", "SO-2026-0002"]
    out = tmp_path / "orders.csv"
    status, printed, err = cli(
        *base, "--format", "csv", "--out", str(out), "--where", "amount>=1", "--column", "order_no"
    )
    assert status == 0, err
    assert out.read_bytes() == "\ufeff订单号\r\nSO-2026-0001\r\n".encode()
    # xlsx needs a file; today's csv on standard output still works
    status, _printed, err = cli(*base, "--format", "xlsx")
    assert status != 0 and "--out" in err
    status, printed, err = cli(*base)
    assert status == 0 and printed.splitlines()[0].startswith("id,order_no,dealer")


@pytest.fixture
def orders_site(site):
    """The web site with two orders of the example dealer app (Hangzhou, Guangzhou)."""
    app, service = site
    service.org.set_password(SYSTEM_ACTOR, "qian.hao", PASSWORD)
    admin = Actor("admin")
    tea = service.create_record(
        admin, "orders", "product", {"sku": "TEA", "name": "龙井", "price": "100.00"}
    )
    numbers = []
    for dealer, qty in (("DL-HZ-001", 2), ("DL-GD-001", 3)):
        record = service.create_record(
            admin,
            "orders",
            "order",
            {
                "dealer": dealer,
                "order_date": "2026-01-02",
                "lines": [{"product": tea.id, "qty": qty}],
                "internal_note": "机密备注",
            },
        )
        numbers.append(record.values["order_no"])
    return app, service, numbers


def run_jobs(app) -> None:
    """Run the due jobs with the site's own Service (its clock queued them)."""
    app.extensions["lowcode_service"].jobs.run_due()


def signed_in(app, login: str) -> Browser:
    browser = Browser(app.test_client())
    assert browser.sign_in(login).status_code == 302
    return browser


def test_the_list_downloads_xlsx_with_its_columns_and_the_actors_rows(orders_site):
    app, _service, numbers = orders_site
    qian = signed_in(app, "qian.hao")  # Zhejiang's region manager: Hangzhou's orders
    page = qian.get("/l/orders/order").get_data(as_text=True)
    assert 'id="export-all-xlsx"' in page
    answer = qian.client.get(
        "/l/orders/order/export.xlsx", query_string={"col": ["order_no", "dealer", "total"]}
    )
    assert answer.status_code == 200, answer.status_code
    assert answer.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in answer.headers["Content-Disposition"]
    book = CalamineWorkbook.from_filelike(io.BytesIO(answer.get_data()))
    assert book.sheet_names == ["订单", "明细"]
    rows = book.get_sheet_by_name("订单").to_python()
    assert rows == [["订单号", "经销商", "金额"], [numbers[0], "杭州恒泰商贸有限公司", 200.0]]
    lines = book.get_sheet_by_name("明细").to_python()
    assert lines[0][0] == "单号" and [r[0] for r in lines[1:]] == [numbers[0]]
    assert "机密".encode() not in answer.get_data()


def test_a_large_list_export_becomes_a_run_with_a_progress_page(orders_site, monkeypatch):
    app, service, numbers = orders_site
    monkeypatch.setattr(web.lists, "DIRECT_LIMIT", 0)
    qian = signed_in(app, "qian.hao")
    answer = qian.client.get("/l/orders/order/export.xlsx", query_string={"col": ["order_no"]})
    assert answer.status_code == 302
    page_url = answer.headers["Location"]
    run_id = int(page_url.rstrip("/").rsplit("/", 1)[1])
    page = qian.get(page_url)
    assert page.status_code == 200 and page.headers.get("Refresh") == "2"
    assert re.search(r'id="export-progress">0 / 1<', page.get_data(as_text=True))
    run_jobs(app)
    page = qian.get(page_url)
    text = page.get_data(as_text=True)
    assert "Refresh" not in page.headers and 'id="export-download"' in text
    answer = qian.client.get(f"/exports/{run_id}/download")
    assert answer.status_code == 200
    assert first_sheet(answer.get_data()) == [["订单号"], [numbers[0]]]
    # another person's run is not found
    other = signed_in(app, "admin")
    assert other.get(page_url).status_code == 404
    assert other.get(f"/exports/{run_id}/download").status_code == 404


def test_the_api_exports_csv_and_xlsx_and_runs_large_ones_in_the_background(orders_site):
    app, service, numbers = orders_site
    token = service.org.create_token(SYSTEM_ACTOR, "qian.hao", "test")
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    answer = client.get(
        "/api/v1/apps/orders/forms/order/export?format=csv&column=order_no&column=total",
        headers=auth,
    )
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.get_data().decode("utf-8-sig").splitlines() == [
        "订单号,金额",
        f"{numbers[0]},200.00",
    ]
    answer = client.get("/api/v1/apps/orders/forms/order/export?format=pdf", headers=auth)
    assert answer.status_code == 400 and "format" in answer.get_json(force=True)["detail"]
    answer = client.get(
        "/api/v1/apps/orders/forms/order/export?background=1&column=order_no", headers=auth
    )
    assert answer.status_code == 202
    run = answer.get_json()
    assert run["status"] == "queued" and answer.headers["Location"].endswith(
        f"/exports/{run['id']}"
    )
    assert client.get(f"/api/v1/exports/{run['id']}/file", headers=auth).status_code == 404
    run_jobs(app)
    assert client.get(f"/api/v1/exports/{run['id']}", headers=auth).get_json()["status"] == "done"
    answer = client.get(f"/api/v1/exports/{run['id']}/file", headers=auth)
    assert answer.status_code == 200
    assert first_sheet(answer.get_data()) == [["订单号"], [numbers[0]]]
