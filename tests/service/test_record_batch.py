"""The batch write path of imports (engine/service/record_batch.py): the same checks and
journal as single writes, per-record outcomes, one transaction."""

from __future__ import annotations

import pytest

from engine.definitions import load_app_text
from engine.errors import PermissionDeniedError, RecordValidationError
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor, record_batch

ORDERS = """
app: batch
version: 1.0.0
name: Batch
roles:
  clerk: {zh-CN: 文员, en: Clerk}
---
form: product
name: Product
title: "{{ sku }}"
fields:
  sku:   {type: text, required: true, unique: true}
  price: {type: money, min: 0}
permissions:
  clerk: {can: [read, create]}
---
form: order
name: Order
title: "{{ number }}"
fields:
  number: {type: serial, pattern: "SO-{0000}"}
  buyer: {type: text, required: true}
  lines:
    type: subtable
    fields:
      item:   {type: text, required: true}
      qty:    {type: number, precision: 0, min: 1}
      price:  {type: money}
      amount: {type: formula, expr: "qty * price", result: money}
  total: {type: formula, expr: "SUM(lines.amount)", result: money}
permissions: {}
---
form: booking
name: Booking
title: "{{ room }} {{ day }}"
fields:
  room: {type: text, required: true}
  day:  {type: date, required: true}
unique:
  - fields: [room, day]
permissions: {}
"""


@pytest.fixture
def batch(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(ORDERS))
    return service


def _in_one_transaction(service, actor, form, work):
    records = service.records
    return records._context.transactions.write(
        "batch", lambda tx: work(records._write_context(tx, actor, "batch", form))
    )


def _create(service, form, items, actor=SYSTEM_ACTOR):
    return _in_one_transaction(
        service, actor, form, lambda ctx: record_batch.create_records(ctx, items, "import")
    )


def test_each_item_is_written_or_refused_on_its_own_with_the_single_write_messages(batch):
    batch.create_record(SYSTEM_ACTOR, "batch", "product", {"sku": "P-1", "price": "1.00"})
    items = [
        {"sku": "P-2", "price": "2.50"},
        {"sku": "P-1", "price": "9.00"},  # a live record holds it
        {"sku": "P-3", "price": "-1"},  # below min
        {"sku": "P-2", "price": "3.00"},  # the batch's first item holds it
        {"price": "4.00"},  # sku required
        {"sku": "P-4"},
    ]
    outcomes = _create(batch, "product", items)
    kinds = [type(o).__name__ for o in outcomes]
    assert kinds == ["Record", "RecordValidationError", "RecordValidationError",
                     "RecordValidationError", "RecordValidationError", "Record"]  # fmt: skip
    assert [(e.field, e.code) for e in outcomes[1].errors] == [("sku", "unique")]
    assert "P-1" in outcomes[1].errors[0].message
    assert [(e.field, e.code) for e in outcomes[3].errors] == [("sku", "unique")]
    assert "P-2" in outcomes[3].errors[0].message
    assert [e.field for e in outcomes[4].errors] == ["sku"]
    page = batch.query_records(SYSTEM_ACTOR, "batch", "product", sort="sku")
    assert [(r.values["sku"], str(r.values["price"] or "")) for r in page.items] == [
        ("P-1", "1.00"),
        ("P-2", "2.50"),
        ("P-4", ""),
    ]
    for record in (outcomes[0], outcomes[5]):
        history = batch.record_history(SYSTEM_ACTOR, "batch", "product", record.id)
        assert [(h.revision_no, h.action) for h in history] == [(1, "created")]


def test_sub_table_rows_keep_their_order_and_serials_follow_the_items(batch):
    items = [
        {"buyer": "A", "lines": [{"item": "x", "qty": 2, "price": "1.50"}, {"item": "y", "qty": 1, "price": "4"}]},
        {"buyer": "B"},
        {"buyer": "C", "lines": [{"item": "z", "qty": 3, "price": "2"}] * 3},
    ]  # fmt: skip
    outcomes = _create(batch, "order", items)
    assert [o.values["number"] for o in outcomes] == ["SO-0001", "SO-0002", "SO-0003"]
    first = batch.get_record(SYSTEM_ACTOR, "batch", "order", outcomes[0].id)
    assert [(line["item"], str(line["amount"])) for line in first.values["lines"]] == [
        ("x", "3.00"),
        ("y", "4.00"),
    ]
    assert str(first.values["total"]) == "7.00"
    third = batch.get_record(SYSTEM_ACTOR, "batch", "order", outcomes[2].id)
    assert [line["id"] for line in third.values["lines"]] == [
        line["id"] for line in outcomes[2].values["lines"]
    ]
    assert str(third.values["total"]) == "18.00"
    assert batch.get_record(SYSTEM_ACTOR, "batch", "order", outcomes[1].id).values["lines"] == []


def test_updates_write_a_revision_only_when_something_changed(batch):
    one = batch.create_record(SYSTEM_ACTOR, "batch", "product", {"sku": "P-1", "price": "1.00"})
    two = batch.create_record(SYSTEM_ACTOR, "batch", "product", {"sku": "P-2", "price": "2.00"})
    outcomes = _in_one_transaction(
        batch,
        SYSTEM_ACTOR,
        "product",
        lambda ctx: record_batch.update_records(
            ctx,
            [(one.id, {"price": "1.00"}), (two.id, {"price": "2.20"}), (two.id, {"price": "x"})],
        ),
    )
    assert [changed for _, changed in outcomes] == [False, True, False]
    assert isinstance(outcomes[2][0], RecordValidationError)
    revisions = [
        [h.revision_no for h in batch.record_history(SYSTEM_ACTOR, "batch", "product", r.id)]
        for r in (one, two)
    ]
    assert revisions == [[1], [1, 2]]


