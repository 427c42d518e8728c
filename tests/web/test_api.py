"""The REST API /api/v1: bearer tokens, problem+json refusals, records, flows, files,
and the OpenAPI document (validated) with its readable page."""

from __future__ import annotations

import io
import json

import pytest

from engine.definitions import load_app_text
from engine.service import SYSTEM_ACTOR, Actor

LEAVE = {
    "leave_type": "annual",
    "start_date": "2027-03-01",
    "end_date": "2027-03-02",
    "reason": "回老家",
}
PRODUCT = {"sku": "P-001", "name": "纸箱", "price": "12.50"}


@pytest.fixture
def api(site):
    """(client, service, tokens by login) with a token for each person the tests use."""
    app, service = site
    tokens = {
        login: service.org.create_token(SYSTEM_ACTOR, login, "test")
        for login in ("admin", "wu.gang", "sun.li", "song.jia", "hz.boss", "gz.boss")
    }
    return app.test_client(), service, tokens


def call(client, tokens, login, method, path, *, json_body=None, headers=None, **kwargs):
    sent = dict(headers or {})
    if login is not None:
        sent["Authorization"] = f"Bearer {tokens[login]}"
    return client.open(f"/api/v1{path}", method=method, json=json_body, headers=sent, **kwargs)


def is_problem(answer, status):
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    data = answer.get_json(force=True)
    assert data["status"] == status and data["title"] and data["detail"] and data["type"]
    assert "Traceback" not in answer.get_data(as_text=True)
    return data


def make_order(service, login: str) -> int:
    """A product (admin) and an order of ``login``'s dealer."""
    found = service.query_records(
        SYSTEM_ACTOR, "orders", "product", filters=[("sku", "eq", "P-001")]
    )
    product = (
        found.items[0].id
        if found.items
        else service.create_record(SYSTEM_ACTOR, "orders", "product", PRODUCT).id
    )
    order = service.create_record(
        Actor(login), "orders", "order", {"lines": [{"product": product, "qty": 2}]}
    )
    return order.id


# -- authentication -------------------------------------------------------------------------------
def test_no_token_a_bad_token_and_a_revoked_token_are_401(api):
    client, service, tokens = api
    data = is_problem(client.get("/api/v1/apps"), 401)
    assert "Authorization" in data["detail"] or "令牌" in data["detail"]
    assert client.get("/api/v1/apps").headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/api/v1/apps", headers={"Authorization": "Bearer nope"})
    is_problem(bad, 401)
    basic = client.get("/api/v1/apps", headers={"Authorization": "Basic YWRtaW46eA=="})
    is_problem(basic, 401)
    token_id = service.org.list_tokens(SYSTEM_ACTOR, "wu.gang")[0].id
    assert call(client, tokens, "wu.gang", "GET", "/apps").status_code == 200
    service.org.revoke_token(SYSTEM_ACTOR, "wu.gang", token_id)
    is_problem(call(client, tokens, "wu.gang", "GET", "/apps"), 401)


def test_a_disabled_user_token_is_401(api):
    client, service, tokens = api
    service.org.set_active(SYSTEM_ACTOR, "sun.li", False)
    is_problem(call(client, tokens, "sun.li", "GET", "/tasks"), 401)


def test_a_session_cookie_does_not_authorise_the_api(site, browser):
    browser.sign_in("wu.gang")
    is_problem(browser.client.get("/api/v1/apps"), 401)
    # ... but a signed-in person may read the API's documentation
    assert browser.client.get("/api/v1/docs").status_code == 200


def test_unknown_paths_are_problems_too(api):
    client, _service, tokens = api
    is_problem(call(client, tokens, "admin", "GET", "/nothing/here"), 404)
    is_problem(call(client, tokens, "admin", "POST", "/tasks/1/dance"), 404)


