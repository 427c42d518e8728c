"""The notifications centre: the unread count in the navigation bar, the list of one's
messages (newest first, unread in bold, paginated), opening one (marks it read and goes
to its record, or to the tasks for a digest) and marking all read.

Every call is the signed-in person's own: the service reads and marks only their rows,
so an id of someone else's message is "not found" and marks nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.service import NotFoundError, ServiceError
from web.auth import actor, service
from web.text import _

blueprint = Blueprint("notifications", __name__, url_prefix="/notifications")

PAGE_SIZE = 20


@blueprint.app_context_processor
def unread_badge() -> dict[str, Any]:
    """``unread_notifications()`` for the navigation bar: one indexed count, asked only
    when a page shows the bar to a signed-in person."""

    def unread_notifications() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return service().notifications.unread_count(actor())
        except ServiceError:
            return 0

    return {"unread_notifications": unread_notifications}


@blueprint.route("/")
@login_required
def index() -> Any:
    """One page of the signed-in person's messages; ``?unread=1`` keeps the unread."""
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    unread_only = request.args.get("unread") == "1"
    found = service().notifications.list(
        actor(), unread_only=unread_only, page=number, page_size=PAGE_SIZE
    )
    return render_template("notifications.html", found=found, unread_only=unread_only)


@blueprint.route("/<int:notification_id>")
@login_required
def open_one(notification_id: int) -> Any:
    """Read one message (it is marked read) and go where it points."""
    try:
        note = service().notifications.open(actor(), notification_id)
    except NotFoundError:
        abort(404)
    if note.app and note.form and note.record_id:
        return redirect(
            url_for("records.show", app_key=note.app, form_key=note.form, record_id=note.record_id)
        )
    if note.app and note.form is None:  # a digest of approvals: the tasks
        return redirect(url_for("tasks.inbox"))
    return redirect(url_for("notifications.index"))


@blueprint.route("/read", methods=["POST"])
@login_required
def mark_read() -> Any:
    """Mark the messages read: ``all=1`` every unread one, else the ``id`` values."""
    notes = service().notifications
    if request.form.get("all") == "1":
        changed = notes.mark_all_read(actor())
    else:
        ids = [int(v) for v in request.form.getlist("id") if v.isdigit() and len(v) < 19]
        changed = notes.mark_read(actor(), ids)
    flash(_("%(count)s marked read", count=changed), "success")
    return redirect(url_for("notifications.index"))
