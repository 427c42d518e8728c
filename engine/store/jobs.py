"""SQL on the ``jobs`` table: enqueue, claim under a lease, finish, record failures.

The embedded job runner (:mod:`engine.service.jobs`) loops like the outbox consumer:
claim due jobs in a short write transaction, run each outside any transaction, then
finish it or record the failure. A runner that dies mid-job loses nothing: once its
lease runs out the job is claimed again (at least once; jobs should be idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.store.job_tables import jobs
from engine.store.outbox import MAX_ERROR_CHARS, backoff

#: failed runs after which a job is dead (never claimed again)
MAX_JOB_ATTEMPTS = 5


@dataclass(frozen=True)
class ClaimedJob:
    """A job held by a runner; ``attempts`` counts failed runs before this claim."""

    id: int
    name: str
    payload: Mapping[str, Any]
    attempts: int


def enqueue(conn: sa.Connection, name: str, payload: Mapping[str, Any], now: datetime) -> int:
    """Add a job due now; its id."""
    result = conn.execute(
        jobs.insert().values(
            name=name, payload=dict(payload), created_at=now, available_at=now, attempts=0
        )
    )
    return int(result.inserted_primary_key[0])


def claim_jobs(
    conn: sa.Connection, runner: str, *, now: datetime, lease: timedelta, limit: int = 10
) -> list[ClaimedJob]:
    """Lease up to ``limit`` due jobs to ``runner`` until ``now + lease``, oldest first."""
    due = sa.and_(
        jobs.c.finished_at.is_(None),
        jobs.c.dead_at.is_(None),
        jobs.c.available_at <= now,
        sa.or_(jobs.c.claimed_until.is_(None), jobs.c.claimed_until < now),
    )
    rows = conn.execute(
        sa.select(jobs.c.id, jobs.c.name, jobs.c.payload, jobs.c.attempts)
        .where(due)
        .order_by(jobs.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if rows:
        conn.execute(
            jobs.update()
            .where(jobs.c.id.in_([r[0] for r in rows]))
            .values(claimed_by=runner, claimed_until=now + lease)
        )
    return [ClaimedJob(*r) for r in rows]


def finish_job(conn: sa.Connection, runner: str, job_id: int, now: datetime) -> bool:
    """Mark a job this runner holds done; False when another runner took it over."""
    return (
        conn.execute(
            jobs.update()
            .where(jobs.c.id == job_id, jobs.c.claimed_by == runner, jobs.c.finished_at.is_(None))
            .values(finished_at=now, claimed_until=None)
        ).rowcount
        == 1
    )


def fail_job(conn: sa.Connection, runner: str, job_id: int, error: str, now: datetime) -> bool:
    """Record a failed run (retried after a back-off, dead after MAX_JOB_ATTEMPTS)."""
    row = conn.execute(
        sa.select(jobs.c.attempts)
        .where(jobs.c.id == job_id, jobs.c.claimed_by == runner, jobs.c.finished_at.is_(None))
        .with_for_update()
    ).first()
    if row is None:
        return False
    attempts = row[0] + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_error": error[:MAX_ERROR_CHARS],
        "claimed_by": None,
        "claimed_until": None,
    }
    if attempts >= MAX_JOB_ATTEMPTS:
        values["dead_at"] = now
    else:
        values["available_at"] = now + backoff(attempts)
    conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))
    return True


def job_rows(conn: sa.Connection, *, unfinished_only: bool = False) -> list[dict[str, Any]]:
    """Jobs, newest first (for the CLI and admin pages)."""
    stmt = sa.select(jobs).order_by(jobs.c.id.desc())
    if unfinished_only:
        stmt = stmt.where(jobs.c.finished_at.is_(None))
    return [dict(r) for r in conn.execute(stmt).mappings()]


# -- the admin page -----------------------------------------------------------------------
#: the admin page's views of the queue
JOB_VIEWS = ("pending", "running", "dead", "finished")
#: counts stop here (the page says "1000+"), like the outbox's
JOB_COUNT_CAP = 1000


def _job_view(view: str, now: datetime) -> sa.ColumnElement[bool]:
    waiting = sa.and_(jobs.c.finished_at.is_(None), jobs.c.dead_at.is_(None))
    if view == "pending":  # due now or later, nobody holding it
        return sa.and_(waiting, sa.or_(jobs.c.claimed_until.is_(None), jobs.c.claimed_until < now))
    if view == "running":  # claimed by a runner whose lease still runs
        return sa.and_(waiting, jobs.c.claimed_until >= now)
    if view == "dead":
        return sa.and_(jobs.c.finished_at.is_(None), jobs.c.dead_at.is_not(None))
    if view == "finished":
        return jobs.c.finished_at.is_not(None)
    raise ValueError(f"unknown job view {view!r}; one of {', '.join(JOB_VIEWS)}")


def jobs_page(
    conn: sa.Connection, view: str, now: datetime, *, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` jobs of ``view`` (see :data:`JOB_VIEWS`) newest first, keyset on id
    (pending and running walk the partial index ``ix_jobs_due``, the others the key)."""
    stmt = sa.select(jobs).where(_job_view(view, now))
    if before_id is not None:
        stmt = stmt.where(jobs.c.id < before_id)
    stmt = stmt.order_by(jobs.c.id.desc()).limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def job_counts(conn: sa.Connection, now: datetime) -> dict[str, int]:
    """How many jobs each view holds, each count stopping at ``JOB_COUNT_CAP + 1``."""
    counts: dict[str, int] = {}
    for view in JOB_VIEWS:
        capped = (
            sa.select(jobs.c.id).where(_job_view(view, now)).limit(JOB_COUNT_CAP + 1).subquery()
        )
        counts[view] = int(conn.execute(sa.select(sa.func.count()).select_from(capped)).scalar())
    return counts


def job_row(conn: sa.Connection, job_id: int) -> dict[str, Any] | None:
    """One job by id, or None."""
    row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().first()
    return None if row is None else dict(row)


def replay_jobs(conn: sa.Connection, job_ids: Iterable[int], now: datetime) -> list[int]:
    """Make unfinished jobs (dead ones revived, attempts reset) due now and unclaimed; the
    ids that changed (finished or unknown ids are left alone)."""
    ids = sorted(set(job_ids))
    if not ids:
        return []
    rows = conn.execute(
        jobs.update()
        .where(jobs.c.id.in_(ids), jobs.c.finished_at.is_(None))
        .values(available_at=now, dead_at=None, attempts=0, claimed_by=None, claimed_until=None)
        .returning(jobs.c.id)
    )
    return sorted(row[0] for row in rows)
