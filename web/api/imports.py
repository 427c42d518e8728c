"""Imports over the API: upload an xlsx or csv (multipart, field ``file``), look at it,
check it (a dry run), import it now or in the background, follow and cancel the run,
download its failing rows; the form's import template; the form's saved mapping.

The options of a run are query arguments: ``sheet``, ``mode=all|valid``, ``match=FIELD``,
``commit=1`` (without it: a dry run), ``background=1`` (202 with the run, polled at
``/imports/<id>``), and ``mapping`` (a JSON object header -> field, as a form field or
query argument). ``errors=xlsx`` answers a finished run's failing rows as a workbook
instead of the JSON report.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request, url_for

from web.api.core import ApiError, actor, answer, blueprint, body, flag, service, whole_number

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload() -> tuple[bytes, str]:
    """The uploaded file's bytes and name (400 when there is none)."""
    found = request.files.get("file")
    if found is None or not found.filename:
        raise ApiError(
            400,
            "请用 multipart/form-data 上传文件，字段名为 file",
            "upload the file as multipart/form-data in a field named file",
            argument="file",
        )
    return found.read(), found.filename


def _mapping() -> dict[str, Any] | None:
    text = request.form.get("mapping") or request.args.get("mapping")
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ApiError(
            400,
            'mapping 应为 JSON 对象：{"表头": "字段"}',
            'mapping must be a JSON object: {"header": "field"}',
            argument="mapping",
        )
    return data


def _option(name: str) -> str | None:
    return request.form.get(name) or request.args.get(name) or None


