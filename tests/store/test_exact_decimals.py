"""Decimals are exact on SQLite and PostgreSQL alike: every value a numeric field accepts
reads back equal on both (written through Core and through the write fast path), filters
and sorts compare the values, -0.00 is 0.00, and databases written before (floats in a
NUMERIC column on SQLite) are upgraded to integer minor units once."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.definitions import load_app_text
from engine.fields import get
from engine.fields.common import largest
from engine.service import SYSTEM_ACTOR, Actor
from engine.store import types
from engine.store.database import Database
from engine.store.driver import DriverStatement
from engine.store.exact_decimals import (
    DecimalUpgradeError,
    minor_units,
    upgrade_sqlite_decimal_columns,
)
from engine.store.query import QueryError
from engine.store.types import ExactDecimal

from ..fields.conftest import build_field

ME = Actor("zhang.wei")

#: (field type, options) of every numeric storage the fields have
NUMERIC_FIELDS = [
    ("number", {}),
    ("number", {"precision": 2}),
    ("number", {"precision": 8}),
    ("money", {}),
    ("percent", {}),
    ("percent", {"precision": 8}),
    ("formula", {"expr": "a", "result": "money"}),
]


def _edges(places: int) -> list[Decimal]:
    top, step = largest(places), Decimal(1).scaleb(-places)
    return [
        top,
        -top,
        top - step,
        step,
        -step,
        Decimal(0),
        Decimal("-0"),
        Decimal(1),
        Decimal("0.5") if places else Decimal(5),
        Decimal(10) ** (17 - places),  # a power of ten with all 18 digits in use
        Decimal("12.5") if places else Decimal(12),
    ]


def _values(places: int) -> st.SearchStrategy[Decimal]:
    top = largest(places)
    return st.one_of(
        st.sampled_from(_edges(places)),
        st.decimals(min_value=-top, max_value=top, places=places),
    )


@pytest.fixture
def numeric_table(database_url):
    """A table with one column per numeric field, built as the store builds form tables."""
    database = Database(database_url)
    metadata = sa.MetaData()
    fields = [
        build_field(kind, key=f"c{i}", **opts) for i, (kind, opts) in enumerate(NUMERIC_FIELDS)
    ]
    columns = [
        sa.Column(spec.name(f.key), types.column_type(spec))
        for f in fields
        for spec in get(f.type).columns(f)
    ]
    table = sa.Table(
        "numeric_probe", metadata, sa.Column("id", sa.Integer, primary_key=True), *columns
    )
    metadata.create_all(database.engine)
    yield database, table, fields
    metadata.drop_all(database.engine)
    database.dispose()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_every_accepted_value_reads_back_equal(numeric_table, data):
    database, table, fields = numeric_table
    row: dict[str, object] = {}
    expected = {}
    for field in fields:
        field_type = get(field.type)
        target = get("formula") if field.type == "formula" else field_type
        places = get("money").places(field) if field.type == "formula" else field_type.places(field)
        value = data.draw(_values(places), label=field.key)
        coerced = target.coerce(field, value)
        assert coerced == value
        row.update(target.to_storage(field, coerced))
        expected[field.key] = coerced
    insert = DriverStatement(table.insert().returning(table.c.id))
    with database.write() as conn:
        conn.execute(table.delete())
        fast_id = insert.first(conn, row)[0]  # type: ignore[index]
        core_id = conn.execute(table.insert().returning(table.c.id), row).scalar()
    select = DriverStatement(sa.select(table).where(table.c.id == sa.bindparam("row_id")))
    with database.read() as conn:
        for row_id in (fast_id, core_id):
            for stored in (
                select.mapping(conn, {"row_id": row_id}),
                conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one(),
            ):
                for field in fields:
                    read = get(field.type).from_storage(field, stored)
                    assert read == expected[field.key]
                    assert str(read) == str(expected[field.key])  # same places, no "-0"


def test_minus_zero_is_stored_and_shown_as_zero(numeric_table):
    database, table, fields = numeric_table
    money = next(f for f in fields if f.type == "money")
    with database.write() as conn:
        conn.execute(table.insert(), {money.key: Decimal("-0.00")})
    with database.read() as conn:
        stored = conn.execute(sa.select(table.c[money.key])).scalar()
        raw = conn.execute(sa.text(f"SELECT CAST({money.key} AS TEXT) FROM numeric_probe")).scalar()
    assert str(stored) == "0.00"
    assert raw in ("0", "0.00")  # SQLite minor units, PostgreSQL NUMERIC
    assert get("money").display(money, stored) == "¥0.00"


DEMO_APP = """
app: shop
version: 1.0.0
name: Shop
---
form: order
name: Order
fields:
  customer: {type: text}
  total:    {type: money}
  weight:   {type: number, precision: 3}
  lines:
    type: subtable
    fields:
      price: {type: money}
  files:    {type: attachment}
  links:    {type: relation, to: order, many: true}
  tags:     {type: multiselect, options: [a, b]}
  owners:   {type: user, many: true}
