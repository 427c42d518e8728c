"""Filling a form (a new record) and listing a form's records.

The form page is rendered from the definition, in its layout; each field type gets its
widget (``web/widgets.py``). Submitting starts the form's flow when it has one;
"save draft" keeps it back. The server validates and is the authority: its errors show
next to the field, or the sub-table row, they belong to, and nothing typed is lost.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from engine.service import FlowActionError, RecordValidationError, ServiceError
from web.auth import actor, service
from web.lists import register_list_routes
from web.text import _
from web.widgets import form_data, layout_of, widget_of

blueprint = Blueprint("forms", __name__)


def _definition(app_key: str, form_key: str) -> Any:
    try:
        return service().get_form(actor(), app_key, form_key)
    except ServiceError:
        abort(404)


@blueprint.route("/f/<app_key>/<form_key>/new", methods=["GET", "POST"])
@login_required
def new(app_key: str, form_key: str) -> Any:
    form = _definition(app_key, form_key)
    errors: dict[str, list[str]] = {}
    typed: dict[str, Any] = {}
    if request.method == "POST":
        typed = form_data(form, request.form)
        try:
            record = _save(app_key, form_key, typed, draft=request.form.get("action") == "draft")
        except RecordValidationError as refused:
            errors = _errors_by_place(refused)
            flash(_("Please correct the marked fields"), "danger")
        except ServiceError as refused:
            flash(str(refused), "danger")
        else:
            flash(_("Saved"), "success")
            return redirect(
                url_for("records.show", app_key=app_key, form_key=form_key, record_id=record.id)
            )
    try:
        logic = service().form_logic.of(actor(), app_key, form_key)
    except ServiceError:
        logic = {"fields": {}, "formula_order": [], "fill_from": {}}
    sections = layout_of(form)
    widgets = {f.key: widget_of(app_key, form, f, typed.get(f.key), errors) for f in form.fields}
    return render_template(
        "form.html",
        form=form,
        app_key=app_key,
        sections=sections,
        widgets=widgets,
        errors=errors.get("", []),
        logic=logic,
        fill_url=url_for("forms.fill", app_key=app_key, form_key=form_key),
        user=actor().user_id,
    )


@blueprint.route("/f/<app_key>/<form_key>/fill")
@login_required
def fill(app_key: str, form_key: str) -> Any:
    """The values a relation's ``fill_from`` copies from a picked record, for the page's
    live logic (``?field=lines.product&id=3``)."""
    path = request.args.get("field", "")
    record = request.args.get("id", "")
    if not record.isdigit():
        return jsonify({})
    try:
        return jsonify(service().form_logic.filled(actor(), app_key, form_key, path, int(record)))
    except ServiceError:
        return jsonify({}), 404


def _save(app_key: str, form_key: str, data: dict[str, Any], *, draft: bool) -> Any:
    """Submit (starting the flow), or save a draft; a form without a flow just saves."""
    flows = service().flows
    try:
        if draft:
            return flows.save_draft(actor(), app_key, form_key, data, source="web")
        return flows.submit(actor(), app_key, form_key, data, source="web")
    except FlowActionError as refused:
        if refused.code != "no_flow":
            raise
    return service().create_record(actor(), app_key, form_key, data, source="web")


def _errors_by_place(refused: RecordValidationError) -> dict[str, list[str]]:
    """Messages by ``field`` (or ``field.column#row`` inside a sub-table; "" for the
    record as a whole)."""
    places: dict[str, list[str]] = {}
    for error in refused.errors:
        if error.field is None:
            key = ""
        elif error.row is not None:
            head, _, column = error.field.partition(".")
            key = f"{head}.{column}#{error.row}" if column else f"{head}#{error.row}"
        else:
            key = error.field
        places.setdefault(key, []).append(error.message)
    return places


# the list pages (search, filters, sort, columns, saved views, bulk actions): web/lists.py
register_list_routes(blueprint)


# the upload, download and organisation-picker routes live beside the widgets
# (web/uploads.py); importing the module registers them on this blueprint
from web import uploads as _uploads  # noqa: E402,F401
