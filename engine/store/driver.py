"""Running Core statements straight on the DBAPI connection, for the record-write hot path.

Through ``Connection.execute`` each statement pays SQLAlchemy's per-call bookkeeping
(cache lookup, execution context, result object, events), several times what SQLite
needs for a small INSERT, and a record write makes several of them. The statements
here are still compiled by SQLAlchemy (SQL text, bind and result processors), so
values are converted exactly as Core converts them; only the per-call overhead goes.
On psycopg, statements are also pipelined so that BEGIN, queued statements and COMMIT
share round trips. Anything Core must help with falls back to ``Connection.execute``.
:class:`engine.store.database.Database` owns the transactions these run in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

#: a compiled DriverStatement: SQL text and, per positional bind, (name, processor, given, constant)
_Plan = tuple[str, list[tuple[str, Any, bool, Any]], bool]
#: Connection.info key of the statements :func:`defer_until_commit` queued
DEFERRED_KEY = "lowcode_deferred"
#: Connection.info key of the statements :func:`send_ahead` queued
AHEAD_KEY = "lowcode_ahead"


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: statement shapes one cache keeps (a shape is a set of parameter names, or row counts)
MAX_SHAPES = 64


class BoundedCache(Generic[K, V]):
    """A small least-recently-used mapping: statement caches never grow without bound.

    Keys such as "the parameter names given" or "the number of child rows" are chosen
    by callers; a bound keeps a caller that varies them from filling memory.
    """

    def __init__(self, size: int = MAX_SHAPES):
        self._items: OrderedDict[K, V] = OrderedDict()
        self.size = size

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None or key in self._items:
            self._items.move_to_end(key)
        return value

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: K, value: V) -> V:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


class DriverStatementError(ValueError):
    """A DriverStatement was run in a way it cannot run correctly (a programming error)."""


class DriverStatement:
    """A Core statement run straight on the DBAPI connection (SQLite, and psycopg 3).

    Why: through ``Connection.execute`` each statement costs ~35-40 us of SQLAlchemy
    bookkeeping (cache lookup, execution context, result object, events), several times
    what SQLite needs to run a small INSERT or a primary-key SELECT, and a record write
    makes several of them. The SQL text and the bind processors still come from
    SQLAlchemy's own compilation (once per dialect and parameter-key shape), and result
    rows go through the result processors of the statement's columns (the public
    ``TypeEngine.result_processor``, with the driver's column type codes, as Core calls
    it), so values are converted exactly as Core converts them (UTC datetimes, JSON,
    decimals); only the per-call overhead goes. DBAPI errors are re-raised wrapped as
    SQLAlchemy's (``sa.exc.IntegrityError``...), as ``Connection.execute`` would.

    On psycopg the statement is sent in a pipeline: the ``BEGIN`` psycopg issues before
    the first statement of a transaction then shares its round trip instead of taking
    one of its own, and :func:`first_rows` sends several statements in one round trip.

    Statements Core must help with (Python-side column defaults not given in the
    parameters), every statement while cursor-execute event listeners are attached, and
    other drivers go through ``Connection.execute`` unchanged.
    """

    def __init__(self, statement: Any):
        self.statement = statement
        self._compiled: BoundedCache[tuple[Any, ...], _Plan | None] = BoundedCache()
        #: per dialect: result processors per column (from the first result's type codes)
        self._results: dict[str, list[Any]] = {}
        #: names of the result columns (``mapping`` keys)
        self.keys = [c.key for c in getattr(statement, "exported_columns", ())]

    def first(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first result row (``SELECT`` or ``RETURNING``), or None when there is none."""
        return first_rows(conn, [(self, params)])[0]

    def mapping(self, conn: sa.Connection, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The first result row as a column name -> value dict, or None."""
        row = self.first(conn, params)
        return None if row is None else dict(zip(self.keys, row, strict=True))

    def run(self, conn: sa.Connection, params: Mapping[str, Any]) -> None:
        """Execute for its effect only."""
        first_rows(conn, [(self, params)])

    def bound(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[str, Any] | None:
        """(SQL, DBAPI parameters) as Core would send them; None when Core must run it."""
        plan = self._plan(conn, params)
        return None if plan is None else (plan[0], _values(plan, params))

    def _plan(self, conn: sa.Connection, params: Mapping[str, Any]) -> _Plan | None:
        dialect = conn.dialect
        key = (dialect.name, dialect.driver, *params)
        if key in self._compiled:
            return self._compiled.get(key)
        compiled = self.statement.compile(dialect=dialect, column_keys=list(params))
        plan: _Plan | None = None
        if not compiled.insert_prefetch and not compiled.update_prefetch:
            processors = compiled._bind_processors
            binds = []
            names = (
                compiled.positiontup if compiled.positional else list(compiled.bind_names.values())
            )
            for name in names or ():
                bind = compiled.binds[name]
                if bind.expanding:
                    # IN (:values) is rendered per call by Core; compiled once it is wrong SQL
                    raise DriverStatementError(
                        f"{name!r} is an expanding bind (IN): run this statement with "
                        "Connection.execute, not as a DriverStatement"
                    )
                # a bind the caller does not give is a constant of the statement (value + 1)
                given = name in params
                if not given and bind.required:
                    raise DriverStatementError(
                        f"no value given for {name!r}: the statement would write NULL; "
                        f"given: {', '.join(sorted(params)) or 'nothing'}"
                    )
                fixed = None if given else bind.effective_value
                binds.append((name, processors.get(name), given, fixed))
            plan = (compiled.string, binds, compiled.positional)
        return self._compiled.put(key, plan)

    def _processed(self, conn: sa.Connection, cursor: Any, rows: list[Any]) -> list[Any]:
        dialect = conn.dialect
        processors = self._results.get(dialect.name)
        if processors is None:
            columns = list(getattr(self.statement, "exported_columns", ()))
            description = cursor.description or ()
            if len(columns) != len(description):  # cannot happen for a compiled statement
                raise RuntimeError(f"result columns do not match: {self.statement}")
            processors = self._results[dialect.name] = [
                c.type.dialect_impl(dialect).result_processor(dialect, d[1])
                for c, d in zip(columns, description, strict=True)
            ]
        converted = [(i, p) for i, p in enumerate(processors) if p is not None]
        if not converted:
            return [tuple(r) for r in rows]
        out = []
        for r in rows:  # only the columns that have a processor are touched
            values = list(r)
            for i, process in converted:
                values[i] = process(values[i])
            out.append(tuple(values))
        return out


def _direct(conn: sa.Connection) -> bool:
    """Whether DriverStatements run on this connection's DBAPI connection."""
    dialect = conn.dialect
    if conn.dispatch.before_cursor_execute or conn.dispatch.after_cursor_execute:
        # someone watches the SQL sent (tracing, statement counts in tests): the DBAPI
        # connection would bypass their listeners, so Core runs the statement instead
        return False
    return dialect.name == "sqlite" or (
        dialect.name == "postgresql" and dialect.driver == "psycopg"
    )


def first_rows(
    conn: sa.Connection, calls: Sequence[tuple[DriverStatement, Mapping[str, Any]]]
) -> list[tuple[Any, ...] | None]:
    """The first result row of each statement, run in order in the current transaction.

    On psycopg the statements go out in one pipeline: one round trip for all of them
    (plus the transaction's ``BEGIN`` when it is the first). A failure raises the
    SQLAlchemy error and, as any failed statement on PostgreSQL, leaves the transaction
    to be rolled back. Elsewhere they run one after the other.
    """
    ahead: list[Ahead] = conn.info.get(AHEAD_KEY) or []
    if ahead:  # statements queued by send_ahead go first, in the same round trip
        conn.info[AHEAD_KEY] = []
        rows = first_rows(conn, [*((a.statement, a.params) for a in ahead), *calls])
        for queued, row in zip(ahead, rows, strict=False):
            queued._row = row
        return rows[len(ahead) :]
    direct = _direct(conn)
    plans = [statement._plan(conn, params) if direct else None for statement, params in calls]
    if not direct or None in plans:
        out = []
        for (statement, params), plan in zip(calls, plans, strict=True):
            if plan is None:
                result = conn.execute(statement.statement, params)
                row = result.first() if result.returns_rows else None
                out.append(None if row is None else tuple(row))
            else:
                out.append(_first_direct(conn, statement, plan, params))
        return out
    sent = [
        (plan[0], _values(plan, params)) for plan, (_, params) in zip(plans, calls, strict=True)
    ]
    cursors = _execute(conn, sent)
    return [
        _first_of(conn, statement, cursor)
        for (statement, _), cursor in zip(calls, cursors, strict=True)
    ]


_UNSENT = object()


class Ahead:
    """A statement queued by :func:`send_ahead`; :meth:`row` is its first result row."""

    def __init__(self, conn: sa.Connection, statement: DriverStatement, params: Mapping[str, Any]):
        self.conn, self.statement, self.params = conn, statement, params
        self._row: Any = _UNSENT

    def row(self) -> tuple[Any, ...] | None:
        if self._row is _UNSENT:  # nothing else was sent since: send it (and the queue) now
            first_rows(self.conn, [])
        return self._row


def send_ahead(conn: sa.Connection, statement: DriverStatement, params: Mapping[str, Any]) -> Ahead:
    """Run a statement in the current transaction, sending it with the next one that is
    run through :func:`first_rows` (or :meth:`DriverStatement.first`) on ``conn``.

    PostgreSQL (psycopg) inside :meth:`Database.write` only: the statement then costs no
    round trip of its own (serial numbers ride with the uniqueness check). It still
    runs before that next statement, in order, in the same transaction. Everywhere else
    it runs at once. The caller must not run other statements through
    ``Connection.execute`` before reading :meth:`Ahead.row`, which sends the queue if
    nothing has yet.
    """
    ahead = Ahead(conn, statement, params)
    queue = conn.info.get(AHEAD_KEY) if conn.dialect.name == "postgresql" else None
    if queue is None or not _direct(conn) or statement.bound(conn, params) is None:
        ahead._row = statement.first(conn, params)
    else:
        queue.append(ahead)
    return ahead


def all_rows(
    conn: sa.Connection, calls: Sequence[tuple[DriverStatement, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]] | None:
    """Every result row of each statement, in one round trip with what send_ahead queued.

    For the reads of a list page (its rows and its count): on psycopg the queued
    statements (the generations) and these go out in one pipeline. None when Core must
    run them (another driver, a statement with an expanding IN, a listener watching the
    SQL): nothing was sent then, the queue is left as it was.
    """
    if not calls or not _direct(conn):
        return None
    try:
        plans = [statement._plan(conn, params) for statement, params in calls]
    except DriverStatementError:
        return None
    if None in plans:
        return None
    ahead: list[Ahead] = conn.info.get(AHEAD_KEY) or []
    ahead_plans = [a.statement._plan(conn, a.params) for a in ahead]
    if None in ahead_plans:
        return None
    conn.info[AHEAD_KEY] = []
    sent = [
        (plan[0], _values(plan, a.params))  # type: ignore[index]
        for plan, a in zip(ahead_plans, ahead, strict=True)
    ]
    sent += [
        (plan[0], _values(plan, params))  # type: ignore[index]
        for plan, (_, params) in zip(plans, calls, strict=True)
    ]
    cursors = _execute(conn, sent)
    for queued, cursor in zip(ahead, cursors, strict=False):
        queued._row = _first_of(conn, queued.statement, cursor)
    out = []
    for (statement, _), cursor in zip(calls, cursors[len(ahead) :], strict=True):
        try:
            rows = cursor.fetchall()
            out.append(statement._processed(conn, cursor, rows) if rows else [])
        finally:
            cursor.close()
    return out


def _first_direct(
    conn: sa.Connection, statement: DriverStatement, plan: _Plan, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    (cursor,) = _execute(conn, [(plan[0], _values(plan, params))])
    return _first_of(conn, statement, cursor)


def _first_of(
    conn: sa.Connection, statement: DriverStatement, cursor: Any
) -> tuple[Any, ...] | None:
    try:
        if cursor.description is None or not statement.keys:
            # no result columns asked for (PostgreSQL may add RETURNING id to an INSERT)
            return None
        # fetch all: on SQLite the statement completes (a RETURNING insert is done)
        rows = cursor.fetchall()
        return statement._processed(conn, cursor, rows[:1])[0] if rows else None
    finally:
        cursor.close()


def _execute(conn: sa.Connection, sent: Sequence[tuple[str, Any]]) -> list[Any]:
    """Run (SQL, DBAPI parameters) pairs on the DBAPI connection; their cursors."""
    driver = conn.connection.driver_connection
    sql, values = sent[0]
    cursors: list[Any] = []
    try:
        if conn.dialect.name == "sqlite":
            for sql, values in sent:
                cursors.append(driver.execute(sql, values))
            return cursors
        # psycopg: one pipeline, answered in one round trip; leaving the block syncs,
        # so every result is in (or the first error raised) before the cursors are read
        with driver.pipeline():
            for sql, values in sent:
                cursors.append(driver.execute(sql, values))
        return cursors
    except conn.dialect.loaded_dbapi.Error as exc:
        raise wrapped_error(conn, sql, values, exc) from exc


def _values(plan: _Plan, params: Mapping[str, Any]) -> Any:
    _, binds, positional = plan
    values = []
    for _name, process, given, fixed in binds:
        value = params[_name] if given else fixed
        values.append(value if process is None else process(value))
    if positional:
        return values
    return {name: value for (name, *_), value in zip(binds, values, strict=True)}


def wrapped_error(conn: sa.Connection, sql: str, values: Any, exc: Exception) -> Exception:
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


def commit_with(conn: sa.Connection, deferred: list[tuple[str, Any]]) -> None:
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
        raise wrapped_error(conn, deferred[0][0], deferred[0][1], exc) from exc
