"""Tables of approval flows: pinned versions, instances, tasks, timeline, timers,
submission snapshots and delegations (委托).

``flow_tasks`` is the inbox: ``(assignee, status)`` is indexed so "my open tasks" is one
index range scan. Instances keep their state as JSON (engine/runtime/flows/state.py)
with its format version; tasks, timeline entries and timers are rows of their own so
they can be queried, counted and locked.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime

LOGIN = 100

flow_versions = sa.Table(
    "flow_versions",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("flow", sa.String(50), nullable=False),
    sa.Column("form", sa.String(50), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("format_version", sa.Integer, nullable=False),
    sa.Column("published_at", AwareDateTime, nullable=False),
    sa.Column("published_by", sa.String(LOGIN), nullable=False),
    # the version new submissions use; older ones stay for the instances pinned to them
    sa.Column("current", sa.Boolean, nullable=False),
    sa.UniqueConstraint("app", "flow", "content_hash", name="uq_flow_versions_hash"),
)

flow_instances = sa.Table(
    "flow_instances",
    metadata,
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
    sa.Column("started_at", AwareDateTime, nullable=False),
    sa.Column("updated_at", AwareDateTime, nullable=False),
    sa.Column("finished_at", AwareDateTime, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_flow_instances_record", "app", "form", "record_id"),
    sa.Index("ix_flow_instances_submitter", "submitter", "status"),
)

flow_tasks = sa.Table(
    "flow_tasks",
    metadata,
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
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("acted_at", AwareDateTime, nullable=True),
    sa.Column("acted_by", sa.String(LOGIN), nullable=True),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("signature", sa.String(200), nullable=True),
    sa.Index("ix_flow_tasks_inbox", "assignee", "status", "id"),
    sa.Index("ix_flow_tasks_instance", "instance_id", "live"),
)

flow_timeline = sa.Table(
    "flow_timeline",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.BigInteger, nullable=False),
    sa.Column("at", AwareDateTime, nullable=False),
    sa.Column("actor", sa.String(LOGIN), nullable=False),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("node", sa.String(50), nullable=True),
    sa.Column("task_id", sa.BigInteger, nullable=True),
    sa.Column("cycle", sa.Integer, nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_flow_timeline_instance", "instance_id", "id"),
)

flow_timers = sa.Table(
    "flow_timers",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("instance_id", sa.BigInteger, nullable=False),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("node", sa.String(50), nullable=False),
    sa.Column("entry", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("due_at", AwareDateTime, nullable=False),
    # pending -> fired | cancelled; only pending timers are due
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("fired_at", AwareDateTime, nullable=True),
    sa.Index("ix_flow_timers_due", "state", "due_at"),
    sa.Index("ix_flow_timers_instance", "instance_id", "state"),
)

flow_snapshots = sa.Table(
    "flow_snapshots",
    metadata,
    sa.Column("instance_id", sa.BigInteger, primary_key=True),
    sa.Column("cycle", sa.Integer, primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("record_version", sa.Integer, nullable=False),
    sa.Column("taken_at", AwareDateTime, nullable=False),
)

flow_delegations = sa.Table(
    "flow_delegations",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("login", sa.String(LOGIN), nullable=False),
    sa.Column("delegate", sa.String(LOGIN), nullable=False),
    sa.Column("starts_at", AwareDateTime, nullable=False),
    sa.Column("ends_at", AwareDateTime, nullable=False),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("created_by", sa.String(LOGIN), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Index("ix_flow_delegations_login", "login", "revoked"),
)
