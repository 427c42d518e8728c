"""The database connection: one SQLAlchemy engine per URL, tuned per dialect.

SQLite is the embedded default, PostgreSQL the scale-out path; the rest of the store
writes the same Core expressions for both. Writes go through :meth:`Database.write`,
reads through :meth:`Database.read`, so the dialect-specific locking lives here only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from engine.errors import ServiceError
from engine.store.driver import AHEAD_KEY, DEFERRED_KEY, commit_with, first_rows, wrapped_error

#: a connection of the store (the service and its callers name the type, never build SQL)
Connection = sa.Connection
#: what the database driver raises: a failed statement, a lost connection...
DatabaseError = sa.exc.DBAPIError


class DatabaseUnavailableError(ServiceError):
    """The database URL cannot be used: unreadable, its driver missing, or no server."""


#: execution option that marks a connection as about to write (SQLite: BEGIN IMMEDIATE)
WRITE_OPTION = "lowcode_write"
SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    if not isinstance(url, str):
        raise DatabaseUnavailableError(
            f"the database URL must be text such as sqlite:///instance/lowcode.db, "
            f"got {type(url).__name__}"
        )
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = _parse_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _parse_url(url: str) -> sa.engine.URL:
    try:
        return sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseUnavailableError(
            f"cannot read the database URL {url!r}: write it like sqlite:///instance/lowcode.db "
            "or postgresql://user@host:5432/name"
        ) from exc


def _create_engine(url: str, options: dict[str, Any]) -> sa.Engine:
    parsed = _parse_url(url)
    shown = parsed.render_as_string(hide_password=True)
    try:
        return sa.create_engine(parsed, **options)
    except ModuleNotFoundError as exc:
        extra = (
            " (pip install -e '.[postgres]')" if parsed.get_backend_name() == "postgresql" else ""
        )
        raise DatabaseUnavailableError(
            f"the driver for {shown} is not installed: {exc.name}{extra}"
        ) from exc
    except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError) as exc:
        raise DatabaseUnavailableError(
            f"cannot use the database {shown}: {exc}; the engine runs on SQLite and PostgreSQL"
        ) from exc


class Database:
    """Owns the SQLAlchemy engine for one database URL."""

    def __init__(self, url: str, **engine_options: Any):
        self.url = normalise_url(url)
        self.engine = _create_engine(self.url, engine_options)
        self.dialect_name = self.engine.dialect.name
        if self.dialect_name == "sqlite":
            _tune_sqlite(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect_name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A connection inside a transaction that is committed on success, rolled back on error."""
        with self._connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            deferred: list[tuple[str, Any]] = []
            if self.dialect_name == "postgresql":
                conn.info[DEFERRED_KEY] = deferred
                conn.info[AHEAD_KEY] = []
            try:
                with conn.begin():
                    yield conn
                    if conn.info.get(AHEAD_KEY):  # queued and never answered: send them now
                        first_rows(conn, [])
                    if deferred:
                        commit_with(conn, deferred)
            finally:
                # conn.info outlives the checkout: never leave a queue to the next one
                conn.info.pop(DEFERRED_KEY, None)
                conn.info.pop(AHEAD_KEY, None)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection for reads (a deferred transaction, never taking the write lock)."""
        with self._connect() as conn, conn.begin():
            yield conn

    def _connect(self) -> sa.Connection:
        """A pooled connection; a server that cannot be reached is a clear error."""
        try:
            return self.engine.connect()
        except sa.exc.OperationalError as exc:
            shown = self.engine.url.render_as_string(hide_password=True)
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailableError(f"cannot open the database {shown}: {reason}") from exc

    def server_version(self) -> str:
        """The server's version text (``3.40.1`` for SQLite), for benchmarks and reports."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                return str(conn.exec_driver_sql("select sqlite_version()").scalar())
            return str(conn.exec_driver_sql("show server_version").scalar())

    def dispose(self) -> None:
        self.engine.dispose()


def _tune_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module: it would otherwise
        # auto-commit DDL and defer BEGIN, breaking "DDL + version row in one transaction".
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        # WAL: readers never block the writer and vice versa (web workers read while one
        # request writes). synchronous=NORMAL is safe under WAL (no corruption on power
        # loss, at most the last commits are lost) and avoids an fsync per commit, which
        # would otherwise dominate the cost of a record write.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Writers queue for the lock instead of failing at once with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # A write transaction takes the lock up front: a deferred transaction that reads
        # and then writes can hit SQLITE_BUSY on lock upgrade without the busy handler
        # ever running, which concurrent serial allocation would trip over.
        # Sent on the DBAPI connection: through exec_driver_sql it cost ~30 us of Core
        # bookkeeping per transaction, a tenth of an embedded record write.
        sql = "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        try:
            conn.connection.driver_connection.execute(sql).close()
        except conn.dialect.loaded_dbapi.Error as exc:
            raise wrapped_error(conn, sql, (), exc) from exc
