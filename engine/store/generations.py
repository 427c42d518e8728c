"""Generation numbers: is the definition cache of this process still current?

Each process caches published definitions. Every publish moves its app's generation on
in the publishing transaction; every transaction of the service reads the generation
and, when it moved, the service rebuilds its cache and runs the work again. Without
this a second process that changed a field's type would leave the first writing text
into the now-numeric column.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.errors import UnsupportedDatabaseError
from engine.store.driver import Ahead, DriverStatement, send_ahead
from engine.store.engine_tables import app_generations

_G = app_generations.c
_GENERATION = DriverStatement(sa.select(_G.generation).where(_G.app == sa.bindparam("app")))
#: PostgreSQL: a share lock on the app's row, so a publish (which updates the row) cannot
#: commit between this read and the write's own statements
_GENERATION_SHARED = DriverStatement(
    sa.select(_G.generation).where(_G.app == sa.bindparam("app")).with_for_update(read=True)
)
_UPSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def app_generation(conn: sa.Connection, app: str) -> int:
    """The app's generation number now (0 before its first publish)."""
    return int(conn.execute(sa.select(_G.generation).where(_G.app == app)).scalar() or 0)


def bump_generation(conn: sa.Connection, app: str) -> int:
    """Move the app's generation on (in the publishing transaction); the new number."""
    try:
        insert = _UPSERTS[conn.dialect.name]
    except KeyError:
        raise UnsupportedDatabaseError(
            f"publishing needs PostgreSQL or SQLite, not {conn.dialect.name}"
        ) from None
    stmt = (
        insert(app_generations)
        .values(app=app, generation=1)
        .on_conflict_do_update(index_elements=[_G.app], set_={"generation": _G.generation + 1})
        .returning(_G.generation)
    )
    return int(conn.execute(stmt).scalar_one())


def generation_of(ahead: Ahead) -> int:
    """The generation a :func:`request_generation` read (0 before the first publish)."""
    row = ahead.row()
    return 0 if row is None else int(row[0])


def request_generation(
    conn: sa.Connection, app: str, *, for_write: bool, defer: bool = False
) -> Ahead:
    """Read the app's generation in this transaction, its answer read later (``row()``).

    In a write on PostgreSQL it takes a share lock on the app's row and rides along with
    the write's next statement (no round trip of its own); on SQLite the write already
    holds the database's write lock.
    """
    shared = for_write and conn.dialect.name == "postgresql"
    statement = _GENERATION_SHARED if shared else _GENERATION
    if for_write or defer:  # ``defer``: a read sends it with its next statement
        return send_ahead(conn, statement, {"app": app})
    ahead = Ahead(conn, statement, {"app": app})
    ahead._row = statement.first(conn, {"app": app})
    return ahead
