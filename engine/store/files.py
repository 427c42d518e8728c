"""SQL on the ``files`` engine table: record an upload, lock files for a save, claim them.

Each function takes a connection inside the caller's transaction; the rules (which file
a record may hold, what to tell the person) live in :mod:`engine.service.files`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa

from engine.store.engine_tables import files

#: the connection type the functions take (for callers that do not import SQLAlchemy)
Connection = sa.Connection


def insert_file(conn: sa.Connection, row: Mapping[str, Any]) -> None:
    """Record one stored upload (a ``files`` row: id, app, form, field, name, size...)."""
    conn.execute(files.insert().values(**row))


def lock_files(conn: sa.Connection, file_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """The ``files`` rows of ``file_ids`` by id, locked on PostgreSQL (``FOR UPDATE``).

    The lock keeps two concurrent saves from both taking one unclaimed file; SQLite
    needs none, as its write transaction already holds the database lock.
    """
    if not file_ids:
        return {}
    stmt = sa.select(files).where(files.c.id.in_(list(file_ids))).with_for_update()
    return {row["id"]: dict(row) for row in conn.execute(stmt).mappings()}


def claim_files(conn: sa.Connection, file_ids: Collection[str], record_id: int) -> int:
    """Set ``record_id`` on the files that are free or already this record's.

    Returns how many rows it set: fewer than ``file_ids`` means a concurrent save
    claimed one of them first.
    """
    if not file_ids:
        return 0
    result = conn.execute(
        files.update()
        .where(
            files.c.id.in_(list(file_ids)),
            sa.or_(files.c.record_id.is_(None), files.c.record_id == record_id),
        )
        .values(record_id=record_id)
    )
    return result.rowcount


def recorded_ids(conn: sa.Connection, file_ids: Collection[str]) -> set[str]:
    """Those of ``file_ids`` that have a ``files`` row (for the sweep of unrecorded files)."""
    found: set[str] = set()
    ids = list(file_ids)
    for start in range(0, len(ids), 500):  # bounded IN lists
        batch = ids[start : start + 500]
        found.update(conn.execute(sa.select(files.c.id).where(files.c.id.in_(batch))).scalars())
    return found


def file_row(conn: sa.Connection, file_id: str) -> dict[str, Any] | None:
    """The ``files`` row of one file id, or None."""
    row = conn.execute(sa.select(files).where(files.c.id == file_id)).mappings().first()
    return None if row is None else dict(row)
