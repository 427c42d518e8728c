"""Imports and exports: their runs and each form's saved import mapping.

Revision ID: 0013
Revises: 0012

Adds the tables of :mod:`engine.store.transfer_tables`: ``transfer_runs`` (background
imports and exports with the uploaded file, progress, cancel request, report and the
produced file) and ``import_mappings`` (the column mapping saved per form). Nothing
existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "transfer_runs",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("payload", sa.LargeBinary),
        sa.Column("output", sa.LargeBinary),
        sa.Column("output_name", sa.String(255)),
        sa.Column("done", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("report", sa.JSON),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("started_at", Aware),
        sa.Column("finished_at", Aware),
    )
    op.create_index("ix_transfer_runs_actor", "transfer_runs", ["actor", "kind", "id"])
    op.create_table(
        "import_mappings",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("mapping", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", Aware, nullable=False),
        sa.UniqueConstraint("app", "form", name="uq_import_mappings_form"),
    )


def downgrade() -> None:
    op.drop_table("import_mappings")
    op.drop_index("ix_transfer_runs_actor", table_name="transfer_runs")
    op.drop_table("transfer_runs")
