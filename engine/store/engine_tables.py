"""The engine's own tables: installed apps, published form versions, column state,
record revisions, audit log, outbox, serial counters and uploaded files.

This module is the schema as the code expects it at the newest migration. The database
gets there through the Alembic revisions in :mod:`engine.store.migrations` (run by
:func:`upgrade_engine_tables`, i.e. ``lowcode init``); a change here comes with a new
revision there, and ``tests/store/test_engine_migrations.py`` checks that the two agree.
Form tables (``f_*``) are not in this metadata: publishing manages them.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.types import AwareDateTime

metadata = sa.MetaData()

#: an auto-incrementing 64-bit key on PostgreSQL; SQLite only auto-increments INTEGER
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

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
# definitions in every transaction (see engine/store/generations.py). A table of its own, not a
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
    # the layout of ``definition`` (engine.definitions.model.DEFINITION_FORMAT_VERSION)
    sa.Column("format_version", sa.Integer, nullable=False, server_default=sa.text("1")),
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
    # the form_versions.version_no the revision was written under (NULL: written before
    # the column existed)
    sa.Column("form_version", sa.Integer),
    sa.UniqueConstraint("app", "form", "record_id", "revision_no", name="uq_record_revisions"),
    # the report cache reads max(id) per form (engine/store/reports*; migration 0012)
    sa.Index("ix_record_revisions_form_id", "app", "form", "id"),
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
    # the consumer holding the event (engine.store.outbox) and until when; a lease
    # that ran out lets another consumer claim the event again
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("claimed_until", AwareDateTime),
    # set when the event failed MAX_ATTEMPTS times: never claimed again
    sa.Column("dead_at", AwareDateTime),
    # the claim query walks the undelivered, live events in id order
    sa.Index(
        "ix_outbox_due",
        "id",
        sqlite_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
        postgresql_where=sa.text("delivered_at IS NULL AND dead_at IS NULL"),
    ),
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


def upgrade_engine_tables(conn: sa.Connection) -> str:
    """Bring the engine tables to the newest revision on ``conn``, inside its transaction.

    A fresh database gets every table; one made before migrations existed is adopted
    and upgraded in place; one already at the newest revision is left alone. Returns
    the revision the database is at (see :mod:`engine.store.migrations`).
    """
    from engine.store.migrations import upgrade_to_head  # alembic is imported on demand

    return upgrade_to_head(conn)


def create_engine_tables(conn: sa.Connection, now: object = None) -> str:
    """The former name of :func:`upgrade_engine_tables` (``now`` is no longer used)."""
    return upgrade_engine_tables(conn)


# the organisation's and the working calendar's tables live on the same metadata (one
# schema, one migration history)
from engine.store import batch_job_tables as _batch_job_tables  # noqa: E402,F401  (registers them)
from engine.store import calendar_tables as _calendar_tables  # noqa: E402,F401  (registers them)
from engine.store import flow_tables as _flow_tables  # noqa: E402,F401  (registers them)
from engine.store import job_tables as _job_tables  # noqa: E402,F401  (registers them)
from engine.store import ledger_tables as _ledger_tables  # noqa: E402,F401  (registers them)
from engine.store import notification_tables as _notification_tables  # noqa: E402,F401  (registers it)
from engine.store import org_tables as _org_tables  # noqa: E402,F401  (registers them)
from engine.store import rule_tables as _rule_tables  # noqa: E402,F401  (registers it)
from engine.store import saved_view_tables as _saved_view_tables  # noqa: E402,F401  (registers it)
from engine.store import transfer_tables as _transfer_tables  # noqa: E402,F401  (registers them)