def test_an_actor_without_the_import_grant_is_refused_before_anything_is_written(make_service):
    service = make_service()
    service.org.load(
        SYSTEM_ACTOR,
        read_org_text(
            """
departments:
  - {code: hq, name: HQ}
roles:
  - {code: clerk, name: Clerk, members: [clerk1]}
users:
  - {login: clerk1, name: Clerk One, department: hq}
"""
        ),
    )
    service.install_app(SYSTEM_ACTOR, load_app_text(ORDERS))
    clerk = Actor("clerk1", locale="en")
    service.create_record(clerk, "batch", "product", {"sku": "P-1"})  # create is granted
    with pytest.raises(PermissionDeniedError):
        _create(service, "product", [{"sku": "P-9"}], actor=clerk)
    assert service.query_records(SYSTEM_ACTOR, "batch", "product").total == 1


def test_a_form_with_file_fields_is_written_record_by_record_with_the_same_outcomes(purchase):
    acme = purchase.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": "Acme"})
    records = purchase.records
    items = [
        {"supplier": acme.id, "needed_by": "2026-02-01"},
        {"supplier": acme.id, "needed_by": "2026-02-01"},  # the unique rule: the first holds it
        {"supplier": acme.id, "needed_by": "2026-02-02"},
    ]
    outcomes = records._context.transactions.write(
        "purchase",
        lambda tx: record_batch.create_records(
            records._write_context(tx, SYSTEM_ACTOR, "purchase", "purchase_request"), items
        ),
    )
    assert [type(o).__name__ for o in outcomes] == ["Record", "RecordValidationError", "Record"]
    assert [o.values["serial"] for o in (outcomes[0], outcomes[2])] == [
        "PR-20260105-0001",
        "PR-20260105-0002",
    ]
    history = purchase.record_history(SYSTEM_ACTOR, "purchase", "purchase_request", outcomes[2].id)
    assert [(h.revision_no, h.action) for h in history] == [(1, "created")]


def test_a_refused_item_takes_no_serial_number(batch):
    items = [{"buyer": "A"}, {"lines": [{"item": "x"}]}, {"buyer": "C"}]
    outcomes = _create(batch, "order", items)
    assert isinstance(outcomes[1], RecordValidationError)
    assert [outcomes[0].values["number"], outcomes[2].values["number"]] == ["SO-0001", "SO-0002"]
    later = batch.create_record(SYSTEM_ACTOR, "batch", "order", {"buyer": "D"})
    assert later.values["number"] == "SO-0003"


SCOPED = """
app: scoped
version: 1.0.0
name: Scoped
roles:
  dealer_user: {zh-CN: 经销商, en: Dealer}
---
form: claim
name: Claim
title: "{{ ref }}"
fields:
  ref:    {type: text, required: true, unique: true}
  holder: {type: dealer, required: true}
permissions:
  dealer_user: {can: [read, import], rows: dealer_tree}
"""

DEALER_ORG = """
departments:
  - {code: hq, name: HQ}
regions:
  - {code: zj, name: 浙江}
dealers:
  - {code: D001, name: 杭州恒达, region: zj}
  - {code: D002, name: 宁波海丰, region: zj}
roles:
  - {code: dealer_user, name: Dealer, members: [d1]}
users:
  - {login: d1, name: D One, kind: external, dealer: D001}
"""


def test_a_record_outside_the_actors_rows_is_refused_alone(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(DEALER_ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(SCOPED))
    dealer = Actor("d1", locale="en")
    items = [
        {"ref": "C-1", "holder": "D001"},
        {"ref": "C-2", "holder": "D002"},
        {"ref": "C-3", "holder": "D001"},
    ]
    records = service.records
    outcomes = records._context.transactions.write(
        "scoped",
        lambda tx: record_batch.create_records(
            records._write_context(tx, dealer, "scoped", "claim"), items
        ),
    )
    assert [type(o).__name__ for o in outcomes] == ["Record", "RecordValidationError", "Record"]
    assert [e.code for e in outcomes[1].errors] == ["scope"]
    page = service.query_records(SYSTEM_ACTOR, "scoped", "claim", sort="ref")
    assert [r.values["ref"] for r in page.items] == ["C-1", "C-3"]


def test_a_rule_over_two_fields_is_checked_for_the_batch_at_once(batch):
    batch.create_record(SYSTEM_ACTOR, "batch", "booking", {"room": "A", "day": "2026-03-01"})
    items = [
        {"room": "A", "day": "2026-03-02"},
        {"room": "A", "day": "2026-03-01"},  # held by the live record
        {"room": "B", "day": "2026-03-01"},
        {"room": "B", "day": "2026-03-01"},  # held by the batch's previous item
    ]
    outcomes = _create(batch, "booking", items)
    assert [type(o).__name__ for o in outcomes] == [
        "Record",
        "RecordValidationError",
        "Record",
        "RecordValidationError",
    ]
    assert [e.code for e in outcomes[1].errors] == ["unique"]
    assert "A 2026-03-01" in outcomes[1].errors[0].message
    assert batch.query_records(SYSTEM_ACTOR, "batch", "booking").total == 3
