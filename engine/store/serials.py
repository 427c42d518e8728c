"""Serial-number counters, allocated inside the writing transaction.

One statement per allocation: INSERT ... ON CONFLICT DO UPDATE SET value = value + 1
RETURNING value (SQLite >= 3.35 and PostgreSQL). The row lock it takes serialises
concurrent writers on the same counter, and because the counter moves in the record's
own transaction a rolled-back write gives its number back: serials stay gap-free.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.errors import UnsupportedDatabaseError
from engine.store.driver import Ahead, DriverStatement, send_ahead
from engine.store.engine_tables import serial_counters

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_STATEMENTS: dict[str, Any] = {}


def _statement(dialect: str) -> Any:
    # built once per dialect; values are bound at execution
    if dialect not in _STATEMENTS:
        try:
            insert = _INSERTS[dialect]
        except KeyError:
            raise UnsupportedDatabaseError(
                f"serial numbers need PostgreSQL or SQLite, not {dialect}"
            ) from None
        c = serial_counters.c
        # a DriverStatement: on SQLite it skips Core's per-call overhead (see its docstring)
        _STATEMENTS[dialect] = DriverStatement(
            insert(serial_counters)
            .on_conflict_do_update(
                index_elements=[c.app, c.form, c.field, c.period_key],
                set_={"value": c.value + 1},
            )
            .returning(c.value)
        )
    return _STATEMENTS[dialect]


def allocate_serial(
    conn: sa.Connection, app: str, form: str, field: str, period_key: str, start: int = 1
) -> int:
    """The next number of a counter (``start`` for the first of a period)."""
    return serial_value(request_serial(conn, app, form, field, period_key, start))


def request_serial(
    conn: sa.Connection, app: str, form: str, field: str, period_key: str, start: int = 1
) -> Ahead:
    """Move a counter on, its number read later with :func:`serial_value`.

    Sent with the write's next statement that needs an answer (the uniqueness check)
    on PostgreSQL, saving a round trip; see :func:`engine.store.driver.send_ahead`.
    """
    params = {"app": app, "form": form, "field": field, "period_key": period_key, "value": start}
    return send_ahead(conn, _statement(conn.dialect.name), params)


def serial_value(requested: Ahead) -> int:
    row = requested.row()
    if row is None:  # cannot happen: the upsert always returns the counter's value
        raise RuntimeError(f"serial counter {requested.params} returned no value")
    return int(row[0])
