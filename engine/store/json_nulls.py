"""Upgrade of JSON columns written before empty values were SQL NULL.

Before :class:`engine.store.types.BlankAsNullJSON`, a field with no files, links, people
or choices was stored as the JSON text ``null`` (SQLAlchemy's default for None), so
``IS NULL`` (the ``blank`` filter, reports, an analyst's SQL) missed it.
:func:`clear_json_nulls` sets those values, and empty lists or objects, to SQL NULL in
every JSON column ``form_columns`` lists. It can run any number of times, on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import form_columns

#: the JSON texts that mean "no value" (PostgreSQL's json keeps the text as sent)
BLANK_JSON_TEXTS = ("null", "[]", "{}")


def clear_json_nulls(conn: sa.Connection) -> dict[tuple[str, str], int]:
    """Set blank JSON values to SQL NULL; (table, column) -> rows changed (idempotent)."""
    columns = conn.execute(
        sa.select(form_columns.c.table_name, form_columns.c.column)
        .where(form_columns.c.kind == "json")
        .order_by(form_columns.c.table_name, form_columns.c.column)
    ).all()
    changed = {}
    for table_name, column in columns:
        table = sa.table(table_name, sa.column(column))
        # compared as text: PostgreSQL's json type has no equality operator
        as_text = sa.func.trim(sa.cast(table.c[column], sa.Text))
        result = conn.execute(
            table.update().where(as_text.in_(BLANK_JSON_TEXTS)).values({column: None})
        )
        changed[(table_name, column)] = result.rowcount
    return changed
