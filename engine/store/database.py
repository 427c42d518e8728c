"""The database connection: one SQLAlchemy engine per URL, tuned per dialect.

SQLite is the embedded default, PostgreSQL the scale-out path; the rest of the store
writes the same Core expressions for both. Writes go through :meth:`Database.write`,
reads through :meth:`Database.read`, so the dialect-specific locking lives here only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

#: execution option that marks a connection as about to write (SQLite: BEGIN IMMEDIATE)
WRITE_OPTION = "lowcode_write"
#: a compiled DriverStatement: SQL text and, per positional bind, (name, processor, given, constant)
_Plan = tuple[str, list[tuple[str, Any, bool, Any]], bool]
#: Connection.info key of the statements :func:`defer_until_commit` queued
DEFERRED_KEY = "lowcode_deferred"
SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """Owns the SQLAlchemy engine for one database URL."""

    def __init__(self, url: str, **engine_options: Any):
        self.url = normalise_url(url)
        self.engine = sa.create_engine(self.url, **engine_options)
        self.dialect_name = self.engine.dialect.name
        if self.dialect_name == "sqlite":
            _tune_sqlite(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect_name == "sqlite"

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A connection inside a transaction that is committed on success, rolled back on error."""
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: True})
            deferred: list[tuple[str, Any]] = []
            if self.dialect_name == "postgresql":
                conn.info[DEFERRED_KEY] = deferred
            try:
                with conn.begin():
                    yield conn
                    if deferred:
                        _commit_with(conn, deferred)
            finally:
                conn.info.pop(DEFERRED_KEY, None)

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection for reads (a deferred transaction, never taking the write lock)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def server_version(self) -> str:
        """The server's version text (``3.40.1`` for SQLite), for benchmarks and reports."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                return str(conn.exec_driver_sql("select sqlite_version()").scalar())
            return str(conn.exec_driver_sql("show server_version").scalar())

    def dispose(self) -> None:
        self.engine.dispose()


class DriverStatement:
    """A Core statement that SQLite runs straight on the DBAPI connection.

    Why: through ``Connection.execute`` each statement costs ~35-40 us of SQLAlchemy
    bookkeeping (cache lookup, execution context, result object, events), several times
    what SQLite needs to run a small INSERT, and a record write makes several of them.
    The SQL text and the bind processors still come from SQLAlchemy's own compilation
    (once per dialect and parameter-key shape), so values are converted exactly as Core
    converts them (UTC datetimes, JSON, decimals); only the per-call overhead goes.
    DBAPI errors are re-raised wrapped as SQLAlchemy's (``sa.exc.IntegrityError``...),
    as ``Connection.execute`` would. Statements Core must help with (Python-side column
    defaults not given in the parameters) and other dialects go through
    ``Connection.execute`` unchanged.
    """

    def __init__(self, statement: Any):
        self.statement = statement
        self._compiled: dict[tuple[Any, ...], _Plan | None] = {}

    def first(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first result row (``RETURNING``), or None when there is none."""
        plan = self._plan(conn, params) if conn.dialect.name == "sqlite" else None
        if plan is None:
            row = conn.execute(self.statement, params).first()
            return None if row is None else tuple(row)
        rows = self._run(conn, plan, params).fetchall()  # fetch all: the statement completes
        return rows[0] if rows else None

    def run(self, conn: sa.Connection, params: Mapping[str, Any]) -> None:
        """Execute for its effect only."""
        plan = self._plan(conn, params) if conn.dialect.name == "sqlite" else None
        if plan is None:
            conn.execute(self.statement, params)
        else:
            self._run(conn, plan, params).close()

    def bound(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[str, Any] | None:
        """(SQL, DBAPI parameters) as Core would send them; None when Core must run it."""
        plan = self._plan(conn, params)
        return None if plan is None else (plan[0], _values(plan, params))

    def _plan(self, conn: sa.Connection, params: Mapping[str, Any]) -> _Plan | None:
        dialect = conn.dialect
        key = (dialect.name, dialect.driver, *params)
        try:
            return self._compiled[key]
        except KeyError:
            pass
        compiled = self.statement.compile(dialect=dialect, column_keys=list(params))
        plan: _Plan | None = None
        if not compiled.insert_prefetch and not compiled.update_prefetch:
            processors = compiled._bind_processors
            binds = []
            names = (
                compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
            )
            for name in names or ():
                # a bind the caller does not give is a constant of the statement (value + 1)
                given = name in params
                fixed = None if given else compiled.binds[name].effective_value
                binds.append((name, processors.get(name), given, fixed))
            plan = (compiled.string, binds, compiled.positional)
        self._compiled[key] = plan
        return plan

    def _run(self, conn: sa.Connection, plan: _Plan, params: Mapping[str, Any]) -> Any:
        values = _values(plan, params)
        driver = conn.connection.driver_connection
        try:
            return driver.execute(plan[0], values)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _wrapped(conn, plan[0], values, exc) from exc


def _values(plan: _Plan, params: Mapping[str, Any]) -> Any:
    _, binds, positional = plan
    values = []
    for _name, process, given, fixed in binds:
        value = params[_name] if given else fixed
        values.append(value if process is None else process(value))
    if positional:
        return values
    return {name: value for (name, *_), value in zip(binds, values, strict=True)}


def _wrapped(conn: sa.Connection, sql: str, values: Any, exc: Exception) -> Exception:
    """A DBAPI error as the SQLAlchemy exception Connection.execute would raise."""
    error = conn.dialect.loaded_dbapi.Error
    return sa.exc.DBAPIError.instance(sql, values, exc, error, dialect=conn.dialect)


def defer_until_commit(
    conn: sa.Connection, statement: DriverStatement, params: Mapping[str, Any]
) -> bool:
    """Queue a write-only statement to go out with the COMMIT of :meth:`Database.write`.

    PostgreSQL only, and only inside ``Database.write`` (False elsewhere: run it now).
    The statement and the COMMIT are sent in one psycopg pipeline, so the statement
    costs no round trip of its own; it is still part of the transaction (a failure
    aborts the pipeline before COMMIT, and the transaction rolls back).
    """
    queue = conn.info.get(DEFERRED_KEY) if conn.dialect.name == "postgresql" else None
    if queue is None or conn.dialect.driver != "psycopg":
        return False
    bound = statement.bound(conn, params)
    if bound is None:
        return False
    queue.append(bound)
    return True


def _commit_with(conn: sa.Connection, deferred: list[tuple[str, Any]]) -> None:
    # psycopg pipeline: the queued statements and COMMIT leave together and are answered
    # together, one round trip. Core's own commit afterwards finds the driver idle and
    # sends nothing.
    driver = conn.connection.driver_connection
    try:
        with driver.pipeline(), driver.cursor() as cursor:
            for sql, values in deferred:
                cursor.execute(sql, values)
            driver.commit()
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, deferred[0][0], deferred[0][1], exc) from exc


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
            raise _wrapped(conn, sql, (), exc) from exc
