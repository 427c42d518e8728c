"""Saved list views: a person's named filters, sort, columns and page size per form.

Revision ID: 0006
Revises: 0005

Adds the table of :mod:`engine.store.saved_view_tables`. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("form", sa.String(50), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("updated_at", Aware, nullable=False),
        sa.UniqueConstraint("owner", "app", "form", "name", name="uq_saved_views_name"),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
