"""The record page: the fields as the actor may see them, the approval timeline with
the routing explanation, and the actions the actor may take now."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import login_required

from engine.service import ServiceError
from web.auth import actor, service

blueprint = Blueprint("records", __name__, url_prefix="/r")


@blueprint.route("/<app_key>/<form_key>/<int:record_id>")
@login_required
def show(app_key: str, form_key: str, record_id: int) -> Any:
    me = actor()
    try:
        instance = service().flows.instance_of(me, app_key, form_key, record_id)
    except ServiceError:
        instance = None
    mine = [
        t
        for t in (instance.tasks if instance else [])
        if t.assignee == me.user_id and t.status == "pending"
    ]
    try:
        form = service().get_form(me, app_key, form_key)
    except ServiceError:
        abort(404)
    names: dict[str, Any] = {}
    try:
        record = service().get_record(me, app_key, form_key, record_id)
        values, names = record.values, record.names
    except ServiceError:
        # no read grant, or out of scope: reads as not found, unless the actor holds a
        # task of the record's flow, who sees it as their node shows it
        if not mine:
            abort(404)
        values = service().flows.task(me, mine[0].id).values
    fields = [f for f in form.fields if f.key in values]
    titles = _relation_titles(me, app_key, form, values)
    return render_template(
        "record.html",
        form=form,
        values=values,
        record_id=record_id,
        fields=fields,
        instance=instance,
        mine=mine,
        me=me.user_id,
        names=names,
        titles=titles,
    )


def _relation_titles(me: Any, app_key: str, form: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Titles of the records relation fields point at, by field path then id (only those
    the actor may see; the others stay ids)."""
    wanted: dict[str, set[int]] = {}
    for field in form.fields:
        if field.type == "relation" and isinstance(values.get(field.key), int):
            wanted.setdefault(field.key, set()).add(values[field.key])
        if field.type == "subtable":
            for column in field.fields:
                if column.type == "relation":
                    path = f"{field.key}.{column.key}"
                    for row in values.get(field.key) or []:
                        if isinstance(row.get(column.key), int):
                            wanted.setdefault(path, set()).add(row[column.key])
    titles: dict[str, Any] = {}
    for path, ids in wanted.items():
        try:
            titles[path] = service().records.relation_display(me, app_key, form.key, path, ids)
        except ServiceError:
            titles[path] = {}
    return titles
