"""Rules inside the triggering transaction: record and flow events run a rule's actions.

The after-write hook (engine/service/hooks.py) sees every record change; the flows
service tells about flow events (``FlowUseCases.listen``). For each enabled
``in_transaction`` rule of the record's form whose trigger matches and whose ``when``
holds, the actions run in order through the one write path (engine/service/writer.py)
as the rule (actor ``rule:<key>``: the audit entry, revision and event name it), in the
same transaction: a failing action rolls the whole change back and the caller gets a
:class:`RuleError` naming the rule (or the rule's RecordValidationError, prefixed).

Guard rails: an update/delete action touches at most ``limit`` rows (default
:data:`DEFAULT_ROW_LIMIT`, the service's ``row_limit``); a chain of rules triggering
rules stops at :data:`MAX_DEPTH` with the chain in the message.

Which rules an app has: the definitions installed through this Service
(``Service.install_app``) or registered with :meth:`RuleUseCases.register`. Rules are not
stored in the database yet: a process that did not install the app registers it.

Delivery actions (notify, webhook, create_user) are queued as outbox events
``rule.notify`` / ``rule.webhook`` / ``rule.create_user`` with the action's data; the
dispatcher delivers them after commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.definitions.rules import (
    DEFAULT_ROW_LIMIT,
    DELIVERY_ACTIONS,
    FLOW_TOPICS,
    JOIN,
    MAX_DEPTH,
    RuleAction,
    RuleDefinition,
    Trigger,
    demangle,
    mangle,
    mangled,
    rule_from_source,
)
from engine.errors import (
    ExpressionError,
    NotFoundError,
    PermissionDeniedError,
    RecordValidationError,
    ServiceError,
)
from engine.expressions import EvaluationContext, compile_expression
from engine.service import arguments as check
from engine.service import rule_timing, writer
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.hooks import RecordChange
from engine.service.reading import row_values
from engine.service.transactions import Transaction
from engine.store import apps as app_store
from engine.store import outbox as outbox_store
from engine.store import schedules
from engine.store.app_rules import rules_data
from engine.store.journal import Journal, Subject
from engine.store.outbox import OutboxEvent
from engine.store.query_input import Filter
from engine.store.records import ALL_ROWS

_NO_TRIGGER = Trigger("manual")
SYSTEM_COLUMNS = ("id", "status", "title", "created_at", "created_by", "updated_at", "updated_by")
PAGE = 500


class RuleError(ServiceError):
    """A rule refused or failed; ``rule`` is its key, ``code`` a stable machine name
    (``limit``, ``depth``, ``expression``, ``action``, ``ambiguous``, ``unknown``)."""

    def __init__(self, message: str, *, rule: str, code: str, chain: tuple[str, ...] = ()):
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.code = code
        self.chain = chain


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


@dataclass(frozen=True)
class RuleInfo:
    """A rule as ``rules.list`` shows it."""

    key: str
    form: str
    trigger: str
    run: str
    actions: tuple[str, ...]
    name: str
    where: str
    enabled: bool

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--output json`` and the API."""
        return {
            "key": self.key,
            "form": self.form,
            "trigger": self.trigger,
            "run": self.run,
            "actions": list(self.actions),
            "name": self.name,
            "where": self.where,
            "enabled": self.enabled,
        }


@dataclass
class RuleRun:
    """What one rule run did (or, dry, would do): one line per change."""

    rule: str
    record_id: int
    dry_run: bool
    matched: bool
    changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--output json`` and the API."""
        return {
            "rule": self.rule,
            "record_id": self.record_id,
            "dry_run": self.dry_run,
            "matched": self.matched,
            "changes": self.changes,
        }


@dataclass(frozen=True)
class ScheduledRule:
    """A schedule rule as the scheduler runs it (cron key ``rule:<app>.<rule>``)."""

    app: str
    rule: str
    cron: str
    timezone: str
    misfire: str

    @property
    def key(self) -> str:
        """The scheduler's stable key of this rule's cron job."""
        return f"rule:{self.app}.{self.rule}"


@dataclass
class DateSweep:
    """What one :meth:`RuleUseCases.sweep_dates` did."""

    rules: int = 0
    queued: int = 0


@dataclass(frozen=True)
class RuleButton:
    """A manual rule's button on a record page."""

    rule: str
    label: str
    confirm: str | None


class _DryRun(Exception):
    """Raised at the end of a dry run so the transaction rolls back."""

    def __init__(self, result: RuleRun):
        super().__init__("dry run")
        self.result = result


@dataclass
class _Firing:
    """One rule firing: where, as whom, on which values."""

    tx: Transaction
    now: datetime
    locale: str
    user: str | None
    rule: RuleDefinition
    record_id: int
    values: dict[str, Any]
    old: Mapping[str, Any] | None
    log: list[dict[str, Any]] | None = None


