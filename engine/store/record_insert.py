"""Inserting a new record's row and its child rows, in as few round trips as is clear.

On PostgreSQL the form row and every child row go in one statement: the form row is a
data-modifying CTE whose ``RETURNING id`` feeds one ``INSERT ... SELECT`` CTE per child
row, and the statement returns the new ids. Over a network each round trip costs more
than building the statement, and the statement is cached per shape (columns and row
counts), so a record costs one round trip instead of 1 + one per sub-table.

Elsewhere (SQLite: no data-modifying CTEs, and no network) the row is one INSERT and
each sub-table one multi-row INSERT (see :meth:`RecordInserter._insert_sqlite` for how
its ids are learnt in row order).

With ``skip_on_conflict`` the form row is written with ``ON CONFLICT DO NOTHING``: a
unique-index clash (a concurrent writer won the race past the service's check) writes
nothing and returns ``None`` instead of raising, so PostgreSQL needs no savepoint to
keep the transaction usable; the caller re-checks and names the clashing record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.errors import UnsupportedDatabaseError
from engine.store.driver import BoundedCache, DriverStatement
from engine.store.form_tables import FormTables

#: child rows above which PostgreSQL falls back to per-table inserts (keeps statements small)
MAX_ROWS_IN_ONE_STATEMENT = 50

_DIALECT_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


class RecordInserter:
    """Prepared inserts of one form version (built lazily per dialect and row shape)."""

    def __init__(self, tables: FormTables):
        self.tables = tables
        self.child_inserts = {
            key: child.insert().returning(child.c.id, sort_by_parameter_order=True)
            for key, child in tables.children.items()
        }
        self._plain = tables.table.insert()
        self._statements: BoundedCache[Any, Any] = BoundedCache()
        # SQLite: every statement runs on the DBAPI connection (DriverStatement): Core's
        # per-statement overhead is most of the cost of an embedded INSERT.
        table = tables.table
        self._sqlite_plain = DriverStatement(table.insert().returning(table.c.id))
        self._sqlite_skip = DriverStatement(
            sqlite.insert(table).on_conflict_do_nothing().returning(table.c.id)
        )
        #: (sub-table, column names, row count) -> its multi-row INSERT (built lazily)
        self._sqlite_children: BoundedCache[tuple[str, tuple[str, ...], int], DriverStatement] = (
            BoundedCache()
        )

    def insert(
        self,
        conn: sa.Connection,
        row: Mapping[str, Any],
        children: Mapping[str, Sequence[Mapping[str, Any]]],
        *,
        skip_on_conflict: bool,
    ) -> tuple[int | None, dict[str, list[int]]]:
        """(new id, child ids per sub-table in row order); (None, {}) when skipped.

        ``children`` rows hold every column of their child table except ``id``,
        ``parent_id`` and ``row_index``.
        """
        dialect = conn.dialect.name
        counts = tuple((key, len(rows)) for key, rows in children.items())
        if dialect == "postgresql" and sum(n for _, n in counts) <= MAX_ROWS_IN_ONE_STATEMENT:
            return self._insert_in_one(conn, row, children, counts, skip_on_conflict)
        if dialect == "sqlite":
            return self._insert_sqlite(conn, row, children, skip_on_conflict)
        if skip_on_conflict:
            record_id = conn.execute(self._skipping(dialect), row).scalar()
            if record_id is None:
                return None, {}
        else:
            record_id = conn.execute(self._plain, row).inserted_primary_key[0]
        ids: dict[str, list[int]] = {}
        for key, rows in children.items():
            ids[key] = []
            if rows:
                params = [{**r, "parent_id": record_id, "row_index": i} for i, r in enumerate(rows)]
                ids[key] = list(conn.execute(self.child_inserts[key], params).scalars())
        return record_id, ids

    def _insert_sqlite(
        self,
        conn: sa.Connection,
        row: Mapping[str, Any],
        children: Mapping[str, Sequence[Mapping[str, Any]]],
        skip_on_conflict: bool,
    ) -> tuple[int | None, dict[str, list[int]]]:
        found = (self._sqlite_skip if skip_on_conflict else self._sqlite_plain).first(conn, row)
        if found is None:  # only when skipped on a unique clash
            return None, {}
        record_id = found[0]
        ids: dict[str, list[int]] = {}
        for key, rows in children.items():
            ids[key] = []
            for start in range(0, len(rows), MAX_ROWS_IN_ONE_STATEMENT):
                chunk = rows[start : start + MAX_ROWS_IN_ONE_STATEMENT]
                ids[key].extend(self._insert_sqlite_rows(conn, key, record_id, start, chunk))
        return record_id, ids

    def _insert_sqlite_rows(
        self,
        conn: sa.Connection,
        key: str,
        record_id: int,
        start: int,
        rows: Sequence[Mapping[str, Any]],
    ) -> list[int]:
        """Insert child rows ``start``.. of one sub-table in one statement; their ids in order.

        SQLite does not promise the order of a multi-row RETURNING, but the ids are
        consecutive in VALUES order: child tables are AUTOINCREMENT (each new id is one
        above the table's highest ever) and the statement holds the write lock, so no
        other insert interleaves. Every row therefore returns the same
        ``id - row_index`` (= what row 0 of the record's rows got or would have got),
        whichever row comes back first, and the ids follow from it.
        """
        columns = tuple(rows[0])
        shape = (key, columns, len(rows))
        insert = self._sqlite_children.get(shape)
        if insert is None:
            child = self.tables.children[key]
            binds = [
                {
                    "parent_id": sa.bindparam(f"p{i}", type_=child.c.parent_id.type),
                    "row_index": sa.bindparam(f"i{i}", type_=child.c.row_index.type),
                    **{c: sa.bindparam(f"c{i}_{c}", type_=child.c[c].type) for c in columns},
                }
                for i in range(len(rows))
            ]
            base = (child.c.id - child.c.row_index).label("base")
            insert = DriverStatement(child.insert().values(binds).returning(base))
            self._sqlite_children.put(shape, insert)
        params: dict[str, Any] = {}
        for i, r in enumerate(rows):
            params[f"p{i}"], params[f"i{i}"] = record_id, start + i
            params.update({f"c{i}_{c}": r[c] for c in columns})
        found = insert.first(conn, params)
        assert found is not None  # a plain INSERT ... RETURNING returns its rows
        return [found[0] + start + i for i in range(len(rows))]

    def _skipping(self, dialect: str) -> Any:
        key = ("skip", dialect)
        statement = self._statements.get(key)
        if statement is None:
            try:
                insert = _DIALECT_INSERTS[dialect]
            except KeyError:
                raise UnsupportedDatabaseError(
                    f"unique rules need PostgreSQL or SQLite, not {dialect}"
                ) from None
            table = self.tables.table
            statement = self._statements.put(
                key, insert(table).on_conflict_do_nothing().returning(table.c.id)
            )
        return statement

    def _insert_in_one(
        self,
        conn: sa.Connection,
        row: Mapping[str, Any],
        children: Mapping[str, Sequence[Mapping[str, Any]]],
        counts: tuple[tuple[str, int], ...],
        skip_on_conflict: bool,
    ) -> tuple[int | None, dict[str, list[int]]]:
        shape = ("one", tuple(row), counts, skip_on_conflict)
        stmt = self._statements.get(shape)
        if stmt is None:
            # a DriverStatement: on psycopg it skips Core's per-call overhead, as on SQLite
            stmt = self._statements.put(
                shape, DriverStatement(self._build_one(tuple(row), counts, skip_on_conflict))
            )
        params = {f"r_{column}": value for column, value in row.items()}
        for key, rows in children.items():
            for i, r in enumerate(rows):
                params.update({f"c_{key}_{i}_{column}": value for column, value in r.items()})
        found = stmt.first(conn, params)
        if found is None:
            return None, {}
        ids: dict[str, list[int]] = {}
        position = 1
        for key, n in counts:
            ids[key] = list(found[position : position + n])
            position += n
        return found[0], ids

    def _build_one(
        self, columns: tuple[str, ...], counts: tuple[tuple[str, int], ...], skip: bool
    ) -> Any:
        table = self.tables.table
        record = postgresql.insert(table).values(
            {c: sa.bindparam(f"r_{c}", type_=table.c[c].type) for c in columns}
        )
        if skip:
            record = record.on_conflict_do_nothing()
        parent = record.returning(table.c.id).cte("record")
        selected: list[Any] = [parent.c.id]
        for key, n in counts:
            child = self.tables.children[key]
            data = [c for c in child.columns if c.name not in ("id", "parent_id", "row_index")]
            for i in range(n):
                source = sa.select(
                    parent.c.id,
                    sa.literal(i, sa.Integer),
                    *(sa.bindparam(f"c_{key}_{i}_{c.name}", type_=c.type) for c in data),
                )
                inserted = (
                    child.insert()
                    .from_select(["parent_id", "row_index", *(c.name for c in data)], source)
                    .returning(child.c.id)
                    .cte(f"c_{key}_{i}")
                )
                selected.append(sa.select(inserted.c.id).scalar_subquery())
        # no form row (skipped on conflict) -> no result row, and no child rows written
        return sa.select(*selected).select_from(parent)
