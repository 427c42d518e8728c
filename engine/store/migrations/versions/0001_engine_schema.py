"""The engine schema as it was before migrations (created by ``metadata.create_all``).

Revision ID: 0001
Revises:
Databases made before migrations existed are stamped at this revision (see
``engine.store.migrations.upgrade_to_head``), so it must stay exactly that schema.
Types are written out here, not imported, so later edits of ``engine_tables`` cannot
change what this revision creates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: an auto-incrementing 64-bit key on PostgreSQL; SQLite only auto-increments INTEGER
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
#: what engine.store.types.AwareDateTime stores in (UTC)
Aware = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "engine_schema",
        sa.Column("component", sa.String(50), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("applied_at", Aware, nullable=False),
    )
    op.create_table(
        "apps",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("name", sa.JSON, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("installed_at", Aware, nullable=False),
        sa.Column("installed_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "form_versions",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("version_no", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("published_at", Aware, nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("app", "form", "version_no", name="uq_form_versions_app_form_no"),
    )
    op.create_table(
        "form_columns",
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("form", sa.String(50), primary_key=True),
        sa.Column("table_name", sa.String(120), primary_key=True),
        sa.Column("column", sa.String(80), primary_key=True),
        sa.Column("field_key", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("since_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "record_revisions",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("record_id", sa.BigInteger, nullable=False),
        sa.Column("revision_no", sa.Integer, nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", Aware, nullable=False),
        sa.UniqueConstraint("app", "form", "record_id", "revision_no", name="uq_record_revisions"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("at", Aware, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("app", sa.String(50)),
        sa.Column("form", sa.String(50)),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_log_record", "audit_log", ["app", "form", "record_id"])
    op.create_table(
        "outbox",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("available_at", Aware, nullable=False),
        sa.Column("delivered_at", Aware),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "available_at"])
    op.create_table(
        "serial_counters",
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("form", sa.String(50), primary_key=True),
        sa.Column("field", sa.String(80), primary_key=True),
        sa.Column("period_key", sa.String(100), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "files",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("field", sa.String(80), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("record_id", sa.BigInteger),
    )


def downgrade() -> None:
    for table in (
        "files",
        "serial_counters",
        "outbox",
        "audit_log",
        "record_revisions",
        "form_columns",
        "form_versions",
        "apps",
        "engine_schema",
    ):
        op.drop_table(table)
