"""Admin pages of declared batch jobs, on the ``/admin`` blueprint (organisation admins
only: its ``before_request`` refuses anyone else with 404):

- ``/admin/batch-jobs``: every installed app's jobs, each with a form to run it for a
  period (optionally dry), and the newest runs with their progress;
- ``POST /admin/batch-jobs/run``: hands the run to the job runner
  (``service.batch_jobs.submit``) and shows its page;
- ``/admin/batch-jobs/runs/<id>``: one run's status, progress and per-group failures;
  while it is queued or running the page asks the browser to reload it (a ``Refresh``
  header, every few seconds).

The service decides and refuses; a refusal (a bad period, an unknown job) is a message
on the page. Importing this module adds the routes (``web/__init__.py`` does).
"""

from __future__ import annotations

from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for

from engine.service import ServiceError
from web.admin import blueprint
from web.auth import actor, service
from web.text import _

#: seconds between reloads of a running run's page
REFRESH_SECONDS = 3
#: the example period shown in each kind of job's period box
PERIOD_EXAMPLES = {"month": "2026-09", "quarter": "2026-Q3", "year": "2026"}
#: runs shown per app on the list page
RUNS_SHOWN = 20


@blueprint.route("/batch-jobs")
def batch_jobs() -> Any:
    """The jobs of every installed app, a run form for each, and the newest runs."""
    me = actor()
    apps: list[dict[str, Any]] = []
    runs: list[Any] = []
    try:
        for app in service().list_apps(me):
            jobs = service().batch_jobs.list(me, app.key)
            if jobs:
                apps.append({"app": app, "jobs": jobs})
                runs.extend(service().batch_jobs.runs(me, app.key)[:RUNS_SHOWN])
    except ServiceError as refused:  # a message on the page (never a redirect loop)
        flash(str(refused), "danger")
    runs.sort(key=lambda run: run.id, reverse=True)
    return render_template("batch_jobs.html", apps=apps, runs=runs, examples=PERIOD_EXAMPLES)


@blueprint.route("/batch-jobs/run", methods=["POST"])
def batch_job_run() -> Any:
    """Submit a run of one job for a period through the job runner; its page."""
    app_key = (request.form.get("app") or "")[:100]
    job_key = (request.form.get("job") or "")[:100]
    period = (request.form.get("period") or "").strip()[:40]
    dry_run = request.form.get("dry_run") == "1"
    try:
        run_id = service().batch_jobs.submit(actor(), app_key, job_key, period, dry_run)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("admin.batch_jobs"))
    if dry_run:
        flash(_("Dry run %(run)s queued: it writes nothing", run=run_id), "success")
    else:
        flash(_("Run %(run)s queued", run=run_id), "success")
    return redirect(url_for("admin.batch_job_run_page", run_id=run_id))


@blueprint.route("/batch-jobs/runs/<int:run_id>")
def batch_job_run_page(run_id: int) -> Any:
    """One run: status, progress and failures; reloaded while it runs."""
    try:
        run = service().batch_jobs.get_run(actor(), run_id)
    except ServiceError as refused:
        flash(str(refused), "danger")
        return redirect(url_for("admin.batch_jobs"))
    answer = make_response(render_template("batch_job_run.html", run=run))
    if run.running:
        answer.headers["Refresh"] = str(REFRESH_SECONDS)
    return answer
