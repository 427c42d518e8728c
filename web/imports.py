"""The import pages of a form (``/apps/<app>/<form>/import...``): upload a workbook or a
csv, choose the sheet and adjust the column mapping, read the dry run's result, then run
the import in the background and follow it on its own page.

- ``GET  .../import``: the upload form, the template download and the actor's recent
  import runs of the form; ``POST`` stages the file (web/import_staging.py: on the
  server, the token in the URL) and opens the mapping;
- ``GET  .../import/template.xlsx``: the form's import template (``service.imports.template``);
- ``GET  .../import/<token>``: the sheet, a select per header (pre-filled with the
  service's mapping), "save this mapping", the mode and the update match;
- ``POST .../import/<token>/check``: the dry run (in the request up to
  :data:`SYNC_DRY_RUN_ROWS` rows, a background dry run beyond) and ``GET`` its result:
  counts, failing rows, ``.../import/<token>/errors.xlsx`` with them;
- ``POST .../import/<token>/run``: ``service.imports.submit``, then the run's page
  ``.../import/runs/<id>`` (progress polled from ``.../progress.json`` by
  static/js/import.js, a cancel button, the report and ``.../errors.xlsx`` at the end).

Every page needs the form's import grant (without it, as without a read grant, the pages
read as not found); the service checks everything again and refuses what it must. Its
refusals (not a spreadsheet, an unknown sheet, a bad mapping...) are messages on the page.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import pgettext
from flask_login import current_user, login_required

from engine.service import NotFoundError, ServiceError
from engine.service.import_files import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS
from web.auth import actor, service
from web.import_staging import Staged, StagingArea
from web.text import _, label

blueprint = Blueprint("imports", __name__, url_prefix="/apps/<app_key>/<form_key>/import")

#: files of up to this many rows are dry-run in the request; larger ones in the background
SYNC_DRY_RUN_ROWS = 20_000
#: failing rows listed on a page (all of them are in the workbook)
ISSUES_SHOWN = 500
#: the run states that are not over yet
OPEN_STATES = ("queued", "running")
#: the extensions the upload offers (the service reads the content, not the name)
ACCEPT = ".xlsx,.xlsm,.xls,.ods,.csv,.txt"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MODES = ("all", "valid")
#: files with one table only (an empty one is refused at once)
TEXT_FILES = (".csv", ".txt")


# -- access -------------------------------------------------------------------------------
def _form(app_key: str, form_key: str) -> Any:
    """The form's definition when the actor may import into it; 404 otherwise."""
    try:
        form = service().get_form(actor(), app_key, form_key)
        setup = service().saved_views.setup(actor(), app_key, form_key)
    except ServiceError:
        abort(404)
    if not setup.may_import:  # the service's answer from the actor's grants
        abort(404)
    return form


def _staging() -> StagingArea:
    return StagingArea(current_app.config["FILES_DIR"], current_user.id)


def _staged(app_key: str, form_key: str, token: str) -> Staged:
    staged = _staging().get(token, app_key, form_key)
    if staged is None:
        abort(404)
    return staged


def _home(app_key: str, form_key: str) -> Any:
    return redirect(url_for("imports.upload", app_key=app_key, form_key=form_key))


# -- upload -------------------------------------------------------------------------------
@blueprint.route("", methods=["GET", "POST"])
@login_required
def upload(app_key: str, form_key: str) -> Any:
    """The upload form and the recent runs; a posted file is staged and mapped next."""
    form = _form(app_key, form_key)
    if request.method == "GET":
        return _upload_page(app_key, form)
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        return _upload_page(app_key, form, _("Choose a file to import"))
    data = sent.stream.read(MAX_IMPORT_BYTES + 1)
    name = sent.filename[-200:]
    if len(data) > MAX_IMPORT_BYTES:
        limit = MAX_IMPORT_BYTES // (1024 * 1024)
        return _upload_page(
            app_key, form, _("%(name)s is larger than %(limit)s MB", name=name, limit=limit)
        )
    if not data:
        return _upload_page(
            app_key, form, _("%(name)s is empty (0 bytes): choose the saved file", name=name)
        )
    try:
        service().imports.inspect(actor(), app_key, form_key, data, name)
    except NotFoundError:
        abort(404)
    except ServiceError as refused:
        if getattr(refused, "code", None) != "empty" or name.lower().endswith(TEXT_FILES):
            return _upload_page(app_key, form, str(refused))  # it names the file
        # a workbook whose first sheet holds no rows: another sheet may, chosen next
    staged = _staging().stage(app_key, form_key, name, data)
    return redirect(
        url_for("imports.mapping", app_key=app_key, form_key=form_key, token=staged.token)
    )


