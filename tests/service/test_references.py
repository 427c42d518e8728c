"""Values pointing at other forms: a relation's filter and options taken from a form."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.errors import RecordValidationError
from engine.service import SYSTEM_ACTOR, Actor

ZHANG = Actor("zhang.wei")

SHOP_APP = """
app: shop
version: 1.0.0
name: Shop
---
form: supplier
name: {zh-CN: 供应商, en: Supplier}
title: "{{ name }}"
fields:
  name:  {type: text, required: true}
  state: {type: select, options: [active, paused], default: active}
---
form: region
name: {zh-CN: 地区, en: Region}
title: "{{ name }}"
fields:
  code:   {type: text, required: true}
  name:   {type: text}
  active: {type: boolean, default: true}
---
form: order
name: Order
fields:
  supplier: {type: relation, to: supplier, display: name, filter: "state == 'active'"}
  backups:  {type: relation, to: supplier, many: true, filter: "state == 'active'"}
  region:
    type: select
    label: {zh-CN: 地区, en: Region}
    options: {from: region, value: code, label: name, filter: "active == true"}
  regions:  {type: multiselect, options: {from: region, value: code, label: name}}
  region_id: {type: select, options: {from: region}}
  note:     {type: text}
  lines:
    type: subtable
    fields:
      vendor: {type: relation, to: supplier, display: name, filter: "state == 'active'"}
      area:   {type: select, options: {from: region, value: code, filter: "active == true"}}
      qty:    {type: number}
---
form: plain
name: Plain
fields:
  supplier: {type: relation, to: supplier}
  note:     {type: text}
