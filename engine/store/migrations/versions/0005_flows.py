"""Approval flows: pinned flow versions, instances, tasks, timeline, timers, snapshots,
delegations.

Revision ID: 0005
Revises: 0004

Adds the tables of :mod:`engine.store.flow_tables`. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LOGIN = 100


def upgrade() -> None:
    op.create_table(
        "flow_versions",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("flow", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("format_version", sa.Integer, nullable=False),
        sa.Column("published_at", Aware, nullable=False),
        sa.Column("published_by", sa.String(LOGIN), nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.UniqueConstraint("app", "flow", "content_hash", name="uq_flow_versions_hash"),
    )
    op.create_table(
        "flow_instances",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("flow", sa.String(50), nullable=False),
        sa.Column("flow_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("submitter", sa.String(LOGIN), nullable=False),
        sa.Column("title", sa.String(500), nullable=True),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("format_version", sa.Integer, nullable=False),
        sa.Column("started_at", Aware, nullable=False),
        sa.Column("updated_at", Aware, nullable=False),
        sa.Column("finished_at", Aware, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_flow_instances_record", "flow_instances", ["app", "form", "record_id"])
    op.create_index("ix_flow_instances_submitter", "flow_instances", ["submitter", "status"])
    op.create_table(
        "flow_tasks",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.BigInteger, nullable=False),
        sa.Column("node", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("assignee", sa.String(LOGIN), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("slot", sa.Integer, nullable=False),
        sa.Column("stage", sa.Integer, nullable=False),
        sa.Column("stage_mode", sa.String(10), nullable=False),
        sa.Column("entry", sa.Integer, nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("live", sa.Boolean, nullable=False),
        sa.Column("auto", sa.Boolean, nullable=False),
        sa.Column("reason", sa.JSON, nullable=False),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("acted_at", Aware, nullable=True),
        sa.Column("acted_by", sa.String(LOGIN), nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("signature", sa.String(200), nullable=True),
    )
    op.create_index("ix_flow_tasks_inbox", "flow_tasks", ["assignee", "status", "id"])
    op.create_index("ix_flow_tasks_instance", "flow_tasks", ["instance_id", "live"])
    op.create_table(
        "flow_timeline",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.BigInteger, nullable=False),
        sa.Column("at", Aware, nullable=False),
        sa.Column("actor", sa.String(LOGIN), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("node", sa.String(50), nullable=True),
        sa.Column("task_id", sa.BigInteger, nullable=True),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_flow_timeline_instance", "flow_timeline", ["instance_id", "id"])
    op.create_table(
        "flow_timers",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.BigInteger, nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("node", sa.String(50), nullable=False),
        sa.Column("entry", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("due_at", Aware, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("fired_at", Aware, nullable=True),
    )
    op.create_index("ix_flow_timers_due", "flow_timers", ["state", "due_at"])
    op.create_index("ix_flow_timers_instance", "flow_timers", ["instance_id", "state"])
    op.create_table(
        "flow_snapshots",
        sa.Column("instance_id", sa.BigInteger, primary_key=True),
        sa.Column("cycle", sa.Integer, primary_key=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("record_version", sa.Integer, nullable=False),
        sa.Column("taken_at", Aware, nullable=False),
    )
    op.create_table(
        "flow_delegations",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("login", sa.String(LOGIN), nullable=False),
        sa.Column("delegate", sa.String(LOGIN), nullable=False),
        sa.Column("starts_at", Aware, nullable=False),
        sa.Column("ends_at", Aware, nullable=False),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("created_by", sa.String(LOGIN), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_flow_delegations_login", "flow_delegations", ["login", "revoked"])


def downgrade() -> None:
    for name in (
        "flow_delegations",
        "flow_snapshots",
        "flow_timers",
        "flow_timeline",
        "flow_tasks",
        "flow_instances",
        "flow_versions",
    ):
        op.drop_table(name)
