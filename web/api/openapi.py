"""The OpenAPI 3.1 document of the API, made from the installed definitions, and a
readable page of it.

Every form gets its own paths and typed schemas (``<app>.<form>.Create``, ``.Changes``,
``.Values``, ``.Record``, ``.Page``) from its fields' value schemas: money as decimal
strings with a pattern, options as enums, dates as ``format: date``. The document is
kept per set of installed app versions (their content hashes), so a newly published
app shows at the next request.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import current_app, render_template, request

from engine.service import Actor
from engine.service.value_schemas import form_values_schema
from web.api.core import PROBLEM_TYPE, TITLES, actor, answer, blueprint, service
from web.api.exports import openapi_paths as export_paths
from web.api.imports import openapi_paths as import_paths

CACHE_KEY = "lowcode_api_openapi"
JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problems(*statuses: int) -> dict[str, Any]:
    return {str(s): {"$ref": f"#/components/responses/Problem{s}"} for s in statuses}


def _json_body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": schema}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _path_param(name: str, description: str, *, integer: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = (
        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1} if integer else {"type": "string"}
    )
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema,
    }


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "description": 'The version last read, as the record\'s ETag (`"3"`): a stale change is 409.',
    "schema": {"type": "string"},
}
EXPECTED_VERSION = _query(
    "expected_version",
    "The version last read (instead of If-Match).",
    {"type": "integer", "minimum": 1},
)
PAGING = [
    _query("page", "Page number, from 1.", {"type": "integer", "minimum": 1, "default": 1}),
    _query(
        "page_size",
        "Records per page.",
        {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
    ),
]

BASE_SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "description": "An RFC 9457 problem, in the actor's language.",
        "properties": {
            "type": {"type": "string", "format": "uri-reference"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "code": {"type": ["string", "null"], "description": "a stable machine name"},
            "argument": {"type": "string", "description": "the argument refused (400)"},
            "errors": {
                "type": "array",
                "description": "every problem of a submitted record (422)",
                "items": _ref("FieldError"),
            },
        },
        "required": ["type", "title", "status", "detail"],
    },
    "FieldError": {
        "type": "object",
        "properties": {
            "field": {
                "type": ["string", "null"],
                "description": "field key, lines.qty in a sub-table",
            },
            "row": {"type": ["integer", "null"], "description": "sub-table row, counted from 1"},
            "message": {"type": "string"},
            "code": {"type": "string"},
        },
        "required": ["field", "row", "message", "code"],
    },
    "App": {
        "type": "object",
        "properties": {
            "key": {"type": "string"},
            "version": {"type": "string"},
            "name": {"type": "string"},
            "forms": {"type": "array", "items": {"type": "string"}},
            "installed_at": {"type": "string", "format": "date-time"},
        },
    },
    "Form": {
        "type": "object",
        "description": "A form's definition summary and the JSON Schemas of its record values.",
        "properties": {
            "app": {"type": "string"},
            "key": {"type": "string"},
            "name": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "object"}},
            "list": {"type": "object"},
            "schema": {
                "type": "object",
                "properties": {"request": {"type": "object"}, "values": {"type": "object"}},
            },
        },
    },
    "Task": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "instance_id": {"type": "integer"},
            "app": {"type": "string"},
            "form": {"type": "string"},
            "record_id": {"type": "integer"},
            "flow": {"type": "string"},
            "node": {"type": "string"},
            "node_name": {"type": "string"},
            "kind": {"type": "string"},
            "assignee": {"type": "string"},
            "status": {"type": "string"},
            "reason": {"type": "object"},
            "created_at": {"type": "string", "format": "date-time"},
            "title": {"type": ["string", "null"]},
            "submitter": {"type": ["string", "null"]},
            "acted_at": {"type": ["string", "null"], "format": "date-time"},
            "acted_by": {"type": ["string", "null"]},
            "comment": {"type": ["string", "null"]},
        },
    },
    "TaskPage": {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref("Task")},
            "total": {"type": "integer"},
        },
    },
    "TaskDetail": {
        "type": "object",
        "properties": {
            "task": _ref("Task"),
            "instance": _ref("Instance"),
            "values": {"type": "object", "description": "the record as the task's node shows it"},
            "editable": {"type": "array", "items": {"type": "string"}},
            "readonly": {"type": "array", "items": {"type": "string"}},
            "comment": {"type": "string"},
            "signature": {"type": "boolean"},
        },
    },
    "Instance": {
        "type": "object",
        "description": "A flow instance: state, tasks, timeline and routing decisions.",
        "properties": {
            "id": {"type": "integer"},
            "app": {"type": "string"},
            "form": {"type": "string"},
            "record_id": {"type": "integer"},
            "flow": {"type": "string"},
            "flow_hash": {"type": "string"},
            "status": {"type": "string"},
            "record_status": {"type": "string"},
            "submitter": {"type": "string"},
            "cycle": {"type": "integer"},
            "started_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "title": {"type": ["string", "null"]},
            "active_nodes": {"type": "array", "items": {"type": "string"}},
            "tasks": {"type": "array", "items": _ref("Task")},
            "timeline": {"type": "array", "items": {"type": "object"}},
            "routes": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Revision": {
        "type": "object",
        "properties": {
            "revision_no": {"type": "integer"},
            "action": {"type": "string"},
            "data": {"type": "object"},
            "changes": {"type": "object"},
            "actor": {"type": "string"},
            "at": {"type": "string", "format": "date-time"},
        },
    },
    "FileMetadata": {
        "type": "object",
        "description": "What an attachment or image value holds for one file.",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "content_type": {"type": ["string", "null"]},
            "sha256": {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"},
        },
        "required": ["id", "name", "size"],
    },
    "Comment": {
        "type": "object",
        "properties": {"comment": {"type": "string", "maxLength": 2000}},
    },
}

#: task action -> (summary, request body properties, required members)
TASK_ACTIONS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "approve": (
        "Approve (or complete) a task, with edits of the node's editable fields",
        {
            "comment": {"type": "string"},
            "changes": {"type": "object", "description": "editable fields of the node"},
            "signature": {"type": "string", "maxLength": 200},
        },
        [],
    ),
    "reject": ("Reject a task", {"comment": {"type": "string"}}, []),
    "send-back": (
        "Send back to the previous node, the submitter (start) or an earlier node key",
        {"to": {"type": "string", "default": "previous"}, "comment": {"type": "string"}},
        [],
    ),
    "transfer": (
        "Hand a pending task to someone else",
        {"to": {"type": "string", "description": "a login"}, "comment": {"type": "string"}},
        ["to"],
    ),
    "add-signer": (
        "Add people who act before, after or alongside this task",
        {
            "logins": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "position": {"type": "string", "enum": ["before", "after", "parallel"]},
            "mode": {"type": "string", "enum": ["all", "any", "sequential"]},
            "comment": {"type": "string"},
        },
        ["logins"],
    ),
}
INSTANCE_ACTIONS: dict[str, tuple[str, dict[str, Any], list[str]]] = {
    "withdraw": ("Withdraw a request (the submitter)", {}, []),
    "resubmit": (
        "Resubmit a request that was sent back to the submitter, with optional changes",
        {"changes": {"type": "object"}},
        [],
    ),
    "remind": ("Remind the holders of the pending tasks (the submitter or an admin)", {}, []),
    "comment": (
        "A comment on the timeline; @login mentions notify",
        {"text": {"type": "string", "minLength": 1}},
        ["text"],
    ),
}


def _general_paths() -> dict[str, Any]:
    app = _path_param("app", "app key")
    task = _path_param("task_id", "task id", integer=True)
    instance = _path_param("instance_id", "flow instance id", integer=True)
    paths: dict[str, Any] = {
        "/apps": {
            "get": {
                "operationId": "listApps",
                "summary": "Installed apps",
                "tags": ["apps"],
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": _ref("App")}},
                        }
                    ),
                    **_problems(401),
                },
            }
        },
        "/apps/{app}": {
            "get": {
                "operationId": "getApp",
                "summary": "One installed app",
                "tags": ["apps"],
                "parameters": [app],
                "responses": {"200": _ok(_ref("App")), **_problems(401, 404)},
            }
        },
        "/apps/{app}/forms/{form}": {
            "get": {
                "operationId": "getForm",
                "summary": "A form's definition summary and the JSON Schema of its records",
                "tags": ["apps"],
                "parameters": [app, _path_param("form", "form key")],
                "responses": {"200": _ok(_ref("Form")), **_problems(401, 404)},
            }
        },
        "/tasks": {
            "get": {
                "operationId": "listTasks",
                "summary": "My tasks: pending, done (what I handled) or cc (copies)",
                "tags": ["flows"],
                "parameters": [
                    _query(
                        "status",
                        "Which tasks.",
                        {"type": "string", "enum": ["pending", "done", "cc"], "default": "pending"},
                    ),
                    _query("app", "Only this app's tasks.", {"type": "string"}),
                    *PAGING,
                ],
                "responses": {"200": _ok(_ref("TaskPage")), **_problems(400, 401)},
            }
        },
        "/tasks/{task_id}": {
            "get": {
                "operationId": "getTask",
                "summary": "A task with the record as its node shows it",
                "tags": ["flows"],
                "parameters": [task],
                "responses": {"200": _ok(_ref("TaskDetail")), **_problems(401, 404)},
            }
        },
        "/apps/{app}/instances/{instance_id}": {
            "get": {
                "operationId": "getInstance",
                "summary": "A flow instance: tasks, timeline, routing decisions",
                "tags": ["flows"],
                "parameters": [app, instance],
                "responses": {"200": _ok(_ref("Instance")), **_problems(401, 404)},
            }
        },
    }
    for action, (summary, properties, required) in TASK_ACTIONS.items():
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        paths[f"/tasks/{{task_id}}/{action}"] = {
            "post": {
                "operationId": f"task.{action}",
                "summary": summary,
                "tags": ["flows"],
                "parameters": [task],
                "requestBody": _json_body(schema, required=bool(required)),
                "responses": {
                    "200": _ok(_ref("Task"), "The task after the action"),
                    **_problems(400, 401, 404, 409, 422),
                },
            }
        }
    for action, (summary, properties, required) in INSTANCE_ACTIONS.items():
        operation: dict[str, Any] = {
            "operationId": f"instance.{action}",
            "summary": summary,
            "tags": ["flows"],
            "parameters": [app, instance],
            "responses": {
                "200": _ok(_ref("Instance"), "The instance after the action"),
                **_problems(400, 401, 404, 409, 422),
            },
        }
        if properties:
            schema = {"type": "object", "properties": properties}
            if required:
                schema["required"] = required
            operation["requestBody"] = _json_body(schema, required=bool(required))
        paths[f"/apps/{{app}}/instances/{{instance_id}}/{action}"] = {"post": operation}
    return paths


def _form_parts(app_key: str, form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schemas, paths) of one form."""
    name = f"{app_key}.{form.key}"
    label = f"{form.name.en} ({name})"
    create = form_values_schema(form, writing=True)
    changes = copy.deepcopy(create)
    changes.pop("required", None)
    schemas = {
        f"{name}.Create": {**create, "title": f"{form.name.en}: new record"},
        f"{name}.Changes": {**changes, "title": f"{form.name.en}: changes"},
        f"{name}.Values": {**form_values_schema(form), "title": f"{form.name.en}: values"},
        f"{name}.Record": {
            "type": "object",
            "title": f"{form.name.en}: record",
            "properties": {
                "app": {"const": app_key},
                "form": {"const": form.key},
                "id": {"type": "integer"},
                "version": {"type": "integer"},
                "status": {"type": "string"},
                "title": {"type": ["string", "null"]},
                "values": _ref(f"{name}.Values"),
                "names": {
                    "type": "object",
                    "description": "display names of organisation values, by field",
                },
                "created_at": {"type": "string", "format": "date-time"},
                "created_by": {"type": "string"},
                "updated_at": {"type": "string", "format": "date-time"},
                "updated_by": {"type": "string"},
            },
            "required": ["id", "version", "status", "values"],
        },
        f"{name}.Page": {
            "type": "object",
            "properties": {
                "items": {"type": "array", "items": _ref(f"{name}.Record")},
                "total": {"type": ["integer", "null"]},
                "page": {"type": "integer"},
                "page_size": {"type": "integer"},
            },
        },
    }
    base = f"/apps/{app_key}/forms/{form.key}"
    record = _path_param("record_id", "record id", integer=True)
    tags = [name]
    record_ok = {
        "description": "The record",
        "headers": {"ETag": {"description": "the record's version", "schema": {"type": "string"}}},
        "content": {JSON: {"schema": _ref(f"{name}.Record")}},
    }
    paths: dict[str, Any] = {
        f"{base}/records": {
            "get": {
                "operationId": f"{name}.list",
                "summary": f"{label}: a page of records",
                "tags": tags,
                "parameters": [
                    {
                        "name": "where",
                        "in": "query",
                        "required": False,
                        "description": "A filter FIELD OP VALUE (ops: = != > >= < <= ~ ^=), "
                        "e.g. total>=100; repeat for more (all must hold).",
                        "schema": {"type": "array", "items": {"type": "string"}},
                        "style": "form",
                        "explode": True,
                    },
                    _query(
                        "sort",
                        "Fields to sort by, comma-separated; -field for descending.",
                        {"type": "string"},
                    ),
                    _query(
                        "search", "Text searched in the form's text fields.", {"type": "string"}
                    ),
                    _query("subtables", "1: include sub-table rows.", {"type": "boolean"}),
                    *PAGING,
                ],
                "responses": {"200": _ok(_ref(f"{name}.Page")), **_problems(400, 401, 403, 404)},
            },
            "post": {
                "operationId": f"{name}.create",
                "summary": f"{label}: create a record (starts the form's flow, if any)",
                "tags": tags,
                "parameters": [
                    _query(
                        "draft", "1: save a draft without starting the flow.", {"type": "boolean"}
                    )
                ],
                "requestBody": _json_body(_ref(f"{name}.Create")),
                "responses": {
                    "201": {**record_ok, "description": "Created"},
                    **_problems(400, 401, 403, 404, 409, 422),
                },
            },
        },
        f"{base}/records/{{record_id}}": {
            "get": {
                "operationId": f"{name}.get",
                "summary": f"{label}: one record",
                "tags": tags,
                "parameters": [record],
                "responses": {"200": record_ok, **_problems(401, 404)},
            },
            "patch": {
                "operationId": f"{name}.update",
                "summary": f"{label}: change a record",
                "tags": tags,
                "parameters": [record, IF_MATCH, EXPECTED_VERSION],
                "requestBody": _json_body(_ref(f"{name}.Changes")),
                "responses": {"200": record_ok, **_problems(400, 401, 403, 404, 409, 422)},
            },
            "delete": {
                "operationId": f"{name}.delete",
                "summary": f"{label}: delete a record (kept with its history)",
                "tags": tags,
                "parameters": [record, IF_MATCH, EXPECTED_VERSION],
                "responses": {"200": record_ok, **_problems(400, 401, 403, 404, 409)},
            },
        },
        f"{base}/records/{{record_id}}/history": {
            "get": {
                "operationId": f"{name}.history",
                "summary": f"{label}: every revision, oldest first",
                "tags": tags,
                "parameters": [record],
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": _ref("Revision")}},
                        }
                    ),
                    **_problems(401, 403, 404),
                },
            }
        },
        f"{base}/records/{{record_id}}/flow": {
            "get": {
                "operationId": f"{name}.flow",
                "summary": f"{label}: the record's newest flow instance",
                "tags": tags,
                "parameters": [record],
                "responses": {"200": _ok(_ref("Instance")), **_problems(401, 404)},
            }
        },
        f"{base}/records/{{record_id}}/submit": {
            "post": {
                "operationId": f"{name}.submit",
                "summary": f"{label}: start the flow of a draft or withdrawn record",
                "tags": tags,
                "parameters": [record],
                "requestBody": _json_body(
                    {
                        "type": "object",
                        "properties": {
                            "choices": {
                                "type": "object",
                                "description": "node key -> logins, for nodes whose approvers the submitter picks",
                                "additionalProperties": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                },
                            }
                        },
                    },
                    required=False,
                ),
                "responses": {
                    "200": _ok(_ref("Instance")),
                    **_problems(400, 401, 403, 404, 409, 422),
                },
            }
        },
    }
    file_fields = [f.key for f in form.fields if f.type in ("attachment", "image")] + [
        f"{f.key}.{c.key}"
        for f in form.fields
        if f.type == "subtable"
        for c in f.fields
        if c.type in ("attachment", "image")
    ]
    if file_fields:
        paths[f"{base}/files/{{name}}"] = {
            "post": {
                "operationId": f"{name}.upload",
                "summary": f"{label}: upload a file for a field; put the metadata in the field's value",
                "tags": tags,
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "the attachment or image field",
                        "schema": {"type": "string", "enum": file_fields},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {
                                        "type": "string",
                                        "contentMediaType": "application/octet-stream",
                                    }
                                },
                                "required": ["file"],
                            }
                        }
                    },
                },
                "responses": {
                    "201": _ok(_ref("FileMetadata"), "Stored"),
                    **_problems(400, 401, 403, 404, 422),
                },
            },
            "get": {
                "operationId": f"{name}.download",
                "summary": f"{label}: download a file (whoever may read its record)",
                "tags": tags,
                "parameters": [
                    {
                        "name": "name",
                        "in": "path",
                        "required": True,
                        "description": "the file id (from its metadata)",
                        "schema": {"type": "string", "maxLength": 36},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The file's bytes",
                        "content": {
                            "application/octet-stream": {
                                "schema": {
                                    "type": "string",
                                    "contentMediaType": "application/octet-stream",
                                }
                            }
                        },
                    },
                    **_problems(401, 404),
                },
            },
        }
    return schemas, paths


