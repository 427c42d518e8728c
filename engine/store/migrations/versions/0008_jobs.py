"""Background work: the scheduler's leader lease, scheduled runs and the embedded job queue.

Revision ID: 0008
Revises: 0007

Adds the tables of :mod:`engine.store.job_tables`. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DUE = "finished_at IS NULL AND dead_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "leader_leases",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(100), nullable=False),
        sa.Column("acquired_at", Aware, nullable=False),
        sa.Column("renewed_at", Aware, nullable=False),
        sa.Column("expires_at", Aware, nullable=False),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("last_fire_at", Aware, nullable=False),
        sa.Column("last_run_at", Aware),
        sa.Column("last_error", sa.Text),
    )
    op.create_table(
        "jobs",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("available_at", Aware, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_until", Aware),
        sa.Column("finished_at", Aware),
        sa.Column("dead_at", Aware),
    )
    op.create_index(
        "ix_jobs_due",
        "jobs",
        ["id"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_due", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("schedule_runs")
    op.drop_table("leader_leases")
