"""Rules that run outside the triggering write (part of :class:`RuleUseCases`).

- **after commit**: a ``rule.fire`` outbox event is written in the change's
  transaction; :meth:`RuleTriggers.fire_deliverer` runs the rule from it, in a
  transaction that also acknowledges the event (no double run, no lost run);
- **schedule**: the scheduler's cron job calls :meth:`RuleTriggers.fire_schedule`,
  which queues one run per matching record (or one on no record);
- **before/after a date**: :meth:`RuleTriggers.sweep_dates` finds the records due since
  the last sweep through the field's index (engine/service/rule_timing.py);
- **manual**: :meth:`RuleTriggers.buttons` and :meth:`RuleTriggers.press`.

A mixin: it uses the registry and firing of the class it is mixed into
(``_rules``, ``_of``, ``_fire``, ``_eval``, ``_error``, ``row_limit``, ``_context``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.definitions.rules import (
    RuleDefinition,
)
from engine.errors import (
    NotFoundError,
    PermissionDeniedError,
    RecordValidationError,
)
from engine.service import arguments as check
from engine.service import rule_timing
from engine.service.actor import Actor
from engine.service.reading import row_values
from engine.service.rule_values import (
    Firing,
    RuleError,
    RuleRun,
    event_data,
    may_press,
    record_names,
    revive,
    say,
    truthy,
)
from engine.service.transactions import Transaction
from engine.store import apps as app_store
from engine.store import outbox as outbox_store
from engine.store import schedules
from engine.store.journal import Journal, Subject
from engine.store.outbox import OutboxEvent
from engine.store.records import ALL_ROWS

PAGE = 500
log = logging.getLogger(__name__)


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
    #: ``app.rule`` of the rules whose sweep failed (logged; swept again next time)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RuleButton:
    """A manual rule's button on a record page."""

    rule: str
    label: str
    confirm: str | None


class RuleTriggers:
    """After-commit, scheduled, date-relative and manual rules (a mixin of RuleUseCases)."""

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
            payload["old"] = event_data(dict(old))
        if values is not None:
            payload["values"] = event_data(dict(values))
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
            firing = Firing(
                tx,
                self._context.clock(),
                "zh-CN",
                f"rule:{rule.key}",
                rule,
                int(record_id or 0),
                values,
                revive(tx.form(rule.form), old) if old is not None else None,
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
            values = revive(tx.form(rule.form), payload["values"])
            values["id"] = int(record_id)
            return values
        source = tx.source(rule.form, ALL_ROWS)
        try:
            row = source.row(int(record_id))
        except NotFoundError:
            return None
        runtime = tx.form(rule.form)
        return record_names(
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
            firing = Firing(tx, fire_time, "zh-CN", None, rule, 0, {}, None)
            source = tx.source(rule.form, ALL_ROWS)
            runtime = tx.form(rule.form)
            for batch in source.batches(PAGE):
                for row, children in batch:
                    firing.values = record_names(row_values(runtime, row, children), row)
                    if not truthy(self._eval(firing, rule.when, firing.values, "when")):
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

            def work(tx: Transaction) -> None:
                for rule in self._rules(tx):
                    if not rule.enabled or rule.trigger.kind not in ("before", "after"):
                        continue
                    sweep.rules += 1
                    try:
                        # one savepoint per rule: a failing rule (logged) keeps its
                        # watermark and is swept again; the others go on
                        with tx.conn.begin_nested():
                            sweep.queued += self._sweep_rule(tx, rule, moment)
                    except Exception:  # noqa: BLE001
                        log.exception("date sweep of rule %s.%s failed", tx.app, rule.key)
                        sweep.failed.append(f"{tx.app}.{rule.key}")

            self._context.transactions.write(app_key, work)
        return sweep

    def _sweep_rule(self, tx: Transaction, rule: RuleDefinition, now: datetime) -> int:
        key = f"date:{tx.app}.{rule.key}"
        app_key = tx.app
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
        firing = Firing(tx, now, "zh-CN", None, rule, 0, {}, None)
        journal = Journal(f"rule:{rule.key}", now)
        queued = 0
        dues: dict[Any, str] = {}
        batches = source.in_range(
            trigger.field,
            window.low,
            window.high,
            low_open=window.low_open,
            whole_rows=rule.when is not None,
            size=PAGE if rule.when is not None else 5000,
        )
        for rows in batches:
            children = source.children([r["id"] for r in rows]) if rule.when else {}
            for row in rows:
                value = row[trigger.field]
                if rule.when is not None:
                    firing.values = record_names(row_values(runtime, row, children[row["id"]]), row)
                    if not truthy(self._eval(firing, rule.when, firing.values, "when")):
                        continue
                due = dues.get(value)
                if due is None:  # many records share a date: compute each moment once
                    due = dues[value] = rule_timing.due_moment(trigger, value).isoformat()
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
        return queued

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
                if r.trigger.kind == "manual" and may_press(access.roles, r)
            ]
            if not rules or not access.allows(runtime.definition, "update"):
                return []
            source = tx.source(form_key, access.scope(form_key, "update"))
            row = source.row(record_id)
            values = record_names(
                row_values(runtime, row, source.children([record_id])[record_id]), row
            )
            firing = Firing(
                tx, self._context.clock(), locale, actor.user_id, rules[0], 0, values, None
            )
            shown = []
            for rule in rules:
                firing.rule = rule
                if rule.when is None or truthy(self._eval(firing, rule.when, values, "when")):
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
                    say(locale, f"没有手动规则 {rule_key}", f"no manual rule {rule_key}")
                )
            access = tx.access(actor)
            runtime = tx.form(rule.form)
            access.require(runtime.definition, "update", locale)
            if not may_press(access.roles, rule):
                raise PermissionDeniedError(
                    say(
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
            values = record_names(
                row_values(runtime, row, source.children([record_id])[record_id]), row
            )
            firing = Firing(tx, now, locale, actor.user_id, rule, record_id, values, None)
            firing.log = result.changes
            result.matched = self._fire(firing)
            if not result.matched:
                raise RuleError(
                    say(
                        locale,
                        f"规则 {rule.label(locale)} 的条件不满足，未执行",
                        f"the condition of {rule.label(locale)} does not hold: nothing done",
                    ),
                    rule=rule.key,
                    code="condition",
                )
            return result

        return self._context.transactions.write(app_key, work)
