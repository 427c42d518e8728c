"""Dashboards: each app's dashboard documents, and an index the report cache reads.

Revision ID: 0012
Revises: 0011

Adds the nullable column ``app_rules.dashboards`` (the app's checked dashboard
documents, stored with its rules) and the index ``ix_record_revisions_form_id`` on
``record_revisions (app, form, id)``: the report cache keys a widget's result on the
latest revision of its source forms, ``max(id)`` per form, which the index answers
without a scan. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_rules") as batch:
        batch.add_column(sa.Column("dashboards", sa.JSON))
    op.create_index("ix_record_revisions_form_id", "record_revisions", ["app", "form", "id"])


def downgrade() -> None:
    op.drop_index("ix_record_revisions_form_id", table_name="record_revisions")
    with op.batch_alter_table("app_rules") as batch:
        batch.drop_column("dashboards")
