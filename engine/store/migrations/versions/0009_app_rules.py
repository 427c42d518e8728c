"""Rules: each app's published rule documents.

Revision ID: 0009
Revises: 0008

Adds the table of :mod:`engine.store.rule_tables`. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "app_rules",
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("rules", sa.JSON, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_rules")
