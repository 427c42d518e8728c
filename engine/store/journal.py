"""The journal: revisions, audit entries and outbox events, written in the change's transaction.

Anything that changes state writes here: record writes today, flows, rules and the
organisation next. Nothing is form-specific: a :class:`Subject` names what changed
(``app``, ``form`` and ``record_id``, or an organisation kind such as ``org``/``user``),
and a :class:`Journal` queues the rows of one transaction and writes them with
:meth:`Journal.flush`: on PostgreSQL as one statement (data-modifying CTEs and an
INSERT, one round trip instead of three, sent with COMMIT when the write allows it),
elsewhere as one INSERT per row.

An event's payload carries who acted, the changed fields with their old and new values
and the definition version the change was made under, so a consumer (flows, rules,
webhooks) never has to read the record back to know what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlalchemy as sa

from engine.store.driver import DriverStatement, defer_until_commit
from engine.store.engine_tables import audit_log, outbox, record_revisions


@dataclass(frozen=True)
class Subject:
    """What a journal row is about: a record of a form, or any other engine object."""

    app: str | None
    form: str | None
    record_id: int | None = None

    @property
    def name(self) -> str:
        return ".".join(p for p in (self.app, self.form) if p)


# built once. DriverStatement: on SQLite the inserts run on the DBAPI connection with
# SQLAlchemy's own compiled SQL and type conversions, skipping ~35 us of Core
# bookkeeping per statement (a third of the journal's cost); elsewhere Connection.execute
_TABLES = {"revision": record_revisions, "audit": audit_log, "outbox": outbox}
_INSERTS = {kind: DriverStatement(table.insert()) for kind, table in _TABLES.items()}


@dataclass
class Journal:
    """The journal rows of one transaction, in the order they are queued."""

    actor: str
    at: datetime
    rows: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def revision(
        self,
        subject: Subject,
        action: str,
        revision_no: int,
        snapshot: dict[str, Any],
        changes: dict[str, Any],
        form_version: int | None = None,
    ) -> None:
        """A saved state: the full JSON snapshot and the diff to the previous one.

        ``form_version`` is the definition version the state was written under.
        """
        self.rows.append(
            (
                "revision",
                dict(
                    app=subject.app,
                    form=subject.form,
                    record_id=subject.record_id,
                    revision_no=revision_no,
                    action=action,
                    data=snapshot,
                    changes=changes,
                    actor=self.actor,
                    at=self.at,
                    form_version=form_version,
                ),
            )
        )

    def audit(self, subject: Subject, action: str, detail: dict[str, Any]) -> None:
        """Who did what to which object, for the audit log."""
        self.rows.append(
            (
                "audit",
                dict(
                    at=self.at,
                    actor=self.actor,
                    action=action,
                    app=subject.app,
                    form=subject.form,
                    record_id=subject.record_id,
                    detail=detail,
                ),
            )
        )

    def event(
        self, topic: str, subject: Subject, payload: dict[str, Any], idempotency_key: str
    ) -> None:
        """An outbox event for consumers (flows, rules, notifications, webhooks).

        ``payload`` gets the subject and the actor added; ``idempotency_key`` is unique
        across the outbox, so the same change can never be queued twice.
        """
        body = {"app": subject.app, "form": subject.form, "id": subject.record_id}
        body.update(payload)
        body.setdefault("actor", self.actor)
        self.rows.append(
            (
                "outbox",
                dict(
                    topic=topic,
                    payload=body,
                    idempotency_key=idempotency_key,
                    created_at=self.at,
                    available_at=self.at,
                    attempts=0,
                    delivered_at=None,
                    last_error=None,
                    claimed_by=None,
                    claimed_until=None,
                    dead_at=None,
                ),
            )
        )

    def flush(self, conn: sa.Connection) -> None:
        """Write the queued rows on the change's connection, then empty the queue."""
        queued, self.rows = self.rows, []
        if not queued:
            return
        kinds = tuple(kind for kind, _ in queued)
        if conn.dialect.name == "postgresql" and len(set(kinds)) == len(kinds) > 1:
            params: dict[str, Any] = {}
            for kind, row in queued:
                params.update({f"{kind}_{column}": value for column, value in row.items()})
            statement = _combined_insert(kinds)
            # sent together with COMMIT (one round trip for both) when the write allows it
            if not defer_until_commit(conn, statement, params):
                statement.run(conn, params)
            return
        if len(set(kinds)) < len(kinds):
            # a batch's rows alternate revision, audit, outbox per record: one group per
            # table (a stable sort keeps each table's rows in the order they were queued)
            queued.sort(key=lambda item: _KIND_ORDER.get(item[0], len(_KIND_ORDER)))
        for kind, group in groupby(queued, key=lambda item: item[0]):
            rows = [row for _kind, row in group]
            if len(rows) == 1:
                _INSERTS[kind].run(conn, rows[0])
            else:
                # many rows of one kind (a sweep's events): one executemany, without the
                # columns that are NULL in every row (the table's default)
                blank = [k for k in rows[0] if all(r.get(k) is None for r in rows)]
                rows = [{k: v for k, v in r.items() if k not in blank} for r in rows]
                conn.execute(_TABLES[kind].insert(), rows)


#: the order a batch's journal rows are written in, table by table
_KIND_ORDER = {"revision": 0, "audit": 1, "outbox": 2}

#: (kinds in order) -> the combined statement; at most a handful of shapes exist
_COMBINED: dict[tuple[str, ...], DriverStatement] = {}


def _combined_insert(kinds: tuple[str, ...]) -> DriverStatement:
    """WITH revision AS (INSERT ...), audit AS (INSERT ...) INSERT INTO outbox ...

    PostgreSQL runs every data-modifying CTE exactly once, referenced or not, and in
    the statement's snapshot, so this is the same rows as one INSERT each.
    """
    statement = _COMBINED.get(kinds)
    if statement is None:
        *ctes, last = (_insert_with_binds(kind) for kind in kinds)
        named = [stmt.cte(kind) for stmt, kind in zip(ctes, kinds, strict=False)]
        statement = _COMBINED[kinds] = DriverStatement(last.add_cte(*named))
    return statement


def _insert_with_binds(kind: str) -> Any:
    table = _TABLES[kind]
    return table.insert().values(
        {
            c.name: sa.bindparam(f"{kind}_{c.name}", type_=c.type)
            for c in table.columns
            if c.name != "id"
        }
    )