def _upload_page(app_key: str, form: Any, error: str = "") -> Any:
    try:
        runs = service().imports.runs(actor(), app_key, form.key)
    except ServiceError:
        runs = []
    page = render_template(
        "import_upload.html",
        app_key=app_key,
        form=form,
        runs=runs,
        error=error,
        accept=ACCEPT,
        limit_mb=MAX_IMPORT_BYTES // (1024 * 1024),
        max_rows=MAX_IMPORT_ROWS,
    )
    return page, 400 if error else 200


@blueprint.route("/template.xlsx")
@login_required
def template(app_key: str, form_key: str) -> Any:
    """The form's import template: its headers, an example row and the option lists."""
    form = _form(app_key, form_key)
    try:
        data = service().imports.template(actor(), app_key, form_key)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return _home(app_key, form_key)
    suffix = _("import template")
    name = f"{label(form.name) or form.key}-{suffix}.xlsx"
    return _xlsx(data, f"{form.key}-template.xlsx", name)


def _xlsx(data: bytes, ascii_name: str, name: str) -> Any:
    answer = send_file(BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=ascii_name)
    # the readable name for browsers (RFC 5987), the plain one for the rest
    answer.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
    )
    return answer


# -- mapping ------------------------------------------------------------------------------
@blueprint.route("/<token>")
@login_required
def mapping(app_key: str, form_key: str, token: str) -> Any:
    """The sheet, the column mapping, the mode and the update match of a staged file."""
    form = _form(app_key, form_key)
    staged = _staged(app_key, form_key, token)
    sheet = request.args.get("sheet") or staged.options.get("sheet")
    preview, error = _inspect(app_key, form_key, staged, sheet)
    if preview is None and error == _gone():
        flash(error, "danger")
        return _home(app_key, form_key)
    if preview is None:
        # the sheet is empty or not in the file: the service's message (it lists the
        # sheets of the file for a wrong name) and a box to name the sheet to read
        page = render_template(
            "import_sheet.html",
            app_key=app_key,
            form=form,
            staged=staged,
            error=error,
            sheet=sheet or "",
        )
        return page, 400
    chosen = dict(preview.mapping)
    if staged.options.get("sheet") == preview.sheet and staged.options.get("mapping"):
        # back from the dry run: what the person chose before
        chosen.update({h: t for h, t in staged.options["mapping"].items() if h in preview.headers})
    return render_template(
        "import_mapping.html",
        app_key=app_key,
        form=form,
        staged=staged,
        preview=preview,
        chosen=chosen,
        uniques=_uniques(form, preview.unique_fields),
        options=staged.options,
    )


def _inspect(app_key: str, form_key: str, staged: Staged, sheet: str | None) -> tuple[Any, str]:
    try:
        data = _staging().data(staged)
    except FileNotFoundError:
        return None, _gone()
    try:
        found = service().imports.inspect(
            actor(), app_key, form_key, data, staged.file_name, sheet=sheet or None
        )
    except ServiceError as refused:
        return None, str(refused)
    return found, ""


def _gone() -> str:
    return _("The uploaded file is gone: upload it again")


def _uniques(form: Any, fields: Any) -> list[tuple[str, str]]:
    """(key, label) of the fields an update may match records by."""
    found = []
    for item in fields or ():
        key = item if isinstance(item, str) else getattr(item, "key", None) or item[0]
        if form.has_field(key):
            found.append((key, label(form.field(key).label) or key))
        else:
            found.append((key, key))
    return found


