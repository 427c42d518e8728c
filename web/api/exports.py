"""Exports over the API: a form's records (filters, sort, search, columns, in the
token's user's export scope) as xlsx or csv. Up to ``DIRECT_LIMIT`` records come back at
once; more (or ``?background=1``) start a background export: 202 with the run, polled at
``/exports/<id>`` and downloaded from ``/exports/<id>/file`` when its status is done."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, request, url_for

from engine.service.exports import DIRECT_LIMIT, FORMATS, mime_of
from web.api.core import ApiError, actor, answer, blueprint, flag, service
from web.api.records import MAX_FILTERS, parse_filter

#: most columns one export may name
MAX_COLUMNS = 200


def _file(path: Path, name: str, mime: str) -> Response:
    """Stream a temporary file and remove it once sent."""

    def chunks() -> Any:
        try:
            with path.open("rb") as handle:
                while block := handle.read(64 * 1024):
                    yield block
        finally:
            path.unlink(missing_ok=True)

    size = path.stat().st_size
    return Response(
        chunks(),
        mimetype=mime,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(size),
        },
    )


@blueprint.get("/apps/<app_key>/forms/<form_key>/export")
def export_records(app_key: str, form_key: str) -> Any:
    """The form's records as ``?format=xlsx`` (default) or ``csv``."""
    file_format = request.args.get("format", "xlsx")
    if file_format not in FORMATS:
        raise ApiError(
            400,
            f"format 应为 {' 或 '.join(FORMATS)}，收到 {file_format[:20]!r}",
            f"format must be {' or '.join(FORMATS)}; got {file_format[:20]!r}",
            argument="format",
        )
    wheres = request.args.getlist("where")
    columns = request.args.getlist("column")
    if len(wheres) > MAX_FILTERS or len(columns) > MAX_COLUMNS:
        raise ApiError(
            400,
            f"筛选条件最多 {MAX_FILTERS} 个，列最多 {MAX_COLUMNS} 个",
            f"at most {MAX_FILTERS} filters and {MAX_COLUMNS} columns",
            argument="where" if len(wheres) > MAX_FILTERS else "column",
        )
    filters = [parse_filter(text, i) for i, text in enumerate(wheres)]
    sort = [
        part.strip()
        for given in request.args.getlist("sort")
        for part in given.split(",")
        if part.strip()
    ]
    options: dict[str, Any] = {
        "format": file_format,
        "filters": filters,
        "sort": sort or None,
        "search": request.args.get("search") or None,
        "columns": columns or None,
    }
    exports = service().exports
    background = flag("background")
    if not background:
        total = exports.count(actor(), app_key, form_key, filters=filters, search=options["search"])
        background = total > DIRECT_LIMIT
    if background:
        run_id = exports.submit(actor(), app_key, form_key, **options)
        run = exports.get_run(actor(), run_id)
        return answer(run.to_json(), 202, Location=url_for("api.export_run", run_id=run_id))
    made = exports.write(actor(), app_key, form_key, **options)
    return _file(made.path, made.file_name, made.mime)


@blueprint.get("/exports/<int:run_id>")
def export_run(run_id: int) -> Any:
    """A background export of the caller's: status and progress."""
    return answer(service().exports.get_run(actor(), run_id).to_json())


@blueprint.get("/exports/<int:run_id>/file")
def export_run_file(run_id: int) -> Any:
    """The file of a finished background export of the caller's (404 until done)."""
    name, data = service().exports.download(actor(), run_id)
    mime = mime_of("csv") if name.endswith(".csv") else mime_of("xlsx")
    return Response(
        data, mimetype=mime, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def openapi_paths() -> dict[str, Any]:
    """The export operations for the OpenAPI document (web/api/openapi.py)."""
    from web.api.imports import openapi_param, openapi_problems

    app = openapi_param("app", "path", "app key", {"type": "string", "maxLength": 50})
    form = openapi_param("form", "path", "form key", {"type": "string", "maxLength": 50})
    run = openapi_param("run_id", "path", "export run id", {"type": "integer", "minimum": 1})
    text_list = {"type": "array", "items": {"type": "string"}}
    files = {
        "description": "The file",
        "content": {mime_of(kind): {"schema": {"type": "string"}} for kind in FORMATS},
    }
    run_json = {
        "description": "The background export run",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    tags = ["exports"]
    return {
        "/apps/{app}/forms/{form}/export": {
            "get": {
                "operationId": "exportRecords",
                "summary": "The records the caller may export, as xlsx or csv "
                f"(more than {DIRECT_LIMIT:,} or background=1: a background run, 202)",
                "tags": tags,
                "parameters": [
                    app,
                    form,
                    openapi_param(
                        "format", "query", "xlsx (default) or csv", {"enum": list(FORMATS)}
                    ),
                    openapi_param("where", "query", "filters as on the records list", text_list),
                    openapi_param("sort", "query", "sort keys, -key descending", text_list),
                    openapi_param("search", "query", "full-text search", {"type": "string"}),
                    openapi_param("column", "query", "the columns, in order", text_list),
                    openapi_param(
                        "background", "query", "1: always a background run", {"type": "string"}
                    ),
                ],
                "responses": {
                    "200": files,
                    "202": run_json,
                    **openapi_problems(400, 401, 403, 404),
                },
            }
        },
        "/exports/{run_id}": {
            "get": {
                "operationId": "getExportRun",
                "summary": "A background export of the caller's: status and progress",
                "tags": tags,
                "parameters": [run],
                "responses": {"200": run_json, **openapi_problems(401, 404)},
            }
        },
        "/exports/{run_id}/file": {
            "get": {
                "operationId": "getExportFile",
                "summary": "The file of a finished background export of the caller's",
                "tags": tags,
                "parameters": [run],
                "responses": {"200": files, **openapi_problems(401, 404)},
            }
        },
    }
