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

Which rules an app has: the ones its install published (``app_rules``), built once per
app generation in every process. Rules with ``run: after_commit``, schedule, date and
manual triggers run through :class:`~engine.service.rule_triggers.RuleTriggers` (mixed
in here); the values and errors they share are in engine/service/rule_values.py.

Delivery actions (notify, webhook, create_user) are queued as outbox events
``rule.notify`` / ``rule.webhook`` / ``rule.create_user`` with the action's data; the
dispatcher delivers them after commit (engine/service/rule_delivery.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from engine.definitions.rules import (
    DEFAULT_ROW_LIMIT,
    DELIVERY_ACTIONS,
    FLOW_TOPICS,
    LEDGER_ACTIONS,
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
    RecordValidationError,
)
from engine.expressions import EvaluationContext, compile_expression
from engine.service import arguments as check
from engine.service import writer
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.hooks import RecordChange
from engine.service.ledgers import ledger_reader, run_ledger_action
from engine.service.reading import row_values
from engine.service.rule_triggers import DateSweep, RuleButton, RuleTriggers, ScheduledRule
from engine.service.rule_values import (
    Firing,
    RuleError,
    RuleInfo,
    RuleRun,
    describe,
    equalities,
    event_data,
    named_error,
    plain,
    plain_one,
    record_names,
    say,
    truthy,
)
from engine.service.transactions import Transaction
from engine.store.app_rules import rules_data
from engine.store.journal import Journal, Subject
from engine.store.query_input import Filter
from engine.store.records import ALL_ROWS

_NO_TRIGGER = Trigger("manual")
PAGE = 500


class _DryRun(Exception):
    """Raised at the end of a dry run so the transaction rolls back."""

    def __init__(self, result: RuleRun):
        super().__init__("dry run")
        self.result = result


class RuleUseCases(RuleTriggers):
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
                describe(r),
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
                    say(
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
            values = record_names(
                row_values(runtime, row, source.children([record_id])[record_id]), row
            )
            result = RuleRun(rule.key, record_id, dry_run, False)
            firing = Firing(
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
        firing = Firing(tx, now, locale, user, rule, record_id, values, None)
        firing.log = []
        self._fire(firing)
        return firing.log

    def evaluate(
        self, tx: Transaction, text: str, values: Mapping[str, Any], user: str | None, what: str
    ) -> Any:
        """An expression over a record's values (a machine's guard), compiled once."""
        rule = RuleDefinition(what, "", _NO_TRIGGER, ())
        firing = Firing(tx, self._context.clock(), "zh-CN", user, rule, 0, dict(values), None)
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
            firing = Firing(
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
                firing = Firing(
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

    # -- running one rule -----------------------------------------------------------------
    def _chain(self) -> list[str]:
        chain = getattr(self._local, "chain", None)
        if chain is None:
            chain = self._local.chain = []
        return chain

    def _fire(self, firing: Firing) -> bool:
        """Run the rule if its condition holds; True when it did."""
        rule = firing.rule
        name = f"{rule.form}.{rule.key}"
        chain = self._chain()
        if len(chain) >= MAX_DEPTH:
            shown = " → ".join([*chain, name]) + " ..."
            raise RuleError(
                say(
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
            if not truthy(self._eval(firing, rule.when, names, "when")):
                return False
        chain.append(name)
        try:
            for index, action in enumerate(rule.actions):
                self._action(firing, index, action)
        except RecordValidationError as exc:
            raise RecordValidationError(
                [named_error(e, rule, firing.locale) for e in exc.errors]
            ) from exc
        finally:
            chain.pop()
        return True

    def _action(self, firing: Firing, index: int, action: RuleAction) -> None:
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
        elif kind in LEDGER_ACTIONS:
            self._ledger(firing, index, action)

    # -- actions --------------------------------------------------------------------------
    def _set(self, firing: Firing, action: RuleAction) -> None:
        names = self._own_names(firing)
        changes = {k: self._eval(firing, e, names, f"set.{k}") for k, e in action.values.items()}
        ctx = self._ctx(firing, firing.rule.form, own=True)
        self._note(firing, "update", firing.rule.form, firing.record_id, changes)
        writer.update_record(ctx, firing.record_id, plain(changes), None, "json")

    def _create(self, firing: Firing, action: RuleAction) -> None:
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
        writer.create_record(self._ctx(firing, action.form), plain(data), "json")

    def _update(self, firing: Firing, action: RuleAction) -> None:
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
                writer.update_record(ctx, target["id"], plain(changes), None, "json")

    def _delete(self, firing: Firing, action: RuleAction) -> None:
        assert action.form is not None
        ctx = self._ctx(firing, action.form)
        limit = action.limit or self.row_limit
        touched = 0
        for names in self._iterations(firing, action):
            for target in list(self._matches(firing, ctx, action, names, limit - touched)):
                touched += 1
                self._note(firing, "delete", action.form, target["id"], {})
                writer.delete_record(ctx, target["id"], None)

    def _upsert(self, firing: Firing, action: RuleAction) -> None:
        assert action.form is not None
        names = self._own_names(firing)
        data = {k: self._eval(firing, e, names, f"upsert.{k}") for k, e in action.values.items()}
        ctx = self._ctx(firing, action.form)
        filters = [Filter(k, "eq", plain_one(data[k])) for k in action.match]
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
            writer.update_record(ctx, found, plain(data), None, "json")
        else:
            self._note(firing, "create", action.form, None, data)
            writer.create_record(ctx, plain(data), "json")

    def _start_flow(self, firing: Firing) -> None:
        self._note(firing, "start_flow", firing.rule.form, firing.record_id, {})
        self._flows.start_for_rule(
            firing.tx,
            firing.now,
            firing.locale,
            firing.rule.form,
            firing.record_id,
            self._actor(firing),
        )

    def _ledger(self, firing: Firing, index: int, action: RuleAction) -> None:
        """post / hold / release / consume / reverse (engine/service/ledgers.py)."""
        names = self._own_names(firing)
        done = run_ledger_action(
            firing,
            index,
            action.kind,
            action.data,
            lambda text, what: self._eval(firing, text, names, what),
            lambda code, zh, en: self._error(firing, code, zh, en),
        )
        if firing.log is not None:
            firing.log.append(done)

    def _queue(self, firing: Firing, index: int, action: RuleAction) -> None:
        rule = firing.rule
        payload = {
            "rule": rule.key,
            "action": event_data(dict(action.data)),
            "index": index,
            "record": event_data(firing.values),
        }
        self._note(firing, action.kind, rule.form, firing.record_id, {})
        journal = Journal(f"rule:{rule.key}", firing.now)
        subject = Subject(firing.tx.app, rule.form, firing.record_id)
        version = firing.values.get("version") or firing.now.isoformat()
        key = f"rule.{action.kind}:{firing.tx.app}.{rule.form}:{firing.record_id}:{rule.key}:{index}:{version}"
        journal.event(f"rule.{action.kind}", subject, payload, key)
        journal.flush(firing.tx.conn)

    # -- helpers --------------------------------------------------------------------------
    def _actor(self, firing: Firing) -> Actor:
        return Actor(f"rule:{firing.rule.key}", frozenset({"admin"}), locale=firing.locale)

    def _ctx(self, firing: Firing, form: str, *, own: bool = False) -> writer.WriteContext:
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
        self, firing: Firing, what: str, form: str, record_id: Any, values: Mapping[str, Any]
    ) -> None:
        if firing.log is not None:
            firing.log.append(
                {
                    "action": what,
                    "form": form,
                    "record_id": record_id,
                    "values": plain(dict(values)),
                    "rule": firing.rule.key,
                }
            )

    def _own_names(self, firing: Firing) -> dict[str, Any]:
        names = dict(firing.values)
        if firing.old is not None:
            names.update({mangled("old", k): v for k, v in firing.old.items()})
        return names

    def _iterations(self, firing: Firing, action: RuleAction) -> Iterator[dict[str, Any]]:
        record = {mangled("record", k): v for k, v in firing.values.items()}
        if action.for_each is None:
            yield record
            return
        for row in firing.values.get(action.for_each) or ():
            yield {**record, **{mangled("row", k): v for k, v in row.items()}}

    def _matches(
        self,
        firing: Firing,
        ctx: writer.WriteContext,
        action: RuleAction,
        names: dict[str, Any],
        room: int,
    ) -> Iterator[dict[str, Any]]:
        """The target rows the action's ``where`` matches; refuses past the limit."""
        assert action.where is not None and action.form is not None
        compiled = self._compile(firing, action.where, "where")
        runtime, source = ctx.runtime, ctx.source
        pushed = equalities(compiled.to_json()["tree"], names, set(runtime.tables.fields))
        found: list[dict[str, Any]] = []
        for row, children in self._candidates(source, pushed):
            values = record_names(row_values(runtime, row, children), row)
            if truthy(self._eval(firing, action.where, {**values, **names}, "where")):
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

    def _compile(self, firing: Firing, text: str, what: str) -> Any:
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

    def _eval(self, firing: Firing, text: str, names: Mapping[str, Any], what: str) -> Any:
        compiled = self._compile(firing, text, what)
        context = EvaluationContext(
            now=firing.now, user=firing.user, ledger=ledger_reader(firing.tx)
        )
        try:
            return compiled.evaluate(names, context)
        except ExpressionError as exc:
            raise self._error(
                firing,
                "expression",
                f"{what} = {text!r} 计算出错：{demangle(str(exc))}",
                f"{what} = {text!r} failed: {demangle(str(exc))}",
            ) from exc

    def _error(self, firing: Firing, code: str, zh: str, en: str) -> RuleError:
        rule = firing.rule
        where = f"（{rule.where}）" if not firing.locale.startswith("en") else f" ({rule.where})"
        return RuleError(
            say(firing.locale, f"规则 {rule.key}：{zh}", f"rule {rule.key}: {en}") + where,
            rule=rule.key,
            code=code,
            chain=tuple(self._chain()),
        )


Listener = Callable[[Any, Mapping[str, Any], list[Any]], None]


__all__ = [
    "DateSweep",
    "RuleButton",
    "RuleError",
    "RuleInfo",
    "RuleRun",
    "RuleUseCases",
    "ScheduledRule",
]
