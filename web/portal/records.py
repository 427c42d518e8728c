"""Lists and record pages of the forms the app grants the dealer role (their orders
first among them), the status machine buttons they may press (确认收货) and files.

Rows come from ``service.records.query`` / ``get_record`` as the signed-in person: the
store's scoped record source decides which; a record outside it (another dealer's
order by direct URL) is not found, a 404, like a record that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from engine.service import RecordValidationError, ServiceError
from web.auth import actor, service
from web.portal import blueprint
from web.portal.common import cell, granted_form, order_form, relation_titles, visible_fields
from web.text import _, label
from web.uploads import download

PAGE_SIZE = 20
#: field types shown apart from the plain fields: sub-tables as tables, files as links
FILE_TYPES = ("attachment", "image", "signature")
SPECIAL = ("subtable", *FILE_TYPES)


@blueprint.route("/<app_key>/<form_key>")
def listing(app_key: str, form_key: str) -> Any:
    """One page of the form's records in the person's scope, newest first by the form's
    list sort; ``q`` searches, ``page`` pages."""
    me = actor()
    form = granted_form(me, app_key, form_key)
    search = (request.args.get("q") or "").strip()[:100] or None
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= 10_000 else 1
    try:
        found = service().records.query(
            me, app_key, form_key, search=search, page=number, page_size=PAGE_SIZE
        )
    except ServiceError as refused:
        flash(str(refused), "danger")
        found = None
    items = found.items if found else []
    titles = relation_titles(me, app_key, form.definition, [r.values for r in items])
    shown = set(form.setup.fields)
    columns = [
        f
        for key in form.definition.list_columns or ()
        for f in form.definition.fields
        if f.key == key and key in shown and f.type != "subtable"
    ]
    rows = [
        {
            "record": r,
            "cells": [(label(f.label), cell(f, r.values, r.names, titles), f.key) for f in columns],
        }
        for r in items
    ]
    total = found.total or 0 if found else 0
    return render_template(
        "portal/list.html",
        form=form,
        rows=rows,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        search=search or "",
        is_orders=(app_key, form_key) == order_form(),
    )


@blueprint.route("/<app_key>/<form_key>/<int:record_id>")
def record(app_key: str, form_key: str, record_id: int) -> Any:
    """A record the person may read: its fields, sub-table lines, progress and the
    machine buttons they may press; a pending task of theirs on it links to the task."""
    me = actor()
    form = granted_form(me, app_key, form_key)
    try:
        found = service().get_record(me, app_key, form_key, record_id)
    except ServiceError:
        abort(404)
    values = found.values
    titles = relation_titles(me, app_key, form.definition, [values])
    fields = visible_fields(form, values)
    plain = [(f, cell(f, values, found.names, titles)) for f in fields if f.type not in SPECIAL]
    tables = [_table(f, values.get(f.key) or [], titles) for f in fields if f.type == "subtable"]
    try:
        buttons = service().machines.buttons(me, app_key, form_key, record_id)
    except ServiceError:
        buttons = []
    try:
        pending = service().flows.tasks(me, status="pending", page_size=100).items
    except ServiceError:
        pending = []
    mine = [t for t in pending if (t.app, t.form, t.record_id) == (app_key, form_key, record_id)]
    return render_template(
        "portal/record.html",
        form=form,
        found=found,
        plain=plain,
        tables=tables,
        buttons=buttons,
        tasks=mine,
        files=files_of(fields, values),
        is_orders=(app_key, form_key) == order_form(),
    )


def _table(field: Any, rows: list[dict[str, Any]], titles: dict[str, Any]) -> dict[str, Any]:
    """A sub-table as a small table: its column labels and each row's shown values."""
    columns = [c for c in field.fields if any(c.key in row for row in rows)]
    return {
        "key": field.key,
        "label": label(field.label),
        "columns": [(c.key, label(c.label) or c.key) for c in columns],
        "rows": [
            [display_cell(field, c, row, titles) for c in columns]
            for row in rows
            if isinstance(row, dict)
        ],
    }


def display_cell(field: Any, column: Any, row: dict[str, Any], titles: dict[str, Any]) -> str:
    """One sub-table cell as shown (a related record by its title)."""
    return cell(column, row, {}, {column.key: titles.get(f"{field.key}.{column.key}", {})})


def files_of(fields: list[Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's attachments and images among ``fields``: field label, name and id,
    for links to ``portal.file`` (which serves them only if the record is readable)."""
    found = []
    for field in fields:
        if field.type not in FILE_TYPES:
            continue
        value = values.get(field.key)
        for item in value if isinstance(value, list) else [value] if value else []:
            if isinstance(item, dict) and item.get("id"):
                name = item.get("name") or item["id"]
                found.append({"field": label(field.label), "name": name, "id": item["id"]})
    return found


@blueprint.route("/<app_key>/<form_key>/file/<file_id>")
def file(app_key: str, form_key: str, file_id: str) -> Any:
    """A file of a record the person may read (``service.open_file`` decides; 404
    otherwise, as for a file that does not exist)."""
    granted_form(actor(), app_key, form_key)
    return download(app_key, form_key, file_id)


@blueprint.route(
    "/<app_key>/<form_key>/<int:record_id>/step/<machine>/<transition>", methods=["POST"]
)
def step(app_key: str, form_key: str, record_id: int, machine: str, transition: str) -> Any:
    """Press a status machine button (确认收货); a refusal is a message on the page."""
    me = actor()
    granted_form(me, app_key, form_key)
    try:
        buttons = service().machines.buttons(me, app_key, form_key, record_id)
        wanted = {(b.machine, b.transition): b.label for b in buttons}
        result = service().machines.transition(
            me, app_key, form_key, record_id, machine, transition, {}, source="web"
        )
        done = wanted.get((machine, transition), result.transition)
        flash(_("Done: %(step)s", step=done), "success")
    except RecordValidationError as refused:
        flash("; ".join(e.message for e in refused.errors), "danger")
    except ServiceError as refused:
        flash(str(refused), "danger")
    return redirect(
        url_for("portal.record", app_key=app_key, form_key=form_key, record_id=record_id)
    )
