"""The approval inbox and the task actions: approve, reject, send back, batch approve.

A refused action (someone acted first, a comment is missing) is a message on the page,
never an error page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from engine.service import RecordValidationError, ServiceError
from web.auth import actor, service
from web.text import pick

blueprint = Blueprint("tasks", __name__, url_prefix="/tasks")

TABS = ("pending", "done", "cc")


@blueprint.route("/")
@login_required
def inbox() -> Any:
    tab = request.args.get("tab", "pending")
    if tab not in TABS:
        tab = "pending"
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    me = actor()
    found = service().flows.tasks(me, status=tab, page=number, page_size=50)
    counts = {name: service().flows.tasks(me, status=name, page_size=1).total for name in TABS}
    return render_template("inbox.html", tab=tab, tasks=found, counts=counts, page=number)


@blueprint.route("/<int:task_id>/<action>", methods=["POST"])
@login_required
def act(task_id: int, action: str) -> Any:
    flows = service().flows
    comment = request.form.get("comment") or None
    back = request.form.get("next") or url_for("tasks.inbox")
    try:
        if action == "approve":
            flows.approve(actor(), task_id, comment=comment)
            flash(pick("已同意", "Approved"), "success")
        elif action == "reject":
            flows.reject(actor(), task_id, comment=comment)
            flash(pick("已拒绝", "Rejected"), "success")
        elif action == "send-back":
            flows.send_back(
                actor(), task_id, to=request.form.get("to") or "previous", comment=comment
            )
            flash(pick("已退回", "Sent back"), "success")
        else:
            flash(pick("未知操作", "unknown action"), "danger")
    except (ServiceError, RecordValidationError) as refused:
        flash(str(refused), "danger")
    return redirect(
        back if back.startswith("/") and not back.startswith("//") else url_for("tasks.inbox")
    )


@blueprint.route("/batch-approve", methods=["POST"])
@login_required
def batch_approve() -> Any:
    chosen = [int(v) for v in request.form.getlist("task") if v.isdigit()]
    if not chosen:
        flash(pick("请先选择任务", "choose tasks first"), "warning")
        return redirect(url_for("tasks.inbox"))
    results = service().flows.batch_approve(
        actor(), chosen, comment=request.form.get("comment") or None
    )
    done = sum(r.ok for r in results)
    flash(pick(f"已同意 {done} 项", f"{done} approved"), "success" if done else "warning")
    for result in results:
        if not result.ok:
            flash(f"#{result.task_id}: {result.error}", "danger")
    return redirect(url_for("tasks.inbox"))
