"""The form page's helpers for files and organisation pickers (routes of the forms
blueprint).

* ``POST /f/<app>/<form>/upload/<field>``: one file (multipart part ``file``) for an
  attachment, image or signature field (``lines.photo`` for a sub-table column), stored
  by the service's files use case, which checks the name, type, content and size; the
  answer is the metadata the field's value holds, or ``{"field", "message"}`` with the
  service's refusal in the person's language (400).
* ``GET /f/<app>/<form>/file/<id>``: the file, for whoever may read the record it is
  attached to (an upload not yet attached: its uploader); anyone else gets 404, as for a
  file that does not exist. Images show inline (previews), anything else downloads.
* ``GET /f/org/<kind>?q=``: users, departments, regions or dealers the person may pick,
  by name (``service.org_choices``: a dealer's person only their own dealer).
"""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request, send_file
from flask_login import login_required

from engine.service import NotFoundError, PermissionDeniedError, RecordValidationError, ServiceError
from web.auth import actor, service
from web.forms_view import blueprint
from web.text import _
from web.widgets import INLINE_IMAGES, ORG_CHOICES, clean_html


@blueprint.app_template_filter("richtext")
def richtext_filter(value: Any) -> Any:
    """``{{ value|richtext }}``: sanitised rich text, shown as HTML."""
    return clean_html(value)


@blueprint.route("/f/<app_key>/<form_key>/upload/<field>", methods=["POST"])
@login_required
def upload(app_key: str, form_key: str, field: str) -> Any:
    """Store one uploaded file for ``field``; its metadata (201) or the refusal (400)."""
    sent = request.files.get("file")
    if sent is None:
        message = _("choose a file to upload")
        return jsonify({"field": field, "message": message}), 400
    try:
        metadata = service().save_file(
            actor(), app_key, form_key, field, sent.filename or "", sent.stream
        )
    except RecordValidationError as refused:
        message = "; ".join(error.message for error in refused.errors)
        return jsonify({"field": field, "message": message}), 400
    except NotFoundError:
        return jsonify({"field": field, "message": _("not found")}), 404
    except PermissionDeniedError as refused:
        return jsonify({"field": field, "message": str(refused)}), 403
    except ServiceError as refused:
        return jsonify({"field": field, "message": str(refused)}), 400
    return jsonify(metadata), 201


@blueprint.route("/f/<app_key>/<form_key>/file/<file_id>")
@login_required
def download(app_key: str, form_key: str, file_id: str) -> Any:
    """A stored file the person may read (404 otherwise); images inline unless
    ``?download=1``."""
    try:
        metadata, path = service().open_file(actor(), app_key, form_key, file_id)
    except ServiceError:
        abort(404)
    if not path.is_file():
        abort(404)
    content_type = metadata.get("content_type") or "application/octet-stream"
    inline = content_type in INLINE_IMAGES and request.args.get("download") != "1"
    answer = send_file(
        path,
        mimetype=content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        download_name=metadata.get("name") or file_id,
        etag=metadata.get("sha256") or True,
        max_age=0,
    )
    answer.headers["Cache-Control"] = "private, no-cache"
    return answer


@blueprint.route("/f/org/<kind>")
@login_required
def org_choices(kind: str) -> Any:
    """Organisation choices for a picker's search box: ``{"items": [[code, name]...],
    "more": bool}``."""
    search = (request.args.get("q") or "").strip()[:100] or None
    try:
        found = service().org_choices.choices(actor(), kind, search=search, limit=ORG_CHOICES)
    except ServiceError as refused:
        return jsonify({"items": [], "more": False, "message": str(refused)}), 400
    return jsonify({"items": [list(item) for item in found.items], "more": found.more})
