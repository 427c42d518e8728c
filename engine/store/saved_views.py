"""Saved list views in the database: one person's named settings of a form's list page.

Every read and change takes the owner: a view of someone else reads as missing, so no
caller can see or change another person's views by guessing an id. At most one view
per owner and form is the default (:func:`save` clears the others in the same
transaction). The service checks the arguments (engine/service/saved_views.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.saved_view_tables import saved_views

_V = saved_views.c


@dataclass(frozen=True)
class StoredView:
    """One row of ``saved_views``."""

    id: int
    owner: str
    app: str
    form: str
    name: str
    settings: dict[str, Any]
    is_default: bool
    created_at: datetime
    updated_at: datetime


def _view(row: Any) -> StoredView:
    return StoredView(
        row.id,
        row.owner,
        row.app,
        row.form,
        row.name,
        dict(row.settings or {}),
        bool(row.is_default),
        row.created_at,
        row.updated_at,
    )


def list_views(conn: sa.Connection, owner: str, app: str, form: str) -> list[StoredView]:
    """The owner's views of one form, by name."""
    stmt = (
        sa.select(saved_views)
        .where(_V.owner == owner, _V.app == app, _V.form == form)
        .order_by(_V.name, _V.id)
    )
    return [_view(row) for row in conn.execute(stmt)]


def get_view(conn: sa.Connection, owner: str, view_id: int) -> StoredView | None:
    """The owner's view ``view_id``; None when it does not exist or is someone else's."""
    stmt = sa.select(saved_views).where(_V.id == view_id, _V.owner == owner)
    row = conn.execute(stmt).first()
    return None if row is None else _view(row)


def find_view(conn: sa.Connection, owner: str, app: str, form: str, name: str) -> StoredView | None:
    """The owner's view of the form called ``name``."""
    stmt = sa.select(saved_views).where(
        _V.owner == owner, _V.app == app, _V.form == form, _V.name == name
    )
    row = conn.execute(stmt).first()
    return None if row is None else _view(row)


def default_view(conn: sa.Connection, owner: str, app: str, form: str) -> StoredView | None:
    """The owner's default view of the form, if they chose one."""
    stmt = sa.select(saved_views).where(
        _V.owner == owner, _V.app == app, _V.form == form, _V.is_default.is_(True)
    )
    row = conn.execute(stmt.order_by(_V.id)).first()
    return None if row is None else _view(row)


def insert_view(
    conn: sa.Connection,
    owner: str,
    app: str,
    form: str,
    name: str,
    settings: dict[str, Any],
    is_default: bool,
    now: datetime,
) -> int:
    """Add a view; returns its id (the caller made sure the name is free)."""
    if is_default:
        _clear_default(conn, owner, app, form)
    result = conn.execute(
        saved_views.insert().values(
            owner=owner,
            app=app,
            form=form,
            name=name,
            settings=settings,
            is_default=is_default,
            created_at=now,
            updated_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def update_view(
    conn: sa.Connection, view: StoredView, changes: dict[str, Any], now: datetime
) -> None:
    """Change the owner's view (``name``, ``settings``, ``is_default``)."""
    if changes.get("is_default"):
        _clear_default(conn, view.owner, view.app, view.form)
    conn.execute(
        saved_views.update()
        .where(_V.id == view.id, _V.owner == view.owner)
        .values(**changes, updated_at=now)
    )


def delete_view(conn: sa.Connection, owner: str, view_id: int) -> bool:
    """Remove the owner's view; False when they have no such view."""
    result = conn.execute(saved_views.delete().where(_V.id == view_id, _V.owner == owner))
    return bool(result.rowcount)


def _clear_default(conn: sa.Connection, owner: str, app: str, form: str) -> None:
    conn.execute(
        saved_views.update()
        .where(_V.owner == owner, _V.app == app, _V.form == form, _V.is_default.is_(True))
        .values(is_default=False)
    )