def build_document(me: Actor, server: str) -> dict[str, Any]:
    """The whole document for the installed apps as they are now."""
    schemas = copy.deepcopy(BASE_SCHEMAS)
    paths = _general_paths()
    tags = [
        {"name": "apps", "description": "Installed apps and form definitions"},
        {"name": "flows", "description": "Tasks and flow instances"},
    ]
    for app in service().list_apps(me):
        for form_key in app.forms:
            form = service().get_form(me, app.key, form_key)
            form_schemas, form_paths = _form_parts(app.key, form)
            schemas.update(form_schemas)
            paths.update(form_paths)
            tags.append({"name": f"{app.key}.{form_key}", "description": form.name.en})
    # spreadsheet imports (web/api/imports.py)
    paths.update(import_paths())
    tags.append({"name": "imports", "description": "Spreadsheet imports of any form"})
    paths.update(export_paths())  # xlsx / csv exports (web/api/exports.py)
    tags.append({"name": "exports", "description": "Excel and csv exports of any form"})
    responses = {}
    for status in (400, 401, 403, 404, 409, 422):
        _kind, _zh, title = TITLES[status]
        problem_schema = _ref("Problem")
        responses[f"Problem{status}"] = {
            "description": title,
            "content": {PROBLEM_TYPE: {"schema": problem_schema}},
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lowcode-channel REST API",
            "version": "1",
            "description": "Records, approval flows and files of the installed apps. "
            "Authenticate with `Authorization: Bearer <token>` (`lowcode user token LOGIN`). "
            "Refusals are application/problem+json (RFC 9457).",
        },
        "servers": [{"url": server}],
        "security": [{"bearer": []}],
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": responses,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token of the organisation (lowcode user token LOGIN)",
                }
            },
        },
    }


