"""What automation did to one record, for the record page's "Automation" card.

Rules act as ``rule:<key>`` and batch jobs as ``job:<key>``: :meth:`AutomationUseCases.history`
gathers, newest first, their changes to the record (revisions and other audit entries
by such an actor), the messages rules queued about it (with their delivery state) and
the batch-job outputs that wrote it. The actor must be allowed to read the record (it
is read through the record source in the actor's scope first: NotFoundError otherwise);
fields hidden from the actor are left out of the changes, and a message's payload is
given to organisation administrators only, with its last error (others see the topic
and the state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine.errors import PermissionDeniedError
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.principals import require_org_admin
from engine.store import automation_history as stored

#: the most entries of each kind returned (the newest)
HISTORY_LIMIT = 50


@dataclass(frozen=True)
class AutomatedChange:
    """A revision or audit entry a rule or a job made on the record.

    ``source`` is ``rule`` or ``job``, ``key`` the rule's or job's key; ``revision_no``
    is None for an audit entry; ``fields`` the changed field keys the actor may see.
    """

    at: datetime
    actor: str
    source: str
    key: str
    action: str
    revision_no: int | None
    fields: tuple[str, ...]


@dataclass(frozen=True)
class AutomatedMessage:
    """A message a rule queued about the record and its delivery state.

    ``status`` is ``delivered``, ``pending`` (waiting or retrying) or ``failed`` (dead);
    ``next_try`` is when a pending message is due; ``payload`` and ``last_error`` are
    None unless the actor administers the organisation.
    """

    id: int
    topic: str
    rule: str | None
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_try: datetime | None
    payload: dict[str, Any] | None


@dataclass(frozen=True)
class BatchOutput:
    """A batch job's output that wrote the record: job key, period, run id."""

    job: str
    period: str
    group_key: str
    run_id: int
    written_at: datetime


@dataclass(frozen=True)
class AutomationHistory:
    """Everything automation did to one record (each list newest first)."""

    changes: list[AutomatedChange]
    messages: list[AutomatedMessage]
    outputs: list[BatchOutput]
    payloads_shown: bool

    @property
    def empty(self) -> bool:
        """Whether no rule or job ever touched the record."""
        return not (self.changes or self.messages or self.outputs)


class AutomationUseCases:
    """Automation history per record (``service.automation``)."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def history(
        self, actor: Actor, app_key: str, form_key: str, record_id: int
    ) -> AutomationHistory:
        """The rule and job changes, rule messages and batch-job outputs of a record the
        actor may read (NotFoundError when missing or out of the actor's scope)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            access.require(runtime.definition, "read", locale)
            # the one permission check: the record as the actor's scope lets them see it
            tx.source(form_key, access.scope(form_key, "read")).row(record_id)
            hidden = access.hidden(runtime.definition)
            admin = self._is_admin(tx.conn, actor, locale)
            revisions = stored.automated_revisions(
                tx.conn, app_key, form_key, record_id, HISTORY_LIMIT
            )
            audit = stored.automated_audit(tx.conn, app_key, form_key, record_id, HISTORY_LIMIT)
            messages = stored.record_messages(tx.conn, app_key, form_key, record_id, HISTORY_LIMIT)
            outputs = stored.record_outputs(tx.conn, app_key, form_key, record_id, HISTORY_LIMIT)
        changes = [_revision_change(row, hidden) for row in revisions]
        changes += [_audit_change(row, hidden) for row in audit]
        changes.sort(key=lambda change: change.at, reverse=True)
        return AutomationHistory(
            changes[:HISTORY_LIMIT],
            [_message(row, admin) for row in messages],
            [
                BatchOutput(
                    r["job"], r["period"], r["group_key"], int(r["run_id"]), r["written_at"]
                )
                for r in outputs
            ],
            admin,
        )

    def _is_admin(self, conn: Any, actor: Actor, locale: str) -> bool:
        try:
            require_org_admin(
                self._context.transactions.principals,
                conn,
                actor,
                locale,
                zh="查看消息内容",
                en="see message payloads",
            )
        except PermissionDeniedError:
            return False
        return True


def _source(actor: str) -> tuple[str, str]:
    kind, _, key = actor.partition(":")
    return kind, key


def _revision_change(row: dict[str, Any], hidden: frozenset[str]) -> AutomatedChange:
    kind, key = _source(row["actor"])
    changed = tuple(k for k in (row["changes"] or {}) if k not in hidden)
    return AutomatedChange(
        row["at"], row["actor"], kind, key, row["action"], int(row["revision_no"]), changed
    )


def _audit_change(row: dict[str, Any], hidden: frozenset[str]) -> AutomatedChange:
    kind, key = _source(row["actor"])
    detail = row["detail"] if isinstance(row["detail"], dict) else {}
    fields = detail.get("fields") if isinstance(detail.get("fields"), list) else []
    changed = tuple(str(k) for k in fields if k not in hidden)
    return AutomatedChange(row["at"], row["actor"], kind, key, row["action"], None, changed)


def _message(row: dict[str, Any], admin: bool) -> AutomatedMessage:
    if row["delivered_at"] is not None:
        status = "delivered"
    elif row["dead_at"] is not None:
        status = "failed"
    else:
        status = "pending"
    payload = row["payload"] if isinstance(row["payload"], dict) else {}
    rule = payload.get("rule")
    return AutomatedMessage(
        int(row["id"]),
        row["topic"],
        rule if isinstance(rule, str) else None,
        status,
        int(row["attempts"]),
        # an error may quote the receiver's URL (a robot's token): administrators only
        row["last_error"] if admin else None,
        row["created_at"],
        row["delivered_at"],
        row["available_at"] if status == "pending" else None,
        dict(payload) if admin else None,
    )
