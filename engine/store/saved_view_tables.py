"""The table of saved list views: a person's named filters, sort, columns and page size
for one form's list page (:mod:`engine.store.saved_views`, docs/web.md "Lists").

A view belongs to exactly one person (``owner``, a login); nobody else reads or changes
it. At most one view per person and form is their default (``is_default``), which the
list page opens when no view or filter is asked for.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime

saved_views = sa.Table(
    "saved_views",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(100), nullable=False),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("form", sa.String(50), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    # {"filters": {param: [values]}, "search", "sort", "columns": [...], "page_size"}
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("updated_at", AwareDateTime, nullable=False),
    sa.UniqueConstraint("owner", "app", "form", "name", name="uq_saved_views_name"),
)