"""
OLD = ["12.5", "99999999999999.99", "1234567890123456.78", "100.5", "-3.25", None]
#: the non-NULL totals as the old column showed them, in order
SHOWN = [
    Decimal(v) for v in ("-3.25", "12.50", "100.50", "99999999999999.98", "1234567890123456.75")
]


def _old_column_types(monkeypatch):
    """The column types decimals and JSON had before (a NUMERIC column, JSON ``null``)."""
    monkeypatch.setitem(
        types.COLUMN_TYPES,
        "decimal",
        lambda spec: sa.Numeric(spec.precision or 20, spec.scale, asdecimal=True),
    )
    monkeypatch.setitem(types.COLUMN_TYPES, "json", lambda spec: sa.JSON())


def _totals(service):
    page = service.query_records(ME, "shop", "order", sort="total", with_subtables=True)
    return [r.values["total"] for r in page.items]


def test_upgrade_converts_old_sqlite_decimals_to_minor_units(make_service, monkeypatch):
    app = load_app_text(DEMO_APP)
    with monkeypatch.context() as old:
        _old_column_types(old)
        before = make_service()
        if before._database.dialect_name != "sqlite":
            pytest.skip("PostgreSQL's NUMERIC was always exact: nothing to upgrade")
        before.install_app(SYSTEM_ACTOR, app)
        for text in OLD:
            lines = [{"price": text}] if text else []
            before.create_record(
                ME, "shop", "order", {"total": text, "weight": "1.5", "lines": lines}
            )
        shown_before = _totals(before)
        before.close()
    # what the NUMERIC (binary float) column made of them: digits beyond ~15.9
    # significant ones were lost (sorted by total; SQLite sorts NULL first)
    assert shown_before == [None, *SHOWN]
    after = make_service()
    # not upgraded yet: the new type reads the old floats as the old type showed them
    assert _totals(after) == [None, *SHOWN]
    with after._database.write() as conn:
        converted = upgrade_sqlite_decimal_columns(conn)
        raw = conn.exec_driver_sql(
            "SELECT typeof(total), total, typeof(weight), weight FROM f_shop_order ORDER BY id"
        ).all()
        child = conn.exec_driver_sql("SELECT price FROM f_shop_order__lines ORDER BY id").all()
    assert {(c.table, c.column, c.scale, c.rows) for c in converted} == {
        ("f_shop_order", "total", 2, 5),
        ("f_shop_order", "weight", 3, 6),
        ("f_shop_order__lines", "price", 2, 5),
    }
    assert raw == [
        ("integer", 1250, "integer", 1500),
        ("integer", 9999999999999998, "integer", 1500),
        ("integer", 123456789012345675, "integer", 1500),
        ("integer", 10050, "integer", 1500),
        ("integer", -325, "integer", 1500),
        ("null", None, "integer", 1500),
    ]
    assert [p for (p,) in child] == [1250, 9999999999999998, 123456789012345675, 10050, -325]
    after.forget_cached_definitions()
    assert _totals(after) == [None, *SHOWN]
    page = after.query_records(
        ME, "shop", "order", filters=[("total", "ge", "100.5")], sort="-total"
    )
    assert [r.values["total"] for r in page.items] == [
        Decimal("1234567890123456.75"),
        Decimal("99999999999999.98"),
        Decimal("100.50"),
    ]
    record = after.create_record(ME, "shop", "order", {"total": "99999999999999.99"})
    assert after.get_record(ME, "shop", "order", record.id).values["total"] == Decimal(
        "99999999999999.99"
    )


def test_upgrade_refuses_values_no_int64_holds_and_writes_nothing(make_service, monkeypatch):
    app = load_app_text(DEMO_APP)
    with monkeypatch.context() as old:
        _old_column_types(old)
        service = make_service()
        if service._database.dialect_name != "sqlite":
            pytest.skip("SQLite only")
        service.install_app(SYSTEM_ACTOR, app)
        service.create_record(ME, "shop", "order", {"total": "12.5"})
        service._database.dispose()
    service = make_service()
    with service._database.write() as conn:
        conn.exec_driver_sql("UPDATE f_shop_order SET weight = 1e17")  # 10**20 minor units
        conn.exec_driver_sql(
            "INSERT INTO f_shop_order (status, created_at, created_by, updated_at, updated_by, total) SELECT status, created_at, created_by, updated_at, updated_by, 'abc' FROM f_shop_order"
        )
    with pytest.raises(DecimalUpgradeError) as caught, service._database.write() as conn:
        upgrade_sqlite_decimal_columns(conn)
    message = str(caught.value)
    assert "f_shop_order.weight id=1: 100000000000000000 (too large for 18 digits)" in message
    assert "f_shop_order.total id=2: 'abc' (not a number)" in message
    with service._database.read() as conn:
        assert conn.exec_driver_sql("SELECT total FROM f_shop_order WHERE id = 1").scalar() == 12.5


def test_upgrade_leaves_postgresql_alone(make_service):
    service = make_service()
    if service._database.dialect_name == "sqlite":
        pytest.skip("PostgreSQL only")
    service.install_app(SYSTEM_ACTOR, load_app_text(DEMO_APP))
    service.create_record(ME, "shop", "order", {"total": "99999999999999.99"})
    with service._database.write() as conn:
        assert upgrade_sqlite_decimal_columns(conn) == []
        assert conn.exec_driver_sql("SELECT total FROM f_shop_order").scalar() == Decimal(
            "99999999999999.99"
        )


@pytest.mark.parametrize(
    ("stored", "scale", "units"),
    [
        (12.5, 2, 1250),
        (12, 2, 1200),
        (99999999999999.99, 2, 9999999999999998),
        (1234567890123456.78, 2, 123456789012345675),
        (-0.0, 2, 0),
        (0.1 + 0.2, 2, 30),
        ("12.50", 2, 1250),
        (1.0005, 3, 1000),  # 1.000499999... in binary, as the old type showed it
    ],
)
def test_minor_units_of_old_values(stored, scale, units):
    assert minor_units(stored, scale) == units


def test_exact_decimal_refuses_what_it_cannot_hold_on_sqlite():
    engine = sa.create_engine("sqlite://")
    column = ExactDecimal(20, 2)
    process = column.dialect_impl(engine.dialect).bind_processor(engine.dialect)
    assert process(Decimal("12.5")) == 1250
    for bad in (Decimal("0.001"), Decimal("1E+30"), Decimal("NaN"), "abc"):
        with pytest.raises(ValueError):
            process(bad)


def test_filters_and_sorts_compare_exact_values(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(DEMO_APP))
    amounts = ["9999999999999999.99", "100.5", "100.49", "-9999999999999999.99", "0", "12.5"]
    for text in amounts:
        service.create_record(ME, "shop", "order", {"total": text})

    def totals(*filters, sort="-total"):
        page = service.query_records(ME, "shop", "order", filters=list(filters), sort=sort)
        return [str(r.values["total"]) for r in page.items]

    assert totals(("total", "ge", "100.5")) == ["9999999999999999.99", "100.50"]
    assert totals(("total", "lt", 0)) == ["-9999999999999999.99"]
    assert totals(("total", "between", ["100.49", "9999999999999999.99"])) == [
        "9999999999999999.99",
        "100.50",
        "100.49",
    ]
    assert totals(("total", "in", ["12.5", "-0.00"])) == ["12.50", "0.00"]
    assert totals(sort="total") == [
        "-9999999999999999.99",
        "0.00",
        "12.50",
        "100.49",
        "100.50",
        "9999999999999999.99",
    ]
    for hostile in ("1e308", 10**30, Decimal("1E+30"), "100.555"):
        with pytest.raises(QueryError):
            totals(("total", "ge", hostile))
