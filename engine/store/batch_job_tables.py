"""The tables of declared batch jobs (``jobs/*.yaml``): their runs and their outputs.

- ``batch_job_runs``: one row per run (dry or real) of a job for a period: who started
  it, progress (rows read, groups done) and per-group failures, so a page can show it.
- ``batch_job_outputs``: the idempotency record: for (app, job, period, group key) the
  document the job created or updated. A re-run for the same period finds it and changes
  nothing it already did.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime

batch_job_runs = sa.Table(
    "batch_job_runs",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("job", sa.String(60), nullable=False),
    sa.Column("period", sa.String(20), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    # running | done | failed
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_by", sa.String(100), nullable=False),
    sa.Column("started_at", AwareDateTime, nullable=False),
    sa.Column("finished_at", AwareDateTime),
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
    sa.Column("groups_total", sa.Integer, nullable=False, default=0),
    sa.Column("groups_done", sa.Integer, nullable=False, default=0),
    sa.Column("created", sa.Integer, nullable=False, default=0),
    sa.Column("updated", sa.Integer, nullable=False, default=0),
    sa.Column("unchanged", sa.Integer, nullable=False, default=0),
    sa.Column("failed", sa.Integer, nullable=False, default=0),
    # [{"group": {...}, "error": "..."}]
    sa.Column("failures", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Index("ix_batch_job_runs_job", "app", "job", "id"),
)

batch_job_outputs = sa.Table(
    "batch_job_outputs",
    metadata,
    sa.Column("app", sa.String(50), primary_key=True),
    sa.Column("job", sa.String(60), primary_key=True),
    sa.Column("period", sa.String(20), primary_key=True),
    # the group's key values as canonical JSON text
    sa.Column("group_key", sa.String(500), primary_key=True),
    sa.Column("form", sa.String(50), nullable=False),
    sa.Column("record_id", IdType, nullable=False),
    sa.Column("run_id", IdType, nullable=False),
    sa.Column("written_at", AwareDateTime, nullable=False),
    sa.Index("ix_batch_job_outputs_record", "app", "form", "record_id"),
)
