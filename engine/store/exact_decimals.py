"""Upgrade of SQLite databases written before decimals were exact.

Before :class:`engine.store.types.ExactDecimal`, a SQLite decimal column was NUMERIC and
held binary floating point (or an integer, for whole values). Now it holds integer minor
units (value * 10**scale). :func:`upgrade_sqlite_decimal_columns` rewrites every stored
value of every decimal column listed in ``form_columns`` (form tables, child tables,
retired columns alike) as minor units.

Each value becomes the one the application showed before the upgrade: the stored float
at its exact binary value, rounded half-even to the scale, as SQLAlchemy's NUMERIC type
on SQLite formatted it. Digits a float had already lost stay lost (99999999999999.99
was stored as 99999999999999.984375 and read as .98; it stays .98). A value that no
64-bit integer of minor units holds, or that is not a number at all, stops the upgrade
with :class:`DecimalUpgradeError` naming each such row, and nothing is written.

The conversion is not idempotent (an integer 1250 could be 1250.00 or 12.50 already
converted): the caller, an Alembic migration, runs it exactly once, inside its
transaction. PostgreSQL's NUMERIC was always exact and needs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa

from engine.store.engine_tables import form_columns
from engine.store.types import INT64_MAX

#: rows rewritten per executemany
BATCH = 1000
#: problems named in the error message (all of them are on the exception)
SHOWN_PROBLEMS = 20
_WIDE = Context(prec=60)


@dataclass(frozen=True)
class DecimalProblem:
    """A stored value that cannot become minor units: where it is and why."""

    table: str
    column: str
    row_id: Any
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column} id={self.row_id}: {self.value!r} ({self.reason})"


class DecimalUpgradeError(Exception):
    """Stored values that cannot be converted; nothing was written."""

    def __init__(self, problems: Sequence[DecimalProblem]):
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:SHOWN_PROBLEMS])
        more = len(self.problems) - SHOWN_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"{len(self.problems)} stored decimal value(s) cannot be kept exactly "
            f"(at most 18 digits in all):\n{shown}{tail}\n"
            "Correct or clear those values in the old database, then run the upgrade again."
        )


@dataclass(frozen=True)
class ConvertedColumn:
    """One converted column and how many non-NULL values it held."""

    table: str
    column: str
    scale: int
    rows: int


def minor_units(value: Any, scale: int) -> int:
    """The minor units of a value as an old NUMERIC column kept it; ValueError if none.

    ``int`` and ``float`` are what SQLite's NUMERIC affinity stores; text is a value it
    could not read as a number (kept only if it is one).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("not a number")
    try:
        exact = Decimal(value) if not isinstance(value, str) else Decimal(value.strip())
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not exact.is_finite():
        raise ValueError("not a finite number")
    # half-even at the scale: what "%.{scale}f" made of the float when it was shown
    shown = exact.quantize(Decimal(1).scaleb(-scale), context=_WIDE)
    units = int(shown.scaleb(scale, context=_WIDE))
    if not -INT64_MAX <= units <= INT64_MAX:
        raise ValueError("too large for 18 digits")
    return units


def decimal_columns(conn: sa.Connection) -> list[tuple[str, str, int]]:
    """(table, column, scale) of every decimal column ``form_columns`` lists."""
    rows = conn.execute(
        sa.select(form_columns.c.table_name, form_columns.c.column, form_columns.c.spec)
        .where(form_columns.c.kind == "decimal")
        .order_by(form_columns.c.table_name, form_columns.c.column)
    ).all()
    found = []
    for table, column, spec in rows:
        scale = (spec or {}).get("scale")
        found.append((table, column, 2 if scale is None else int(scale)))
    return found


def upgrade_sqlite_decimal_columns(conn: sa.Connection) -> list[ConvertedColumn]:
    """Rewrite every decimal column of every form and child table as minor units.

    Run once, in the caller's transaction; on PostgreSQL it does nothing. Returns the
    converted columns; raises :class:`DecimalUpgradeError` (before writing anything)
    when a stored value cannot be converted.
    """
    if conn.dialect.name != "sqlite":
        return []
    plans: list[tuple[ConvertedColumn, Any, list[dict[str, Any]]]] = []
    problems: list[DecimalProblem] = []
    for table_name, column, scale in decimal_columns(conn):
        # untyped columns: the raw values SQLite holds, no type conversion on the way
        table = sa.table(table_name, sa.column("id"), sa.column(column))
        values = conn.execute(
            sa.select(table.c.id, table.c[column]).where(table.c[column].is_not(None))
        ).all()
        updates = []
        for row_id, value in values:
            try:
                updates.append(
                    {"lowcode_row_id": row_id, "lowcode_units": minor_units(value, scale)}
                )
            except ValueError as exc:
                problems.append(DecimalProblem(table_name, column, row_id, value, str(exc)))
        plans.append((ConvertedColumn(table_name, column, scale, len(values)), table, updates))
    if problems:
        raise DecimalUpgradeError(problems)
    for _converted, table, updates in plans:
        column = table.c[_converted.column]
        statement = (
            table.update()
            .where(table.c.id == sa.bindparam("lowcode_row_id"))
            .values({column: sa.bindparam("lowcode_units")})
        )
        for start in range(0, len(updates), BATCH):
            conn.execute(statement, updates[start : start + BATCH])
    return [converted for converted, _, _ in plans]
