"""App generations, outbox leases, definition format versions; engine_schema retired.

Revision ID: 0002
Revises: 0001

- ``apps.generation``: bumped by every publish/install, so other processes know to
  rebuild their definition caches (existing apps start at 1).
- ``outbox.claimed_by`` / ``claimed_until`` / ``dead_at``: consumer leases and dead
  events (:mod:`engine.store.outbox`); the claim query's partial index ``ix_outbox_due``
  replaces ``ix_outbox_pending``.
- ``form_versions.format_version``: the layout of the stored definition JSON (every
  existing row was written in format 1).
- ``record_revisions.form_version``: the form version a revision was written under
  (NULL for revisions written before this revision).
- ``engine_schema`` is dropped: the Alembic version table replaces it.
- :func:`_convert_decimal_columns`: the data step of exact decimals on SQLite.
"""

from __future__ import annotations

import importlib
import importlib.util

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
DUE = "delivered_at IS NULL AND dead_at IS NULL"
#: the module (written separately) whose SQLite data step runs here once it exists
DECIMALS_MODULE = "engine.store.exact_decimals"


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.add_column(
            sa.Column("generation", sa.Integer, nullable=False, server_default=sa.text("1"))
        )
    with op.batch_alter_table("form_versions") as batch:
        batch.add_column(
            sa.Column("format_version", sa.Integer, nullable=False, server_default=sa.text("1"))
        )
    with op.batch_alter_table("record_revisions") as batch:
        batch.add_column(sa.Column("form_version", sa.Integer))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(100)))
        batch.add_column(sa.Column("claimed_until", Aware))
        batch.add_column(sa.Column("dead_at", Aware))
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["id"],
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )
    op.drop_table("engine_schema")
    _convert_decimal_columns(op.get_bind())


def _convert_decimal_columns(conn: sa.Connection) -> None:
    """SQLite only: convert stored decimal columns to exact storage, once that step exists.

    ``engine.store.exact_decimals`` is being written separately; until it is part of
    the package this does nothing (checked with ``find_spec``, so an ImportError raised
    inside the module is not silently swallowed).
    """
    if conn.dialect.name != "sqlite":
        return
    if importlib.util.find_spec(DECIMALS_MODULE) is None:
        return
    importlib.import_module(DECIMALS_MODULE).upgrade_sqlite_decimal_columns(conn)


def downgrade() -> None:
    op.create_table(
        "engine_schema",
        sa.Column("component", sa.String(50), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("applied_at", Aware, nullable=False),
    )
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.create_index("ix_outbox_pending", "outbox", ["delivered_at", "available_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("dead_at")
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    with op.batch_alter_table("record_revisions") as batch:
        batch.drop_column("form_version")
    with op.batch_alter_table("form_versions") as batch:
        batch.drop_column("format_version")
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("generation")
