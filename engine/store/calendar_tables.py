"""The working calendar's tables: one row per day of every covered year, and settings.

``work_calendar_days`` says for each day whether it is a working day and where that
came from: ``chinese-calendar`` (seeded from the library, which knows China's holidays
and make-up working days, 调休), ``weekdays`` (Monday to Friday, for a year the
library does not know yet) or ``admin`` (set by an administrator; never overwritten
by seeding). A year is covered when every one of its days has a row.

``work_calendar_settings`` holds JSON values by key: ``hours`` (the working periods
of a working day, ``[["09:00", "12:00"], ["13:00", "18:00"]]``) and ``generation`` (a
counter moved on by every change, so each process keeps its loaded calendar until it
moves). See :mod:`engine.store.calendar` and docs/calendar.md.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import metadata
from engine.store.types import AwareDateTime

work_calendar_days = sa.Table(
    "work_calendar_days",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("workday", sa.Boolean, nullable=False),
    # chinese-calendar, weekdays or admin
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("note", sa.String(200)),
    sa.Column("updated_at", AwareDateTime, nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=False),
)

work_calendar_settings = sa.Table(
    "work_calendar_settings",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)
