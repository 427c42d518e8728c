"""The tables of imports and exports (issue 17): their runs and each form's saved mapping.

- ``transfer_runs``: one row per background import or export: who started it, the
  uploaded file (``payload``), progress (``done`` of ``total`` rows), a cancel request,
  the report (JSON) and the produced file (``output``: the error workbook of an import,
  the file of an export), so a page can show it after a reload.
- ``import_mappings``: per (app, form) the column -> field mapping last saved, offered
  first by the next import of that form.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime

transfer_runs = sa.Table(
    "transfer_runs",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    # import | export
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("form", sa.String(50), nullable=False),
    # the login of the person who started it (runs are shown to their owner only)
    sa.Column("actor", sa.String(100), nullable=False),
    # queued | running | done | failed | cancelled
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("payload", sa.LargeBinary),
    sa.Column("output", sa.LargeBinary),
    sa.Column("output_name", sa.String(255)),
    sa.Column("done", sa.Integer, nullable=False, default=0),
    sa.Column("total", sa.Integer, nullable=False, default=0),
    sa.Column("report", sa.JSON),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("error", sa.Text),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("started_at", AwareDateTime),
    sa.Column("finished_at", AwareDateTime),
    sa.Index("ix_transfer_runs_actor", "actor", "kind", "id"),
)

import_mappings = sa.Table(
    "import_mappings",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("form", sa.String(50), nullable=False),
    # {"column header": "field path" | null}
    sa.Column("mapping", sa.JSON, nullable=False),
    sa.Column("updated_by", sa.String(100), nullable=False),
    sa.Column("updated_at", AwareDateTime, nullable=False),
    sa.UniqueConstraint("app", "form", name="uq_import_mappings_form"),
)
