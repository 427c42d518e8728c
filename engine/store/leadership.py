"""Leader election through the database: at most one process leads a named role at a time.

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) taken on a connection of
its own that stays open while the process leads. When the process exits or crashes its
session ends and the server frees the lock, so another process takes over at its next
try. The ``leader_leases`` row only records who leads (for ``lowcode scheduler`` and
people).

SQLite (one machine, one file): the ``leader_leases`` row is the lock. The leader renews
its lease well before it runs out; once a lease expired (its holder died or hangs),
another process takes it over. Taking and renewing run in a write transaction, which
SQLite serialises.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from engine.store.database import Database
from engine.store.job_tables import leader_leases

#: how long a SQLite lease (and the recorded term on PostgreSQL) lasts without renewal
DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class LeaderInfo:
    """Who leads ``name`` as recorded, and until when the lease runs."""

    name: str
    holder: str
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


def advisory_key(name: str, schema: str = "public") -> int:
    """The signed 64-bit advisory-lock key of a leadership name in a schema (stable
    across processes). Advisory locks are per database, while the engine's tables are
    per schema: two deployments in two schemas of one database lead each on its own.
    The public schema keeps the key earlier versions took."""
    scoped = name if schema in ("", "public") else f"{schema}:{name}"
    digest = hashlib.sha256(f"lowcode-leader:{scoped}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership:
    """One process's claim on leading ``name``; call :meth:`hold` periodically.

    ``holder`` names the process (e.g. ``host:pid``) and must be unique among the
    processes competing.
    """

    def __init__(
        self, database: Database, name: str, holder: str, lease: timedelta = DEFAULT_LEASE
    ):
        self._database = database
        self.name = name
        self.holder = holder
        self.lease = lease
        self._lock_conn: sa.Connection | None = None  # PostgreSQL: the session holding the lock
        #: the advisory lock key taken (per schema: see advisory_key)
        self._lock_key = advisory_key(name)
        self._leading = False

    @property
    def leading(self) -> bool:
        """Whether the last :meth:`hold` made (or kept) this process the leader."""
        return self._leading

    def hold(self, now: datetime) -> bool:
        """Become or stay the leader if possible; whether this process leads now."""
        if self._database.is_sqlite:
            self._leading = self._hold_lease(now)
        else:
            self._leading = self._hold_lock(now)
        return self._leading

    def release(self, now: datetime) -> None:
        """Stop leading: free the lock or the lease (safe to call when not leading)."""
        was_leading = self._leading
        self._leading = False
        if self._lock_conn is not None:
            conn, self._lock_conn = self._lock_conn, None
            try:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(self._lock_key)))
            except sa.exc.DBAPIError:
                pass  # the session is gone, and the lock with it
            finally:
                conn.close()
        if was_leading:
            try:
                with self._database.write() as conn:
                    conn.execute(
                        leader_leases.update()
                        .where(
                            leader_leases.c.name == self.name,
                            leader_leases.c.holder == self.holder,
                        )
                        .values(expires_at=now, renewed_at=now)
                    )
            except sa.exc.DBAPIError:
                pass  # the database is away; the lease runs out by itself

    # -- SQLite: the lease row --------------------------------------------------------
    def _hold_lease(self, now: datetime) -> bool:
        with self._database.write() as conn:
            row = conn.execute(
                sa.select(leader_leases).where(leader_leases.c.name == self.name)
            ).first()
            if row is None:
                conn.execute(leader_leases.insert().values(**self._term(now, now)))
                return True
            if row.holder == self.holder and row.expires_at > now:
                _renew(conn, self.name, self.holder, now, self.lease)
                return True
            if row.expires_at <= now:  # the former leader died or hangs: take over
                conn.execute(
                    leader_leases.update()
                    .where(leader_leases.c.name == self.name)
                    .values(**self._term(now, now))
                )
                return True
            return False

    # -- PostgreSQL: the advisory lock ------------------------------------------------
    def _hold_lock(self, now: datetime) -> bool:
        if self._lock_conn is not None:
            try:
                self._lock_conn.execute(sa.text("SELECT 1"))
            except sa.exc.DBAPIError:  # the session died: so did the lock
                self._drop_lock_conn()
            else:
                self._record(now, renewing=True)
                return True
        conn = self._database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar() or ""
            self._lock_key = advisory_key(self.name, str(schema))
            got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(self._lock_key))).scalar()
        except sa.exc.DBAPIError:
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._lock_conn = conn
        self._record(now, renewing=False)
        return True

    def _drop_lock_conn(self) -> None:
        conn, self._lock_conn = self._lock_conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except sa.exc.DBAPIError:
                pass

    def _record(self, now: datetime, *, renewing: bool) -> None:
        with self._database.write() as conn:
            row = conn.execute(
                sa.select(leader_leases.c.holder)
                .where(leader_leases.c.name == self.name)
                .with_for_update()
            ).first()
            if row is None:
                conn.execute(leader_leases.insert().values(**self._term(now, now)))
            elif renewing and row.holder == self.holder:
                _renew(conn, self.name, self.holder, now, self.lease)
            else:
                conn.execute(
                    leader_leases.update()
                    .where(leader_leases.c.name == self.name)
                    .values(**self._term(now, now))
                )

    def _term(self, acquired: datetime, now: datetime) -> dict[str, Any]:
        return {
            "name": self.name,
            "holder": self.holder,
            "acquired_at": acquired,
            "renewed_at": now,
            "expires_at": now + self.lease,
        }


def _renew(conn: sa.Connection, name: str, holder: str, now: datetime, lease: timedelta) -> None:
    conn.execute(
        leader_leases.update()
        .where(leader_leases.c.name == name, leader_leases.c.holder == holder)
        .values(renewed_at=now, expires_at=now + lease)
    )


def current_leader(conn: sa.Connection, name: str) -> LeaderInfo | None:
    """The recorded leader of ``name`` (its lease may have run out: compare ``expires_at``)."""
    row = conn.execute(sa.select(leader_leases).where(leader_leases.c.name == name)).first()
    return None if row is None else LeaderInfo(*row)
