"""The record page: the fields as the actor may see them, the revision history with a
compare view, the approval timeline with the routing explanation, and the actions the
actor may take now (approve / reject / send back / transfer / add signer for the holder
of a pending task; withdraw, remind and resubmit for the submitter; a comment for anyone
who sees the instance).

A refused action is a message on the page, never an error page; the service decides.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.service import RecordValidationError, ServiceError
from web.admin_outbox import pretty_json
from web.auth import actor, service
from web.forms_view import _errors_by_place
from web.record_steps import steps_of
from web.text import _, display, label, shown
from web.widgets import COMPUTED, UNSUPPORTED, form_data, layout_of, widget_of

blueprint = Blueprint("records", __name__, url_prefix="/r")

#: instance statuses in which the submitter may try to withdraw (the service decides)
WITHDRAWABLE = ("running", "sent_back", "approved")


@blueprint.route("/<app_key>/<form_key>/<int:record_id>")
@login_required
def show(app_key: str, form_key: str, record_id: int) -> Any:
    return _page(app_key, form_key, record_id)


def _page(
    app_key: str,
    form_key: str,
    record_id: int,
    *,
    typed: dict[str, Any] | None = None,
    errors: dict[str, list[str]] | None = None,
) -> Any:
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
    readable = True
    try:
        record = service().get_record(me, app_key, form_key, record_id)
        values, names = record.values, record.names
    except ServiceError:
        # no read grant, or out of scope: reads as not found, unless the actor holds a
        # task of the record's flow, who sees it as their node shows it
        if not mine:
            abort(404)
        values = service().flows.task(me, mine[0].id).values
        readable = False
    fields = [f for f in form.fields if f.key in values]
    titles = _relation_titles(me, app_key, form, values)
    submitter = instance is not None and instance.submitter == me.user_id
    resubmittable = submitter and instance is not None and instance.status == "sent_back"
    widgets: dict[str, Any] = {}
    sections: list[dict[str, Any]] = []
    if resubmittable and readable:
        current = typed if typed is not None else values
        sections = layout_of(form)
        widgets = {
            f.key: widget_of(app_key, form, f, current.get(f.key), errors or {}) for f in fields
        }
    logic: dict[str, Any] = {}
    if widgets:
        try:
            logic = service().form_logic.of(me, app_key, form_key)
        except ServiceError:
            logic = {"fields": {}, "formula_order": [], "fill_from": {}}
    history = _history(me, form, app_key, record_id) if readable else []
    compare = _compare(form, history, request.args.get("compare", ""), values, names, titles)
    automation = _automation(me, form, app_key, record_id) if readable else None
    steps = steps_of(me, app_key, form, record_id) if readable else None
    return render_template(
        "record.html",
        app_key=app_key,
        form=form,
        values=values,
        record_id=record_id,
        fields=fields,
        instance=instance,
        mine=mine,
        me=me.user_id,
        names=names,
        titles=titles,
        history=history,
        compare=compare,
        automation=automation,
        steps=steps,
        submitter=submitter,
        withdrawable=submitter and instance is not None and instance.status in WITHDRAWABLE,
        remindable=submitter and instance is not None and instance.status == "running",
        resubmittable=resubmittable and readable,
        sections=sections,
        widgets=widgets,
        form_errors=(errors or {}).get("", []),
        logic=logic,
        fill_url=url_for("forms.fill", app_key=app_key, form_key=form_key),
    )


# -- history and compare ------------------------------------------------------------------


def _history(me: Any, form: Any, app_key: str, record_id: int) -> list[dict[str, Any]]:
    """The record's revisions, newest first: number, who, when, the fields it changed."""
    try:
        revisions = service().record_history(me, app_key, form.key, record_id)
    except ServiceError:
        return []
    labels = {f.key: label(f.label) for f in form.fields}
    return [
        {
            "no": r.revision_no,
            "action": r.action,
            "actor": r.actor,
            "at": r.at,
            "changed": [labels[k] for k in labels if k in (r.changes or {})],
            "revision": r,
        }
        for r in reversed(revisions)
    ]


def _automation(me: Any, form: Any, app_key: str, record_id: int) -> dict[str, Any] | None:
    """What rules and jobs did to the record (the "Automation" card), or None when nothing
    (or the record is not the actor's to read: the service decides)."""
    try:
        found = service().automation.history(me, app_key, form.key, record_id)
    except ServiceError:
        return None
    if found.empty:
        return None
    labels = {f.key: label(f.label) for f in form.fields}
    changes = [
        {"change": c, "changed": [labels.get(k, k) for k in c.fields]} for c in found.changes
    ]
    messages = [{"message": m, "shown": pretty_json(m.payload)} for m in found.messages]
    return {"changes": changes, "messages": messages, "outputs": found.outputs}


