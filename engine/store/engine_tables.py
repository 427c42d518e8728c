"""The engine's own tables: installed apps, published form versions, column state,
record revisions, audit log, outbox, serial counters and uploaded files.

Created with ``metadata.create_all`` plus a schema-version row; versioned migrations
(Alembic) can take over once the schema starts to change between releases.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.types import AwareDateTime

SCHEMA_VERSION = 1

metadata = sa.MetaData()

#: an auto-incrementing 64-bit key on PostgreSQL; SQLite only auto-increments INTEGER
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

schema_info = sa.Table(
    "engine_schema",
    metadata,
    sa.Column("component", sa.String(50), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("applied_at", AwareDateTime, nullable=False),
)

apps = sa.Table(
    "apps",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("name", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("installed_at", AwareDateTime, nullable=False),
    sa.Column("installed_by", sa.String(100), nullable=False),
)

# One row per app whose definitions were ever published: every publish moves the
# generation on, and each process compares it with the generation of its cached
# definitions in every transaction (see engine/store/forms.py). A table of its own, not a
# column of ``apps``: a form can be published before (or without) its app's install row.
app_generations = sa.Table(
    "app_generations",
    metadata,
    sa.Column("app", sa.String(50), primary_key=True),
    sa.Column("generation", sa.BigInteger, nullable=False),
)

form_versions = sa.Table(
    "form_versions",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("form", sa.String(50), nullable=False),
    sa.Column("version_no", sa.Integer, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("published_at", AwareDateTime, nullable=False),
    sa.Column("published_by", sa.String(100), nullable=False),
    sa.UniqueConstraint("app", "form", "version_no", name="uq_form_versions_app_form_no"),
)

# One row per physical column of a form's tables; the source of truth for publishing
# (no reflection). ``table_name`` tells parent and child tables apart.
form_columns = sa.Table(
    "form_columns",
    metadata,
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

record_revisions = sa.Table(
    "record_revisions",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("form", sa.String(50), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("revision_no", sa.Integer, nullable=False),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("changes", sa.JSON, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("at", AwareDateTime, nullable=False),
    # the definition version the revision was written under (NULL: before it was kept)
    sa.Column("form_version", sa.Integer),
    sa.UniqueConstraint("app", "form", "record_id", "revision_no", name="uq_record_revisions"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("at", AwareDateTime, nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("app", sa.String(50)),
    sa.Column("form", sa.String(50)),
    sa.Column("record_id", sa.BigInteger),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_audit_log_record", "app", "form", "record_id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("available_at", AwareDateTime, nullable=False),
    sa.Column("delivered_at", AwareDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_outbox_pending", "delivered_at", "available_at"),
)

serial_counters = sa.Table(
    "serial_counters",
    metadata,
    sa.Column("app", sa.String(50), primary_key=True),
    sa.Column("form", sa.String(50), primary_key=True),
    sa.Column("field", sa.String(80), primary_key=True),
    sa.Column("period_key", sa.String(100), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("form", sa.String(50), nullable=False),
    sa.Column("field", sa.String(80), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    # the record (of app.form) the file is attached to; NULL until a record is saved with
    # it, so a file id cannot be reused by another record (see docs/store.md, Files)
    sa.Column("record_id", sa.BigInteger),
)


def create_engine_tables(conn: sa.Connection, now: object) -> None:
    """Create missing engine tables and record the schema version (idempotent)."""
    metadata.create_all(conn)
    exists = conn.execute(
        sa.select(schema_info.c.version).where(schema_info.c.component == "engine")
    ).scalar()
    if exists is None:
        conn.execute(
            schema_info.insert().values(component="engine", version=SCHEMA_VERSION, applied_at=now)
        )