def _workbook(data: bytes, name: str) -> Response:
    return Response(
        data,
        mimetype=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@blueprint.post("/apps/<app_key>/forms/<form_key>/imports/inspect")
def inspect_import(app_key: str, form_key: str) -> Any:
    """A file's sheets, headers, first rows and proposed mapping (nothing written)."""
    data, name = _upload()
    preview = service().imports.inspect(
        actor(), app_key, form_key, data, name, sheet=_option("sheet")
    )
    return answer(preview.to_json())


@blueprint.post("/apps/<app_key>/forms/<form_key>/imports")
def run_import(app_key: str, form_key: str) -> Any:
    """Check (default) or import (``commit=1``) a file; ``background=1``: 202 with the run."""
    data, name = _upload()
    options: dict[str, Any] = {
        "sheet": _option("sheet"),
        "mapping": _mapping(),
        "mode": _option("mode") or "all",
        "match": _option("match"),
        "dry_run": not flag("commit"),
    }
    imports = service().imports
    me = actor()
    if flag("background"):
        run_id = imports.submit(me, app_key, form_key, data, name, **options)
        run = imports.get_run(me, run_id)
        location = url_for("api.get_import", run_id=run_id)
        return answer(run.to_json(), 202, Location=location)
    report = imports.run(me, app_key, form_key, data, name, **options)
    if request.args.get("errors") == "xlsx":
        stem = name.rsplit(".", 1)[0]
        return _workbook(imports.error_workbook(report, me.locale), f"{stem}-errors.xlsx")
    return answer(report.to_json())


@blueprint.get("/apps/<app_key>/forms/<form_key>/imports")
def list_imports(app_key: str, form_key: str) -> Any:
    """The token user's newest imports of the form."""
    runs = service().imports.runs(actor(), app_key, form_key)
    return answer({"items": [r.to_json() for r in runs]})


@blueprint.get("/imports/<run_id>")
def get_import(run_id: str) -> Any:
    """One of the token user's imports: status, progress (done/total), report."""
    number = whole_number("run_id", run_id)
    return answer(service().imports.get_run(actor(), number).to_json())


@blueprint.post("/imports/<run_id>/cancel")
def cancel_import(run_id: str) -> Any:
    """Ask a run to stop (a finished one is left as it is)."""
    number = whole_number("run_id", run_id)
    return answer(service().imports.cancel(actor(), number).to_json())


@blueprint.get("/imports/<run_id>/errors")
def import_errors(run_id: str) -> Any:
    """A finished run's failing rows with their reasons (xlsx)."""
    number = whole_number("run_id", run_id)
    data = service().imports.run_errors(actor(), number)
    return _workbook(data, f"import-{number}-errors.xlsx")


@blueprint.get("/apps/<app_key>/forms/<form_key>/import-template")
def import_template(app_key: str, form_key: str) -> Any:
    """The form's import template (xlsx)."""
    data = service().imports.template(actor(), app_key, form_key)
    return _workbook(data, f"{form_key}-template.xlsx")


@blueprint.put("/apps/<app_key>/forms/<form_key>/import-mapping")
def save_import_mapping(app_key: str, form_key: str) -> Any:
    """Keep ``{"mapping": {header: field}}`` as the form's mapping; 204."""
    data = body()
    mapping = data.get("mapping")
    service().imports.save_mapping(actor(), app_key, form_key, mapping)  # checked there
    return Response(status=204)


# -- OpenAPI ------------------------------------------------------------------------------
def openapi_param(
    name: str, where: str, description: str, schema: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


def openapi_problems(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/Problem{s}"} for s in statuses}


def _json(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }


def _xlsx(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {XLSX: {"schema": {"type": "string", "contentMediaType": XLSX}}},
    }


def openapi_paths() -> dict[str, Any]:
    """The import operations for the OpenAPI document (web/api/openapi.py)."""
    app = openapi_param("app", "path", "app key", {"type": "string", "maxLength": 50})
    form = openapi_param("form", "path", "form key", {"type": "string", "maxLength": 50})
    run = openapi_param("run_id", "path", "import run id", {"type": "integer", "minimum": 1})
    upload = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
                        "mapping": {"type": "string", "description": "JSON {header: field}"},
                    },
                    "required": ["file"],
                }
            }
        },
    }
    sheet = openapi_param("sheet", "query", "the workbook's sheet", {"type": "string"})
    tags = ["imports"]
    return {
        "/apps/{app}/forms/{form}/imports/inspect": {
            "post": {
                "operationId": "inspectImport",
                "summary": "Sheets, headers, first rows and proposed mapping of a file",
                "tags": tags,
                "parameters": [app, form, sheet],
                "requestBody": upload,
                "responses": {"200": _json("The preview"), **openapi_problems(400, 401, 403, 404)},
            }
        },
        "/apps/{app}/forms/{form}/imports": {
            "post": {
                "operationId": "runImport",
                "summary": "Check (default) or import (commit=1) a file; background=1: a run",
                "tags": tags,
                "parameters": [
                    app,
                    form,
                    sheet,
                    openapi_param(
                        "mode",
                        "query",
                        "all or nothing, or the valid rows",
                        {"type": "string", "enum": ["all", "valid"]},
                    ),
                    openapi_param(
                        "match",
                        "query",
                        "update records found by this unique field",
                        {"type": "string"},
                    ),
                    openapi_param(
                        "commit", "query", "1: write (else a dry run)", {"type": "string"}
                    ),
                    openapi_param("background", "query", "1: run as a job", {"type": "string"}),
                    openapi_param(
                        "errors",
                        "query",
                        "xlsx: answer the failing rows",
                        {"type": "string", "enum": ["xlsx"]},
                    ),
                ],
                "requestBody": upload,
                "responses": {
                    "200": _json("The report"),
                    "202": _json("The queued run"),
                    **openapi_problems(400, 401, 403, 404),
                },
            },
            "get": {
                "operationId": "listImports",
                "summary": "My newest imports of the form",
                "tags": tags,
                "parameters": [app, form],
                "responses": {"200": _json("The runs"), **openapi_problems(400, 401)},
            },
        },
        "/imports/{run_id}": {
            "get": {
                "operationId": "getImport",
                "summary": "One of my imports: status, progress, report",
                "tags": tags,
                "parameters": [run],
                "responses": {"200": _json("The run"), **openapi_problems(400, 401, 404)},
            }
        },
        "/imports/{run_id}/cancel": {
            "post": {
                "operationId": "cancelImport",
                "summary": "Ask one of my imports to stop",
                "tags": tags,
                "parameters": [run],
                "responses": {"200": _json("The run"), **openapi_problems(400, 401, 404)},
            }
        },
        "/imports/{run_id}/errors": {
            "get": {
                "operationId": "importErrors",
                "summary": "A finished import's failing rows with their reasons",
                "tags": tags,
                "parameters": [run],
                "responses": {"200": _xlsx("The failing rows"), **openapi_problems(400, 401, 404)},
            }
        },
        "/apps/{app}/forms/{form}/import-template": {
            "get": {
                "operationId": "importTemplate",
                "summary": "The form's import template",
                "tags": tags,
                "parameters": [app, form],
                "responses": {"200": _xlsx("The template"), **openapi_problems(400, 401, 403, 404)},
            }
        },
        "/apps/{app}/forms/{form}/import-mapping": {
            "put": {
                "operationId": "saveImportMapping",
                "summary": "Keep the form's column mapping",
                "tags": tags,
                "parameters": [app, form],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"mapping": {"type": "object"}},
                                "required": ["mapping"],
                            }
                        }
                    },
                },
                "responses": {
                    "204": {"description": "Saved"},
                    **openapi_problems(400, 401, 403, 404),
                },
            }
        },
    }
