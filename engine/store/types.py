"""Column kinds (from ``engine.fields`` ColumnSpecs) mapped to SQLAlchemy types.

A registry of small factories, one per kind, so a new kind is one entry. Datetimes are
stored in UTC and always come back timezone-aware (SQLite has no time-zone type).
Decimals are exact on both databases (:class:`ExactDecimal`), and an empty JSON value is
SQL NULL (:class:`BlankAsNullJSON`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
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


#: the range of a 64-bit integer column (SQLite INTEGER, PostgreSQL BIGINT)
INT64_MAX = 2**63 - 1
#: enough digits to scale any value the column may be handed without rounding
_WIDE = Context(prec=60)


class ExactDecimal(TypeDecorator[Decimal]):
    """A fixed-point decimal stored exactly: NUMERIC(p, s) on PostgreSQL, and on SQLite a
    64-bit integer of minor units (value * 10**scale: 12.50 at scale 2 is 1250).

    Why: SQLite has no exact decimal type; a NUMERIC column keeps binary floating point,
    so 99999999999999.99 read back as .98. Integers are exact, SQL sums them exactly,
    and they compare and sort like the values they stand for, so filters and ORDER BY
    work unchanged: a value compared with the column is converted by the same bind
    step. The field types accept at most 18 digits in all (engine.fields.common
    MAX_DIGITS), which every int64 holds. A value the column cannot hold exactly (more
    decimals than the scale, beyond int64, NaN) raises ValueError rather than being
    rounded. Rows written before this type (floats in a NUMERIC column) still read, as
    the value the old type showed; ``engine.store.exact_decimals`` converts them.
    """

    impl = sa.Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int):
        super().__init__(precision, scale, asdecimal=True)
        self.precision = precision
        self.scale = scale
        self._quantum = Decimal(1).scaleb(-scale)

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if dialect.name != "sqlite":
            number = self._decimal(value)
            return number if number else number.copy_abs()  # no minus zero
        # a finite Decimal (the common case: a record write binds several) skips the checks
        fine = type(value) is Decimal and value.is_finite()
        units = (value if fine else self._decimal(value)).scaleb(self.scale, _WIDE)
        whole = int(units)
        if whole == units and -INT64_MAX <= whole <= INT64_MAX:
            return whole
        raise ValueError(
            f"{value!r} does not fit a decimal column with {self.scale} places "
            f"stored as 64-bit minor units"
        )

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, int) and dialect.name == "sqlite":
            return Decimal(value).scaleb(-self.scale)
        # PostgreSQL's Decimal, or a row SQLite kept from before (a float or text in a
        # NUMERIC column): the value the old type showed, rounded to the scale
        # (a float at its exact binary value, as that type formatted it to the scale)
        exact = Decimal(value) if isinstance(value, float) else self._decimal(value)
        return exact.quantize(self._quantum, context=_WIDE)

    def _decimal(self, value: Any) -> Decimal:
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return number


def _string(spec: ColumnSpec) -> sa.types.TypeEngine[Any]:
    return sa.String(spec.length or 255)


def _decimal(spec: ColumnSpec) -> sa.types.TypeEngine[Any]:
    scale = spec.scale if spec.scale is not None else 2
    return ExactDecimal(spec.precision or 20, scale)


class BlankAsNullJSON(TypeDecorator[Any]):
    """JSON whose empty values (None, [], {}) are SQL NULL, never the JSON text ``null``.

    Why: ``IS NULL`` (the ``blank`` filter, a report, an analyst's SQL) must find a field
    with no files, links or people. Reads give None, which the field types turn into
    their blank value.
    """

    impl = sa.JSON(none_as_null=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None or value == [] or value == {} else value


COLUMN_TYPES: dict[str, Callable[[ColumnSpec], sa.types.TypeEngine[Any]]] = {
    "text": lambda spec: sa.Text(),
    "string": _string,
    "integer": lambda spec: sa.BigInteger(),
    "decimal": _decimal,
    "date": lambda spec: sa.Date(),
    "datetime": lambda spec: AwareDateTime(),
    "boolean": lambda spec: sa.Boolean(),
    "json": lambda spec: BlankAsNullJSON(),
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
