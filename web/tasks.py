"""The approval inbox (to do, done, copied to me, started by me; filtered by app and by a
text in the title) and the task actions: approve, reject, send back, transfer, add
signer, batch approve.

A refused action (someone acted first, a comment is missing) is a message on the page,
never an error page.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.service import RecordValidationError, ServiceError
from web.auth import actor, service
from web.security import local_path
from web.text import _

blueprint = Blueprint("tasks", __name__, url_prefix="/tasks")

TASK_TABS = ("pending", "done", "cc")
TABS = (*TASK_TABS, "started")
#: the started tab's status filter
STARTED = ("running", "finished")


@blueprint.route("/")
@login_required
def inbox() -> Any:
    tab = request.args.get("tab", "pending")
    if tab not in TABS:
        tab = "pending"
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    me = actor()
    flows = service().flows
    apps = _apps(me)
    chosen_app = request.args.get("app") or None
    if chosen_app not in {key for key, _name in apps}:
        chosen_app = None
    search = (request.args.get("q") or "").strip()[:200] or None
    state = request.args.get("state") or None
    if state not in STARTED:
        state = None
    filters = {"app": chosen_app, "search": search}
    if tab == "started":
        found = flows.started(me, status=state, page=number, page_size=50, **filters)
    else:
        found = flows.tasks(me, status=tab, page=number, page_size=50, **filters)
    counts = {
        name: flows.tasks(me, status=name, page_size=1, **filters).total for name in TASK_TABS
    }
    counts["started"] = flows.started(me, page_size=1, **filters).total
    return render_template(
        "inbox.html",
        tab=tab,
        tasks=found,
        counts=counts,
        page=number,
        apps=apps,
        chosen_app=chosen_app or "",
        search=search or "",
        state=state or "",
    )


def _apps(me: Any) -> list[tuple[str, Any]]:
    """(key, name) of the apps the actor may use, for the app filter."""
    try:
        return [(a.key, a.name) for a in service().list_apps(me)]
    except ServiceError:
        return []


@blueprint.route("/<int:task_id>/<action>", methods=["POST"])
@login_required
def act(task_id: int, action: str) -> Any:
    flows = service().flows
    comment = request.form.get("comment") or None
    back = request.form.get("next") or url_for("tasks.inbox")
    try:
        if action == "approve":
            flows.approve(actor(), task_id, comment=comment)
            flash(_("Approved"), "success")
        elif action == "reject":
            flows.reject(actor(), task_id, comment=comment)
            flash(_("Rejected"), "success")
        elif action == "send-back":
            flows.send_back(
                actor(), task_id, to=request.form.get("to") or "previous", comment=comment
            )
            flash(_("Sent back"), "success")
        elif action == "transfer":
            flows.transfer(
                actor(), task_id, (request.form.get("to") or "").strip(), comment=comment
            )
            flash(_("Transferred"), "success")
        elif action == "add-signer":
            logins = [v for v in re.split(r"[\s,，;；]+", request.form.get("logins") or "") if v]
            flows.add_signer(
                actor(),
                task_id,
                logins,
                position=request.form.get("position") or "after",
                mode=request.form.get("mode") or "all",
                comment=comment,
            )
            flash(_("Signers added"), "success")
        else:
            flash(_("unknown action"), "danger")
    except (ServiceError, RecordValidationError) as refused:
        flash(str(refused), "danger")
    return redirect(local_path(back) or url_for("tasks.inbox"))


@blueprint.route("/batch-approve", methods=["POST"])
@login_required
def batch_approve() -> Any:
    chosen = [int(v) for v in request.form.getlist("task") if v.isdigit()]
    if not chosen:
        flash(_("choose tasks first"), "warning")
        return redirect(url_for("tasks.inbox"))
    results = service().flows.batch_approve(
        actor(), chosen, comment=request.form.get("comment") or None
    )
    done = sum(r.ok for r in results)
    flash(_("%(count)s approved", count=done), "success" if done else "warning")
    for result in results:
        if not result.ok:
            flash(f"#{result.task_id}: {result.error}", "danger")
    return redirect(url_for("tasks.inbox"))
