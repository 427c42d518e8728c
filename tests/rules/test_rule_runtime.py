"""Rules inside the triggering transaction, on SQLite and PostgreSQL, with numbers."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.errors import RecordValidationError
from engine.service.rules import RuleError
from tests.rules.conftest import ADMIN, BOSS, BOTH_ENGINES, CLERK

pytestmark = BOTH_ENGINES


def _products(shop, **stock):
    out = {}
    for name, (qty, category) in stock.items():
        data = {"name": name, "stock": qty, "category": category, "price": "10"}
        out[name] = shop.create_record(ADMIN, "shop", "product", data).id
    return out


def _stock(shop, product_id):
    return shop.get_record(ADMIN, "shop", "product", product_id).values["stock"]


def _order(shop, lines):
    data = {"note": "order", "lines": [{"product": p, "qty": q} for p, q in lines]}
    record = shop.flows.submit(CLERK, "shop", "order", data)
    inst = shop.flows.instance_of(ADMIN, "shop", "order", record.id)
    task = next(t.id for t in inst.tasks if t.status == "pending")
    return record, task


def _audit(shop, actor):
    with sa.create_engine(shop.database_url).connect() as conn:
        rows = conn.execute(
            sa.text("SELECT action, form, record_id FROM audit_log WHERE actor = :a ORDER BY id"),
            {"a": actor},
        ).all()
    return [tuple(r) for r in rows]


def test_approved_order_deducts_each_lines_qty(shop):
    ids = _products(shop, a=(10, "x"), b=(20, "x"))
    record, task = _order(shop, [(ids["a"], 3), (ids["b"], 5)])
    assert (_stock(shop, ids["a"]), _stock(shop, ids["b"])) == (10, 20)
    shop.flows.approve(BOSS, task)
    assert (_stock(shop, ids["a"]), _stock(shop, ids["b"])) == (7, 15)
    assert shop.get_record(ADMIN, "shop", "order", record.id).status == "approved"
    # every change the rule made is audited as the rule
    assert _audit(shop, "rule:deduct_stock") == [
        ("record.updated", "product", ids["a"]),
        ("record.updated", "product", ids["b"]),
    ]
    history = shop.records.history(ADMIN, "shop", "product", ids["a"])
    assert [h.actor for h in history] == ["admin", "rule:deduct_stock"]


def test_another_process_runs_the_rules_the_install_stored(shop, make_service):
    """The rules live in the database with the app: a service that never installed the
    app (another web worker, the scheduler) runs them too."""
    ids = _products(shop, a=(10, "x"), b=(20, "x"))
    _record, task = _order(shop, [(ids["a"], 3), (ids["b"], 5)])
    other = make_service()
    assert [r.key for r in other.rules.list(ADMIN, "shop")][:1] == ["deduct_stock"]
    other.flows.approve(BOSS, task)
    assert (_stock(other, ids["a"]), _stock(other, ids["b"])) == (7, 15)


def test_a_rule_error_rolls_the_approval_back(shop):
    ids = _products(shop, a=(10, "x"), b=(2, "x"))
    record, task = _order(shop, [(ids["a"], 3), (ids["b"], 5)])
    with pytest.raises(RecordValidationError) as caught:
        shop.flows.approve(BOSS, task)
    assert [str(e) for e in caught.value.errors] == ["stock: rule deduct_stock: Not enough stock"]
    # nothing happened: not the first line's deduction, not the approval
    assert (_stock(shop, ids["a"]), _stock(shop, ids["b"])) == (10, 2)
    assert shop.get_record(ADMIN, "shop", "order", record.id).status == "in_approval"
    inst = shop.flows.instance_of(ADMIN, "shop", "order", record.id)
    assert [t.status for t in inst.tasks] == ["pending"]
    assert _audit(shop, "rule:deduct_stock") == []


def test_updated_trigger_with_old_values_and_changed_fields(shop):
    ids = _products(shop, a=(6, "x"))
    shop.update_record(ADMIN, "shop", "product", ids["a"], {"price": "12"})
    assert shop.get_record(ADMIN, "shop", "product", ids["a"]).values["low"] is False
    shop.update_record(ADMIN, "shop", "product", ids["a"], {"stock": 4})
    assert shop.get_record(ADMIN, "shop", "product", ids["a"]).values["low"] is True
    assert _audit(shop, "rule:mark_low") == [("record.updated", "product", ids["a"])]


def test_bulk_update_over_the_limit_is_refused(shop):
    ids = _products(shop, a=(1, "tea"), b=(1, "tea"), c=(1, "milk"))
    shop.create_record(ADMIN, "shop", "repricing", {"category": "tea", "price": "15"})
    prices = [shop.get_record(ADMIN, "shop", "product", i).values["price"] for i in ids.values()]
    assert prices == [Decimal("15"), Decimal("15"), Decimal("10")]
    _products(shop, d=(1, "tea"))
    with pytest.raises(RuleError) as caught:
        shop.create_record(ADMIN, "shop", "repricing", {"category": "tea", "price": "16"})
    assert caught.value.code == "limit"
    assert str(caught.value).startswith(
        "rule reprice: would change more than 2 product records: refused"
    )
    prices = [shop.get_record(ADMIN, "shop", "product", i).values["price"] for i in ids.values()]
    assert prices == [Decimal("15"), Decimal("15"), Decimal("10")]
    assert shop.query_records(ADMIN, "shop", "repricing").total == 1


def test_a_chain_of_rules_stops_at_depth_eight(shop):
    pong = shop.create_record(ADMIN, "shop", "pong", {"n": 0})
    ping = shop.create_record(ADMIN, "shop", "ping", {"n": 0, "partner": pong.id})
    with pytest.raises(RuleError) as caught:
        shop.update_record(ADMIN, "shop", "ping", ping.id, {"n": 100})
    assert caught.value.code == "depth"
    chain = " → ".join(["ping.bounce", "pong.bounce_back"] * 4 + ["ping.bounce"]) + " ..."
    assert str(caught.value) == (
        f"rule chain deeper than 8, stopped: {chain} (check whether these rules trigger each other)"
    )
    assert shop.get_record(ADMIN, "shop", "ping", ping.id).values["n"] == 0
    assert shop.get_record(ADMIN, "shop", "pong", pong.id).values["n"] == 0


def test_dry_run_changes_nothing_and_a_real_run_does(shop):
    ids = _products(shop, a=(10, "x"), b=(20, "x"))
    record, _task = _order(shop, [(ids["a"], 3), (ids["b"], 5)])
    run = shop.rules.run(ADMIN, "shop", "deduct_stock", record.id, dry_run=True)
    assert run.matched and run.dry_run
    assert [(c["action"], c["form"], c["record_id"], c["values"]) for c in run.changes] == [
        ("update", "product", ids["a"], {"stock": Decimal("7")}),
        ("update", "product", ids["b"], {"stock": Decimal("15")}),
    ]
    assert (_stock(shop, ids["a"]), _stock(shop, ids["b"])) == (10, 20)
    assert _audit(shop, "rule:deduct_stock") == []
    shop.rules.run(ADMIN, "shop", "deduct_stock", record.id, dry_run=False)
    assert (_stock(shop, ids["a"]), _stock(shop, ids["b"])) == (7, 15)


def test_rules_list(shop):
    listed = shop.rules.list(ADMIN, "shop")
    assert [(r.key, r.form, r.trigger, r.actions) for r in listed] == [
        ("deduct_stock", "order", "flow approved", ("update",)),
        ("mark_low", "product", "updated (stock)", ("set",)),
        ("reprice", "repricing", "created", ("update",)),
        ("bounce", "ping", "updated", ("update",)),
        ("bounce_back", "pong", "updated", ("update",)),
        ("receive", "order", "created", ("create", "upsert", "notify")),
        ("purge", "repricing", "deleted", ("delete",)),
        ("submit_on_go", "order", "updated (note)", ("start_flow",)),
    ]


def test_create_upsert_notify_and_delete_are_audited_as_the_rule(shop):
    ids = _products(shop, a=(10, "x"), b=(20, "x"))
    data = {
        "note": "receive",
        "lines": [{"product": ids["a"], "qty": 3}, {"product": ids["b"], "qty": 5}],
    }
    order = shop.flows.submit(CLERK, "shop", "order", data)
    [receipt] = shop.query_records(ADMIN, "shop", "receipt", with_subtables=True).items
    assert receipt.values["note"] == "for receive"
    assert receipt.values["order"] == order.id
    assert [(r["product"], r["qty"]) for r in receipt.values["items"]] == [
        (ids["a"], 6),
        (ids["b"], 10),
    ]
    [tally] = shop.query_records(ADMIN, "shop", "tally").items
    assert (tally.values["name"], tally.values["count"]) == ("orders", 2)
    # a second order updates the tally rather than adding one
    shop.flows.submit(CLERK, "shop", "order", {**data, "lines": data["lines"][:1]})
    [tally] = shop.query_records(ADMIN, "shop", "tally").items
    assert (tally.values["count"], tally.version) == (1, 2)
    assert _audit(shop, "rule:receive") == [
        ("record.created", "receipt", receipt.id),
        ("record.created", "tally", tally.id),
        ("record.created", "receipt", receipt.id + 1),
        ("record.updated", "tally", tally.id),
    ]
    with sa.create_engine(shop.database_url).connect() as conn:
        notes = conn.execute(
            sa.text("SELECT topic, payload FROM outbox WHERE topic = 'rule.notify' ORDER BY id")
        ).all()
    assert len(notes) == 2
    payload = (
        notes[0][1] if isinstance(notes[0][1], dict) else __import__("json").loads(notes[0][1])
    )
    assert (payload["rule"], payload["action"]["to"], payload["id"]) == (
        "receive",
        {"user": "boss"},
        order.id,
    )
    # deleting a repricing deletes the tally (soft), audited as the rule
    rep = shop.create_record(ADMIN, "shop", "repricing", {"category": "none", "price": "1"})
    shop.delete_record(ADMIN, "shop", "repricing", rep.id)
    assert shop.query_records(ADMIN, "shop", "tally").total == 0
    assert _audit(shop, "rule:purge") == [("record.deleted", "tally", tally.id)]


def test_start_flow_submits_a_draft_for_its_author(shop):
    ids = _products(shop, a=(10, "x"))
    data = {"note": "draft", "lines": [{"product": ids["a"], "qty": 1}]}
    draft = shop.flows.save_draft(CLERK, "shop", "order", data)
    assert draft.status == "draft"
    shop.update_record(CLERK, "shop", "order", draft.id, {"note": "go"})
    record = shop.get_record(ADMIN, "shop", "order", draft.id)
    assert record.status == "in_approval"
    inst = shop.flows.instance_of(ADMIN, "shop", "order", draft.id)
    assert (inst.submitter, [t.assignee for t in inst.tasks]) == ("clerk", ["boss"])
    # approving it runs deduct_stock, a rule of the flow event, as usual
    shop.flows.approve(BOSS, inst.tasks[0].id)
    assert _stock(shop, ids["a"]) == 9
