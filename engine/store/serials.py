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

from engine.store.engine_tables import serial_counters

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def allocate_serial(
    conn: sa.Connection, app: str, form: str, field: str, period_key: str, start: int = 1
) -> int:
    """The next number of a counter (``start`` for the first of a period)."""
    try:
        insert = _INSERTS[conn.dialect.name]
    except KeyError:
        raise NotImplementedError(
            f"serial numbers need PostgreSQL or SQLite, not {conn.dialect.name}"
        ) from None
    stmt = insert(serial_counters).values(
        app=app, form=form, field=field, period_key=period_key, value=start
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[
            serial_counters.c.app,
            serial_counters.c.form,
            serial_counters.c.field,
            serial_counters.c.period_key,
        ],
        set_={"value": serial_counters.c.value + 1},
    ).returning(serial_counters.c.value)
    return int(conn.execute(stmt).scalar_one())
