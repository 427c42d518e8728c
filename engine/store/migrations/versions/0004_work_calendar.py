"""The working calendar: working days of each covered year, working hours, generation.

Revision ID: 0004
Revises: 0003

Adds the tables of :mod:`engine.store.calendar_tables`: ``work_calendar_days`` (one row
per day: working or not, and whether chinese-calendar, Monday-to-Friday or an
administrator said so) and ``work_calendar_settings`` (JSON by key), with its two rows:
the default working hours and generation 0. The days are written by ``lowcode init``
(seeded from chinese-calendar when the calendar is empty), not here: a revision never
changes when the library does. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "work_calendar_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("workday", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("note", sa.String(200)),
        sa.Column("updated_at", Aware, nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
    )
    settings = op.create_table(
        "work_calendar_settings",
        sa.Column("key", sa.String(50), primary_key=True),
        sa.Column("value", sa.JSON, nullable=False),
    )
    op.bulk_insert(
        settings,
        [
            {"key": "hours", "value": [["09:00", "12:00"], ["13:00", "18:00"]]},
            {"key": "generation", "value": 0},
        ],
    )


def downgrade() -> None:
    op.drop_table("work_calendar_settings")
    op.drop_table("work_calendar_days")
