"""The tables of background work: the scheduler's leader lease and the embedded job queue.

- ``leader_leases``: one row per leadership name (``scheduler``). On SQLite the row *is*
  the lock: a process leads while it holds an unexpired lease and renews it; another
  takes it over once it expired. On PostgreSQL the lock is a session advisory lock
  (:mod:`engine.store.leadership`) and the row only records who leads, for people.
- ``schedule_runs``: per scheduled job (a cron rule, a daily sweep), the last fire time
  claimed. Claiming a fire time is one conditional UPDATE, so no fire time runs twice,
  even across a change of leader, and missed runs after downtime are known.
- ``jobs``: work submitted through :mod:`engine.service.jobs` for the embedded runner,
  claimed under a lease like the outbox, so a process that dies mid-job loses nothing.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime

leader_leases = sa.Table(
    "leader_leases",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("holder", sa.String(100), nullable=False),
    sa.Column("acquired_at", AwareDateTime, nullable=False),
    sa.Column("renewed_at", AwareDateTime, nullable=False),
    sa.Column("expires_at", AwareDateTime, nullable=False),
)

schedule_runs = sa.Table(
    "schedule_runs",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("last_fire_at", AwareDateTime, nullable=False),
    sa.Column("last_run_at", AwareDateTime),
    sa.Column("last_error", sa.Text),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    # the job's import path, ``package.module:function``
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("available_at", AwareDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("claimed_until", AwareDateTime),
    sa.Column("finished_at", AwareDateTime),
    sa.Column("dead_at", AwareDateTime),
    sa.Index(
        "ix_jobs_due",
        "id",
        sqlite_where=sa.text("finished_at IS NULL AND dead_at IS NULL"),
        postgresql_where=sa.text("finished_at IS NULL AND dead_at IS NULL"),
    ),
)