def current_document() -> dict[str, Any]:
    """The document, rebuilt when an app was installed or changed since the last one."""
    me = actor()
    server = f"{request.script_root}/api/v1"
    key = (server, tuple((a.key, a.content_hash) for a in service().list_apps(me)))
    cached = current_app.extensions.get(CACHE_KEY)
    if cached is not None and cached[0] == key:
        return cached[1]
    document = build_document(me, server)
    current_app.extensions[CACHE_KEY] = (key, document)
    return document


@blueprint.get("/openapi.json")
def openapi_document() -> Any:
    return answer(current_document())


@blueprint.get("/docs")
def docs() -> Any:
    """The document as a page: operations, then every schema (no script, no inline style)."""
    document = current_document()
    operations = [
        {
            "method": method.upper(),
            "path": path,
            "id": operation.get("operationId", ""),
            "summary": operation.get("summary", ""),
            "tag": (operation.get("tags") or [""])[0],
        }
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    schemas = [
        {
            "name": name,
            "properties": _rows(schema),
            "text": json.dumps(schema, ensure_ascii=False, indent=2),
        }
        for name, schema in document["components"]["schemas"].items()
    ]
    problems = [(kind, title_en) for kind, _zh, title_en in TITLES.values()]
    return render_template(
        "api_docs.html",
        operations=operations,
        schemas=schemas,
        problems=problems,
        server=document["servers"][0]["url"],
    )


def _rows(schema: dict[str, Any]) -> list[dict[str, str]]:
    """One row per property: its type and constraints as short text."""
    required = set(schema.get("required", ()))
    rows = []
    for key, prop in (schema.get("properties") or {}).items():
        kind = prop.get("type", prop.get("$ref", "").rsplit("/", 1)[-1] or "any")
        facts = []
        for word in ("format", "pattern", "enum", "maxLength", "minimum", "maxItems", "const"):
            if word in prop:
                facts.append(f"{word}: {json.dumps(prop[word], ensure_ascii=False)}")
        if prop.get("readOnly"):
            facts.append("read-only")
        rows.append(
            {
                "name": key,
                "type": kind if isinstance(kind, str) else " | ".join(kind),
                "required": "yes" if key in required else "",
                "facts": "; ".join(facts),
                "title": str(prop.get("title", prop.get("description", ""))),
            }
        )
    return rows
