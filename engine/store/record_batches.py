"""Writing many new records at once: an import's chunk in a few statements.

A record written alone costs a unique-check query and an INSERT (a round trip each on
PostgreSQL). A chunk of an import asks instead which of its unique values live records
already hold (one query per rule and few hundred values) and inserts every row with one
``executemany`` per table (``INSERT ... RETURNING id`` in parameter order, which
SQLAlchemy's "insertmanyvalues" batches into multi-row statements on both databases).

The caller (engine/service/record_batch.py) prepared every row exactly as a single
write does; this module only knows how to write them. A unique index that still refuses
a row (a concurrent writer won a race past the check) raises :class:`UniqueViolation`
with nothing of the chunk written: the caller then writes the chunk record by record,
which names the clash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from engine.store.forms import StoredForm, UniqueCheck
from engine.store.record_writes import UniqueViolation
from engine.store.rows import child_row

#: values asked for in one unique-holder query (SQLite allows 32,766 binds)
HOLDER_QUERY_SIZE = 500


def held_values(
    conn: sa.Connection, form: StoredForm, check: UniqueCheck, keys: Sequence[tuple[Any, ...]]
) -> dict[tuple[Any, ...], int]:
    """Which of ``keys`` (a plain rule's stored column values) live records hold: key -> id.

    Only for rules without a normalized key (``check.rule.keyed`` is False): a keyed rule
    releases expired holders first, which is the single-record path's job.
    """
    if check.rule.keyed:
        raise ValueError("a normalized unique rule is checked record by record")
    table = form.tables.table
    columns = [table.c[c] for c in check.columns]
    found: dict[tuple[Any, ...], int] = {}
    distinct = list(dict.fromkeys(keys))
    for start in range(0, len(distinct), HOLDER_QUERY_SIZE):
        part = distinct[start : start + HOLDER_QUERY_SIZE]
        condition = _among(conn, columns, part)
        query = sa.select(table.c.id, *columns).where(table.c.deleted_at.is_(None), condition)
        for row in conn.execute(query):
            found[tuple(row[1:])] = row[0]
    return found


def _among(conn: sa.Connection, columns: list[Any], keys: list[tuple[Any, ...]]) -> Any:
    """``columns`` hold one of ``keys``, in SQL the planner answers from the rule's index.

    On PostgreSQL psycopg prepares a statement it runs often, and the generic plan of an
    ``IN ($1, ..., $500)`` list over a partial index can turn into a sequential scan: a
    100,000-row import got slower with every chunk (100 ms, then 250 ms per query). One
    column compares with ``= ANY($1)``, a single array parameter whose plan is an index
    scan; several columns list their values inline (a statement psycopg never reuses).
    """
    if len(columns) == 1:
        values = [k[0] for k in keys]
        if conn.dialect.name == "postgresql":
            array = sa.bindparam("held_keys", values, type_=postgresql.ARRAY(columns[0].type))
            return columns[0] == sa.any_(array)
        return columns[0].in_(values)
    if conn.dialect.name == "postgresql":
        return sa.tuple_(*columns).in_(
            sa.bindparam("held_keys", keys, expanding=True, literal_execute=True)
        )
    return sa.tuple_(*columns).in_(keys)


def insert_records(
    conn: sa.Connection,
    form: StoredForm,
    rows: Sequence[Mapping[str, Any]],
    values: Sequence[Mapping[str, Any]],
) -> list[tuple[int, dict[str, list[int]]]]:
    """Insert new records' rows and their child rows; per record (id, child ids in order).

    ``rows[i]`` is the form-table row of record ``i`` and ``values[i]`` its prepared values
    (the sub-tables' rows are read from them, as :func:`insert_record` does). Runs in a
    savepoint: a unique-index violation raises :class:`UniqueViolation` and leaves the
    transaction as it was before the call.
    """
    if not rows:
        return []
    tables = form.tables
    try:
        with conn.begin_nested():
            ids = _insert_rows(conn, tables.table, rows)
            children: dict[str, list[list[int]]] = {}
            for key, fields in tables.child_fields.items():
                children[key] = _insert_children(
                    conn, tables.children[key], fields, ids, [v.get(key) or [] for v in values]
                )
    except sa.exc.IntegrityError as exc:
        raise UniqueViolation(str(exc.orig)) from exc
    _keep_statistics(conn, tables.table, len(ids))
    return [
        (record_id, {key: per_record[i] for key, per_record in children.items()})
        for i, record_id in enumerate(ids)
    ]


#: Connection.info key: rows a connection's batches inserted per table since its last ANALYZE
_GROWN = "lowcode_batch_rows"
#: rows a table takes from batches before PostgreSQL's statistics are refreshed (then
#: twice as many each time: a 100,000-row import analyzes about seven times)
FIRST_ANALYZE = 1000


def _keep_statistics(conn: sa.Connection, table: sa.Table, inserted: int) -> None:
    """Refresh PostgreSQL's statistics of a table a bulk write is filling.

    Autovacuum analyzes a table only after the fact; meanwhile the planner still sees
    the table as it was (empty, say) and answers the next batch's unique check with a
    scan of the wrong index: a 100,000-row import spent 100-250 ms per chunk on it,
    growing with the table. ``ANALYZE`` counts the rows this transaction inserted, and
    samples at most 30,000 rows, so it costs tens of milliseconds.
    """
    if conn.dialect.name != "postgresql" or not inserted:
        return
    grown = conn.info.setdefault(_GROWN, {})
    done, threshold = grown.get(table.name, (0, FIRST_ANALYZE))
    done += inserted
    if done >= threshold:
        conn.exec_driver_sql(f'ANALYZE "{table.name}"')
        done, threshold = 0, threshold * 2
    grown[table.name] = (done, threshold)


def _insert_rows(
    conn: sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """One executemany per set of columns (rows of an import share one); ids in row order."""
    ids: list[int | None] = [None] * len(rows)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, row in enumerate(rows):
        groups.setdefault(tuple(row), []).append(i)
    for _columns, positions in groups.items():
        statement = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        found = conn.execute(statement, [dict(rows[i]) for i in positions]).scalars().all()
        for i, record_id in zip(positions, found, strict=True):
            ids[i] = record_id
    return [int(i) for i in ids if i is not None]


def _insert_children(
    conn: sa.Connection,
    child: sa.Table,
    fields: Mapping[str, Any],
    parent_ids: Sequence[int],
    per_record: Sequence[Sequence[Mapping[str, Any]]],
) -> list[list[int]]:
    """A sub-table's rows of every record in one executemany; their ids per record."""
    params = [
        {**child_row(fields, r), "parent_id": parent, "row_index": index}
        for parent, rows in zip(parent_ids, per_record, strict=True)
        for index, r in enumerate(rows)
    ]
    out: list[list[int]] = [[] for _ in parent_ids]
    if not params:
        return out
    statement = child.insert().returning(child.c.id, sort_by_parameter_order=True)
    found = iter(conn.execute(statement, params).scalars().all())
    for i, rows in enumerate(per_record):
        out[i] = [int(next(found)) for _ in rows]
    return out


__all__ = ["HOLDER_QUERY_SIZE", "held_values", "insert_records"]
