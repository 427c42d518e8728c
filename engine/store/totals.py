"""Exact totals of list pages, counted again only when the database has changed.

A list page shows how many records match ("pagination with the total"). Over a large
form that count is the dearest part of the page: 950,000 matching rows of a 1,000,000-row
form take about 30 ms to count on SQLite and 150 ms on PostgreSQL, even over an index,
while the page of 50 rows takes about 1 ms. So each database connection keeps the totals
it counted together with a marker of the data they were counted on, and a later page with
the same count statement and values takes the kept total when the marker is unchanged,
that is when no transaction has committed anything since. The total stays exact; it is
only counted once per change of the data instead of once per page.

The markers:

- SQLite: ``PRAGMA data_version``, which moves when another connection (of any process)
  commits, read inside the page's transaction (so it describes that transaction's
  snapshot), with the connection's own ``total_changes`` (its own writes).
- PostgreSQL: ``pg_current_snapshot()``, which names the transactions visible: equal
  snapshots see the same committed data, and a later snapshot equals an earlier one only
  when nothing committed in between. A transaction that has written something itself
  (it has a transaction id) sees its own rows too: it neither reads nor keeps totals.

The marker is read before the count, so a commit that slips in between can only make
the kept total unusable (the next marker differs), never wrong.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import sqlalchemy as sa

from engine.store.driver import BoundedCache, DriverStatement

#: Connection.info key of the connection's kept totals
TOTALS_KEY = "lowcode_totals"
#: totals one connection keeps (statement and values), least recently used dropped
MAX_TOTALS = 256

#: the marker's statement per database (typed columns: the driver's fast path needs them)
_MARKERS = {
    "sqlite": DriverStatement(
        sa.text("PRAGMA data_version").columns(sa.column("data_version", sa.Integer))
    ),
    "postgresql": DriverStatement(
        sa.text(
            "SELECT pg_current_snapshot()::text AS snapshot, "
            "pg_current_xact_id_if_assigned() IS NULL AS reading"
        ).columns(sa.column("snapshot", sa.String), sa.column("reading", sa.Boolean))
    ),
}


def data_marker(conn: sa.Connection) -> Hashable | None:
    """What the data visible to ``conn`` now is, as far as totals go; None: keep nothing."""
    statement = _MARKERS.get(conn.dialect.name)
    if statement is None:
        return None
    if conn.dialect.name == "postgresql" and (conn.dialect.server_version_info or (0,)) < (13,):
        return None  # pg_current_snapshot() and pg_current_xact_id_if_assigned() are 13+
    row = statement.first(conn, {})
    if row is None:
        return None
    if conn.dialect.name == "sqlite":
        own_changes = getattr(conn.connection.dbapi_connection, "total_changes", None)
        return None if own_changes is None else (row[0], own_changes)
    return row[0] if row[1] else None


def _key(statement: Any, params: Mapping[str, Any]) -> Hashable | None:
    try:
        key = (id(statement), tuple(sorted((k, _frozen(v)) for k, v in params.items())))
        hash(key)
    except TypeError:  # a value that cannot be a key: count every time
        return None
    return key


def _frozen(value: Any) -> Any:
    return tuple(_frozen(v) for v in value) if isinstance(value, (list, tuple)) else value


def _kept(conn: sa.Connection) -> BoundedCache[Hashable, tuple[Any, Hashable, int]]:
    kept = conn.info.get(TOTALS_KEY)
    if kept is None:
        kept = conn.info[TOTALS_KEY] = BoundedCache(MAX_TOTALS)
    return kept


def kept_total(
    conn: sa.Connection, statement: Any, params: Mapping[str, Any], marker: Hashable | None
) -> int | None:
    """The total ``statement`` counted with ``params`` on this data, or None (count it)."""
    key = None if marker is None else _key(statement, params)
    if key is None:
        return None
    found = _kept(conn).get(key)
    # the statement object is kept alive with its total, so its id names it alone
    if found is None or found[0] is not statement or found[1] != marker:
        return None
    return found[2]


def keep_total(
    conn: sa.Connection,
    statement: Any,
    params: Mapping[str, Any],
    marker: Hashable | None,
    total: int,
) -> None:
    """Keep a total counted after ``marker`` was read, for the next page on the same data."""
    key = None if marker is None else _key(statement, params)
    if key is not None:
        _kept(conn).put(key, (statement, marker, total))
