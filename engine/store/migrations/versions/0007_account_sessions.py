"""Accounts: a password that must be changed at the next sign-in, and the session epoch
that signs a user out everywhere.

Revision ID: 0007
Revises: 0006

Adds two columns to ``org_users`` (see :mod:`engine.store.org_sessions`); existing users
keep their passwords and sessions (``password_must_change`` false, epoch 0).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("org_users") as batch:
        batch.add_column(
            sa.Column("password_must_change", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("org_users") as batch:
        batch.drop_column("session_epoch")
        batch.drop_column("password_must_change")