class RuleUseCases:
    """The rules of one Service: registry, in-transaction runtime, list and run."""

    def __init__(self, context: ServiceContext, flows: Any):
        self._context = context
        self._flows = flows
        self._compiled: dict[tuple[str, Any], Any] = {}
        self._local = threading.local()
        #: rows one update/delete action may touch unless the rule raises its ``limit``
        self.row_limit = DEFAULT_ROW_LIMIT
        context.hooks.add("before_prepare", self._before_prepare)
        context.hooks.add("after_write", self._after_write)
        flows.listen(self._flow_events)

    # -- registry -------------------------------------------------------------------------
    def _rules(self, tx: Transaction) -> tuple[RuleDefinition, ...]:
        """The rules the app published (installs store them with its forms): built once
        per app generation and process, like the forms (FormCatalog.extra)."""

        def load(conn: Any) -> tuple[RuleDefinition, ...]:
            stored = rules_data(conn, tx.app) or []
            return tuple(rule_from_source(source) for source in stored)

        return tx.catalog.extra(tx.conn, tx.app, "rules", load)

    def _of(self, tx: Transaction, form: str) -> list[RuleDefinition]:
        return [r for r in self._rules(tx) if r.form == form and r.enabled]

    # -- service calls --------------------------------------------------------------------
    def list(self, actor: Actor, app_key: str) -> list[RuleInfo]:
        """The rules app ``app_key`` published, in definition order."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        with self._context.transactions.read(app_key) as tx:
            rules = self._rules(tx)
        return [
            RuleInfo(
                r.key,
                r.form,
                _describe(r),
                r.run,
                tuple(a.kind for a in r.actions),
                r.label(locale),
                r.where,
                r.enabled,
            )
            for r in rules
        ]

    def run(
        self, actor: Actor, app_key: str, rule_key: str, record_id: int, *, dry_run: bool = True
    ) -> RuleRun:
        """Run rule ``rule_key`` on a record now (its trigger aside; its ``when`` applies).

        A dry run does everything in a transaction that is then rolled back, and returns
        what would have changed. The actor must be allowed to update the record.
        """
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("rule", rule_key, 60, locale)
        check.check_record_id(record_id, locale)
        check.check_flag("dry_run", dry_run, locale)

        def find(tx: Transaction) -> RuleDefinition:
            rules = self._rules(tx)
            rule = next((r for r in rules if r.key == rule_key), None)
            if rule is None:
                known = ", ".join(r.key for r in rules) or "-"
                raise NotFoundError(
                    _say(
                        locale,
                        f"应用 {app_key} 没有规则 {rule_key}（已有：{known}）",
                        f"app {app_key} has no rule {rule_key} (rules: {known})",
                    )
                )
            return rule

        def work(tx: Transaction) -> RuleRun:
            rule = find(tx)
            access = tx.access(actor)
            runtime = tx.form(rule.form)
            access.require(runtime.definition, "update", locale)
            source = tx.source(rule.form, access.scope(rule.form, "update"))
            row = source.row(record_id)
            values = _record_names(
                row_values(runtime, row, source.children([record_id])[record_id]), row
            )
            result = RuleRun(rule.key, record_id, dry_run, False)
            firing = _Firing(
                tx, self._context.clock(), locale, actor.user_id, rule, record_id, values, None
            )
            firing.log = result.changes
            result.matched = self._fire(firing)
            if dry_run:
                raise _DryRun(result)
            return result

        try:
            return self._context.transactions.write(app_key, work)
        except _DryRun as done:
            return done.result

    # -- for status machines ---------------------------------------------------------------
    def run_actions(
        self,
        tx: Transaction,
        now: datetime,
        locale: str,
        user: str | None,
        rule: RuleDefinition,
        record_id: int,
        values: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Run ``rule``'s actions on a record inside ``tx`` (a status machine's step);
        what changed, one line per change."""
        firing = _Firing(tx, now, locale, user, rule, record_id, values, None)
        firing.log = []
        self._fire(firing)
        return firing.log

    def evaluate(
        self, tx: Transaction, text: str, values: Mapping[str, Any], user: str | None, what: str
    ) -> Any:
        """An expression over a record's values (a machine's guard), compiled once."""
        rule = RuleDefinition(what, "", _NO_TRIGGER, ())
        firing = _Firing(tx, self._context.clock(), "zh-CN", user, rule, 0, dict(values), None)
        return self._eval(firing, text, values, what)

    # -- hooks ----------------------------------------------------------------------------
    def _before_prepare(self, ctx: Any, data: Mapping[str, Any], existing: Any) -> None:
        """Keep an updated record's values before the change (``old.x``)."""
        if existing is None:
            return
        runtime = ctx.runtime
        if any(r.trigger.kind == "updated" for r in self._of(ctx.tx, runtime.key)):
            self._olds()[(runtime.app, runtime.key, existing.get("id"))] = dict(existing)

    def _olds(self) -> dict[tuple[Any, ...], dict[str, Any]]:
        olds = getattr(self._local, "olds", None)
        if olds is None:
            olds = self._local.olds = {}
        return olds

    def _after_write(self, ctx: writer.WriteContext, change: RecordChange) -> None:
        kind = change.topic.removeprefix("record.")
        rules = [r for r in self._of(ctx.tx, change.form) if r.trigger.kind == kind]
        old = self._olds().pop((change.app, change.form, change.record_id), None)
        for rule in rules:
            wanted = rule.trigger.fields
            if kind == "updated" and wanted and not set(wanted) & set(change.changes):
                continue
            if rule.run == "after_commit":
                self._queue_fire(
                    ctx.tx,
                    ctx.now,
                    rule,
                    change.record_id,
                    kind,
                    old=old,
                    values=None if kind != "deleted" else dict(change.record.values),
                )
                continue
            record = change.record
            values = dict(record.values)
            values.update(
                id=record.id,
                status=record.status,
                title=record.title,
                created_at=record.created_at,
                created_by=record.created_by,
                updated_at=record.updated_at,
                updated_by=record.updated_by,
                version=record.version,
            )
            firing = _Firing(
                ctx.tx, ctx.now, ctx.actor.locale, ctx.actor.user_id, rule, record.id, values, old
            )
            self._fire(firing)

    def _flow_events(self, session: Any, row: Mapping[str, Any], events: list[Any]) -> None:
        """Flow events of one saved instance (engine/service/flow_session.py)."""
        form, record_id = row["form"], int(row["record_id"])
        rules = [r for r in self._of(session.tx, form) if r.trigger.kind == "flow"]
        if not rules:
            return
        session.journal.flush(session.tx.conn)  # the flow's rows first, then the rules'
        seen: set[tuple[str, Any]] = set()
        for topic, payload in events:
            event = FLOW_TOPICS.get(topic)
            if event is None:
                continue
            node = payload.get("node")
            task = payload.get("task")
            if node is None and task is not None:
                node = getattr(task, "node", None)
            if (event, node) in seen:
                continue
            seen.add((event, node))
            for rule in rules:
                if rule.trigger.event != event:
                    continue
                if rule.trigger.node is not None and rule.trigger.node != node:
                    continue
                if rule.run == "after_commit":
                    self._queue_fire(session.tx, session.now, rule, record_id, event, node=node)
                    continue
                try:
                    values = session.record_values(form, record_id)
                except NotFoundError:
                    continue
                firing = _Firing(
                    session.tx,
                    session.now,
                    session.locale,
                    str(row.get("submitter") or "system"),
                    rule,
                    record_id,
                    values,
                    None,
                )
                self._fire(firing)

    # -- after commit: rule.fire events ---------------------------------------------------
    def _queue_fire(
        self,
        tx: Transaction,
        now: datetime,
        rule: RuleDefinition,
        record_id: int | None,
        cause: str,
        *,
        old: Mapping[str, Any] | None = None,
        values: Mapping[str, Any] | None = None,
        node: str | None = None,
        key: str | None = None,
        journal: Journal | None = None,
    ) -> None:
        """Queue one ``rule.fire`` outbox event in ``tx``: the dispatcher runs the rule
        after commit (:meth:`fire_deliverer`), retried, failures visible and replayable."""
        payload: dict[str, Any] = {"rule": rule.key, "cause": cause}
        if old is not None:
            payload["old"] = _event_data(dict(old))
        if values is not None:
            payload["values"] = _event_data(dict(values))
        if node is not None:
            payload["node"] = node
        batch = journal is not None  # the caller flushes many events at once
        journal = journal or Journal(f"rule:{rule.key}", now)
        subject = Subject(tx.app, rule.form, record_id)
        key = key or f"rule.fire:{tx.app}.{rule.key}:{record_id}:{cause}:{now.isoformat()}"
        journal.event("rule.fire", subject, payload, key)
        if not batch:
            journal.flush(tx.conn)

    def fire_deliverer(self, consumer: str) -> Callable[[OutboxEvent], RuleRun]:
        """The deliverer of ``rule.fire`` events for the dispatcher named ``consumer``.

        It runs the rule in a transaction of its own that also acknowledges the event, so
        the rule's changes and the acknowledgement commit together: a process killed in
        between runs the rule again from scratch, one that already committed never does.
        A rule that fails on its data (a validation, an expression, a limit) makes the
        event dead at once (``retryable = False``): fix the data or the rule and replay.
        """

        def deliver(event: OutboxEvent) -> RuleRun:
            return self._fire_event(event, consumer)

        return deliver

    def _fire_event(self, event: OutboxEvent, consumer: str) -> RuleRun:
        payload = event.payload
        app_key, rule_key = payload.get("app"), payload.get("rule")
        record_id = payload.get("id")

        def work(tx: Transaction) -> RuleRun:
            rule = next((r for r in self._rules(tx) if r.key == rule_key), None)
            result = RuleRun(str(rule_key), int(record_id or 0), False, False)
            if not outbox_store.acknowledge(tx.conn, consumer, [event.id], self._context.clock()):
                return result  # delivered meanwhile by another dispatcher
            if rule is None or not rule.enabled:
                return result  # removed or disabled since: nothing to do
            values = self._fire_values(tx, rule, record_id, payload)
            if values is None:
                return result  # the record is gone
            old = payload.get("old")
            firing = _Firing(
                tx,
                self._context.clock(),
                "zh-CN",
                f"rule:{rule.key}",
                rule,
                int(record_id or 0),
                values,
                _revive(tx.form(rule.form), old) if old is not None else None,
            )
            firing.log = result.changes
            result.matched = self._fire(firing)
            return result

        try:
            return self._context.transactions.write(str(app_key), work)
        except (RuleError, RecordValidationError) as error:
            error.retryable = False  # type: ignore[attr-defined]
            raise

    def _fire_values(
        self, tx: Transaction, rule: RuleDefinition, record_id: Any, payload: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The record's values now (a deleted record: as it was when deleted)."""
        if record_id is None:
            return {}
        if payload.get("values") is not None:
            values = _revive(tx.form(rule.form), payload["values"])
            values["id"] = int(record_id)
            return values
        source = tx.source(rule.form, ALL_ROWS)
        try:
            row = source.row(int(record_id))
        except NotFoundError:
            return None
        runtime = tx.form(rule.form)
        return _record_names(
            row_values(runtime, row, source.children([int(record_id)])[int(record_id)]), row
        )

    # -- scheduled and date-relative rules ------------------------------------------------
    def schedules(self) -> list[ScheduledRule]:
        """Every enabled schedule rule of every installed app (the scheduler's cron jobs)."""
        found: list[ScheduledRule] = []
        for app_key in self._app_keys():
            with self._context.transactions.read(app_key) as tx:
                rules = self._rules(tx)
            found += [
                ScheduledRule(
                    app_key, r.key, r.trigger.cron or "", r.trigger.timezone, r.trigger.misfire
                )
                for r in rules
                if r.enabled and r.trigger.kind == "schedule"
            ]
        return found

    def fire_schedule(self, app_key: str, rule_key: str, fire_time: datetime) -> int:
        """Queue the runs of schedule rule ``rule_key`` for ``fire_time``: one per live
        record of its form that ``when`` matches, or, with no ``when``, one run on no
        record. Returns how many were queued (the dispatcher runs them)."""

        def work(tx: Transaction) -> int:
            rule = next((r for r in self._rules(tx) if r.key == rule_key), None)
            if rule is None or not rule.enabled:
                return 0
            stamp = fire_time.isoformat()
            if rule.when is None:
                self._queue_fire(
                    tx,
                    fire_time,
                    rule,
                    None,
                    "schedule",
                    key=f"rule.fire:{app_key}.{rule.key}:-:{stamp}",
                )
                return 1
            queued = 0
            journal = Journal(f"rule:{rule.key}", fire_time)
            firing = _Firing(tx, fire_time, "zh-CN", None, rule, 0, {}, None)
            source = tx.source(rule.form, ALL_ROWS)
            runtime = tx.form(rule.form)
            for batch in source.batches(PAGE):
                for row, children in batch:
                    firing.values = _record_names(row_values(runtime, row, children), row)
                    if not _truthy(self._eval(firing, rule.when, firing.values, "when")):
                        continue
                    queued += 1
                    if queued > self.row_limit:
                        raise self._error(
                            firing,
                            "limit",
                            f"定时规则匹配的记录超过 {self.row_limit} 条，已停止",
                            f"a scheduled run matched more than {self.row_limit} records: stopped",
                        )
                    self._queue_fire(
                        tx,
                        fire_time,
                        rule,
                        int(row["id"]),
                        "schedule",
                        key=f"rule.fire:{app_key}.{rule.key}:{row['id']}:{stamp}",
                        journal=journal,
                    )
            journal.flush(tx.conn)
            return queued

        return self._context.transactions.write(app_key, work)

    def sweep_dates(self, now: datetime | None = None) -> DateSweep:
        """Queue the runs of every date-relative rule due since the last sweep.

        Each rule keeps a watermark (``schedule_runs`` key ``date:<app>.<rule>``, first
        set when the scheduler first sees the rule: dates already past then are not
        owed). The records due in ``(watermark, now]`` are one range of the trigger's
        field (engine/service/rule_timing.py), read through the form's index; the
        watermark moves and their ``rule.fire`` events are written in one transaction.
        """
        moment = now or self._context.clock()
        sweep = DateSweep()
        for app_key in self._app_keys():
            with self._context.transactions.read(app_key) as tx:
                rules = [
                    r
                    for r in self._rules(tx)
                    if r.enabled and r.trigger.kind in ("before", "after")
                ]
            for rule in rules:
                sweep.queued += self._sweep_rule(app_key, rule.key, moment)
                sweep.rules += 1
        return sweep

    def _sweep_rule(self, app_key: str, rule_key: str, now: datetime) -> int:
        key = f"date:{app_key}.{rule_key}"

        def work(tx: Transaction) -> int:
            rule = next((r for r in self._rules(tx) if r.key == rule_key), None)
            if rule is None:
                return 0
            last = schedules.start_schedule(tx.conn, key, now)
            if last >= now or not schedules.claim_fire_time(tx.conn, key, now):
                return 0
            trigger = rule.trigger
            assert trigger.field is not None
            runtime = tx.form(rule.form)
            field_type = runtime.definition.field(trigger.field).type
            window = rule_timing.field_window(trigger, field_type, last, now)
            if window.empty:
                return 0
            source = tx.source(rule.form, ALL_ROWS)
            filters = [Filter(trigger.field, "between", [window.low, window.high])]
            firing = _Firing(tx, now, "zh-CN", None, rule, 0, {}, None)
            journal = Journal(f"rule:{rule.key}", now)
            queued, page = 0, 1
            while True:
                found = source.page(
                    filters=filters, page=page, page_size=PAGE, with_total=False, sort="id"
                )
                children = source.children([r["id"] for r in found.rows]) if rule.when else {}
                for row in found.rows:
                    value = row.get(trigger.field)
                    if value is None or (window.low_open and value <= window.low):
                        continue
                    if rule.when is not None:
                        firing.values = _record_names(
                            row_values(runtime, row, children[row["id"]]), row
                        )
                        if not _truthy(self._eval(firing, rule.when, firing.values, "when")):
                            continue
                    due = rule_timing.due_moment(trigger, value).isoformat()
                    self._queue_fire(
                        tx,
                        now,
                        rule,
                        int(row["id"]),
                        "date",
                        key=f"rule.fire:{app_key}.{rule.key}:{row['id']}:{due}",
                        journal=journal,
                    )
                    queued += 1
                journal.flush(tx.conn)
                if len(found.rows) < PAGE:
                    return queued
                page += 1

        return self._context.transactions.write(app_key, work)

    def _app_keys(self) -> list[str]:
        with self._context.transactions.database.read() as conn:
            return app_store.app_keys(conn)

    # -- manual rules ---------------------------------------------------------------------
    def buttons(
        self, actor: Actor, app_key: str, form_key: str, record_id: int
    ) -> list[RuleButton]:
        """The manual rules' buttons the actor may press on a record now: enabled rules
        of the form, for the actor's roles, whose ``when`` holds, when the actor may
        update the record."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("form", form_key, 50, locale)
        check.check_record_id(record_id, locale)
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            rules = [
                r
                for r in self._of(tx, form_key)
                if r.trigger.kind == "manual" and _may_press(access.roles, r)
            ]
            if not rules or not access.allows(runtime.definition, "update"):
                return []
            source = tx.source(form_key, access.scope(form_key, "update"))
            row = source.row(record_id)
            values = _record_names(
                row_values(runtime, row, source.children([record_id])[record_id]), row
            )
            firing = _Firing(
                tx, self._context.clock(), locale, actor.user_id, rules[0], 0, values, None
            )
            shown = []
            for rule in rules:
                firing.rule = rule
                if rule.when is None or _truthy(self._eval(firing, rule.when, values, "when")):
                    shown.append(rule)
        return [
            RuleButton(
                r.key,
                r.trigger.label.get(locale) if r.trigger.label else r.label(locale),
                r.trigger.confirm.get(locale) if r.trigger.confirm else None,
            )
            for r in shown
        ]

    def press(self, actor: Actor, app_key: str, rule_key: str, record_id: int) -> RuleRun:
        """Press manual rule ``rule_key``'s button on a record: its actions run now, in one
        transaction (``run: after_commit``: queued, the dispatcher runs them)."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("rule", rule_key, 60, locale)
        check.check_record_id(record_id, locale)

        def work(tx: Transaction) -> RuleRun:
            rule = next((r for r in self._rules(tx) if r.key == rule_key and r.enabled), None)
            if rule is None or rule.trigger.kind != "manual":
                raise NotFoundError(
                    _say(locale, f"没有手动规则 {rule_key}", f"no manual rule {rule_key}")
                )
            access = tx.access(actor)
            runtime = tx.form(rule.form)
            access.require(runtime.definition, "update", locale)
            if not _may_press(access.roles, rule):
                raise PermissionDeniedError(
                    _say(
                        locale,
                        f"“{rule.label(locale)}”只能由以下角色执行：{'、'.join(rule.trigger.roles)}",
                        f"“{rule.label(locale)}” may be pressed only by: "
                        f"{', '.join(rule.trigger.roles)}",
                    )
                )
            source = tx.source(rule.form, access.scope(rule.form, "update"))
            row = source.row(record_id)
            result = RuleRun(rule.key, record_id, False, False)
            now = self._context.clock()
            if rule.run == "after_commit":
                self._queue_fire(tx, now, rule, record_id, "manual")
                result.matched = True
                return result
            values = _record_names(
                row_values(runtime, row, source.children([record_id])[record_id]), row
            )
            firing = _Firing(tx, now, locale, actor.user_id, rule, record_id, values, None)
            firing.log = result.changes
            result.matched = self._fire(firing)
            if not result.matched:
                raise RuleError(
                    _say(
                        locale,
                        f"规则 {rule.label(locale)} 的条件不满足，未执行",
                        f"the condition of {rule.label(locale)} does not hold: nothing done",
                    ),
                    rule=rule.key,
                    code="condition",
                )
            return result

        return self._context.transactions.write(app_key, work)

    # -- running one rule -----------------------------------------------------------------
    def _chain(self) -> list[str]:
        chain = getattr(self._local, "chain", None)
        if chain is None:
            chain = self._local.chain = []
        return chain

    def _fire(self, firing: _Firing) -> bool:
        """Run the rule if its condition holds; True when it did."""
        rule = firing.rule
        name = f"{rule.form}.{rule.key}"
        chain = self._chain()
        if len(chain) >= MAX_DEPTH:
            shown = " → ".join([*chain, name]) + " ..."
            raise RuleError(
                _say(
                    firing.locale,
                    f"规则链超过 {MAX_DEPTH} 层，已停止：{shown}（检查这些规则是否互相触发）",
                    f"rule chain deeper than {MAX_DEPTH}, stopped: {shown} "
                    "(check whether these rules trigger each other)",
                ),
                rule=rule.key,
                code="depth",
                chain=(*chain, name),
            )
        if rule.when is not None:
            names = self._own_names(firing)
            if not _truthy(self._eval(firing, rule.when, names, "when")):
                return False
        chain.append(name)
        try:
            for index, action in enumerate(rule.actions):
                self._action(firing, index, action)
        except RecordValidationError as exc:
            raise RecordValidationError(
                [_named(e, rule, firing.locale) for e in exc.errors]
            ) from exc
        finally:
            chain.pop()
        return True

    def _action(self, firing: _Firing, index: int, action: RuleAction) -> None:
        kind = action.kind
        if kind in DELIVERY_ACTIONS:
            self._queue(firing, index, action)
        elif kind == "set":
            self._set(firing, action)
        elif kind == "create":
            self._create(firing, action)
        elif kind == "update":
            self._update(firing, action)
        elif kind == "upsert":
            self._upsert(firing, action)
        elif kind == "delete":
            self._delete(firing, action)
        elif kind == "start_flow":
            self._start_flow(firing)

    # -- actions --------------------------------------------------------------------------
    def _set(self, firing: _Firing, action: RuleAction) -> None:
        names = self._own_names(firing)
        changes = {k: self._eval(firing, e, names, f"set.{k}") for k, e in action.values.items()}
        ctx = self._ctx(firing, firing.rule.form, own=True)
        self._note(firing, "update", firing.rule.form, firing.record_id, changes)
        writer.update_record(ctx, firing.record_id, _plain(changes), None, "json")

    def _create(self, firing: _Firing, action: RuleAction) -> None:
        names = self._own_names(firing)
        data = {k: self._eval(firing, e, names, f"create.{k}") for k, e in action.values.items()}
        for key, mapping in action.rows.items():
            rows = []
            for row in firing.values.get(mapping.source) or ():
                row_names = {**names, **row}
                rows.append(
                    {
                        k: self._eval(firing, e, row_names, f"create.rows.{key}.{k}")
                        for k, e in mapping.values.items()
                    }
                )
            data[key] = rows
        assert action.form is not None
        self._note(firing, "create", action.form, None, data)
        writer.create_record(self._ctx(firing, action.form), _plain(data), "json")

    def _update(self, firing: _Firing, action: RuleAction) -> None:
        assert action.form is not None and action.where is not None
        ctx = self._ctx(firing, action.form)
        limit = action.limit or self.row_limit
        touched = 0
        for names in self._iterations(firing, action):
            for target in self._matches(firing, ctx, action, names, limit - touched):
                touched += 1
                scope = {**target, **names}
                changes = {
                    k: self._eval(firing, e, scope, f"update.set.{k}")
                    for k, e in action.values.items()
                }
                self._note(firing, "update", action.form, target["id"], changes)
                writer.update_record(ctx, target["id"], _plain(changes), None, "json")

    def _delete(self, firing: _Firing, action: RuleAction) -> None:
        assert action.form is not None
        ctx = self._ctx(firing, action.form)
        limit = action.limit or self.row_limit
        touched = 0
        for names in self._iterations(firing, action):
            for target in list(self._matches(firing, ctx, action, names, limit - touched)):
                touched += 1
                self._note(firing, "delete", action.form, target["id"], {})
                writer.delete_record(ctx, target["id"], None)

    def _upsert(self, firing: _Firing, action: RuleAction) -> None:
        assert action.form is not None
        names = self._own_names(firing)
        data = {k: self._eval(firing, e, names, f"upsert.{k}") for k, e in action.values.items()}
        ctx = self._ctx(firing, action.form)
        filters = [Filter(k, "eq", _plain_one(data[k])) for k in action.match]
        page = ctx.source.page(filters=filters, page_size=2, with_total=False)
        if len(page.rows) > 1:
            raise self._error(
                firing,
                "ambiguous",
                f"{action.form} 中有多条记录匹配 {', '.join(action.match)}，无法确定更新哪一条",
                f"more than one {action.form} record matches {', '.join(action.match)}",
            )
        if page.rows:
            found = int(page.rows[0]["id"])
            self._note(firing, "update", action.form, found, data)
            writer.update_record(ctx, found, _plain(data), None, "json")
        else:
            self._note(firing, "create", action.form, None, data)
            writer.create_record(ctx, _plain(data), "json")

    def _start_flow(self, firing: _Firing) -> None:
        self._note(firing, "start_flow", firing.rule.form, firing.record_id, {})
        self._flows.start_for_rule(
            firing.tx,
            firing.now,
            firing.locale,
            firing.rule.form,
            firing.record_id,
            self._actor(firing),
        )

    def _queue(self, firing: _Firing, index: int, action: RuleAction) -> None:
        rule = firing.rule
        payload = {
            "rule": rule.key,
            "action": _event_data(dict(action.data)),
            "index": index,
            "record": _event_data(firing.values),
        }
        self._note(firing, action.kind, rule.form, firing.record_id, {})
        journal = Journal(f"rule:{rule.key}", firing.now)
        subject = Subject(firing.tx.app, rule.form, firing.record_id)
        version = firing.values.get("version") or firing.now.isoformat()
        key = f"rule.{action.kind}:{firing.tx.app}.{rule.form}:{firing.record_id}:{rule.key}:{index}:{version}"
        journal.event(f"rule.{action.kind}", subject, payload, key)
        journal.flush(firing.tx.conn)

    # -- helpers --------------------------------------------------------------------------
    def _actor(self, firing: _Firing) -> Actor:
        return Actor(f"rule:{firing.rule.key}", frozenset({"admin"}), locale=firing.locale)

    def _ctx(self, firing: _Firing, form: str, *, own: bool = False) -> writer.WriteContext:
        tx = firing.tx
        actor = self._actor(firing)
        return writer.WriteContext(
            tx,
            tx.form(form),
            actor,
            firing.now,
            tx.source(form, ALL_ROWS),
            Journal(actor.user_id, firing.now),
            self._context.hooks,
            None,
            None,
            # the rule's own record may be in approval: the rule edits it like a flow node
            flow={"edit": f"rule:{firing.rule.key}"} if own else None,
        )

    def _note(
        self, firing: _Firing, what: str, form: str, record_id: Any, values: Mapping[str, Any]
    ) -> None:
        if firing.log is not None:
            firing.log.append(
                {
                    "action": what,
                    "form": form,
                    "record_id": record_id,
                    "values": _plain(dict(values)),
                    "rule": firing.rule.key,
                }
            )

    def _own_names(self, firing: _Firing) -> dict[str, Any]:
        names = dict(firing.values)
        if firing.old is not None:
            names.update({mangled("old", k): v for k, v in firing.old.items()})
        return names

    def _iterations(self, firing: _Firing, action: RuleAction) -> Iterator[dict[str, Any]]:
        record = {mangled("record", k): v for k, v in firing.values.items()}
        if action.for_each is None:
            yield record
            return
        for row in firing.values.get(action.for_each) or ():
            yield {**record, **{mangled("row", k): v for k, v in row.items()}}

    def _matches(
        self,
        firing: _Firing,
        ctx: writer.WriteContext,
        action: RuleAction,
        names: dict[str, Any],
        room: int,
    ) -> Iterator[dict[str, Any]]:
        """The target rows the action's ``where`` matches; refuses past the limit."""
        assert action.where is not None and action.form is not None
        compiled = self._compile(firing, action.where, "where")
        runtime, source = ctx.runtime, ctx.source
        pushed = _equalities(compiled.to_json()["tree"], names, set(runtime.tables.fields))
        found: list[dict[str, Any]] = []
        for row, children in self._candidates(source, pushed):
            values = _record_names(row_values(runtime, row, children), row)
            if _truthy(self._eval(firing, action.where, {**values, **names}, "where")):
                found.append(values)
                if len(found) > room:
                    limit = action.limit or self.row_limit
                    raise self._error(
                        firing,
                        "limit",
                        f"要改动的 {action.form} 记录超过 {limit} 条，已拒绝"
                        f"（在该动作上写 limit: N 以放宽）",
                        f"would change more than {limit} {action.form} "
                        f"records: refused (raise it with limit: N on the action)",
                    )
        yield from found

    def _candidates(
        self, source: Any, pushed: list[Filter]
    ) -> Iterator[tuple[Mapping[str, Any], dict[str, Any]]]:
        if not pushed:
            for batch in source.batches(PAGE):
                yield from batch
            return
        page = 1
        while True:
            found = source.page(
                filters=pushed, page=page, page_size=PAGE, with_total=False, sort="id"
            )
            children = source.children([r["id"] for r in found.rows])
            for row in found.rows:
                yield row, children[row["id"]]
            if len(found.rows) < PAGE:
                return
            page += 1

    def _compile(self, firing: _Firing, text: str, what: str) -> Any:
        key = (text, None)
        compiled = self._compiled.get(key)
        if compiled is None:
            try:
                compiled = compile_expression(mangle(text), None)
            except ExpressionError as exc:
                raise self._error(
                    firing,
                    "expression",
                    f"{what}：{demangle(str(exc))}",
                    f"{what}: {demangle(str(exc))}",
                ) from exc
            self._compiled[key] = compiled
        return compiled

    def _eval(self, firing: _Firing, text: str, names: Mapping[str, Any], what: str) -> Any:
        compiled = self._compile(firing, text, what)
        context = EvaluationContext(now=firing.now, user=firing.user)
        try:
            return compiled.evaluate(names, context)
        except ExpressionError as exc:
            raise self._error(
                firing,
                "expression",
                f"{what} = {text!r} 计算出错：{demangle(str(exc))}",
                f"{what} = {text!r} failed: {demangle(str(exc))}",
            ) from exc

    def _error(self, firing: _Firing, code: str, zh: str, en: str) -> RuleError:
        rule = firing.rule
        where = f"（{rule.where}）" if not firing.locale.startswith("en") else f" ({rule.where})"
        return RuleError(
            _say(firing.locale, f"规则 {rule.key}：{zh}", f"rule {rule.key}: {en}") + where,
            rule=rule.key,
            code=code,
            chain=tuple(self._chain()),
        )


def _may_press(roles: frozenset[str], rule: RuleDefinition) -> bool:
    """Whether someone holding app ``roles`` sees a manual rule's button."""
    return not rule.trigger.roles or bool(set(rule.trigger.roles) & set(roles))


def _describe(rule: RuleDefinition) -> str:
    t = rule.trigger
    if t.kind == "updated" and t.fields:
        return f"updated ({', '.join(t.fields)})"
    if t.kind == "flow":
        return f"flow {t.event}" + (f" at {t.node}" if t.node else "")
    if t.kind == "schedule":
        return f"schedule {t.cron} {t.timezone}"
    if t.kind in ("before", "after"):
        return f"{t.days}d {t.hours}h {t.kind} {t.field}"
    return t.kind


def _record_names(values: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    values.update({c: row[c] for c in SYSTEM_COLUMNS if c in row})
    values.setdefault("version", row.get("version"))
    return values


def _truthy(value: Any) -> bool:
    return bool(value) and value is not None


def _named(error: Any, rule: RuleDefinition, locale: str) -> Any:
    """A record error with the rule that caused it in front."""
    from engine.errors import RecordError

    prefix = _say(locale, f"规则 {rule.key}：", f"rule {rule.key}: ")
    if str(error.message).startswith(prefix):
        return error
    return RecordError(error.field, prefix + str(error.message), error.code, error.row)


def _plain_one(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return value
    return value


def _event_data(value: Any) -> Any:
    """Values as an outbox event keeps them: JSON, money and numbers as exact text."""
    plain = _plain(value)
    if isinstance(plain, Mapping):
        return {k: _event_data(v) for k, v in plain.items()}
    if isinstance(plain, list):
        return [_event_data(v) for v in plain]
    return str(plain) if isinstance(plain, Decimal) else plain


def _plain(value: Any) -> Any:
    """Values the write path reads as JSON input (dates as ISO text, Decimals kept)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return _plain_one(value)


def _equalities(
    tree: Mapping[str, Any], names: Mapping[str, Any], fields: set[str]
) -> list[Filter]:
    """``field == record.x`` parts of a top-level ``and``: filters for the query."""
    parts = tree.get("args", []) if tree.get("op") == "and" else [tree]
    out: list[Filter] = []
    for part in parts:
        if part.get("op") != "compare" or part.get("operators") != ["=="]:
            continue
        left, right = part["operands"]
        for column, other in ((left, right), (right, left)):
            if column.get("op") != "name":
                continue
            name = column["name"]
            if name not in fields and name != "id":
                continue
            value = _constant(other, names)
            if value is not _NO:
                out.append(Filter(name, "eq", _plain_one(value)))
                break
    return out


_NO = object()


def _constant(node: Mapping[str, Any], names: Mapping[str, Any]) -> Any:
    op = node.get("op")
    if op == "name" and JOIN in node["name"]:
        value = names.get(node["name"], _NO)
        return _NO if value is None else value
    if op == "text":
        return node["value"]
    if op == "number":
        return Decimal(node["value"])
    return _NO


Listener = Callable[[Any, Mapping[str, Any], list[Any]], None]


def _revive(runtime: Any, data: Mapping[str, Any]) -> dict[str, Any]:
    """Values kept in an event (money as text, dates as ISO text) as the rule reads them."""
    out: dict[str, Any] = dict(data)
    for key, value in data.items():
        if not isinstance(value, str) or key not in runtime.tables.fields:
            continue
        kind = runtime.definition.field(key).type
        try:
            if kind in ("number", "money", "percent"):
                out[key] = Decimal(value)
            elif kind == "date":
                out[key] = date.fromisoformat(value)
            elif kind == "datetime":
                out[key] = datetime.fromisoformat(value)
        except ValueError:
            continue
    return out


__all__ = [
    "DateSweep",
    "RuleButton",
    "RuleError",
    "RuleInfo",
    "RuleRun",
    "RuleUseCases",
    "ScheduledRule",
]