# -- apps, forms, records -----------------------------------------------------------------------
def test_apps_and_a_form_with_its_schema(api):
    client, _service, tokens = api
    apps = call(client, tokens, "admin", "GET", "/apps", headers={"Accept-Language": "en"})
    assert apps.status_code == 200
    by_key = {a["key"]: a for a in apps.get_json()["items"]}
    assert by_key["orders"]["name"] and "order" in by_key["orders"]["forms"]
    assert call(client, tokens, "admin", "GET", "/apps/orders").get_json()["key"] == "orders"
    is_problem(call(client, tokens, "admin", "GET", "/apps/nope"), 404)

    form = call(client, tokens, "admin", "GET", "/apps/leave/forms/leave_request").get_json()
    assert form["key"] == "leave_request"
    request_schema = form["schema"]["request"]
    assert "days" not in request_schema["properties"]  # a formula is never sent
    assert {"leave_type", "start_date", "end_date", "reason"} <= set(request_schema["required"])
    assert request_schema["properties"]["start_date"]["format"] == "date"
    assert "annual" in request_schema["properties"]["leave_type"]["enum"]
    is_problem(call(client, tokens, "admin", "GET", "/apps/leave/forms/nope"), 404)


def test_records_crud_with_versions_history_and_filters(api):
    client, _service, tokens = api
    created = call(
        client, tokens, "admin", "POST", "/apps/orders/forms/product/records", json_body=PRODUCT
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    record = created.get_json()
    assert record["values"]["price"] == "12.50" and record["version"] == 1
    assert created.headers["ETag"] == '"1"'
    path = f"/apps/orders/forms/product/records/{record['id']}"
    assert created.headers["Location"].endswith(path)
    more = {"sku": "P-002", "name": "胶带", "price": 3.2}  # a JSON number is read exactly
    second = call(
        client, tokens, "admin", "POST", "/apps/orders/forms/product/records", json_body=more
    )
    assert second.get_json()["values"]["price"] == "3.20"

    got = call(client, tokens, "admin", "GET", path)
    assert got.status_code == 200 and got.get_json()["values"]["sku"] == "P-001"

    changed = call(
        client,
        tokens,
        "admin",
        "PATCH",
        path,
        json_body={"name": "大纸箱"},
        headers={"If-Match": '"1"'},
    )
    assert changed.status_code == 200 and changed.get_json()["version"] == 2
    stale = call(
        client, tokens, "admin", "PATCH", path, json_body={"name": "x"}, headers={"If-Match": '"1"'}
    )
    is_problem(stale, 409)
    stale = call(
        client, tokens, "admin", "PATCH", path + "?expected_version=1", json_body={"name": "x"}
    )
    is_problem(stale, 409)
    is_problem(call(client, tokens, "admin", "PATCH", path, json_body=[1]), 400)
    is_problem(
        client.patch(
            f"/api/v1{path}",
            data="{not json",
            headers={"Authorization": f"Bearer {tokens['admin']}"},
            content_type="application/json",
        ),
        400,
    )

    page = call(
        client,
        tokens,
        "admin",
        "GET",
        "/apps/orders/forms/product/records?where=price>=10&sort=-sku&page=1&page_size=10",
    ).get_json()
    assert [r["values"]["sku"] for r in page["items"]] == ["P-001"] and page["total"] == 1
    page = call(
        client, tokens, "admin", "GET", "/apps/orders/forms/product/records?search=胶带"
    ).get_json()
    assert [r["values"]["sku"] for r in page["items"]] == ["P-002"]
    is_problem(
        call(client, tokens, "admin", "GET", "/apps/orders/forms/product/records?where=price"), 400
    )
    bad_field = call(
        client, tokens, "admin", "GET", "/apps/orders/forms/product/records?where=nope=1"
    )
    assert "nope" in is_problem(bad_field, 400)["detail"]
    is_problem(
        call(client, tokens, "admin", "GET", "/apps/orders/forms/product/records?page=0"), 400
    )

    history = call(client, tokens, "admin", "GET", path + "/history").get_json()["items"]
    assert [h["revision_no"] for h in history] == [1, 2]
    assert history[1]["changes"]

    deleted = call(client, tokens, "admin", "DELETE", path, headers={"If-Match": '"2"'})
    assert deleted.status_code == 200
    is_problem(call(client, tokens, "admin", "GET", path), 404)
    is_problem(
        call(
            client,
            tokens,
            "admin",
            "GET",
            "/apps/orders/forms/product/records/99999999999999999999",
        ),
        400,
    )


def test_a_refused_record_is_422_with_fields_and_rows(api):
    client, _service, tokens = api
    answer = call(
        client,
        tokens,
        "hz.boss",
        "POST",
        "/apps/orders/forms/order/records",
        json_body={"lines": [{"qty": 0}]},
        headers={"Accept-Language": "en"},
    )
    data = is_problem(answer, 422)
    assert data["title"] == "The record is not valid"
    rows = {(e["field"], e["row"]) for e in data["errors"]}
    assert ("lines.product", 1) in rows and ("lines.qty", 1) in rows
    assert all({"field", "row", "message", "code"} <= set(e) for e in data["errors"])
    # Chinese by default (the user's locale), English when asked
    zh = call(
        client, tokens, "admin", "POST", "/apps/leave/forms/leave_request/records", json_body={}
    )
    assert is_problem(zh, 422)["title"] == "数据校验未通过"


def test_a_dealer_sees_only_its_own_records_and_files(api):
    client, service, tokens = api
    theirs = make_order(service, "gz.boss")
    mine = make_order(service, "hz.boss")
    path = "/apps/orders/forms/order/records"
    assert call(client, tokens, "hz.boss", "GET", f"{path}/{mine}").status_code == 200
    is_problem(call(client, tokens, "hz.boss", "GET", f"{path}/{theirs}"), 404)
    patch = call(client, tokens, "hz.boss", "PATCH", f"{path}/{theirs}", json_body={"remark": "x"})
    is_problem(patch, 404)
    # a dealer may not delete orders at all: their grants say so, whoever's order it is
    is_problem(call(client, tokens, "hz.boss", "DELETE", f"{path}/{mine}"), 403)
    is_problem(call(client, tokens, "hz.boss", "GET", f"{path}/{theirs}/history"), 404)
    listed = call(client, tokens, "hz.boss", "GET", path).get_json()
    assert [r["id"] for r in listed["items"]] == [mine]
    # a hidden field is neither returned nor writable
    assert (
        "internal_note"
        not in call(client, tokens, "hz.boss", "GET", f"{path}/{mine}").get_json()["values"]
    )


def test_files_upload_download_and_another_persons_file(api):
    client, _service, tokens = api
    auth = {"Authorization": f"Bearer {tokens['wu.gang']}"}
    pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
    upload = client.post(
        "/api/v1/apps/leave/forms/leave_request/files/certificate",
        data={"file": (io.BytesIO(pdf), "note.pdf")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert upload.status_code == 201, upload.get_data(as_text=True)
    meta = upload.get_json()
    assert meta["name"] == "note.pdf" and meta["size"] == len(pdf)
    got = client.get(f"/api/v1/apps/leave/forms/leave_request/files/{meta['id']}", headers=auth)
    assert got.status_code == 200 and got.data == pdf
    assert "attachment" in got.headers["Content-Disposition"]
    # an unattached upload is its uploader's only
    is_problem(
        call(
            client, tokens, "sun.li", "GET", f"/apps/leave/forms/leave_request/files/{meta['id']}"
        ),
        404,
    )
    is_problem(
        call(client, tokens, "wu.gang", "GET", "/apps/leave/forms/leave_request/files/nope"), 404
    )
    missing = client.post(
        "/api/v1/apps/leave/forms/leave_request/files/certificate", data={}, headers=auth
    )
    is_problem(missing, 400)
    not_a_file_field = client.post(
        "/api/v1/apps/leave/forms/leave_request/files/reason",
        data={"file": (io.BytesIO(pdf), "note.pdf")},
        headers=auth,
        content_type="multipart/form-data",
    )
    assert is_problem(not_a_file_field, 422)["errors"][0]["field"] == "reason"

    # attached to a record, whoever may read the record may read the file
    created = call(
        client,
        tokens,
        "wu.gang",
        "POST",
        "/apps/leave/forms/leave_request/records",
        json_body={**LEAVE, "certificate": [meta]},
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    other = call(
        client, tokens, "gz.boss", "GET", f"/apps/leave/forms/leave_request/files/{meta['id']}"
    )
    is_problem(other, 404)


# -- flows ----------------------------------------------------------------------------------------
def test_create_approve_approved_through_the_api(api):
    client, _service, tokens = api
    created = call(
        client,
        tokens,
        "wu.gang",
        "POST",
        "/apps/leave/forms/leave_request/records",
        json_body=LEAVE,
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    record = created.get_json()
    assert record["status"] == "in_approval"
    flow_path = f"/apps/leave/forms/leave_request/records/{record['id']}/flow"
    instance = call(client, tokens, "wu.gang", "GET", flow_path).get_json()
    assert instance["status"] == "running" and instance["submitter"] == "wu.gang"

    tasks = call(client, tokens, "sun.li", "GET", "/tasks?status=pending").get_json()
    assert tasks["total"] == 1
    task = tasks["items"][0]
    detail = call(client, tokens, "sun.li", "GET", f"/tasks/{task['id']}").get_json()
    assert detail["values"]["start_date"] == "2027-03-01"

    approved = call(
        client,
        tokens,
        "sun.li",
        "POST",
        f"/tasks/{task['id']}/approve",
        json_body={"comment": "同意"},
    )
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    assert call(client, tokens, "wu.gang", "GET", flow_path).get_json()["status"] == "approved"
    got = call(
        client, tokens, "wu.gang", "GET", f"/apps/leave/forms/leave_request/records/{record['id']}"
    )
    assert got.get_json()["status"] == "approved"
    done = call(client, tokens, "sun.li", "GET", "/tasks?status=done").get_json()
    assert [t["id"] for t in done["items"]] == [task["id"]]
    assert call(client, tokens, "song.jia", "GET", "/tasks?status=cc").get_json()["total"] == 1

    # the task is handled: acting again is a conflict saying who handled it
    again = call(
        client,
        tokens,
        "sun.li",
        "POST",
        f"/tasks/{task['id']}/reject",
        headers={"Accept-Language": "en"},
    )
    data = is_problem(again, 409)
    assert "already handled by sun.li" in data["detail"] and data["code"] == "task_handled"
    is_problem(call(client, tokens, "sun.li", "GET", "/tasks?status=nope"), 400)


def test_task_and_instance_actions_and_refusals(api):
    client, service, tokens = api
    created = call(
        client,
        tokens,
        "wu.gang",
        "POST",
        "/apps/leave/forms/leave_request/records",
        json_body=LEAVE,
    ).get_json()
    instance_id = call(
        client,
        tokens,
        "wu.gang",
        "GET",
        f"/apps/leave/forms/leave_request/records/{created['id']}/flow",
    ).get_json()["id"]
    base = f"/apps/leave/instances/{instance_id}"
    task_id = service.flows.tasks(Actor("sun.li")).items[0].id

    # another person's task, or a dealer's view of it: not found
    is_problem(call(client, tokens, "gz.boss", "POST", f"/tasks/{task_id}/approve"), 404)
    is_problem(call(client, tokens, "gz.boss", "GET", f"/tasks/{task_id}"), 404)
    is_problem(call(client, tokens, "gz.boss", "GET", base), 404)
    is_problem(
        call(client, tokens, "gz.boss", "POST", f"{base}/comment", json_body={"text": "hi"}), 404
    )
    is_problem(call(client, tokens, "sun.li", "POST", "/tasks/999999/approve"), 404)

    commented = call(
        client, tokens, "wu.gang", "POST", f"{base}/comment", json_body={"text": "请尽快 @sun.li"}
    )
    assert commented.status_code == 200
    assert any(e["action"] == "comment" for e in commented.get_json()["timeline"])
    is_problem(
        call(client, tokens, "wu.gang", "POST", f"{base}/comment", json_body={"text": " "}), 400
    )
    assert call(client, tokens, "wu.gang", "POST", f"{base}/remind").status_code == 200
    is_problem(call(client, tokens, "sun.li", "POST", f"{base}/withdraw"), 409)  # not the submitter

    moved = call(
        client,
        tokens,
        "sun.li",
        "POST",
        f"/tasks/{task_id}/transfer",
        json_body={"to": "chen.xiao"},
    )
    assert moved.status_code == 200 and moved.get_json()["status"] == "transferred"
    new_task = service.flows.tasks(Actor("chen.xiao")).items[0].id
    signed = call(
        client,
        tokens,
        "admin",
        "POST",
        f"/tasks/{new_task}/add-signer",
        json_body={"logins": ["sun.li"]},
    )
    is_problem(signed, 404)  # admin holds no such task
    back = call(
        client, tokens, "admin", "POST", f"/tasks/{new_task}/send-back", json_body={"to": "start"}
    )
    is_problem(back, 404)

    withdrawn = call(client, tokens, "wu.gang", "POST", f"{base}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    is_problem(call(client, tokens, "wu.gang", "POST", f"{base}/resubmit"), 409)
    is_problem(call(client, tokens, "wu.gang", "POST", f"{base}/fly"), 404)


def test_a_draft_is_saved_then_submitted(api):
    client, _service, tokens = api
    draft = call(
        client,
        tokens,
        "wu.gang",
        "POST",
        "/apps/leave/forms/leave_request/records?draft=1",
        json_body=LEAVE,
    )
    assert draft.status_code == 201 and draft.get_json()["status"] == "draft"
    path = f"/apps/leave/forms/leave_request/records/{draft.get_json()['id']}"
    is_problem(call(client, tokens, "wu.gang", "GET", f"{path}/flow"), 404)
    started = call(client, tokens, "wu.gang", "POST", f"{path}/submit")
    assert started.status_code == 200 and started.get_json()["status"] == "running"
    is_problem(call(client, tokens, "wu.gang", "POST", f"{path}/submit"), 409)
    # a draft of a form without a flow is refused
    no_flow = call(
        client,
        tokens,
        "admin",
        "POST",
        "/apps/orders/forms/product/records?draft=1",
        json_body=PRODUCT,
    )
    is_problem(no_flow, 409)


# -- the OpenAPI document -------------------------------------------------------------------------
def test_the_openapi_document_is_valid_and_typed_per_form(api):
    client, service, tokens = api
    answer = call(client, tokens, "admin", "GET", "/openapi.json")
    assert answer.status_code == 200
    document = answer.get_json()
    from openapi_spec_validator import validate

    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    schemas = document["components"]["schemas"]
    leave = schemas["leave.leave_request.Create"]
    assert leave["properties"]["leave_type"]["enum"][:3] == ["annual", "sick", "personal"]
    assert leave["properties"]["start_date"]["format"] == "date"
    price = schemas["orders.product.Values"]["properties"]["price"]
    assert price["pattern"] == r"^-?\d+(\.\d{1,2})?$" and "string" in price["type"]
    line = schemas["orders.order.Values"]["properties"]["lines"]["items"]["properties"]
    assert line["amount"]["readOnly"] is True and line["price"]["pattern"]
    paths = document["paths"]
    create = paths["/apps/orders/forms/order/records"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "orders.order.Create"
    )
    assert "422" in create["responses"]
    problem = document["components"]["responses"]["Problem422"]["content"]
    assert "application/problem+json" in problem
    assert (
        "/tasks/{task_id}/approve" in paths
        and "/apps/{app}/instances/{instance_id}/withdraw" in paths
    )
    # the record returned matches its form's schema
    import jsonschema

    made = call(
        client, tokens, "admin", "POST", "/apps/orders/forms/product/records", json_body=PRODUCT
    )
    jsonschema.validate(made.get_json()["values"], schemas["orders.product.Values"])

    # a newly published app shows at the next request
    service.install_app(
        SYSTEM_ACTOR,
        load_app_text(
            "app: notes\nversion: 1.0.0\nname: Notes\n---\nform: note\nname: Note\n"
            "fields:\n  text: {type: text, required: true}\n"
            "  size: {type: select, options: [s, m, l]}\n"
        ),
    )
    document = call(client, tokens, "admin", "GET", "/openapi.json").get_json()
    validate(document)
    assert document["components"]["schemas"]["notes.note.Create"]["required"] == ["text"]
    assert "/apps/notes/forms/note/records" in document["paths"]


def test_the_api_page_lists_operations_and_passes_the_csp(api):
    client, _service, tokens = api
    page = call(client, tokens, "admin", "GET", "/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert (
        "/apps/leave/forms/leave_request/records" in text and "leave.leave_request.Create" in text
    )
    assert "problem-invalid-record" in text
    assert "<script" not in text and "style=" not in text and "<style" not in text
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert json.loads(call(client, tokens, "admin", "GET", "/openapi.json").data)["paths"]
