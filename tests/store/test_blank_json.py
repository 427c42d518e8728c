"""An empty attachment, relation list, user list or multiselect is SQL NULL (not the JSON
text ``null``) on SQLite and PostgreSQL, reads back as the field's blank value, and is
found by the ``blank`` filter; columns written the old way are cleared by
``clear_json_nulls``. Columns added by a later version get the same exact types."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.service import SYSTEM_ACTOR, Actor
from engine.store import types
from engine.store.json_nulls import clear_json_nulls

ME = Actor("zhang.wei")
APP = """
app: shop
version: 1.0.0
name: Shop
---
form: order
name: Order
fields:
  customer: {type: text}
  files:    {type: attachment}
  links:    {type: relation, to: order, many: true}
  tags:     {type: multiselect, options: [a, b]}
  owners:   {type: user, many: true}
  teams:    {type: department, many: true}
"""
JSON_FIELDS = ("files", "links", "tags", "owners", "teams")
NULL_CHECK = "SELECT " + ", ".join(f"{c} IS NULL" for c in JSON_FIELDS) + " FROM f_shop_order"


def _install(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    return service


def test_empty_lists_are_sql_null_and_read_back_blank(make_service):
    service = _install(make_service)
    empty = {key: [] for key in JSON_FIELDS}
    record = service.create_record(ME, "shop", "order", {"customer": "A", **empty})
    with service._database.read() as conn:
        assert conn.exec_driver_sql(NULL_CHECK).one() == (True,) * len(JSON_FIELDS)
    values = service.get_record(ME, "shop", "order", record.id).values
    assert [values[key] for key in JSON_FIELDS] == [None] * len(JSON_FIELDS)
    filled = {"links": [record.id], "tags": ["a"], "owners": ["li.na"], "teams": ["sales"]}
    service.update_record(ME, "shop", "order", record.id, filled, expected_version=1)
    with service._database.read() as conn:
        assert conn.exec_driver_sql(NULL_CHECK).one() == (True, False, False, False, False)
    service.update_record(ME, "shop", "order", record.id, empty, expected_version=2)
    with service._database.read() as conn:
        assert conn.exec_driver_sql(NULL_CHECK).one() == (True,) * len(JSON_FIELDS)
    for key in JSON_FIELDS:
        page = service.query_records(ME, "shop", "order", filters=[(key, "blank", None)])
        assert [r.id for r in page.items] == [record.id], key


def test_clear_json_nulls_fixes_rows_written_the_old_way(make_service, monkeypatch):
    with monkeypatch.context() as old:
        old.setitem(types.COLUMN_TYPES, "json", lambda spec: sa.JSON())
        before = _install(make_service)
        before.create_record(ME, "shop", "order", {"customer": "old", "tags": ["a"]})
        before.close()
    service = make_service()
    with service._database.read() as conn:
        raw = conn.exec_driver_sql("SELECT CAST(owners AS TEXT), tags IS NULL FROM f_shop_order")
        assert raw.one() == ("null", False)
    with service._database.write() as conn:
        changed = clear_json_nulls(conn)
        again = clear_json_nulls(conn)
    assert changed == {
        ("f_shop_order", "files"): 1,
        ("f_shop_order", "links"): 1,
        ("f_shop_order", "owners"): 1,
        ("f_shop_order", "tags"): 0,
        ("f_shop_order", "teams"): 1,
    }
    assert set(again.values()) == {0}
    with service._database.read() as conn:
        assert conn.exec_driver_sql(NULL_CHECK).one() == (True, True, False, True, True)


def test_columns_added_later_are_exact_decimals_and_null_json(make_service):
    service = _install(make_service)
    first = service.create_record(ME, "shop", "order", {"customer": "A"})
    extended = (
        APP.replace("version: 1.0.0", "version: 1.1.0")
        + "  total:    {type: money}\n  extra:    {type: attachment}\n"
    )
    service.install_app(SYSTEM_ACTOR, load_app_text(extended))
    record = service.create_record(
        ME, "shop", "order", {"customer": "B", "total": "9999999999999999.99", "extra": []}
    )
    with service._database.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT CAST(total AS TEXT), extra IS NULL FROM f_shop_order ORDER BY id"
        ).all()
    minor_units = service._database.dialect_name == "sqlite"
    assert rows == [
        (None, True),
        ("999999999999999999" if minor_units else "9999999999999999.99", True),
    ]
    assert service.get_record(ME, "shop", "order", record.id).values["total"] == Decimal(
        "9999999999999999.99"
    )
    assert service.get_record(ME, "shop", "order", first.id).values["total"] is None
