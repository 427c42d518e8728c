"""The journal of a record change: revision, audit entry and outbox event.

Written by :mod:`engine.service.writer` inside the change's own transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.store.engine_tables import audit_log, outbox, record_revisions

if TYPE_CHECKING:
    from engine.service.writer import WriteContext

# built once: executing a prepared construct with parameters skips statement building
_REVISION_INSERT = record_revisions.insert()
_AUDIT_INSERT = audit_log.insert()
_OUTBOX_INSERT = outbox.insert()


def write_revision(
    ctx: WriteContext,
    topic: str,
    record_id: int,
    version: int,
    snapshot: dict[str, Any],
    changes: dict[str, Any],
) -> None:
    """A revision per version: the full JSON snapshot and the diff to the previous one."""
    ctx.conn.execute(
        _REVISION_INSERT,
        dict(
            app=ctx.runtime.app,
            form=ctx.runtime.key,
            record_id=record_id,
            revision_no=version,
            action=topic.removeprefix("record."),
            data=snapshot,
            changes=changes,
            actor=ctx.actor.user_id,
            at=ctx.now,
        ),
    )


def write_audit(
    ctx: WriteContext, topic: str, record_id: int, version: int, changes: dict[str, Any]
) -> None:
    """An audit entry naming who changed which fields of which record."""
    ctx.conn.execute(
        _AUDIT_INSERT,
        dict(
            at=ctx.now,
            actor=ctx.actor.user_id,
            action=topic,
            app=ctx.runtime.app,
            form=ctx.runtime.key,
            record_id=record_id,
            detail={"version": version, "fields": sorted(changes)},
        ),
    )


def write_outbox(ctx: WriteContext, topic: str, record_id: int, version: int) -> None:
    """The event for notifications and webhooks, delivered after commit by the outbox worker."""
    app, form = ctx.runtime.app, ctx.runtime.key
    ctx.conn.execute(
        _OUTBOX_INSERT,
        dict(
            topic=topic,
            payload={"app": app, "form": form, "id": record_id, "version": version},
            idempotency_key=f"{topic}:{app}.{form}:{record_id}:v{version}",
            created_at=ctx.now,
            available_at=ctx.now,
            attempts=0,
            delivered_at=None,
            last_error=None,
        ),
    )
