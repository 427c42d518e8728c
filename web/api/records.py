"""Apps, form definitions and records: list (filters, sort, search, pages), create
(starting the form's flow; ``?draft=1`` for a draft), read, change, delete, history,
and the record's flow instance."""

from __future__ import annotations

from typing import Any

from flask import request, url_for

from engine.service import Record
from engine.service.filter_text import FILTER_SYNTAX, read_filter
from engine.service.value_schemas import form_values_schema
from web.api.core import (
    ApiError,
    actor,
    answer,
    blueprint,
    body,
    etag,
    expected_version,
    flag,
    plain,
    service,
    whole_number,
)

MAX_FILTERS = 20


def parse_filter(text: str, index: int) -> tuple[str, str, str]:
    """``'total>=100'`` -> ``('total', 'ge', '100')``; a 400 problem otherwise."""
    found = read_filter(text)
    if found is not None:
        return found
    raise ApiError(
        400,
        f"无法读取筛选条件 where[{index}]：应写作 字段 运算符 值，如 total>=100"
        f"（运算符：{FILTER_SYNTAX}）",
        f"cannot read the filter where[{index}]: write FIELD OPERATOR VALUE, e.g. total>=100 "
        f"(operators: {FILTER_SYNTAX})",
        argument=f"where[{index}]",
    )


def record_json(record: Record) -> dict[str, Any]:
    return record.to_json()


def record_answer(record: Record, status: int = 200) -> Any:
    headers = {"ETag": etag(record.version)}
    if status == 201:
        headers["Location"] = url_for(
            "api.get_record", app_key=record.app, form_key=record.form, record_id=record.id
        )
    return answer(record_json(record), status, **headers)


# -- apps and forms -------------------------------------------------------------------------
@blueprint.get("/apps")
def list_apps() -> Any:
    me = actor()
    return answer(
        {
            "items": [
                {
                    "key": app.key,
                    "version": app.version,
                    "name": app.name.get(me.locale),
                    "forms": list(app.forms),
                    "installed_at": app.installed_at,
                }
                for app in service().list_apps(me)
            ]
        }
    )


@blueprint.get("/apps/<app_key>")
def get_app(app_key: str) -> Any:
    me = actor()
    app = service().get_app(me, app_key)
    return answer(
        {
            "key": app.key,
            "version": app.version,
            "name": app.name.get(me.locale),
            "forms": list(app.forms),
            "installed_at": app.installed_at,
        }
    )


def field_summary(field: Any, locale: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": field.key,
        "type": field.type,
        "label": field.label.get(locale) if field.label else field.key,
        "required": field.required,
        "readonly": field.readonly,
    }
    if field.description is not None:
        out["description"] = field.description.get(locale)
    if field.fields:
        out["fields"] = [field_summary(child, locale) for child in field.fields]
    return out


@blueprint.get("/apps/<app_key>/forms/<form_key>")
def get_form(app_key: str, form_key: str) -> Any:
    me = actor()
    form = service().get_form(me, app_key, form_key)
    return answer(
        {
            "app": app_key,
            "key": form.key,
            "name": form.name.get(me.locale),
            "fields": [field_summary(f, me.locale) for f in form.fields],
            "list": {"columns": list(form.list_columns), "sort": list(form.list_sort)},
            "schema": {
                "request": form_values_schema(form, writing=True),
                "values": form_values_schema(form),
            },
        }
    )


# -- records --------------------------------------------------------------------------------
@blueprint.get("/apps/<app_key>/forms/<form_key>/records")
def list_records(app_key: str, form_key: str) -> Any:
    wheres = request.args.getlist("where")
    if len(wheres) > MAX_FILTERS:
        raise ApiError(
            400,
            f"筛选条件最多 {MAX_FILTERS} 个",
            f"at most {MAX_FILTERS} filters",
            argument="where",
        )
    filters = [parse_filter(text, i) for i, text in enumerate(wheres)]
    sort = [
        part.strip()
        for given in request.args.getlist("sort")
        for part in given.split(",")
        if part.strip()
    ]
    page = service().query_records(
        actor(),
        app_key,
        form_key,
        filters=filters,
        sort=sort or None,
        page=whole_number("page", request.args.get("page"), default=1, high=1_000_000),
        page_size=whole_number("page_size", request.args.get("page_size"), default=50, high=500),
        search=request.args.get("search") or None,
        with_subtables=flag("subtables"),
    )
    return answer(
        {
            "items": [record_json(r) for r in page.items],
            "total": page.total,
            "page": page.page,
            "page_size": page.page_size,
        }
    )


@blueprint.post("/apps/<app_key>/forms/<form_key>/records")
def create_record(app_key: str, form_key: str) -> Any:
    data = body()
    if flag("draft"):
        record = service().flows.save_draft(actor(), app_key, form_key, data)
    else:
        # a form with an approval flow starts it in the same transaction
        record = service().create_record(actor(), app_key, form_key, data)
    return record_answer(record, 201)


@blueprint.get("/apps/<app_key>/forms/<form_key>/records/<int:record_id>")
def get_record(app_key: str, form_key: str, record_id: int) -> Any:
    return record_answer(service().get_record(actor(), app_key, form_key, record_id))


@blueprint.patch("/apps/<app_key>/forms/<form_key>/records/<int:record_id>")
def update_record(app_key: str, form_key: str, record_id: int) -> Any:
    changes = body()
    record = service().update_record(
        actor(), app_key, form_key, record_id, changes, expected_version=expected_version()
    )
    return record_answer(record)


@blueprint.delete("/apps/<app_key>/forms/<form_key>/records/<int:record_id>")
def delete_record(app_key: str, form_key: str, record_id: int) -> Any:
    record = service().delete_record(
        actor(), app_key, form_key, record_id, expected_version=expected_version()
    )
    return answer(record_json(record))


@blueprint.get("/apps/<app_key>/forms/<form_key>/records/<int:record_id>/history")
def record_history(app_key: str, form_key: str, record_id: int) -> Any:
    revisions = service().record_history(actor(), app_key, form_key, record_id)
    return answer(
        {
            "items": [
                {
                    "revision_no": r.revision_no,
                    "action": r.action,
                    "data": plain(r.data),
                    "changes": plain(r.changes),
                    "actor": r.actor,
                    "at": r.at,
                }
                for r in revisions
            ]
        }
    )


@blueprint.get("/apps/<app_key>/forms/<form_key>/records/<int:record_id>/flow")
def record_flow(app_key: str, form_key: str, record_id: int) -> Any:
    instance = service().flows.instance_of(actor(), app_key, form_key, record_id)
    return answer(instance.to_json())


@blueprint.post("/apps/<app_key>/forms/<form_key>/records/<int:record_id>/submit")
def submit_draft(app_key: str, form_key: str, record_id: int) -> Any:
    """Start the flow of a draft (or withdrawn) record."""
    data = body(optional=True)
    instance = service().flows.submit_draft(
        actor(), app_key, form_key, record_id, choices=data.get("choices")
    )
    return answer(instance.to_json())