def _posted_options(headers: list[str]) -> dict[str, Any]:
    """The mapping page's choices: one select per header (``map-<i>``), the sheet, the
    mode, the match and whether to save the mapping."""
    posted = request.form
    mapping = {}
    for index, header in enumerate(headers):
        target = posted.get(f"map-{index}", "")
        mapping[header] = target[:200] or None
    mode = posted.get("mode", "all")
    return {
        "sheet": posted.get("sheet") or None,
        "mapping": mapping,
        "mode": mode if mode in MODES else "all",
        "match": (posted.get("match") or "")[:100] or None,
        "save_mapping": posted.get("save_mapping") == "on",
    }


# -- dry run ------------------------------------------------------------------------------
@blueprint.route("/<token>/check", methods=["GET", "POST"])
@login_required
def check(app_key: str, form_key: str, token: str) -> Any:
    """POST: the dry run of the chosen mapping (nothing is written); GET: its result."""
    form = _form(app_key, form_key)
    staged = _staged(app_key, form_key, token)
    if request.method == "GET":
        if staged.report is None:
            return redirect(
                url_for("imports.mapping", app_key=app_key, form_key=form_key, token=token)
            )
        return _check_page(app_key, form, staged)
    back = url_for("imports.mapping", app_key=app_key, form_key=form_key, token=token)
    preview, error = _inspect(app_key, form_key, staged, request.form.get("sheet"))
    if preview is None:
        flash(error, "danger")
        return redirect(back)
    options = _posted_options(list(preview.headers))
    options["sheet"] = preview.sheet
    staged.options, staged.report, staged.dry_run_id = options, None, None
    _staging().save(staged)
    imports = service().imports
    try:
        if options["save_mapping"]:
            imports.save_mapping(actor(), app_key, form_key, options["mapping"])
        data = _staging().data(staged)
        arguments = _arguments(staged, data)
        if preview.row_count > SYNC_DRY_RUN_ROWS:
            staged.dry_run_id = imports.submit(*arguments[0], **arguments[1], dry_run=True)
            _staging().save(staged)
            return redirect(_run_url(app_key, form_key, staged.dry_run_id, token))
        report = imports.run(*arguments[0], **arguments[1], dry_run=True)
    except FileNotFoundError:
        flash(_gone(), "danger")
        return _home(app_key, form_key)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(back)
    staged.report = report.to_json()
    _staging().save(staged)
    _staging().keep_errors(
        staged, imports.error_workbook(report, actor().locale) if report.failed else None
    )
    return redirect(url_for("imports.check", app_key=app_key, form_key=form_key, token=token))


def _arguments(staged: Staged, data: bytes) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword arguments of ``run``/``submit`` for the stage."""
    options = staged.options
    return (actor(), staged.app, staged.form, data, staged.file_name), {
        "sheet": options.get("sheet"),
        "mapping": options.get("mapping"),
        "mode": options.get("mode", "all"),
        "match": options.get("match"),
    }


def _check_page(app_key: str, form: Any, staged: Staged) -> Any:
    report = staged.report or {}
    issues = list(report.get("issues") or [])
    return render_template(
        "import_check.html",
        app_key=app_key,
        form=form,
        staged=staged,
        report=report,
        issues=issues[:ISSUES_SHOWN],
        more=max(0, len(issues) - ISSUES_SHOWN),
        has_errors=_staging().errors(staged) is not None,
        options=staged.options,
    )


@blueprint.route("/<token>/errors.xlsx")
@login_required
def check_errors(app_key: str, form_key: str, token: str) -> Any:
    """The dry run's failing rows with their reasons, ready to fix and import again."""
    form = _form(app_key, form_key)
    staged = _staged(app_key, form_key, token)
    data = _staging().errors(staged)
    if data is None:
        abort(404)
    return _xlsx(data, f"{form.key}-errors.xlsx", _errors_name(staged.file_name))


def _errors_name(file_name: str) -> str:
    stem = file_name.rsplit(".", 1)[0] or "import"
    suffix = _("failing rows")
    return f"{stem}-{suffix}.xlsx"


