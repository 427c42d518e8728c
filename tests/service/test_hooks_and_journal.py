"""Hook points and the journal as consumers see it: events carry who, what changed, which version."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.service import Actor
from engine.store.engine_tables import audit_log, outbox, record_revisions

ZHANG = Actor("zhang.wei")


def _count(service, table) -> int:
    with service._database.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_an_update_that_changes_nothing_writes_nothing(purchase):
    record = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme", "city": "Wuxi"})
    same = purchase.update_record(ZHANG, "purchase", "supplier", record.id, {"city": "Wuxi"})
    assert same.version == 1
    assert (_count(purchase, record_revisions), _count(purchase, outbox)) == (1, 1)
    assert _count(purchase, audit_log) == 2  # the install and the create
    assert [
        r.revision_no for r in purchase.record_history(ZHANG, "purchase", "supplier", record.id)
    ] == [1]


def test_an_update_event_carries_actor_old_and_new_values_and_the_form_version(purchase):
    record = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme", "city": "Wuxi"})
    li = Actor("li.na")
    purchase.update_record(li, "purchase", "supplier", record.id, {"city": "Suzhou", "rating": 4})
    with purchase._database.read() as conn:
        event = (
            conn.execute(sa.select(outbox).where(outbox.c.topic == "record.updated"))
            .mappings()
            .one()
        )
        revision = (
            conn.execute(sa.select(record_revisions).where(record_revisions.c.revision_no == 2))
            .mappings()
            .one()
        )
    assert event["payload"]["actor"] == "li.na"
    assert event["payload"]["version"] == 2 and event["payload"]["form_version"] == 1
    assert event["payload"]["changes"] == {
        "city": {"old": "Wuxi", "new": "Suzhou"},
        "rating": {"old": None, "new": 4},
    }
    assert revision["form_version"] == 1 and revision["changes"] == event["payload"]["changes"]


def test_before_prepare_may_replace_the_input(purchase):
    def shout(ctx, data, existing):
        return {**data, "city": str(data.get("city", "")).upper()}

    purchase.hooks.add("before_prepare", shout)
    record = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme", "city": "wuxi"})
    assert record.values["city"] == "WUXI"


def test_after_write_runs_in_the_transaction_and_its_failure_undoes_the_change(purchase):
    seen = []

    def watch(ctx, change):
        seen.append((change.topic, change.record_id, sorted(change.changes)))
        if change.record.values["name"] == "Refused":
            raise RuntimeError("rule failed")

    purchase.hooks.add("after_write", watch)
    kept = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    with pytest.raises(RuntimeError, match="rule failed"):
        purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Refused"})
    assert seen[0] == ("record.created", kept.id, ["name"])
    assert purchase.query_records(ZHANG, "purchase", "supplier").total == 1
    assert _count(purchase, outbox) == 1


def test_on_publish_sees_each_changed_form(make_service, purchase_app):
    service = make_service()
    published = []
    service.hooks.add("on_publish", lambda ctx, version: published.append(version.form))
    service.install_app(ZHANG, purchase_app)
    service.install_app(ZHANG, purchase_app)  # unchanged: no hook
    assert published == ["supplier", "purchase_request"]


def test_unknown_hook_points_are_refused_with_the_known_ones(purchase):
    with pytest.raises(ValueError, match="before_prepare, after_write, on_publish"):
        purchase.hooks.add("after_save", lambda *a: None)
