"""Imports over the REST API: inspect, dry run, commit, background run with progress,
its failing rows as xlsx, the template, the saved mapping, refusals as problems."""

from __future__ import annotations

import io

import pytest

from tests.imports.conftest import read_xlsx, xlsx
from tests.web.test_api import api, call, is_problem  # noqa: F401

BOTH = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
HEADERS = ["商品编码", "名称", "经销价"]
ROWS = [
    ["P-101", "纸箱", "12.50"],
    ["P-102", "胶带", "十二"],
    ["P-103", "", "3"],
    ["P-104", "绳", 8],
]


def upload(client, tokens, login, path, data, name="products.xlsx", **form):
    return call(
        client,
        tokens,
        login,
        "POST",
        path,
        data={"file": (io.BytesIO(data), name), **form},
        content_type="multipart/form-data",
    )


@BOTH
def test_inspect_dry_run_and_commit(api):  # noqa: F811
    client, service, tokens = api
    data = xlsx(HEADERS, ROWS)
    base = "/api/v1/apps/orders/forms/product"
    answer = upload(client, tokens, "admin", "/apps/orders/forms/product/imports/inspect", data)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    preview = answer.get_json()
    assert preview["mapping"] == {"商品编码": "sku", "名称": "name", "经销价": "price"}
    assert preview["row_count"] == 4 and preview["unique_fields"] == ["sku"]
    answer = upload(client, tokens, "admin", "/apps/orders/forms/product/imports?mode=valid", data)
    report = answer.get_json()
    assert (report["dry_run"], report["created"], report["failed"]) == (True, 2, 2)
    assert [i["row"] for i in report["issues"]] == [3, 4]
    answer = upload(
        client, tokens, "admin", "/apps/orders/forms/product/imports?mode=valid&errors=xlsx", data
    )
    assert answer.mimetype.endswith("sheet")
    assert [int(r[0]) for r in read_xlsx(answer.get_data())[1:]] == [3, 4]
    answer = upload(
        client, tokens, "admin", "/apps/orders/forms/product/imports?mode=valid&commit=1", data
    )
    assert answer.get_json()["created"] == 2
    listed = client.get(f"{base}/records", headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert {r["values"]["sku"] for r in listed.get_json()["items"]} == {"P-101", "P-104"}


@BOTH
def test_a_background_import_is_polled_and_its_failing_rows_downloaded(api):  # noqa: F811
    client, service, tokens = api
    data = xlsx(HEADERS, ROWS)
    answer = upload(
        client,
        tokens,
        "admin",
        "/apps/orders/forms/product/imports?mode=valid&commit=1&background=1",
        data,
    )
    assert answer.status_code == 202
    run = answer.get_json()
    assert (run["status"], run["total"]) == ("queued", 4)
    assert answer.headers["Location"].endswith(f"/api/v1/imports/{run['id']}")
    # the site's own service queued it (on its own clock): its runner runs it
    done = client.application.extensions["lowcode_service"].jobs.run_due()
    assert len(done.finished) == 1, done.failed
    polled = call(client, tokens, "admin", "GET", f"/imports/{run['id']}").get_json()
    assert (polled["status"], polled["done"], polled["total"]) == ("done", 4, 4)
    assert (polled["report"]["created"], polled["report"]["failed"]) == (2, 2)
    errors = call(client, tokens, "admin", "GET", f"/imports/{run['id']}/errors")
    assert errors.status_code == 200
    rows = read_xlsx(errors.get_data())
    assert [int(r[0]) for r in rows[1:]] == [3, 4]
    # someone else's run is not found
    is_problem(call(client, tokens, "wu.gang", "GET", f"/imports/{run['id']}"), 404)
    runs = call(client, tokens, "admin", "GET", "/apps/orders/forms/product/imports").get_json()
    assert [r["id"] for r in runs["items"]] == [run["id"]]


def test_refusals_are_problems(api):  # noqa: F811
    client, service, tokens = api
    data = xlsx(HEADERS, ROWS)
    denied = upload(client, tokens, "hz.boss", "/apps/orders/forms/product/imports", data)
    is_problem(denied, 403)
    garbage = upload(client, tokens, "admin", "/apps/orders/forms/product/imports", b"\x00junk")
    assert "xlsx" in is_problem(garbage, 400)["detail"]
    missing = call(client, tokens, "admin", "POST", "/apps/orders/forms/product/imports")
    assert is_problem(missing, 400)["argument"] == "file"
    bad_map = upload(
        client, tokens, "admin", "/apps/orders/forms/product/imports", data, mapping="[1]"
    )
    assert is_problem(bad_map, 400)["argument"] == "mapping"
    is_problem(call(client, tokens, "admin", "GET", "/imports/abc"), 400)
    is_problem(call(client, tokens, "admin", "GET", "/imports/99"), 404)


def test_the_template_and_the_saved_mapping(api):  # noqa: F811
    client, service, tokens = api
    answer = call(client, tokens, "admin", "GET", "/apps/orders/forms/product/import-template")
    assert answer.status_code == 200
    assert read_xlsx(answer.get_data())[0][:3] == ["商品编码", "名称", "单位"]
    saved = call(
        client,
        tokens,
        "admin",
        "PUT",
        "/apps/orders/forms/product/import-mapping",
        json_body={"mapping": {"编码": "sku", "品名": "name"}},
    )
    assert saved.status_code == 204
    data = xlsx(["编码", "品名"], [["P-9", "x"]])
    preview = upload(client, tokens, "admin", "/apps/orders/forms/product/imports/inspect", data)
    assert preview.get_json()["mapping"] == {"编码": "sku", "品名": "name"}
    bad = call(
        client,
        tokens,
        "admin",
        "PUT",
        "/apps/orders/forms/product/import-mapping",
        json_body={"mapping": {"编码": "nope"}},
    )
    is_problem(bad, 400)
    spec = call(client, tokens, "admin", "GET", "/openapi.json").get_json()
    assert "/imports/{run_id}/errors" in spec["paths"]
