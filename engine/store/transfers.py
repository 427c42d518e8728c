"""Import and export runs, and saved import mappings (SQLAlchemy Core only).

Tables in transfer_tables.py. A run row is written when a run is queued (with the
uploaded file), its progress after every chunk, a cancel request whenever its owner
asks, and its end (report, produced file). The worker reads ``cancel_requested``
between chunks, each read in its own short transaction, so a request made while a chunk
is being written is seen at the next chunk.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.transfer_tables import import_mappings, transfer_runs

#: run statuses
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
#: statuses after which a run changes no more
FINISHED = (DONE, FAILED, CANCELLED)
#: run kinds
KINDS = ("import", "export")

#: the columns a listing reads (never the files)
_LISTED = [c for c in transfer_runs.c if c.key not in ("payload", "output")]


def new_run(
    conn: sa.Connection,
    *,
    kind: str,
    app: str,
    form: str,
    actor: str,
    options: Mapping[str, Any],
    file_name: str,
    payload: bytes | None,
    now: datetime,
) -> int:
    """A queued run row holding the uploaded file; its id."""
    result = conn.execute(
        transfer_runs.insert().values(
            kind=kind,
            app=app,
            form=form,
            actor=actor,
            status=QUEUED,
            options=dict(options),
            file_name=file_name[:255],
            payload=payload,
            done=0,
            total=0,
            cancel_requested=False,
            created_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def run_row(conn: sa.Connection, run_id: int) -> Mapping[str, Any] | None:
    """A run's whole row (files included), or None."""
    row = conn.execute(sa.select(transfer_runs).where(transfer_runs.c.id == run_id)).first()
    return row._mapping if row is not None else None


def start_run(conn: sa.Connection, run_id: int, now: datetime) -> None:
    """Mark a run running (again from scratch: the runner may deliver a job twice)."""
    conn.execute(
        transfer_runs.update()
        .where(transfer_runs.c.id == run_id)
        .values(status=RUNNING, started_at=now, finished_at=None, error=None, done=0)
    )


def set_progress(conn: sa.Connection, run_id: int, done: int, total: int) -> None:
    """Write how many rows of ``total`` a run has done."""
    conn.execute(
        transfer_runs.update()
        .where(transfer_runs.c.id == run_id)
        .values(done=int(done), total=int(total))
    )


def request_cancel(conn: sa.Connection, run_id: int) -> bool:
    """Ask an unfinished run to stop; False when it had already finished."""
    result = conn.execute(
        transfer_runs.update()
        .where(transfer_runs.c.id == run_id, transfer_runs.c.status.not_in(FINISHED))
        .values(cancel_requested=True)
    )
    return bool(result.rowcount)


def cancel_requested(conn: sa.Connection, run_id: int) -> bool:
    """Whether the run's owner asked it to stop."""
    found = conn.execute(
        sa.select(transfer_runs.c.cancel_requested).where(transfer_runs.c.id == run_id)
    ).scalar()
    return bool(found)


def finish_run(
    conn: sa.Connection,
    run_id: int,
    *,
    status: str,
    now: datetime,
    report: Mapping[str, Any] | None = None,
    output: bytes | None = None,
    output_name: str | None = None,
    error: str | None = None,
) -> None:
    """Mark a run done, failed or cancelled with its report and produced file. The
    uploaded file is dropped: it is no longer needed and may be large."""
    conn.execute(
        transfer_runs.update()
        .where(transfer_runs.c.id == run_id)
        .values(
            status=status,
            finished_at=now,
            report=dict(report) if report is not None else None,
            output=output,
            output_name=output_name[:255] if output_name else None,
            error=error[:2000] if error else None,
            payload=None,
        )
    )


def runs_of(
    conn: sa.Connection,
    *,
    actor: str,
    kind: str,
    app: str | None = None,
    form: str | None = None,
    limit: int = 20,
) -> list[Mapping[str, Any]]:
    """An actor's newest runs of one kind (optionally of one app or form), newest first,
    without their files."""
    query = sa.select(*_LISTED).where(transfer_runs.c.actor == actor, transfer_runs.c.kind == kind)
    if app is not None:
        query = query.where(transfer_runs.c.app == app)
    if form is not None:
        query = query.where(transfer_runs.c.form == form)
    rows = conn.execute(query.order_by(transfer_runs.c.id.desc()).limit(limit))
    return [row._mapping for row in rows]


def saved_mapping(conn: sa.Connection, app: str, form: str) -> dict[str, str | None] | None:
    """The mapping last saved for a form, or None."""
    found = conn.execute(
        sa.select(import_mappings.c.mapping).where(
            import_mappings.c.app == app, import_mappings.c.form == form
        )
    ).scalar()
    return dict(found) if found is not None else None


def save_mapping(
    conn: sa.Connection,
    *,
    app: str,
    form: str,
    mapping: Mapping[str, str | None],
    actor: str,
    now: datetime,
) -> None:
    """Keep a form's mapping (replacing the one saved before)."""
    values = {"mapping": dict(mapping), "updated_by": actor, "updated_at": now}
    changed = conn.execute(
        import_mappings.update()
        .where(import_mappings.c.app == app, import_mappings.c.form == form)
        .values(**values)
    )
    if not changed.rowcount:
        conn.execute(import_mappings.insert().values(app=app, form=form, **values))
