"""Buttons on the record page that are not approvals: a status machine's transitions
(with the step's inputs), manual rules (with their confirmation) and, on a form with
``versions``, "New version" (docs/lookups.md).

The service decides who sees which button (engine/service/machines.py and
RuleUseCases.buttons) and refuses what is not allowed; a refusal is a flashed message
on the record page, never an error page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import login_required

from engine.service import RecordValidationError, ServiceError
from web.auth import actor, service
from web.text import _
from web.widgets import form_data, widget_of

blueprint = Blueprint("record_steps", __name__, url_prefix="/r")


def steps_of(me: Any, app_key: str, form: Any, record_id: int) -> dict[str, Any]:
    """The transition and manual-rule buttons the actor may press on the record, with
    the widgets of each transition's inputs."""
    try:
        transitions = service().machines.buttons(me, app_key, form.key, record_id)
        rules = service().rules.buttons(me, app_key, form.key, record_id)
    except ServiceError:
        return {"transitions": [], "rules": [], "inputs": {}, "new_version": False}
    fields = {f.key: f for f in form.fields}
    inputs = {
        (b.machine, b.transition): [
            widget_of(app_key, form, fields[key], None, {}) for key in b.require if key in fields
        ]
        for b in transitions
    }
    return {
        "transitions": transitions,
        "rules": rules,
        "inputs": inputs,
        # a versioned form: copy this record into a new draft version (the service checks)
        "new_version": getattr(form, "versions", None) is not None,
    }


def _back(app_key: str, form_key: str, record_id: int) -> Any:
    return redirect(
        url_for("records.show", app_key=app_key, form_key=form_key, record_id=record_id)
    )


@blueprint.route(
    "/<app_key>/<form_key>/<int:record_id>/step/<machine>/<transition>", methods=["POST"]
)
@login_required
def step(app_key: str, form_key: str, record_id: int, machine: str, transition: str) -> Any:
    """Press a transition with the inputs posted beside it."""
    me = actor()
    try:
        form = service().get_form(me, app_key, form_key)
        buttons = service().machines.buttons(me, app_key, form_key, record_id)
        wanted = next(
            (b for b in buttons if (b.machine, b.transition) == (machine, transition)), None
        )
        posted = form_data(form, request.form)
        values = {k: posted.get(k) for k in (wanted.require if wanted else ())}
        result = service().machines.transition(
            me, app_key, form_key, record_id, machine, transition, values, source="web"
        )
        flash(_("Done: %(step)s", step=wanted.label if wanted else result.transition), "success")
    except RecordValidationError as refused:
        flash("; ".join(e.message for e in refused.errors), "danger")
    except ServiceError as refused:
        flash(str(refused), "danger")
    return _back(app_key, form_key, record_id)


@blueprint.route("/<app_key>/<form_key>/<int:record_id>/new-version", methods=["POST"])
@login_required
def new_version(app_key: str, form_key: str, record_id: int) -> Any:
    """Copy the record into a new draft version valid from the posted day; show the copy."""
    me = actor()
    try:
        day = date.fromisoformat(request.form.get("effective_from", ""))
    except ValueError:
        flash(_("Give the first valid day of the new version"), "danger")
        return _back(app_key, form_key, record_id)
    try:
        copy = service().lookups.new_version(me, app_key, form_key, record_id, day)
    except RecordValidationError as refused:
        flash("; ".join(e.message for e in refused.errors), "danger")
        return _back(app_key, form_key, record_id)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return _back(app_key, form_key, record_id)
    flash(_("Created a new draft version"), "success")
    return _back(app_key, form_key, copy.id)


@blueprint.route("/<app_key>/<form_key>/<int:record_id>/rule/<rule>", methods=["POST"])
@login_required
def press(app_key: str, form_key: str, record_id: int, rule: str) -> Any:
    """Press a manual rule's button."""
    me = actor()
    try:
        run = service().rules.press(me, app_key, rule, record_id)
        if run.matched:
            flash(_("Done: %(count)s changes", count=len(run.changes)), "success")
    except RecordValidationError as refused:
        flash("; ".join(e.message for e in refused.errors), "danger")
    except ServiceError as refused:
        flash(str(refused), "danger")
    return _back(app_key, form_key, record_id)
