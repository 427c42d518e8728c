"""The ``apps`` table: which apps are installed, at which version, with which forms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.engine_tables import apps, form_versions


def has_engine_tables(conn: sa.Connection) -> bool:
    """Whether ``lowcode init`` has run on this database."""
    return sa.inspect(conn).has_table(apps.name)


def app_row(conn: sa.Connection, key: str) -> Mapping[str, Any] | None:
    """The installed app's row (key, version, name, content_hash, installed_at/by)."""
    return conn.execute(sa.select(apps).where(apps.c.key == key)).mappings().first()


def app_rows(conn: sa.Connection) -> list[Mapping[str, Any]]:
    """Every installed app's row, by key."""
    return list(conn.execute(sa.select(apps).order_by(apps.c.key)).mappings())


def app_keys(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.select(apps.c.key).order_by(apps.c.key)).scalars())


def app_forms(conn: sa.Connection, key: str) -> tuple[str, ...]:
    """Keys of the forms ever published for an app, sorted."""
    rows = conn.execute(
        sa.select(form_versions.c.form)
        .where(form_versions.c.app == key)
        .distinct()
        .order_by(form_versions.c.form)
    )
    return tuple(rows.scalars())


def save_app(
    conn: sa.Connection,
    key: str,
    *,
    version: str,
    name: Any,
    content_hash: str,
    at: datetime,
    by: str,
) -> str | None:
    """Record an install or upgrade of an app; returns the version it had before."""
    previous = conn.execute(sa.select(apps.c.version).where(apps.c.key == key)).scalar()
    row = {
        "version": version,
        "name": name,
        "content_hash": content_hash,
        "installed_at": at,
        "installed_by": by,
    }
    if previous is None:
        conn.execute(apps.insert().values(key=key, **row))
    else:
        conn.execute(apps.update().where(apps.c.key == key).values(**row))
    return previous
