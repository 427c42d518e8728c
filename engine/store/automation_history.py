"""What automation did to one record: rule and job changes, messages, batch-job outputs.

Read by :mod:`engine.service.automation_history` for the record page's "Automation"
card, after the service made sure the actor may read the record. Rules act as
``rule:<key>`` and batch jobs as ``job:<key>`` (their writes carry that actor in
``record_revisions`` and ``audit_log``); a rule's messages sit in the outbox with the
record as their subject (``payload.app`` / ``payload.form`` / ``payload.id``); a batch
job notes each record it wrote in ``batch_job_outputs``.

Every query is newest first and stops at ``limit``. Revisions are found through the
unique key (app, form, record_id, revision_no), audit entries through
``ix_audit_log_record`` and outputs through ``ix_batch_job_outputs_record``. The outbox
has no index on its payload's subject: the message query reads the ``rule.*`` events
(messages, not the record's own change events) and matches the subject in the JSON.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from engine.store.batch_job_tables import batch_job_outputs
from engine.store.engine_tables import audit_log, outbox, record_revisions

#: the actor prefixes of automation: rules and batch jobs
AUTOMATION_ACTORS = ("rule:", "job:")


def _automated(actor: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return sa.or_(*(actor.startswith(prefix, autoescape=True) for prefix in AUTOMATION_ACTORS))


def automated_revisions(
    conn: sa.Connection, app: str, form: str, record_id: int, limit: int
) -> list[dict[str, Any]]:
    """The record's revisions written by a rule or a job, newest first."""
    r = record_revisions
    stmt = (
        sa.select(r.c.revision_no, r.c.action, r.c.changes, r.c.actor, r.c.at)
        .where(r.c.app == app, r.c.form == form, r.c.record_id == record_id, _automated(r.c.actor))
        .order_by(r.c.revision_no.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def automated_audit(
    conn: sa.Connection, app: str, form: str, record_id: int, limit: int
) -> list[dict[str, Any]]:
    """Audit entries about the record by a rule or a job, newest first, leaving out the
    ``record.*`` entries every write makes (the revisions say more about those)."""
    a = audit_log
    stmt = (
        sa.select(a.c.id, a.c.at, a.c.actor, a.c.action, a.c.detail)
        .where(
            a.c.app == app,
            a.c.form == form,
            a.c.record_id == record_id,
            _automated(a.c.actor),
            sa.not_(a.c.action.startswith("record.", autoescape=True)),
        )
        .order_by(a.c.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def record_messages(
    conn: sa.Connection, app: str, form: str, record_id: int, limit: int
) -> list[dict[str, Any]]:
    """The rule messages (``rule.*`` outbox events) whose subject is the record, newest
    first, with their delivery state."""
    o = outbox
    stmt = (
        sa.select(
            o.c.id,
            o.c.topic,
            o.c.payload,
            o.c.created_at,
            o.c.available_at,
            o.c.delivered_at,
            o.c.dead_at,
            o.c.attempts,
            o.c.last_error,
        )
        .where(
            o.c.topic.startswith("rule.", autoescape=True),
            o.c.payload["app"].as_string() == app,
            o.c.payload["form"].as_string() == form,
            o.c.payload["id"].as_integer() == record_id,
        )
        .order_by(o.c.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]


def record_outputs(
    conn: sa.Connection, app: str, form: str, record_id: int, limit: int
) -> list[dict[str, Any]]:
    """The batch-job outputs that wrote the record, newest first."""
    b = batch_job_outputs
    stmt = (
        sa.select(b.c.job, b.c.period, b.c.group_key, b.c.run_id, b.c.written_at)
        .where(b.c.app == app, b.c.form == form, b.c.record_id == record_id)
        .order_by(b.c.written_at.desc(), b.c.run_id.desc())
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(stmt).mappings()]
