"""Admin pages of the background work, on the ``/admin`` blueprint (admins only: its
``before_request`` refuses anyone else with 404):

- ``/admin/outbox``: the outbox by view (pending, failed = dead, delivered recently) with
  each view's count, a topic filter and pages keyed on the event id; each event shows its
  topic, subject (linked to the record), attempts, next try, last error and payload, and
  one or many are replayed by a POST (CSRF-checked like every POST).
- ``/admin/jobs``: the embedded job queue by view (pending, running, dead, finished),
  replaying dead or waiting jobs, the scheduled runs and the scheduler's leader.

The service decides and refuses (``service.events`` / ``service.jobs``); a refusal is a
message on the page. Importing this module adds the routes (``web/__init__.py`` does).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import flash, redirect, render_template, request, url_for

from engine.service import ServiceError
from web.admin import blueprint
from web.auth import actor, service
from web.text import _

#: rows per page of both pages
PAGE_SIZE = 50
OUTBOX_VIEWS = ("pending", "failed", "delivered")
JOB_VIEWS = ("pending", "running", "dead", "finished")
#: most ids one replay POST takes (a page holds PAGE_SIZE)
MAX_REPLAY = 500


def _view(allowed: tuple[str, ...]) -> str:
    chosen = request.args.get("view", allowed[0])
    return chosen if chosen in allowed else allowed[0]


def _before() -> int | None:
    given = request.args.get("before", "")
    return int(given) if given.isdigit() and 0 < int(given) < 2**63 else None


def _ids(name: str) -> list[int]:
    """The checked ids of a replay form (digits only; anything else is dropped)."""
    return [int(v) for v in request.form.getlist(name)[:MAX_REPLAY] if v.isdigit()][:MAX_REPLAY]


#: payload keys whose values a page never shows (a webhook's signing secret, a password)
SECRET_KEYS = frozenset({"secret", "password", "token", "access_token", "api_key"})
MASK = "******"


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: MASK if str(k).lower() in SECRET_KEYS and v else _masked(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_masked(v) for v in value]
    return value


def pretty_json(value: Any) -> str:
    """A payload as people read it: indented, keys sorted, Chinese kept as written, and
    secrets masked (a screenshot of the page must not leak a webhook's signing key)."""
    return json.dumps(_masked(value), ensure_ascii=False, indent=2, sort_keys=True, default=str)


def record_link(payload: Any) -> dict[str, Any] | None:
    """The subject record of an event (app, form, id, and the record page's URL), or None."""
    if not isinstance(payload, Mapping):
        return None
    app, form, record_id = payload.get("app"), payload.get("form"), payload.get("id")
    if not (isinstance(app, str) and isinstance(form, str)):
        return None
    if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id < 1:
        return None
    url = url_for("records.show", app_key=app, form_key=form, record_id=record_id)
    return {"app": app, "form": form, "id": record_id, "url": url}


# -- the outbox --------------------------------------------------------------------------------
@blueprint.route("/outbox")
def outbox() -> Any:
    """A page of one view of the outbox, newest first."""
    view = _view(OUTBOX_VIEWS)
    topic = (request.args.get("topic") or "").strip()[:100] or None
    try:
        page = service().events.page(
            actor(), view=view, topic=topic, before=_before(), limit=PAGE_SIZE
        )
    except ServiceError as refused:  # a message on the page (never a redirect loop)
        flash(str(refused), "danger")
        return render_template("admin_outbox.html", page=None, events=[], views=OUTBOX_VIEWS)
    events = [
        {**event, "subject": record_link(event["payload"]), "shown": pretty_json(event["payload"])}
        for event in page.events
    ]
    return render_template("admin_outbox.html", page=page, events=events, views=OUTBOX_VIEWS)


@blueprint.route("/outbox/replay", methods=["POST"])
def outbox_replay() -> Any:
    """Replay the events checked (``event``) or the one of a row's button (``one``)."""
    ids = _ids("one") or _ids("event")
    back = {
        "view": request.form.get("view") if request.form.get("view") in OUTBOX_VIEWS else None,
        "topic": (request.form.get("topic") or "").strip()[:100] or None,
    }
    if not ids:
        flash(_("Choose the events to replay"), "warning")
    else:
        try:
            replayed = service().events.replay(actor(), ids)
        except ServiceError as refused:
            flash(str(refused), "danger")
        else:
            flash(_("%(count)s events replayed: they are due now", count=len(replayed)), "success")
    return redirect(url_for("admin.outbox", **{k: v for k, v in back.items() if v}))


# -- the job queue -----------------------------------------------------------------------------
@blueprint.route("/jobs")
def jobs() -> Any:
    """A page of one view of the embedded job queue, the scheduled runs and the leader."""
    view = _view(JOB_VIEWS)
    me = actor()
    try:
        page = service().jobs.page(me, view=view, before=_before(), limit=PAGE_SIZE)
        scheduling = service().jobs.scheduling(me)
    except ServiceError as refused:  # a message on the page (never a redirect loop)
        flash(str(refused), "danger")
        return render_template(
            "admin_jobs.html", page=None, jobs=[], views=JOB_VIEWS, scheduling=None, now=None
        )
    rows = [{**job, "shown": pretty_json(job["payload"])} for job in page.jobs]
    return render_template(
        "admin_jobs.html",
        page=page,
        jobs=rows,
        views=JOB_VIEWS,
        scheduling=scheduling,
        now=service().clock(),
    )


@blueprint.route("/jobs/replay", methods=["POST"])
def jobs_replay() -> Any:
    """Replay the jobs checked (``job``) or the one of a row's button (``one``)."""
    ids = _ids("one") or _ids("job")
    view = request.form.get("view")
    if not ids:
        flash(_("Choose the jobs to replay"), "warning")
    else:
        try:
            replayed = service().jobs.replay(actor(), ids)
        except ServiceError as refused:
            flash(str(refused), "danger")
        else:
            flash(_("%(count)s jobs replayed: they are due now", count=len(replayed)), "success")
    return redirect(url_for("admin.jobs", view=view if view in JOB_VIEWS else None))
