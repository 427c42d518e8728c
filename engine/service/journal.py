"""The journal of a record change: revision, audit entry and outbox event.

Written by :mod:`engine.service.writer` inside the change's own transaction. The three
``write_*`` functions queue their row on the write context and :func:`flush_journal`
writes the queue: on PostgreSQL as one statement (two data-modifying CTEs and an
INSERT), so the journal costs one round trip instead of three; elsewhere as one INSERT
per row. Either way the rows are part of the change's transaction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from engine.store.driver import DriverStatement, defer_until_commit
from engine.store.engine_tables import audit_log, outbox, record_revisions

if TYPE_CHECKING:
    from engine.service.writer import WriteContext

# built once. DriverStatement: on SQLite the three inserts run on the DBAPI connection
# with SQLAlchemy's own compiled SQL and type conversions, skipping ~35 us of Core
# bookkeeping per statement (a third of the journal's cost); elsewhere Connection.execute
_REVISION_INSERT = DriverStatement(record_revisions.insert())
_AUDIT_INSERT = DriverStatement(audit_log.insert())
_OUTBOX_INSERT = DriverStatement(outbox.insert())
_INSERTS = {"revision": _REVISION_INSERT, "audit": _AUDIT_INSERT, "outbox": _OUTBOX_INSERT}
_TABLES = {"revision": record_revisions, "audit": audit_log, "outbox": outbox}
#: the order the rows are written in (and queued in by writer._after_write)
_KINDS = ("revision", "audit", "outbox")


def write_revision(
    ctx: WriteContext,
    topic: str,
    record_id: int,
    version: int,
    snapshot: dict[str, Any],
    changes: dict[str, Any],
) -> None:
    """A revision per version: the full JSON snapshot and the diff to the previous one."""
    ctx.journal.append(
        (
            "revision",
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
    )


def write_audit(
    ctx: WriteContext, topic: str, record_id: int, version: int, changes: dict[str, Any]
) -> None:
    """An audit entry naming who changed which fields of which record."""
    ctx.journal.append(
        (
            "audit",
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
    )


def write_outbox(ctx: WriteContext, topic: str, record_id: int, version: int) -> None:
    """The event for notifications and webhooks, delivered after commit by the outbox worker."""
    app, form = ctx.runtime.app, ctx.runtime.key
    ctx.journal.append(
        (
            "outbox",
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
    )


def flush_journal(ctx: WriteContext) -> None:
    """Write the queued journal rows on the change's connection, then empty the queue."""
    queued, ctx.journal = ctx.journal, []
    conn = ctx.conn
    if conn.dialect.name == "postgresql" and [kind for kind, _ in queued] == list(_KINDS):
        params: dict[str, Any] = {}
        for kind, row in queued:
            params.update({f"{kind}_{column}": value for column, value in row.items()})
        # sent together with COMMIT (one round trip for both) when the write allows it
        if not defer_until_commit(conn, _combined_insert(), params):
            _combined_insert().run(conn, params)
        return
    for kind, row in queued:
        _INSERTS[kind].run(conn, row)


_COMBINED: list[Any] = []


def _combined_insert() -> Any:
    """WITH revision AS (INSERT ...), audit AS (INSERT ...) INSERT INTO outbox ...

    PostgreSQL runs every data-modifying CTE exactly once, referenced or not, and in
    the statement's snapshot, so this is the same three rows as three INSERTs.
    """
    if not _COMBINED:
        *ctes, last = (_insert_with_binds(kind) for kind in _KINDS)
        named = [stmt.cte(kind) for stmt, kind in zip(ctes, _KINDS, strict=False)]
        _COMBINED.append(DriverStatement(last.add_cte(*named)))
    return _COMBINED[0]


def _insert_with_binds(kind: str) -> Any:
    table = _TABLES[kind]
    return table.insert().values(
        {
            c.name: sa.bindparam(f"{kind}_{c.name}", type_=c.type)
            for c in table.columns
            if c.name != "id"
        }
    )