"""


@pytest.fixture
def shop(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(SHOP_APP))
    return service


def _supplier(service, name, state="active"):
    return service.create_record(ZHANG, "shop", "supplier", {"name": name, "state": state}).id


def _region(service, code, active=True):
    data = {"code": code, "name": f"Region {code}", "active": active}
    return service.create_record(ZHANG, "shop", "region", data).id


def _order(service, **data):
    return service.create_record(ZHANG, "shop", "order", data)


def _errors(caught):
    return [(e.field, e.row, e.code) for e in caught.value.errors]


def _pause(service, supplier_id):
    service.update_record(ZHANG, "shop", "supplier", supplier_id, {"state": "paused"})


# -- relation filter -------------------------------------------------------------------


def test_a_relation_to_a_record_outside_the_filter_is_refused_naming_it(shop):
    _supplier(shop, "Acme")
    paused = _supplier(shop, "Beta Metals", "paused")
    with pytest.raises(RecordValidationError) as caught:
        _order(shop, supplier=paused)
    assert _errors(caught) == [("supplier", None, "filter")]
    text = caught.value.errors[0].message
    assert f"#{paused} Beta Metals" in text and "state == 'active'" in text
    assert shop.query_records(ZHANG, "shop", "order").total == 0


def test_a_relation_paused_later_does_not_block_editing_but_cannot_be_chosen_again(shop):
    acme, other = _supplier(shop, "Acme"), _supplier(shop, "Other")
    order = _order(shop, supplier=acme)
    _pause(shop, acme)
    updated = shop.update_record(ZHANG, "shop", "order", order.id, {"note": "still fine"})
    assert updated.values["supplier"] == acme
    # sending the same value again is not a change either
    shop.update_record(ZHANG, "shop", "order", order.id, {"supplier": acme, "note": "again"})
    shop.update_record(ZHANG, "shop", "order", order.id, {"supplier": other})
    with pytest.raises(RecordValidationError) as caught:
        shop.update_record(ZHANG, "shop", "order", order.id, {"supplier": acme})
    assert _errors(caught) == [("supplier", None, "filter")]


def test_many_relations_check_only_the_ids_added_now(shop):
    a, b, c = (_supplier(shop, n) for n in ("A", "B", "C"))
    paused = _supplier(shop, "P", "paused")
    with pytest.raises(RecordValidationError) as caught:
        _order(shop, backups=[a, paused])
    assert _errors(caught) == [("backups", None, "filter")]
    order = _order(shop, backups=[a, b])
    _pause(shop, b)
    updated = shop.update_record(ZHANG, "shop", "order", order.id, {"backups": [a, b, c]})
    assert updated.values["backups"] == [a, b, c]
    with pytest.raises(RecordValidationError) as caught:
        shop.update_record(ZHANG, "shop", "order", order.id, {"backups": [a, b, c, paused]})
    assert f"#{paused} P" in caught.value.errors[0].message


def test_a_relation_filter_in_a_sub_table_row_names_the_row(shop):
    good, paused = _supplier(shop, "Good"), _supplier(shop, "Paused", "paused")
    with pytest.raises(RecordValidationError) as caught:
        _order(shop, lines=[{"vendor": good, "qty": 1}, {"vendor": paused, "qty": 2}])
    assert _errors(caught) == [("lines.vendor", 2, "filter")]
    assert str(caught.value).startswith("lines[2].vendor:")
    order = _order(shop, lines=[{"vendor": good, "qty": 1}])
    _pause(shop, good)
    row = order.values["lines"][0]
    updated = shop.update_record(
        ZHANG, "shop", "order", order.id, {"lines": [{"id": row["id"], "qty": 5}, {"qty": 1}]}
    )
    assert [r["qty"] for r in updated.values["lines"]] == [5, 1]
    with pytest.raises(RecordValidationError) as caught:
        shop.update_record(
            ZHANG, "shop", "order", order.id, {"lines": [{"id": row["id"], "vendor": paused}]}
        )
    assert _errors(caught) == [("lines.vendor", 1, "filter")]


# -- options from another form ---------------------------------------------------------


def test_an_option_must_be_a_live_record_of_the_source_form_matching_its_filter(shop):
    _region(shop, "EAST")
    _region(shop, "OLD", active=False)
    gone = _region(shop, "GONE")
    shop.delete_record(ZHANG, "shop", "region", gone)
    assert _order(shop, region="EAST").values["region"] == "EAST"
    for value in ("NOPE", "OLD", "GONE"):
        with pytest.raises(RecordValidationError) as caught:
            _order(shop, region=value)
        assert _errors(caught) == [("region", None, "option")]
        text = caught.value.errors[0].message
        # the same words for a missing and a filtered-out option: nothing about the filter
        assert f"“{value}” 不是 “地区” 的可选项" in text and "active" not in text


def test_options_by_id_multiselect_and_sub_table_rows(shop):
    east = _region(shop, "EAST")
    _region(shop, "WEST")
    order = _order(
        shop,
        region_id=str(east),
        regions=["EAST", "WEST"],
        lines=[{"area": "WEST", "qty": 1}],
    )
    assert order.values["region_id"] == str(east)
    cases = [
        ({"region_id": "999"}, ("region_id", None, "option")),
        ({"region_id": "east"}, ("region_id", None, "option")),
        ({"regions": ["EAST", "NORTH"]}, ("regions", None, "option")),
        ({"lines": [{"area": "WEST"}, {"area": "SOUTH"}]}, ("lines.area", 2, "option")),
    ]
    for data, expected in cases:
        with pytest.raises(RecordValidationError) as caught:
            _order(shop, **data)
        assert _errors(caught) == [expected]


def test_an_option_retired_later_does_not_block_editing(shop):
    east = _region(shop, "EAST")
    _region(shop, "WEST")
    order = _order(shop, region="EAST", regions=["EAST"], lines=[{"area": "EAST"}])
    shop.update_record(ZHANG, "shop", "region", east, {"active": False})
    row_id = order.values["lines"][0]["id"]
    updated = shop.update_record(
        ZHANG,
        "shop",
        "order",
        order.id,
        {"note": "n", "regions": ["EAST", "WEST"], "lines": [{"id": row_id, "qty": 3}]},
    )
    assert updated.values["regions"] == ["EAST", "WEST"]
    with pytest.raises(RecordValidationError) as caught:
        shop.update_record(ZHANG, "shop", "order", order.id, {"lines": [{"area": "EAST"}]})
    assert _errors(caught) == [("lines.area", 1, "option")]


# -- cost --------------------------------------------------------------------------------


def _statements(service, action):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(service._database.engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(service._database.engine, "before_cursor_execute", record)
    return seen


def _reads_of(statements, table):
    return [s for s in statements if s.lstrip().upper().startswith("SELECT") and table in s]


def test_checks_cost_one_read_per_value_set_and_nothing_otherwise(shop):
    acme = _supplier(shop, "Acme")
    _region(shop, "EAST")
    seen = _statements(shop, lambda: _order(shop, supplier=acme, region="EAST"))
    # the relation's filter reuses the existence read; the option is one read
    assert len(_reads_of(seen, "f_shop_supplier")) == 1
    assert len(_reads_of(seen, "f_shop_region")) == 1
    assert not [s for s in seen if "files" in s]
    plain = _statements(
        shop, lambda: shop.create_record(ZHANG, "shop", "plain", {"supplier": acme})
    )
    assert len(_reads_of(plain, "f_shop_supplier")) == 1
    assert not _reads_of(plain, "f_shop_region") and not [s for s in plain if "files" in s]
