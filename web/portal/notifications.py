"""The dealer user's own notifications (the service's notifications centre): the list,
opening one (marks it read and goes to its record's portal page) and marking all read.
The service reads and marks only the person's own rows."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from engine.service import NotFoundError, ServiceError
from web.auth import actor, service
from web.portal import blueprint
from web.text import _

PAGE_SIZE = 20


@blueprint.route("/notifications")
def notifications() -> Any:
    """One page of the person's messages, newest first."""
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    found = service().notifications.list(actor(), page=number, page_size=PAGE_SIZE)
    return render_template("portal/notifications.html", found=found)


@blueprint.route("/notifications/<int:notification_id>")
def notification(notification_id: int) -> Any:
    """Open one message (marked read) and go to what it is about, within the portal."""
    try:
        note = service().notifications.open(actor(), notification_id)
    except NotFoundError:
        abort(404)
    if note.app and note.form and note.record_id:
        return redirect(
            url_for("portal.record", app_key=note.app, form_key=note.form, record_id=note.record_id)
        )
    if note.app:
        return redirect(url_for("portal.tasks"))
    return redirect(url_for("portal.notifications"))


@blueprint.route("/notifications/read", methods=["POST"])
def read_all() -> Any:
    """Mark every unread message read."""
    try:
        changed = service().notifications.mark_all_read(actor())
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("portal.notifications"))
    flash(_("%(count)s marked read", count=changed), "success")
    return redirect(url_for("portal.notifications"))
