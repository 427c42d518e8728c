"""What a flow node asks the dealer to confirm (a statement 对账单): their open tasks
(``service.flows`` inbox of the signed-in person), a task's record as the node shows
it, and two buttons: 确认 (approve) and 有异议 (reject, with a required reason).

A refusal (someone acted first, the reason is missing) is a message on the page; the
service decides, and a task that is not theirs is not found (404).
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from engine.service import RecordValidationError, ServiceError
from web.auth import actor, service
from web.portal import blueprint
from web.portal.common import cell, org_names, relation_titles
from web.portal.records import SPECIAL, _table, files_of
from web.text import _, label

PAGE_SIZE = 50


@blueprint.route("/tasks")
def tasks() -> Any:
    """The person's pending tasks, then the ones they acted on lately."""
    me = actor()
    flows = service().flows
    pending = flows.tasks(me, status="pending", page_size=PAGE_SIZE)
    done = flows.tasks(me, status="done", page_size=10)
    return render_template("portal/tasks.html", pending=pending, done=done)


@blueprint.route("/tasks/<int:task_id>")
def task(task_id: int) -> Any:
    """One task: the record's fields its node shows, and the buttons while pending."""
    me = actor()
    try:
        found = service().flows.task(me, task_id)
        definition = service().get_form(me, found.task.app, found.task.form)
    except ServiceError:
        abort(404)
    values = found.values or {}
    titles = relation_titles(me, found.task.app, definition, [values])
    fields = [f for f in definition.fields if f.key in values]
    names = org_names(me, definition, values)
    plain = [(f, cell(f, values, names, titles)) for f in fields if f.type not in SPECIAL]
    tables = [_table(f, values.get(f.key) or [], titles) for f in fields if f.type == "subtable"]
    return render_template(
        "portal/task.html",
        task=found.task,
        comment_policy=found.comment,
        form_name=label(definition.name),
        plain=plain,
        tables=tables,
        files=files_of(fields, values),
    )


@blueprint.route("/tasks/<int:task_id>/<answer>", methods=["POST"])
def answer_task(task_id: int, answer: str) -> Any:
    """``confirm`` approves; ``dispute`` rejects with the reason typed (required)."""
    me = actor()
    comment = (request.form.get("comment") or "").strip()[:2000] or None
    here = url_for("portal.task", task_id=task_id)
    try:
        if answer == "confirm":
            service().flows.approve(me, task_id, comment=comment)
            flash(_("Confirmed"), "success")
        elif answer == "dispute":
            if comment is None:
                flash(_("Say what is wrong before disputing"), "danger")
                return redirect(here)
            service().flows.reject(me, task_id, comment=comment)
            flash(_("Disputed; your reason was sent"), "success")
        else:
            abort(404)
    except (ServiceError, RecordValidationError) as refused:
        flash(str(refused), "danger")
        return redirect(here)
    return redirect(url_for("portal.tasks"))
