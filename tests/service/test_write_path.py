"""One transactional path: row, child rows, revision, audit and outbox together or not at all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from engine.service import Actor
from engine.store.engine_tables import audit_log, outbox, record_revisions
from engine.store.journal import Journal

ZHANG = Actor("zhang.wei")


def _count(service, table) -> int:
    with service._database.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _form_rows(service) -> int:
    with service._database.read() as conn:
        return conn.exec_driver_sql("select count(*) from f_purchase_supplier").scalar_one()


def test_create_writes_revision_audit_and_outbox_event_with_idempotency_key(purchase):
    record = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    with purchase._database.read() as conn:
        event = conn.execute(sa.select(outbox)).mappings().one()
        audit = (
            conn.execute(sa.select(audit_log).where(audit_log.c.action == "record.created"))
            .mappings()
            .one()
        )
    assert event["topic"] == "record.created"
    assert event["payload"] == {
        "app": "purchase",
        "form": "supplier",
        "id": record.id,
        "version": 1,
        "form_version": 1,
        "actor": "zhang.wei",
        "changes": {"name": {"old": None, "new": "Acme"}},
    }
    assert event["idempotency_key"] == f"record.created:purchase.supplier:{record.id}:v1"
    assert event["delivered_at"] is None and event["attempts"] == 0
    assert audit["actor"] == "zhang.wei" and audit["record_id"] == record.id
    assert audit["detail"] == {"version": 1, "fields": ["name"]}
    assert _count(purchase, record_revisions) == 1


def test_update_and_delete_each_publish_their_own_event(purchase):
    record = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    purchase.update_record(ZHANG, "purchase", "supplier", record.id, {"city": "Hangzhou"})
    purchase.delete_record(ZHANG, "purchase", "supplier", record.id)
    with purchase._database.read() as conn:
        topics = conn.execute(sa.select(outbox.c.topic).order_by(outbox.c.id)).scalars().all()
    assert topics == ["record.created", "record.updated", "record.deleted"]


@pytest.mark.parametrize("step", ["revision", "audit", "event", "flush"])
def test_a_failure_after_the_row_insert_leaves_nothing_behind(purchase, monkeypatch, step):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Journal, step, broken)
    with pytest.raises(RuntimeError, match="disk full"):
        purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    assert _form_rows(purchase) == 0
    assert _count(purchase, record_revisions) == 0
    assert _count(purchase, outbox) == 0
    with purchase._database.read() as conn:
        actions = conn.execute(sa.select(audit_log.c.action)).scalars().all()
    assert "record.created" not in actions


def test_a_failed_update_keeps_the_previous_version(purchase, monkeypatch):
    record = purchase.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})

    def broken(*args, **kwargs):
        raise RuntimeError("queue down")

    monkeypatch.setattr(Journal, "event", broken)
    with pytest.raises(RuntimeError):
        purchase.update_record(ZHANG, "purchase", "supplier", record.id, {"city": "Xi'an"})
    kept = purchase.get_record(ZHANG, "purchase", "supplier", record.id)
    assert kept.version == 1 and kept.values["city"] is None
    assert _count(purchase, record_revisions) == 1
