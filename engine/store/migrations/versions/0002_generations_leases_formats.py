"""App generations, outbox leases, definition format versions; engine_schema retired.

Revision ID: 0002
Revises: 0001

- ``app_generations``: one row per app, its generation bumped by every publish and
  install, so other processes know to rebuild their definition caches (a table of its
  own: a form can be published before its app's install row exists).
- ``outbox.claimed_by`` / ``claimed_until`` / ``dead_at``: consumer leases and dead
  events (:mod:`engine.store.outbox`); the claim query's partial index ``ix_outbox_due``
  replaces ``ix_outbox_pending``.
- ``form_versions.format_version``: the layout of the stored definition JSON (every
  existing row was written in format 1).
- ``record_revisions.form_version``: the form version a revision was written under
  (NULL for revisions written before this revision).
- ``engine_schema`` is dropped: the Alembic version table replaces it.
- SQLite only: decimal columns of existing form tables are rewritten as exact minor
  units (:func:`engine.store.exact_decimals.upgrade_sqlite_decimal_columns`; it must
  run exactly once, which the revision guarantees).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.exact_decimals import upgrade_sqlite_decimal_columns

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
DUE = "delivered_at IS NULL AND dead_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "app_generations",
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
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
    """SQLite only: stored decimals (REAL-like NUMERIC values) become exact minor units."""
    if conn.dialect.name == "sqlite":
        upgrade_sqlite_decimal_columns(conn)


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
    op.drop_table("app_generations")
