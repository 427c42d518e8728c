"""Column kinds (from ``engine.fields`` ColumnSpecs) mapped to SQLAlchemy types.

A registry of small factories, one per kind, so a new kind is one entry. Datetimes are
stored in UTC and always come back timezone-aware (SQLite has no time-zone type).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from engine.fields.base import ColumnSpec

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")


class AwareDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; returns them aware, in Asia/Shanghai.

    Naive input is refused rather than guessed: a naive time reaching the store is a bug
    upstream, and guessing a zone silently shifts data by hours.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} reached the store; attach a zone")
        utc = value.astimezone(UTC)
        # SQLite keeps text; store naive UTC so text order is time order.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(DEFAULT_TZ)


def _string(spec: ColumnSpec) -> sa.types.TypeEngine[Any]:
    return sa.String(spec.length or 255)


def _decimal(spec: ColumnSpec) -> sa.types.TypeEngine[Any]:
    scale = spec.scale if spec.scale is not None else 2
    return sa.Numeric(spec.precision or 20, scale, asdecimal=True)


COLUMN_TYPES: dict[str, Callable[[ColumnSpec], sa.types.TypeEngine[Any]]] = {
    "text": lambda spec: sa.Text(),
    "string": _string,
    "integer": lambda spec: sa.BigInteger(),
    "decimal": _decimal,
    "date": lambda spec: sa.Date(),
    "datetime": lambda spec: AwareDateTime(),
    "boolean": lambda spec: sa.Boolean(),
    "json": lambda spec: sa.JSON(),
}


def column_type(spec: ColumnSpec) -> sa.types.TypeEngine[Any]:
    """The SQLAlchemy type for a column spec (KeyError names an unknown kind)."""
    try:
        factory = COLUMN_TYPES[spec.kind]
    except KeyError:
        raise KeyError(
            f"unknown column kind {spec.kind!r}; known: {sorted(COLUMN_TYPES)}"
        ) from None
    return factory(spec)
