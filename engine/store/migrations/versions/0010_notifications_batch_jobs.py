"""Notifications, batch jobs and status machines.

Revision ID: 0010
Revises: 0009

Adds the tables of :mod:`engine.store.notification_tables` and
:mod:`engine.store.batch_job_tables`, and two nullable columns to ``app_rules`` (the
app's status machines and batch jobs, stored with its rules). Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("app_rules") as batch:
        batch.add_column(sa.Column("machines", sa.JSON))
        batch.add_column(sa.Column("jobs", sa.JSON))
    op.create_table(
        "notifications",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("app", sa.String(50)),
        sa.Column("form", sa.String(50)),
        sa.Column("record_id", IdType),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("sender", sa.String(200), nullable=False),
        sa.Column("source_key", sa.String(300), nullable=False),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("read_at", Aware),
        sa.Column("emailed_at", Aware),
        sa.UniqueConstraint("source_key", "user_id", name="uq_notifications_source_user"),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"])
    op.create_index(
        "ix_notifications_unread",
        "notifications",
        ["user_id"],
        sqlite_where=sa.text("read_at IS NULL"),
        postgresql_where=sa.text("read_at IS NULL"),
    )
    op.create_table(
        "batch_job_runs",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("job", sa.String(60), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_by", sa.String(100), nullable=False),
        sa.Column("started_at", Aware, nullable=False),
        sa.Column("finished_at", Aware),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("groups_total", sa.Integer, nullable=False),
        sa.Column("groups_done", sa.Integer, nullable=False),
        sa.Column("created", sa.Integer, nullable=False),
        sa.Column("updated", sa.Integer, nullable=False),
        sa.Column("unchanged", sa.Integer, nullable=False),
        sa.Column("failed", sa.Integer, nullable=False),
        sa.Column("failures", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_batch_job_runs_job", "batch_job_runs", ["app", "job", "id"])
    op.create_table(
        "batch_job_outputs",
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("job", sa.String(60), primary_key=True),
        sa.Column("period", sa.String(20), primary_key=True),
        sa.Column("group_key", sa.String(500), primary_key=True),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("record_id", IdType, nullable=False),
        sa.Column("run_id", IdType, nullable=False),
        sa.Column("written_at", Aware, nullable=False),
    )
    op.create_index(
        "ix_batch_job_outputs_record", "batch_job_outputs", ["app", "form", "record_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_batch_job_outputs_record", table_name="batch_job_outputs")
    op.drop_table("batch_job_outputs")
    op.drop_index("ix_batch_job_runs_job", table_name="batch_job_runs")
    op.drop_table("batch_job_runs")
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("app_rules") as batch:
        batch.drop_column("jobs")
        batch.drop_column("machines")