def _compare(
    form: Any,
    history: list[dict[str, Any]],
    wanted: str,
    current: dict[str, Any],
    names: dict[str, Any],
    titles: dict[str, Any],
) -> dict[str, Any] | None:
    """Field-by-field old and new values of two revisions (``?compare=A,B``), or None."""
    parts = [p.strip() for p in wanted.split(",")]
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    by_no = {h["no"]: h["revision"] for h in history}
    first, second = sorted(int(p) for p in parts)
    if first not in by_no or second not in by_no:
        return None
    old, new = by_no[first].data, by_no[second].data
    rows = []
    for field in form.fields:
        if field.key not in old and field.key not in new:
            continue
        before, after = old.get(field.key), new.get(field.key)
        rows.append(
            {
                "key": field.key,
                "label": label(field.label),
                "old": _value_text(field, before, titles, _name(field, before, current, names)),
                "new": _value_text(field, after, titles, _name(field, after, current, names)),
                "changed": before != after,
            }
        )
    return {"a": first, "b": second, "rows": rows}


def _name(field: Any, value: Any, current: dict[str, Any], names: dict[str, Any]) -> Any:
    """The person's or organisation unit's name of a revision's value, when it is the
    record's current value (the names the record page knows); else None."""
    if field.key in names and value not in (None, "") and str(current.get(field.key)) == str(value):
        return names[field.key]
    return None


def _value_text(field: Any, value: Any, titles: dict[str, Any], name: Any = None) -> str:
    """A revision's value as the record page shows it (sub-table rows one per line)."""
    if name not in (None, ""):
        return shown(name)
    if field.type == "subtable":
        lines = []
        for row in value if isinstance(value, list) else []:
            if not isinstance(row, dict):
                continue
            cells = []
            for column in field.fields:
                if column.key in row:
                    text = display(
                        column, row[column.key], None, titles.get(f"{field.key}.{column.key}")
                    )
                    cells.append(f"{label(column.label)} {text}")
            lines.append("; ".join(cells))
        return "\n".join(lines) or "—"
    if field.type in UNSUPPORTED:  # files: their names
        files = value if isinstance(value, list) else [value] if value else []
        if not files:
            return "—"
        return shown(
            [f.get("name") or f.get("filename") or "…" if isinstance(f, dict) else f for f in files]
        )
    return display(field, value, None, titles.get(field.key))


@blueprint.route("/<app_key>/<form_key>/<int:record_id>/compare")
@login_required
def compare(app_key: str, form_key: str, record_id: int) -> Any:
    """The compare picker's GET (``from``, ``to``) as the page's ``?compare=A,B``."""
    first, second = request.args.get("from", ""), request.args.get("to", "")
    target = url_for("records.show", app_key=app_key, form_key=form_key, record_id=record_id)
    if first.isdigit() and second.isdigit():
        target += f"?compare={int(first)},{int(second)}#compare"
    return redirect(target)


# -- the submitter's and everyone's actions ---------------------------------------------


@blueprint.route("/<app_key>/<form_key>/<int:record_id>/<action>", methods=["POST"])
@login_required
def act(app_key: str, form_key: str, record_id: int, action: str) -> Any:
    """withdraw, remind, comment and resubmit (with the edited fields) on the record's
    newest instance; a refusal is a flashed message."""
    flows = service().flows
    me = actor()
    here = url_for("records.show", app_key=app_key, form_key=form_key, record_id=record_id)
    try:
        instance = flows.instance_of(me, app_key, form_key, record_id)
    except ServiceError as refused:  # not theirs to see: the message, on the inbox
        flash(str(refused), "danger")
        return redirect(url_for("tasks.inbox"))
    posted = request.form.get("instance", "")
    if posted.isdigit() and int(posted) != instance.id:
        flash(
            _("This request has changed; look again"),
            "warning",
        )
        return redirect(here)
    try:
        if action == "withdraw":
            flows.withdraw(me, app_key, instance.id)
            flash(_("Withdrawn"), "success")
        elif action == "remind":
            flows.remind(me, app_key, instance.id)
            flash(_("Reminder sent"), "success")
        elif action == "comment":
            flows.comment(me, app_key, instance.id, request.form.get("text") or "")
            flash(_("Comment added"), "success")
        elif action == "resubmit":
            return _resubmit(app_key, form_key, record_id, instance)
        else:
            flash(_("unknown action"), "danger")
    except (ServiceError, RecordValidationError) as refused:
        flash(str(refused), "danger")
    return redirect(here)


def _resubmit(app_key: str, form_key: str, record_id: int, instance: Any) -> Any:
    """Resubmit with the fields of the page's edit form; a field's error shows next to
    it and nothing typed is lost."""
    me = actor()
    form = service().get_form(me, app_key, form_key)
    record = service().get_record(me, app_key, form_key, record_id)
    typed = form_data(form, request.form)
    changes: dict[str, Any] = {}
    for field in form.fields:
        if field.key not in record.values or field.type in COMPUTED or field.type in UNSUPPORTED:
            continue  # a field the page did not offer is left as it is
        given = typed.get(field.key)
        if given is None and record.values.get(field.key) in (None, "", []):
            continue
        changes[field.key] = given
    try:
        service().flows.resubmit(me, app_key, instance.id, changes=changes, source="web")
    except RecordValidationError as refused:
        flash(_("Please correct the marked fields"), "danger")
        return _page(app_key, form_key, record_id, typed=typed, errors=_errors_by_place(refused))
    flash(_("Resubmitted"), "success")
    return redirect(
        url_for("records.show", app_key=app_key, form_key=form_key, record_id=record_id)
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
