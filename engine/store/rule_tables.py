"""The table of each app's published rules (:mod:`engine.store.app_rules`).

One row per app: the checked rule documents as data, written by the install that
publishes the app's forms and flows, in the same transaction (so the app's generation
moves with them and every process reloads the rules with the forms).
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import metadata
from engine.store.types import AwareDateTime

app_rules = sa.Table(
    "app_rules",
    metadata,
    sa.Column("app", sa.String(50), primary_key=True),
    # [{"data": rule document, "file": source file, "line": n, "action_lines": [n, ...]}]
    sa.Column("rules", sa.JSON, nullable=False),
    # status machines and batch jobs, stored like the rules (None: the app has none)
    sa.Column("machines", sa.JSON),
    sa.Column("jobs", sa.JSON),
    # dashboards (engine/definitions/dashboards.py), stored the same way (None: none)
    sa.Column("dashboards", sa.JSON),
    sa.Column("published_at", AwareDateTime, nullable=False),
    sa.Column("published_by", sa.String(100), nullable=False),
)