# -- the run ------------------------------------------------------------------------------
@blueprint.route("/<token>/run", methods=["POST"])
@login_required
def start(app_key: str, form_key: str, token: str) -> Any:
    """Hand the import to the job runner (``service.imports.submit``); its page."""
    _form(app_key, form_key)
    staged = _staged(app_key, form_key, token)
    mode = request.form.get("mode", staged.options.get("mode", "all"))
    staged.options["mode"] = mode if mode in MODES else "all"
    try:
        data = _staging().data(staged)
        arguments = _arguments(staged, data)
        run_id = service().imports.submit(*arguments[0], **arguments[1], dry_run=False)
    except FileNotFoundError:
        flash(_gone(), "danger")
        return _home(app_key, form_key)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("imports.check", app_key=app_key, form_key=form_key, token=token))
    _staging().drop(staged)  # the run keeps the bytes now
    return redirect(_run_url(app_key, form_key, run_id))


def _run_url(app_key: str, form_key: str, run_id: int, token: str | None = None) -> str:
    return url_for(
        "imports.run_page", app_key=app_key, form_key=form_key, run_id=run_id, upload=token
    )


def _run(app_key: str, form_key: str, run_id: int) -> Any:
    """One of the actor's import runs of this form; 404 for anything else."""
    try:
        run = service().imports.get_run(actor(), run_id)
    except ServiceError:
        abort(404)
    if (run.app, run.form) != (app_key, form_key):
        abort(404)
    return run


@blueprint.route("/runs/<int:run_id>")
@login_required
def run_page(app_key: str, form_key: str, run_id: int) -> Any:
    """A run: its progress while it runs (polled), the report when it is over."""
    form = _form(app_key, form_key)
    run = _run(app_key, form_key, run_id)
    report = run.report.to_json() if run.report is not None else None
    issues = list((report or {}).get("issues") or [])
    # a background dry run: the staged upload it checked, to import it for real next
    token = request.args.get("upload", "")
    staged = _staging().get(token, app_key, form_key) if token else None
    if staged is not None and staged.dry_run_id != run.id:
        staged = None
    return render_template(
        "import_run.html",
        app_key=app_key,
        form=form,
        run=run,
        report=report,
        issues=issues[:ISSUES_SHOWN],
        more=max(0, len(issues) - ISSUES_SHOWN),
        running=run.status in OPEN_STATES,
        staged=staged,
        progress_url=url_for(
            "imports.run_progress", app_key=app_key, form_key=form_key, run_id=run.id
        ),
    )


@blueprint.route("/runs/<int:run_id>/progress.json")
@login_required
def run_progress(app_key: str, form_key: str, run_id: int) -> Any:
    """The run's state for the progress bar: status, done, total, over or not."""
    _form(app_key, form_key)
    run = _run(app_key, form_key, run_id)
    answer = jsonify(
        id=run.id,
        status=run.status,
        status_text=status_text(run.status),
        done=run.done or 0,
        total=run.total or 0,
        over=run.status not in OPEN_STATES,
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer


@blueprint.route("/runs/<int:run_id>/cancel", methods=["POST"])
@login_required
def run_cancel(app_key: str, form_key: str, run_id: int) -> Any:
    """Ask the run to stop (it stops between chunks; see its report)."""
    _form(app_key, form_key)
    _run(app_key, form_key, run_id)
    try:
        run = service().imports.cancel(actor(), run_id)
    except ServiceError as refused:
        flash(str(refused), "danger")
    else:
        if run.status == "cancelled":
            flash(_("The import was cancelled"), "warning")
        elif run.status in OPEN_STATES:
            flash(_("Cancel requested: the import stops after the rows it is writing"), "warning")
    return redirect(_run_url(app_key, form_key, run_id, request.args.get("upload") or None))


@blueprint.route("/runs/<int:run_id>/errors.xlsx")
@login_required
def run_errors(app_key: str, form_key: str, run_id: int) -> Any:
    """The run's failing rows with their reasons."""
    form = _form(app_key, form_key)
    run = _run(app_key, form_key, run_id)
    try:
        data = service().imports.run_errors(actor(), run_id)
    except ServiceError:
        abort(404)
    return _xlsx(data, f"{form.key}-{run.id}-errors.xlsx", _errors_name(run.file_name or ""))


def status_text(status: str) -> str:
    """A run's status in the page's language."""
    names = {
        "queued": pgettext("import run", "queued"),
        "running": pgettext("import run", "running"),
        "done": pgettext("import run", "done"),
        "failed": pgettext("import run", "failed"),
        "cancelled": pgettext("import run", "cancelled"),
    }
    return names.get(status, status)


@blueprint.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"import_status": status_text}
