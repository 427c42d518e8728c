"""Batch job runs and outputs (SQLAlchemy Core only): tables in batch_job_tables.py.

A run row is written when a run starts (or is queued), its progress as groups are done,
and its end. An output row links (app, job, period, group key) to the document the job
wrote: the idempotency key a re-run finds. The job's ``where`` becomes SQL here, as
permission row rules do (engine/store/row_scopes.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.definitions.permissions import RowRule
from engine.org.principal import Principal
from engine.store.batch_job_tables import batch_job_outputs, batch_job_runs
from engine.store.forms import StoredForm
from engine.store.row_scopes import rule_condition

#: run statuses: queued (submitted, not started), running, done, failed
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
#: counters a run keeps
COUNTERS = ("rows_read", "groups_total", "groups_done", "created", "updated", "unchanged", "failed")


def where_condition(form: StoredForm, expression: str, actor_id: str) -> Any:
    """A job's checked ``where`` as a SQL condition on the form's table."""
    tables = form.tables
    return rule_condition(
        RowRule("expr", expr=expression), tables, tables.table, Principal(actor_id)
    )


def create_run(
    conn: sa.Connection,
    *,
    app: str,
    job: str,
    period: str,
    dry_run: bool,
    started_by: str,
    now: datetime,
    status: str = RUNNING,
) -> int:
    """A new run row; its id."""
    result = conn.execute(
        batch_job_runs.insert().values(
            app=app,
            job=job,
            period=period,
            dry_run=dry_run,
            status=status,
            started_by=started_by,
            started_at=now,
            failures=[],
            **dict.fromkeys(COUNTERS, 0),
        )
    )
    return int(result.inserted_primary_key[0])


def start_run(conn: sa.Connection, run_id: int, now: datetime) -> None:
    """Mark a run running again from scratch (a queued run starting, or a retry)."""
    conn.execute(
        batch_job_runs.update()
        .where(batch_job_runs.c.id == run_id)
        .values(
            status=RUNNING,
            started_at=now,
            finished_at=None,
            error=None,
            failures=[],
            **dict.fromkeys(COUNTERS, 0),
        )
    )


def save_progress(
    conn: sa.Connection,
    run_id: int,
    counters: Mapping[str, int],
    failures: list[dict[str, Any]],
) -> None:
    """Write a run's counters and failures so far."""
    values = {k: int(counters.get(k, 0)) for k in COUNTERS}
    conn.execute(
        batch_job_runs.update()
        .where(batch_job_runs.c.id == run_id)
        .values(failures=list(failures), **values)
    )


def finish_run(
    conn: sa.Connection, run_id: int, status: str, now: datetime, error: str | None = None
) -> None:
    """Mark a run done or failed."""
    conn.execute(
        batch_job_runs.update()
        .where(batch_job_runs.c.id == run_id)
        .values(status=status, finished_at=now, error=error)
    )


def run_row(conn: sa.Connection, run_id: int) -> dict[str, Any] | None:
    """One run as a dict, or None."""
    row = conn.execute(sa.select(batch_job_runs).where(batch_job_runs.c.id == run_id)).mappings()
    found = row.first()
    return dict(found) if found is not None else None


def run_rows(
    conn: sa.Connection, app: str, job: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest runs of an app (or of one of its jobs), newest first."""
    stmt = sa.select(batch_job_runs).where(batch_job_runs.c.app == app)
    if job is not None:
        stmt = stmt.where(batch_job_runs.c.job == job)
    stmt = stmt.order_by(batch_job_runs.c.id.desc()).limit(limit)
    return [dict(row) for row in conn.execute(stmt).mappings()]


def output_of(
    conn: sa.Connection, app: str, job: str, period: str, group_key: str
) -> dict[str, Any] | None:
    """The output row of one group of a period, or None."""
    t = batch_job_outputs.c
    found = (
        conn.execute(
            sa.select(batch_job_outputs).where(
                t.app == app, t.job == job, t.period == period, t.group_key == group_key
            )
        )
        .mappings()
        .first()
    )
    return dict(found) if found is not None else None


def save_output(
    conn: sa.Connection,
    *,
    app: str,
    job: str,
    period: str,
    group_key: str,
    form: str,
    record_id: int,
    run_id: int,
    now: datetime,
) -> None:
    """Link a group of a period to the document written for it (insert or repoint)."""
    t = batch_job_outputs.c
    key = (t.app == app, t.job == job, t.period == period, t.group_key == group_key)
    values = {"form": form, "record_id": record_id, "run_id": run_id, "written_at": now}
    moved = conn.execute(batch_job_outputs.update().where(*key).values(**values)).rowcount
    if not moved:
        conn.execute(
            batch_job_outputs.insert().values(
                app=app, job=job, period=period, group_key=group_key, **values
            )
        )
