"""A form's declared aggregates as one SQL query each, and the row lock taken before them.

``aggregate_value`` runs ``SUM/COUNT/MIN/MAX(field)`` over the live rows of another form
that meet the aggregate's ``where`` (translated as permission row rules are, by
engine/store/row_scopes.py, with the declaring record's ``record.x`` values bound as
parameters) on the caller's connection, so inside the writing transaction and after
its lock. It is a system read: no actor's row scope applies (a credit check counts every
order of the dealer, whoever submits); docs/aggregates.md says what that means for
permissions. Money stays exact: the sum runs on the stored exact decimals (minor units
on SQLite, NUMERIC on PostgreSQL) and comes back as ``Decimal``.

``lock_row`` / ``lock_org_row`` take the row lock: ``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite the statement is a plain read, and the write transaction itself
(``BEGIN IMMEDIATE``, engine/store/database.py) already keeps every other writer out
until commit, so the aggregates read after it are as current as under a row lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from engine.definitions.aggregates import FormAggregate
from engine.definitions.context import VISIBLE_SYSTEM_COLUMNS
from engine.errors import ServiceError
from engine.org.principal import Principal
from engine.store.forms import StoredForm
from engine.store.org_tables import org_dealers, org_departments, org_regions, org_users
from engine.store.row_scopes import bound_tree_condition, record_value

#: the principal an aggregate's where is read as (actor functions see no one)
_SYSTEM = Principal("system")
#: organisation field type -> (table, key column) of the row a lock takes
_ORG_ROWS = {
    "dealer": (org_dealers, org_dealers.c.code),
    "region": (org_regions, org_regions.c.code),
    "department": (org_departments, org_departments.c.code),
    "user": (org_users, org_users.c.login),
}


class AggregateError(ServiceError):
    """A declared aggregate that cannot run on the stored form (a definition out of step)."""


def aggregate_value(
    conn: sa.Connection,
    target: StoredForm,
    aggregate: FormAggregate,
    record: Mapping[str, Any],
    record_fields: frozenset[str],
) -> Any:
    """The aggregate over ``target``'s live rows for the declaring record's ``record``
    values (``record_fields``: the keys ``record.x`` may name). SUM and COUNT of no rows
    are 0, MIN and MAX blank.

    The statement is built once per aggregate and per pattern of blank ``record.x``
    values (a blank compares as blank, which changes the SQL) and kept with the form's
    statements; each call binds the record's values as parameters."""
    blanks = tuple(
        (key, None if value is None else value == "") for key, value in sorted(record.items())
    )
    key = ("aggregate", aggregate, record_fields, blanks)
    found = target.queries.get(key)
    if found is None:
        found = target.queries.put(key, _statement(target, aggregate, record, record_fields))
    stmt, bound = found
    params = {
        name: record_value(record.get(field), coerce) for name, (field, coerce) in bound.items()
    }
    value = conn.execute(stmt, params).scalar()
    if aggregate.function == "COUNT":
        return Decimal(int(value or 0))
    if value is None:
        return Decimal(0) if aggregate.function == "SUM" else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


def _statement(
    target: StoredForm,
    aggregate: FormAggregate,
    record: Mapping[str, Any],
    record_fields: frozenset[str],
) -> tuple[Any, dict[str, Any]]:
    """The aggregate's SELECT and its record parameters (name -> (field, coercion))."""
    tables = target.tables
    table = tables.table
    conditions = [table.c.deleted_at.is_(None)]
    bound: dict[str, Any] = {}
    if aggregate.where:
        tree = _where_tree(aggregate.where, target, record_fields)
        condition, bound = bound_tree_condition(tree, tables, table, _SYSTEM, record)
        conditions.append(condition)
    if aggregate.field is None:
        measure: Any = sa.func.count()
    else:
        fc = tables.fields.get(aggregate.field)
        if fc is None or len(fc.names) != 1:
            raise AggregateError(
                f"{target.app}.{target.key} has no single-column field {aggregate.field!r} "
                f"for the aggregate {aggregate.name!r}: publish the app again"
            )
        column = table.c[fc.names[0]]
        if aggregate.function == "COUNT":
            measure = sa.func.count(column)
        else:
            function = {"SUM": sa.func.sum, "MIN": sa.func.min, "MAX": sa.func.max}
            # the column's type reads the result back (ExactDecimal: minor units -> Decimal)
            measure = function[aggregate.function](column, type_=column.type)
    return sa.select(measure).where(*conditions), bound


def _where_tree(text: str, target: StoredForm, record_fields: frozenset[str]) -> dict[str, Any]:
    from engine.expressions import ExpressionScope, compile_expression

    scope = ExpressionScope(
        frozenset(target.tables.fields) | VISIBLE_SYSTEM_COLUMNS,
        record_fields=record_fields | VISIBLE_SYSTEM_COLUMNS,
    )
    # compile_expression caches per (text, scope): built once per definition
    return compile_expression(text, scope).to_json()["tree"]


def lock_row(conn: sa.Connection, target: StoredForm, record_id: Any) -> Mapping[str, Any] | None:
    """Lock a live record's row until the transaction ends; its row (None: no such
    record, nothing locked: the record's own checks will say so)."""
    if not isinstance(record_id, int) or isinstance(record_id, bool):
        return None
    found: Mapping[str, Any] | None = target.lock_live.mapping(conn, {"record_id": record_id})
    return found


def lock_org_row(conn: sa.Connection, field_type: str, code: Any) -> bool:
    """Lock an organisation row (a dealer, region, department or user); False when the
    type has no row or there is no such code."""
    found = _ORG_ROWS.get(field_type)
    if found is None or not isinstance(code, str) or not code:
        return False
    table, key = found
    stmt = sa.select(key).where(key == code).with_for_update()
    return conn.execute(stmt).first() is not None


def stored_value(target: StoredForm, row: Mapping[str, Any], key: str) -> Any:
    """A field's value (as the field type reads it) from a row of ``target``."""
    fc = target.tables.fields.get(key)
    if fc is None:
        return None
    return fc.read({name: row.get(name) for name in fc.names})
