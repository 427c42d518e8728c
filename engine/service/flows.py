"""Approval flows as use cases: submit, act on tasks, read inboxes and instances,
simulate, fire timers (``service.flows``).

Every command is one write transaction that locks the instance row first
(engine/store/flows.py), re-reads the live tasks and only then decides: two people
acting at once on one task, or on sibling tasks of a 或签 node, get exactly one
outcome, and the other a clear "already handled by X at T". Timers, auto-pass and
batch approval take the same path with the system actor.

A form with a flow starts an instance when a record is created (``records.create``
or :meth:`FlowUseCases.submit`), in the creating transaction; ``save_draft`` keeps a
record back until :meth:`FlowUseCases.submit_draft`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from engine.errors import (
    FlowActionError,
    NotFoundError,
    PermissionDeniedError,
    RecordValidationError,
    ServiceError,
)
from engine.runtime.flows import FlowRefusal, FlowRun, InstanceState, Task, simulate
from engine.runtime.flows.machine import SYSTEM_ACTOR as FLOW_SYSTEM
from engine.runtime.working_time import CalendarYearMissing
from engine.service import arguments as check
from engine.service import writer
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.service.context import ServiceContext
from engine.service.flow_messages import flow_error, translated
from engine.service.flow_results import (
    BatchItem,
    InstanceView,
    Simulation,
    SimulationStep,
    TaskDetail,
    TaskPage,
    TaskView,
    TimelineEntry,
    TimerRun,
)
from engine.service.flow_session import (
    FlowSession,
    Loaded,
    pinned_tree,
    remember_task,
    state_of,
)
from engine.service.hooks import RecordChange
from engine.service.locks import aggregate_reader, needs_fresh_values
from engine.service.principals import require_active
from engine.service.results import Record
from engine.service.transactions import Transaction
from engine.store import flows as store
from engine.store.journal import Journal
from engine.store.org import bump_org_generation
from engine.store.records import ALL_ROWS

T = TypeVar("T")

MENTION = re.compile(r"@([A-Za-z0-9_.\-]+)")


class FlowUseCases:
    """The flow operations of one Service."""

    def __init__(self, context: ServiceContext, calendar: Any):
        self._context = context
        self._calendar = calendar
        context.hooks.add("after_write", self._after_write)
        context.hooks.add("before_prepare", self._before_prepare)
        #: called with (session, instance row, events) after an instance's events are
        #: journalled, in the same transaction (engine/service/rules.py listens)
        self._listeners: list[Callable[[FlowSession, Mapping[str, Any], list[Any]], None]] = []

    def listen(self, handler: Callable[[FlowSession, Mapping[str, Any], list[Any]], None]) -> None:
        """Call ``handler(session, instance_row, events)`` after every saved flow step."""
        self._listeners.append(handler)

    def _events(self, session: FlowSession, row: Mapping[str, Any], events: list[Any]) -> None:
        for handler in self._listeners:
            handler(session, row, events)

    def _listened(self, session: FlowSession) -> FlowSession:
        if self._listeners:
            session.on_events = self._events
        return session

    def start_for_rule(
        self, tx: Transaction, now: datetime, locale: str, form: str, record_id: int, actor: Actor
    ) -> None:
        """Start the flow of a record for a rule's ``start_flow`` action (this transaction)."""
        journal = Journal(actor.user_id, now)
        session = self._listened(FlowSession(tx, journal, now, locale, self._deadline(tx, locale)))
        if session.current(form) is None:
            raise flow_error("no_flow", locale, form=form)
        row = tx.source(form, ALL_ROWS).row(record_id)
        if row["status"] not in ("active", "draft", "withdrawn"):
            raise flow_error("already_submitted", locale, status=row["status"])
        values = session.record_values(form, record_id)
        # the record's author submits (approver rules resolve from them), not the rule
        submitter = Actor(str(row.get("created_by") or actor.user_id), locale=locale)
        self._start(session, form, record_id, row["title"], row["version"], values, submitter, {})
        journal.flush(tx.conn)

    # -- submitting -----------------------------------------------------------------------
    def submit(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: Mapping[str, Any],
        *,
        choices: Mapping[str, Sequence[str]] | None = None,
        source: str = "json",
    ) -> Record:
        """Create a record and start its form's flow in one transaction (the record's
        status is then ``in_approval``). ``choices`` names the approvers the submitter
        picks for nodes with ``chosen`` approvers; ``source`` says how the values were
        written (``web``: as people type them, ``¥1,200.50``; see RecordUseCases.create)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_values("data", data, locale)
        check.check_choice("source", source, check.SOURCES, locale)
        picks = _choices(choices, locale)
        return self._create(actor, app_key, form_key, data, {"choices": picks}, source)

    def save_draft(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: Mapping[str, Any],
        *,
        source: str = "json",
    ) -> Record:
        """Save a record without starting its flow (status ``draft``)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_values("data", data, locale)
        check.check_choice("source", source, check.SOURCES, locale)
        return self._create(actor, app_key, form_key, data, {"draft": True}, source)

    def submit_draft(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        record_id: int,
        *,
        choices: Mapping[str, Sequence[str]] | None = None,
    ) -> InstanceView:
        """Start the flow of a draft (or withdrawn) record."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)
        picks = _choices(choices, locale)

        def work(tx: Transaction, session: FlowSession) -> int:
            access = tx.access(actor)
            runtime = tx.form(form_key)
            access.require(runtime.definition, "update", locale)
            row = tx.source(form_key, access.scope(form_key, "update")).row(record_id)
            if row["status"] not in ("draft", "withdrawn"):
                raise flow_error("already_submitted", locale, status=row["status"])
            if needs_fresh_values(runtime):  # aggregates read now, under the form's lock
                self._update_record(session, form_key, record_id, {}, actor, edit=None)
                row = tx.source(form_key, access.scope(form_key, "update")).row(record_id)
            values = session.record_values(form_key, record_id)
            return self._start(
                session, form_key, record_id, row["title"], row["version"], values, actor, picks
            )

        instance_id = self._command(actor, app_key, work)
        return self.instance(actor, app_key, instance_id)

    def _create(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: Mapping[str, Any],
        flow: dict,
        source: str,
    ) -> Record:
        records = self._context_records()

        def action(ctx: writer.WriteContext) -> Record:
            ctx.flow = dict(flow)
            session = FlowSession(ctx.tx, ctx.journal, ctx.now, ctx.actor.locale, None)
            if session.current(form_key) is not None:
                # inserted in the status its flow gives it (no second write)
                ctx.flow["status"] = "draft" if flow.get("draft") else "in_approval"
            return writer.create_record(ctx, data, source)

        return records._write(actor, app_key, form_key, action)

    def _context_records(self) -> Any:
        from engine.service.records import RecordUseCases

        return RecordUseCases(self._context)

    # -- hooks into record writes -------------------------------------------------------------
    def _after_write(self, ctx: writer.WriteContext, change: RecordChange) -> None:
        if change.topic == "record.deleted" and change.record.status == "in_approval":
            # as for an update: deleting the record would strand its running instance
            raise flow_error("in_approval", ctx.actor.locale, record=change.record_id)
        if change.topic == "record.deleted" and change.record.status == "sent_back":
            self._end_with_record(ctx, change)
            return
        if change.topic != "record.created":
            return
        options = ctx.flow or {}
        session = FlowSession(
            ctx.tx, ctx.journal, ctx.now, ctx.actor.locale, self._deadline(ctx.tx, ctx.actor.locale)
        )
        self._listened(session)
        if session.current(change.form) is None:
            if ctx.flow is not None:
                # submit / save_draft on a form without a flow: refuse rather than save a
                # plain record the caller believes is in approval (or a draft)
                raise flow_error("no_flow", ctx.actor.locale, form=change.form)
            return
        stored = ctx.tx.stored(change.form)
        if options.get("draft"):
            if change.record.status != "draft":
                store.set_record_status(ctx.tx.conn, stored, change.record_id, "draft")
                change.record.status = "draft"
            return
        values = dict(change.record.values)
        values.update(
            id=change.record_id,
            status=change.record.status,
            title=change.record.title,
            created_by=change.record.created_by,
            created_at=change.record.created_at,
        )
        self._start(
            session,
            change.form,
            change.record_id,
            change.record.title,
            change.version,
            values,
            ctx.actor,
            options.get("choices") or {},
        )
        change.record.status = session.record_status or "in_approval"

    def _end_with_record(self, ctx: writer.WriteContext, change: RecordChange) -> None:
        """A sent-back request whose record is deleted ends (terminated), in the delete's
        transaction, so no instance waits for a record that is gone."""
        session = FlowSession(ctx.tx, ctx.journal, ctx.now, ctx.actor.locale, None)
        found = store.instance_of_record(
            ctx.tx.conn, ctx.tx.app, change.form, change.record_id, lock=True
        )
        if found is None or found["status"] != "sent_back":
            return
        loaded = session.load(int(found["id"]))
        run = self._run(session, loaded)
        run.terminate(ctx.actor.user_id, "record deleted")
        session.save(loaded.id, loaded.row, run, loaded.row["status"], record_status="terminated")

    def _before_prepare(
        self, ctx: writer.WriteContext, data: Mapping[str, Any], existing: Mapping[str, Any] | None
    ) -> None:
        """A record the flow is deciding on is changed only through the flow."""
        if existing is None or (ctx.flow or {}).get("edit"):
            return
        status = existing.get("status")
        if status == "in_approval":
            raise flow_error("in_approval", ctx.actor.locale, record=existing.get("id"))

    def _start(
        self,
        session: FlowSession,
        form_key: str,
        record_id: int,
        title: str | None,
        record_version: int,
        values: Mapping[str, Any],
        actor: Actor,
        choices: Mapping[str, Sequence[str]],
    ) -> int:
        locale = actor.locale
        version = session.current(form_key)
        if version is None:
            raise flow_error("no_flow", locale, form=form_key)
        from engine.service.flow_session import tree_of

        tree = tree_of(version)
        _check_choices(tree, session, values, actor.user_id, choices, locale)
        run = FlowRun(
            tree, InstanceState(), [], session.context(form_key, values, actor.user_id, choices)
        )
        try:
            run.start(actor.user_id)
        except FlowRefusal as refusal:
            raise translated(refusal, locale) from None
        # inserted once, with the state the start reached
        instance_id = session.create(version, form_key, record_id, title, actor.user_id, run.state)
        row = {
            "form": form_key,
            "record_id": record_id,
            "flow": version.flow,
            "version": 0,
        }
        session.snapshot(instance_id, 1, form_key, values, record_version)
        session.save(instance_id, row, run, "new", record_status=values.get("status"))
        session.record_status = run.record_status
        self._apply_sets(session, form_key, record_id, run, actor)
        return instance_id

    # -- task actions ---------------------------------------------------------------------
    def approve(
        self,
        actor: Actor,
        task_id: int,
        *,
        comment: str | None = None,
        changes: Mapping[str, Any] | None = None,
        signature: str | None = None,
    ) -> TaskView:
        """Approve (or, at a handler node, complete) a task. ``changes`` are edits of the
        node's editable fields, written to the record with a revision."""
        locale = check.actor_locale(actor)
        comment = _text_argument("comment", comment, locale)
        signature = _text_argument("signature", signature, locale, 200)
        if changes is not None:
            check.check_values("changes", changes, locale)

        def act(session: FlowSession, loaded: Loaded, run: FlowRun, task: Task) -> None:
            if changes:
                self._edit(session, loaded, task, changes, actor)
                run.ctx.values = session.record_values(loaded.row["form"], loaded.row["record_id"])
            elif self._refresh(session, loaded, task.node, actor):
                run.ctx.values = session.record_values(loaded.row["form"], loaded.row["record_id"])
            run.approve(task, actor.user_id, comment, signature)

        return self._task_action(actor, task_id, act)

    def reject(self, actor: Actor, task_id: int, *, comment: str | None = None) -> TaskView:
        """Reject a task: the node decides by its reject rule (a reject usually ends the
        instance as rejected)."""
        locale = check.actor_locale(actor)
        comment = _text_argument("comment", comment, locale)
        return self._task_action(
            actor, task_id, lambda s, ld, run, task: run.reject(task, actor.user_id, comment)
        )

    def send_back(
        self, actor: Actor, task_id: int, *, to: str = "previous", comment: str | None = None
    ) -> TaskView:
        """退回: to the previous node, the submitter (``start``) or an earlier node key."""
        locale = check.actor_locale(actor)
        comment = _text_argument("comment", comment, locale)
        to = _text_argument("to", to, locale, 50) or "previous"
        return self._task_action(
            actor, task_id, lambda s, ld, run, task: run.send_back(task, actor.user_id, to, comment)
        )

    def transfer(
        self, actor: Actor, task_id: int, to: str, *, comment: str | None = None
    ) -> TaskView:
        """转交: hand a pending task to someone else."""
        locale = check.actor_locale(actor)
        comment = _text_argument("comment", comment, locale)
        target = _text_argument("to", to, locale, 100)

        def act(session: FlowSession, loaded: Loaded, run: FlowRun, task: Task) -> None:
            _require_user(session, target, locale)
            run.transfer(task, actor.user_id, target or "", comment)

        return self._task_action(actor, task_id, act)

    def add_signer(
        self,
        actor: Actor,
        task_id: int,
        logins: Sequence[str],
        *,
        position: str = "after",
        mode: str = "all",
        comment: str | None = None,
    ) -> TaskView:
        """加签: people who act before, after or alongside this task (all, any or one by one)."""
        locale = check.actor_locale(actor)
        comment = _text_argument("comment", comment, locale)
        people = _logins("logins", logins, locale)
        check.check_choice("position", position, ("before", "after", "parallel"), locale)
        check.check_choice("mode", mode, ("all", "any", "sequential"), locale)

        def act(session: FlowSession, loaded: Loaded, run: FlowRun, task: Task) -> None:
            for login in people:
                _require_user(session, login, locale)
            run.add_signer(task, actor.user_id, people, position, mode, comment)

        return self._task_action(actor, task_id, act)

    def batch_approve(
        self, actor: Actor, task_ids: Sequence[int], *, comment: str | None = None
    ) -> list[BatchItem]:
        """Approve several tasks, each in its own transaction: a failure is reported for
        its task and leaves the others done."""
        locale = check.actor_locale(actor)
        if not isinstance(task_ids, (list, tuple)):
            raise check.invalid(locale, "task_ids", task_ids, "a list of task ids")
        out = []
        for task_id in task_ids:
            try:
                self.approve(actor, task_id, comment=comment)
                out.append(BatchItem(task_id, True))
            except (ServiceError, RecordValidationError) as error:
                out.append(BatchItem(task_id, False, str(error)))
        return out

    # -- instance actions -------------------------------------------------------------------
    def withdraw(self, actor: Actor, app_key: str, instance_id: int) -> InstanceView:
        """撤回 by the submitter: before anyone acted, or within the flow's days after approval."""

        def act(session: FlowSession, loaded: Loaded, run: FlowRun) -> None:
            _require_submitter(loaded, actor)
            run.withdraw(actor.user_id, loaded.tree.flow.withdraw_days)

        return self._instance_action(actor, app_key, instance_id, act)

    def resubmit(
        self,
        actor: Actor,
        app_key: str,
        instance_id: int,
        *,
        changes: Mapping[str, Any] | None = None,
        source: str = "json",
    ) -> InstanceView:
        """Resubmit a request that was sent back to the submitter, with optional changes
        (written as ``source`` says). A new cycle starts, with a snapshot of the record
        as resubmitted."""
        locale = check.actor_locale(actor)
        if changes is not None:
            check.check_values("changes", changes, locale)
        check.check_choice("source", source, check.SOURCES, locale)

        def act(session: FlowSession, loaded: Loaded, run: FlowRun) -> None:
            _require_submitter(loaded, actor)
            form, record_id = loaded.row["form"], int(loaded.row["record_id"])
            if changes:
                self._update_record(
                    session, form, record_id, changes, actor, edit=None, source=source
                )
            values = session.record_values(form, record_id)
            run.ctx.values = values
            run.resubmit(actor.user_id)
            session.snapshot(
                loaded.id, run.state.cycle, form, values, _record_version(session, form, record_id)
            )

        return self._instance_action(actor, app_key, instance_id, act)

    def comment(self, actor: Actor, app_key: str, instance_id: int, text: str) -> InstanceView:
        """A comment on the timeline; ``@login`` mentions go out with the event."""
        locale = check.actor_locale(actor)
        text = _text_argument("text", text, locale) or ""
        if not text.strip():
            raise check.invalid(locale, "text", text, "a comment")

        def act(session: FlowSession, loaded: Loaded, run: FlowRun) -> None:
            self._require_visible(session.tx, actor, loaded.row)
            mentions = [m for m in dict.fromkeys(MENTION.findall(text))]
            known = session.directory.active(mentions)
            run.comment(actor.user_id, text, [m for m in mentions if m in known])

        return self._instance_action(actor, app_key, instance_id, act, any_state=True)

    def remind(self, actor: Actor, app_key: str, instance_id: int) -> InstanceView:
        """催办: remind the holders of the pending tasks (the submitter or an admin)."""

        def act(session: FlowSession, loaded: Loaded, run: FlowRun) -> None:
            if loaded.row["submitter"] != actor.user_id and not session.tx.access(actor).admin:
                raise flow_error("not_submitter", actor.locale, submitter=loaded.row["submitter"])
            run.remind(actor.user_id)

        return self._instance_action(actor, app_key, instance_id, act)

    def terminate(
        self, actor: Actor, app_key: str, instance_id: int, *, comment: str | None = None
    ) -> InstanceView:
        """An administrator ends a running instance (terminated)."""
        return self._admin_action(actor, app_key, instance_id, "terminate", comment)

    def suspend(
        self, actor: Actor, app_key: str, instance_id: int, *, comment: str | None = None
    ) -> InstanceView:
        """An administrator pauses an instance: no task can be acted on until reactivated."""
        return self._admin_action(actor, app_key, instance_id, "suspend", comment)

    def reactivate(
        self, actor: Actor, app_key: str, instance_id: int, *, comment: str | None = None
    ) -> InstanceView:
        return self._admin_action(actor, app_key, instance_id, "reactivate", comment)

    def _admin_action(
        self, actor: Actor, app_key: str, instance_id: int, name: str, comment: Any
    ) -> InstanceView:
        locale = check.actor_locale(actor)
        comment = _text_argument("comment", comment, locale)

        def act(session: FlowSession, loaded: Loaded, run: FlowRun) -> None:
            if not session.tx.access(actor).admin:
                raise flow_error("not_admin", locale)
            getattr(run, name)(actor.user_id, comment)

        return self._instance_action(actor, app_key, instance_id, act)

    # -- delegation -----------------------------------------------------------------------
    def delegate(
        self, actor: Actor, to: str, starts: datetime, ends: datetime, *, login: str | None = None
    ) -> int:
        """委托: from ``starts`` to ``ends`` every new task of ``login`` (default: the
        actor; others only by an administrator) goes to ``to``. Tasks already pending
        stay where they are (hand them over with :meth:`transfer`)."""
        locale = check.actor_locale(actor)
        target = _text_argument("to", to, locale, 100) or ""
        who = _text_argument("login", login, locale, 100) or actor.user_id
        for name, moment in (("starts", starts), ("ends", ends)):
            if not isinstance(moment, datetime) or moment.tzinfo is None:
                raise check.invalid(locale, name, moment, "an aware datetime")
        if ends <= starts:
            raise check.invalid(locale, "ends", ends, "a moment after starts")
        if target == who:
            raise check.invalid(locale, "to", to, "someone else")
        with self._context.transactions.database.write() as conn:
            tx = Transaction(
                conn, "", self._context.transactions.catalog, self._context.transactions.principals
            )
            if who != actor.user_id and not tx.principal(actor).is_admin:
                raise flow_error("not_admin", locale)
            session = self._reading(tx, locale)
            _require_user(session, target, locale)
            bump_org_generation(conn)  # resolution caches delegations per generation
            return store.add_delegation(
                conn,
                {
                    "login": who,
                    "delegate": target,
                    "starts_at": starts,
                    "ends_at": ends,
                    "created_at": self._context.clock(),
                    "created_by": actor.user_id,
                },
            )

    def delegations(self, actor: Actor) -> list[dict[str, Any]]:
        """The actor's delegations, given and received."""
        check.actor_locale(actor)
        with self._context.transactions.database.read() as conn:
            self._require_active(conn, actor)
            return [dict(row) for row in store.delegations(conn, actor.user_id)]

    def revoke_delegation(self, actor: Actor, delegation_id: int) -> bool:
        locale = check.actor_locale(actor)
        check.check_record_id(delegation_id, locale)
        with self._context.transactions.database.write() as conn:
            rows = [r for r in store.delegations(conn) if r["id"] == delegation_id]
            if not rows or rows[0]["login"] != actor.user_id:
                tx = Transaction(
                    conn,
                    "",
                    self._context.transactions.catalog,
                    self._context.transactions.principals,
                )
                if not rows or not tx.principal(actor).is_admin:
                    raise NotFoundError(f"no delegation {delegation_id}")
            revoked = store.revoke_delegation(conn, delegation_id)
            if revoked:
                bump_org_generation(conn)
            return revoked

    # -- reads ------------------------------------------------------------------------------
    def tasks(
        self,
        actor: Actor,
        *,
        status: str = "pending",
        app: str | None = None,
        page: int = 1,
        page_size: int = 50,
        search: str | None = None,
    ) -> TaskPage:
        """The actor's tasks: ``pending`` (my open tasks), ``done`` (what I handled), ``cc``;
        ``app`` keeps one app's, ``search`` those whose request title contains it."""
        locale = check.actor_locale(actor)
        check.check_choice("status", status, ("pending", "done", "cc"), locale)
        page = check.check_whole_number("page", page, 1, 1_000_000, locale)
        page_size = check.check_whole_number("page_size", page_size, 1, 500, locale)
        if app is not None:
            check.check_app_key(locale, app)
        search = _text_argument("search", search, locale, 200) or None
        statuses = {
            "pending": ("pending",),
            "done": ("approved", "rejected", "sent_back", "transferred"),
            "cc": ("cc",),
        }[status]
        with self._context.transactions.database.read() as conn:
            self._require_active(conn, actor)
            rows, total = store.inbox(
                conn,
                actor.user_id,
                statuses=statuses,
                app=app,
                search=search,
                limit=page_size,
                offset=(page - 1) * page_size,
            )
            # node names from the version each instance is pinned to (cached per process)
            trees = {key: pinned_tree(conn, *key) for key in {_pinned_key(r) for r in rows}}
        return TaskPage([_inbox_view(r, trees[_pinned_key(r)], locale) for r in rows], total)

    def started(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        app: str | None = None,
        search: str | None = None,
        page: int = 1,
        page_size: int = 50,
    ) -> InstancePage:
        """The requests the actor submitted (发起的), newest first: each with its status and
        the names of the steps it waits at. ``status``: ``running`` (also sent back and
        suspended), ``finished`` (approved, rejected, withdrawn, terminated) or one instance
        status; ``app`` keeps one app's, ``search`` those whose title contains it."""
        locale = check.actor_locale(actor)
        groups = {
            "running": ("running", "sent_back", "suspended"),
            "finished": ("approved", "rejected", "withdrawn", "terminated"),
        }
        if status is not None:
            check.check_choice("status", status, (*groups, *INSTANCE_STATUSES), locale)
        page = check.check_whole_number("page", page, 1, 1_000_000, locale)
        page_size = check.check_whole_number("page_size", page_size, 1, 500, locale)
        if app is not None:
            check.check_app_key(locale, app)
        search = _text_argument("search", search, locale, 200) or None
        statuses = groups.get(status or "", (status,) if status else None)
        with self._context.transactions.database.read() as conn:
            self._require_active(conn, actor)
            rows, total = store.started_by(
                conn,
                actor.user_id,
                statuses=statuses,
                app=app,
                search=search,
                limit=page_size,
                offset=(page - 1) * page_size,
            )
            items = []
            for row in rows:
                tree = pinned_tree(conn, row["app"], row["flow"], row["flow_hash"])
                waiting = []
                if row["status"] in groups["running"]:
                    waiting = [
                        tree.node(key).label(locale) if key in tree.places else key
                        for key in sorted(state_of(row).active)
                    ]
                items.append(_summary(row, waiting))
        return InstancePage(items, int(total))

    def task(self, actor: Actor, task_id: int) -> TaskDetail:
        """A task with the record as its node shows it (hidden fields left out)."""
        locale = check.actor_locale(actor)
        check.check_record_id(task_id, locale)
        app = self._app_of_task(task_id, locale)

        def work(tx: Transaction) -> TaskDetail:
            session = self._reading(tx, locale)
            row = store.task(tx.conn, task_id)
            inst = store.instance(tx.conn, int(row["instance_id"]))
            if row["assignee"] != actor.user_id:
                self._require_visible(tx, actor, inst)
            tree = session.pinned(inst)
            node = tree.node(row["node"])
            runtime = tx.form(inst["form"])
            values = session.record_values(inst["form"], int(inst["record_id"]))
            hidden = {k for k, v in node.fields.items() if v == "hidden"}
            if row["assignee"] != actor.user_id:
                hidden |= set(tx.access(actor).hidden(runtime.definition))
            shown = {k: v for k, v in values.items() if k.split(".")[0] not in hidden}
            for path in hidden:  # a hidden sub-table column (lines.cost) leaves every row
                head, _, column = path.partition(".")
                if column and isinstance(shown.get(head), list):
                    shown[head] = [
                        {c: x for c, x in row.items() if c != column} for row in shown[head]
                    ]
            return TaskDetail(
                _task_view(row, inst, locale, tree),
                self._view(tx, inst, locale),
                shown,
                sorted(k for k, v in node.fields.items() if v == "editable"),
                sorted(k for k, v in node.fields.items() if v == "readonly"),
                node.comment,
                node.signature,
            )

        return self._context.transactions.read_with(app, work)

    def instance(self, actor: Actor, app_key: str, instance_id: int) -> InstanceView:
        """An instance with its tasks, timeline and routing decisions, when the actor may
        see it: they may read its record, or hold (or held) one of its tasks or copies."""
        locale = check.actor_locale(actor)
        check.check_record_id(instance_id, locale)

        def work(tx: Transaction) -> InstanceView:
            inst = store.instance(tx.conn, instance_id)
            if inst is None or inst["app"] != app_key:
                raise flow_error("not_visible", locale, instance=instance_id)
            self._require_visible(tx, actor, inst)
            return self._view(tx, inst, locale)

        return self._context.transactions.read_with(app_key, work)

    def instance_of(
        self, actor: Actor, app_key: str, form_key: str, record_id: int
    ) -> InstanceView:
        """The newest instance of a record (NotFoundError when it never had one)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)

        def work(tx: Transaction) -> InstanceView:
            inst = store.instance_of_record(tx.conn, app_key, form_key, record_id)
            if inst is None:
                raise flow_error("not_visible", locale, instance=f"{form_key}#{record_id}")
            self._require_visible(tx, actor, inst)
            return self._view(tx, inst, locale)

        return self._context.transactions.read_with(app_key, work)

    def simulate(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: Mapping[str, Any],
        *,
        submitter: str | None = None,
        choices: Mapping[str, Sequence[str]] | None = None,
    ) -> Simulation:
        """The route ``data`` would take when ``submitter`` (default: the actor) submits
        it, with the people of each node and why; nothing is written."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_values("data", data, locale)
        who = _text_argument("submitter", submitter, locale, 100) or actor.user_id
        picks = _choices(choices, locale)

        def work(tx: Transaction) -> Simulation:
            session = self._reading(tx, locale)
            version = session.current(form_key)
            if version is None:
                raise flow_error("no_flow", locale, form=form_key)
            from engine.service.flow_session import tree_of

            tree = tree_of(version)
            runtime = tx.form(form_key)
            values = _prepared(tx, runtime, data, who, self._context.clock())
            try:
                path, outcome = simulate(
                    tree, session.context(form_key, values, who, picks), locale
                )
            except FlowRefusal as refusal:
                raise translated(refusal, locale) from None
            steps = [SimulationStep(n.key, n.kind, n.name, n.people, n.detail) for n in path]
            return Simulation(version.flow, outcome, steps)

        return self._context.transactions.read_with(app_key, work)

    # -- timers -----------------------------------------------------------------------------
    def due_timers(self, now: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Timers due at ``now`` (default: the clock), earliest first."""
        moment = now or self._context.clock()
        with self._context.transactions.database.read() as conn:
            return [dict(r) for r in store.due_timers(conn, moment, limit)]

    def fire_timers(self, now: datetime | None = None, limit: int = 100) -> TimerRun:
        """Fire the due timers, each in its own transaction under its instance's lock.

        Idempotent: a timer is marked fired in the transaction that acts on it, so firing
        the same timer twice (two workers, a retry) acts once.
        """
        moment = now or self._context.clock()
        result = TimerRun(0, 0)
        for due in self.due_timers(moment, limit):
            try:
                fired = self.fire_timer(int(due["id"]), now=moment)
            except ServiceError as error:
                result.failed.append((int(due["id"]), str(error)))
                continue
            if fired:
                result.fired += 1
            else:
                result.skipped += 1
        return result

    def fire_timer(self, timer_id: int, *, now: datetime | None = None) -> bool:
        """Fire one timer; False when it was already fired or cancelled, or no longer
        applies (its node was left)."""
        moment = now or self._context.clock()
        with self._context.transactions.database.read() as conn:
            row = store.timer(conn, timer_id)
        if row is None:
            return False

        def work(tx: Transaction, session: FlowSession) -> bool:
            loaded = session.load(int(row["instance_id"]))
            if loaded.state.status == "suspended":
                return False  # kept pending: it acts once the instance is reactivated
            if not store.mark_timer_fired(tx.conn, timer_id, moment):
                return False
            run = self._run(session, loaded)
            from engine.runtime.flows import Timer

            acted = run.fire(
                Timer(row["node"], row["entry"], row["kind"], row["due_at"], row["id"])
            )
            if acted:
                self._save(session, loaded, run, SYSTEM_ACTOR)
            return acted

        return self._command(SYSTEM_ACTOR, str(row["app"]), work, now=moment)

    # -- machinery ----------------------------------------------------------------------------
    def _deadline(
        self, tx: Transaction, locale: str = "zh-CN"
    ) -> Callable[[Any, datetime], datetime]:
        def deadline(duration: Any, start: datetime) -> datetime:
            try:
                return self._calendar.calendar(tx.conn).add(start, duration)
            except CalendarYearMissing as missing:
                # the message in the language of whoever's action needed the deadline
                raise CalendarYearMissing(missing.year, locale) from None

        return deadline

    def _command(
        self,
        actor: Actor,
        app_key: str,
        work: Callable[[Transaction, FlowSession], T],
        *,
        now: datetime | None = None,
    ) -> T:
        moment = now or self._context.clock()

        def run(tx: Transaction) -> T:
            if actor is not SYSTEM_ACTOR:
                tx.access(actor)  # a disabled user is refused before any work
            journal = Journal(actor.user_id, moment)
            session = FlowSession(
                tx, journal, moment, actor.locale, self._deadline(tx, actor.locale)
            )
            self._listened(session)
            result = work(tx, session)
            journal.flush(tx.conn)
            return result

        try:
            return self._context.transactions.write(app_key, run)
        except FlowRefusal as refusal:
            raise translated(refusal, actor.locale) from None

    def _run(self, session: FlowSession, loaded: Loaded) -> FlowRun:
        row = loaded.row
        values = _LazyValues(lambda: session.record_values(row["form"], int(row["record_id"])))
        ctx = session.context(row["form"], values, row["submitter"])
        return FlowRun(loaded.tree, loaded.state, loaded.tasks, ctx)

    def _save(self, session: FlowSession, loaded: Loaded, run: FlowRun, actor: Actor) -> None:
        session.save(loaded.id, loaded.row, run, loaded.row["status"])
        self._apply_sets(session, loaded.row["form"], int(loaded.row["record_id"]), run, actor)

    def _apply_sets(
        self, session: FlowSession, form: str, record_id: int, run: FlowRun, actor: Actor
    ) -> None:
        if run.sets:
            self._update_record(session, form, record_id, run.sets, actor, edit="action")

    def _task_action(
        self,
        actor: Actor,
        task_id: int,
        act: Callable[[FlowSession, Loaded, FlowRun, Task], Any],
    ) -> TaskView:
        locale = check.actor_locale(actor)
        check.check_record_id(task_id, locale)
        instance_id, app = self._home_of_task(task_id, locale)

        def work(tx: Transaction, session: FlowSession) -> TaskView:
            loaded = session.load(instance_id)
            run = self._run(session, loaded)
            task = next((t for t in run.tasks if t.id == task_id), None)
            if task is None:
                # read under the instance's lock: the refusal must say who handled the
                # task and when, as of the command that closed it
                fresh = store.task(tx.conn, task_id)
                if fresh is None:  # pragma: no cover - tasks are never deleted
                    raise flow_error("task_unknown", locale, task=task_id)
                _refuse_handled(tx.conn, fresh)
                task = _closed_task(fresh)
            act(session, loaded, run, task)
            self._save(session, loaded, run, actor)
            inst = dict(loaded.row) | {"status": run.state.status}
            return _task_view(_row_of(task, loaded.id), inst, locale, loaded.tree)

        return self._command(actor, app, work)

    def _instance_action(
        self,
        actor: Actor,
        app_key: str,
        instance_id: int,
        act: Callable[[FlowSession, Loaded, FlowRun], Any],
        *,
        any_state: bool = False,
    ) -> InstanceView:
        locale = check.actor_locale(actor)
        check.check_record_id(instance_id, locale)

        def work(tx: Transaction, session: FlowSession) -> int:
            loaded = session.load(instance_id)
            run = self._run(session, loaded)
            act(session, loaded, run)
            self._save(session, loaded, run, actor)
            return instance_id

        self._command(actor, app_key, work)
        return self.instance(actor, app_key, instance_id)

    def _app_of_task(self, task_id: int, locale: str) -> str:
        return self._home_of_task(task_id, locale)[1]

    def _home_of_task(self, task_id: int, locale: str) -> tuple[int, str]:
        """(instance id, app) of a task: remembered for tasks this process created (they
        never move), else read."""
        homes = self._context.transactions.catalog.task_homes
        home = homes.get(task_id)
        if home is None:
            with self._context.transactions.database.read() as conn:
                home = store.app_of_task(conn, task_id)
            if home is None:
                raise flow_error("task_unknown", locale, task=task_id)
            remember_task(homes, task_id, *home)
        return home

    def _edit(
        self,
        session: FlowSession,
        loaded: Loaded,
        task: Task,
        changes: Mapping[str, Any],
        actor: Actor,
    ) -> None:
        node = loaded.tree.node(task.node)
        if task.assignee != actor.user_id:
            raise flow_error("not_assignee", actor.locale, assignee=task.assignee)
        form, record_id = loaded.row["form"], int(loaded.row["record_id"])
        allowed: dict[str, Any] = {}
        current: Mapping[str, Any] | None = None
        for key, value in changes.items():
            if node.fields.get(str(key)) == "editable":
                allowed[key] = value
                continue
            columns = _editable_columns(node, str(key))
            if not columns:
                raise flow_error("not_editable", actor.locale, field=key, node=node.key)
            if current is None:
                current = session.record_values(form, record_id)
            allowed[key] = _merged_rows(node, str(key), columns, current.get(key), value, actor)
        self._update_record(session, form, record_id, allowed, actor, edit=node.key)

    def _refresh(self, session: FlowSession, loaded: Loaded, node: str, actor: Actor) -> bool:
        """Compute the record again under its form's lock before a decision, so the
        aggregates its formulas read (a credit shortfall) are those of now, not of the
        submit (docs/aggregates.md). True when the form locks or aggregates."""
        form = loaded.row["form"]
        if not needs_fresh_values(session.tx.form(form)):
            return False
        record_id = int(loaded.row["record_id"])
        self._update_record(session, form, record_id, {}, actor, edit=node)
        return True

    def _update_record(
        self,
        session: FlowSession,
        form: str,
        record_id: int,
        changes: Mapping[str, Any],
        actor: Actor,
        *,
        edit: str | None,
        source: str = "json",
    ) -> None:
        """Change the record in this transaction: an approver's edit (``edit``: the node,
        no form grant needed: the node allows it) or the submitter's (their grants)."""
        tx = session.tx
        access = tx.access(actor) if edit is None else None
        scope = access.scope(form, "read") if access is not None else ALL_ROWS
        ctx = writer.WriteContext(
            tx,
            tx.form(form),
            actor,
            session.now,
            tx.source(form, scope),
            session.journal,
            self._context.hooks,
            None,
            access,
            flow={"edit": edit or "resubmit"},
        )
        writer.update_record(ctx, record_id, changes, None, source)

    def _reading(self, tx: Transaction, locale: str) -> FlowSession:
        """A session for reads (its journal is never written)."""
        now = self._context.clock()
        return FlowSession(tx, Journal("system", now), now, locale, None)

    def _require_active(self, conn: Any, actor: Actor) -> None:
        """Refuse a disabled user before any read that is not bound to one app."""
        principals = self._context.transactions.principals
        require_active(principals.resolve(conn, actor), actor.locale)

    def _require_visible(self, tx: Transaction, actor: Actor, inst: Mapping[str, Any]) -> None:
        """Visible to the submitter, a participant, the app's administrators, or whoever
        may read the record (through the record source: their row scope)."""
        if actor is SYSTEM_ACTOR or inst["submitter"] == actor.user_id:
            return
        if actor.user_id in store.participants(tx.conn, int(inst["id"])):
            return
        access = tx.access(actor)
        if access.admin:
            return  # they may terminate, suspend and reactivate any instance of the app
        form = tx.form(inst["form"]).definition
        try:
            if access.allows(form, "read"):
                tx.source(inst["form"], access.scope(inst["form"], "read")).row(
                    int(inst["record_id"])
                )
                return
        except NotFoundError:
            pass
        raise flow_error("not_visible", actor.locale, instance=inst["id"])

    def _view(self, tx: Transaction, inst: Mapping[str, Any], locale: str) -> InstanceView:
        tree = self._reading(tx, locale).pinned(inst)
        tasks = [
            _task_view(r, inst, locale, tree)
            for r in store.tasks_of_instance(tx.conn, int(inst["id"]))
        ]
        timeline = []
        routes = []
        for row in store.timeline(tx.conn, int(inst["id"])):
            name = tree.node(row["node"]).label(locale) if row["node"] in tree.places else None
            timeline.append(
                TimelineEntry(
                    row["at"],
                    row["actor"],
                    row["action"],
                    row["node"],
                    name,
                    row["comment"],
                    dict(row["detail"] or {}),
                    row["cycle"],
                    row["task_id"],
                )
            )
            if row["action"] == "route":
                routes.append(
                    {
                        "node": row["node"],
                        "name": name,
                        "cycle": row["cycle"],
                        **dict(row["detail"] or {}),
                    }
                )
        state = state_of(inst)
        from engine.runtime.flows.machine import RECORD_STATUS

        return InstanceView(
            id=int(inst["id"]),
            app=inst["app"],
            form=inst["form"],
            record_id=int(inst["record_id"]),
            flow=inst["flow"],
            flow_hash=inst["flow_hash"],
            status=inst["status"],
            record_status=RECORD_STATUS[inst["status"]],
            submitter=inst["submitter"],
            cycle=inst["cycle"],
            started_at=inst["started_at"],
            finished_at=inst["finished_at"],
            title=inst["title"],
            active_nodes=sorted(state.active),
            tasks=tasks,
            timeline=timeline,
            routes=routes,
        )


# -- helpers ----------------------------------------------------------------------------------

#: the statuses an instance can have
INSTANCE_STATUSES = (
    "running",
    "sent_back",
    "suspended",
    "approved",
    "rejected",
    "withdrawn",
    "terminated",
)


@dataclass
class InstanceSummary:
    """One request in a list (发起的): like an InstanceView without tasks and timeline;
    ``waiting_at`` names the steps it waits at while it runs."""

    id: int
    app: str
    form: str
    record_id: int
    flow: str
    status: str
    record_status: str
    submitter: str
    cycle: int
    title: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    waiting_at: list[str]


@dataclass
class InstancePage:
    items: list[InstanceSummary]
    total: int


def _summary(row: Mapping[str, Any], waiting: list[str]) -> InstanceSummary:
    from engine.runtime.flows.machine import RECORD_STATUS

    return InstanceSummary(
        id=int(row["id"]),
        app=row["app"],
        form=row["form"],
        record_id=int(row["record_id"]),
        flow=row["flow"],
        status=row["status"],
        record_status=RECORD_STATUS[row["status"]],
        submitter=row["submitter"],
        cycle=int(row["cycle"]),
        title=row["title"],
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        waiting_at=waiting,
    )


class _LazyValues(dict):
    """Record values read on first use (most commands never look at them)."""

    def __init__(self, load: Callable[[], Mapping[str, Any]]):
        super().__init__()
        self._load: Callable[[], Mapping[str, Any]] | None = load

    def _fill(self) -> None:
        if self._load is not None:
            load, self._load = self._load, None
            self.update(load())

    def __getitem__(self, key: str) -> Any:
        self._fill()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._fill()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._fill()
        return super().__contains__(key)

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def keys(self):
        self._fill()
        return super().keys()

    def items(self):
        self._fill()
        return super().items()

    def __len__(self) -> int:
        self._fill()
        return super().__len__()

    def __or__(self, other: Any) -> dict:
        self._fill()
        return dict(self.items()) | dict(other)


def _record_version(session: FlowSession, form: str, record_id: int) -> int:
    return int(session.tx.source(form, ALL_ROWS).row(record_id)["version"])


def _prepared(
    tx: Transaction, runtime: Any, data: Mapping[str, Any], who: str, now: datetime
) -> dict[str, Any]:
    """Record values as a submission would compute them (formulas, defaults), unsaved."""
    from engine.runtime.forms import RecordEnvironment
    from engine.service.lookups import best_match_reader

    source = tx.source(runtime.key, ALL_ROWS)
    env = RecordEnvironment(
        now,
        who,
        None,
        source.related_record,
        find_options=source.option_records,
        aggregate=aggregate_reader(source, runtime.definition),
        best_match=best_match_reader(source),
    )
    try:
        values = runtime.compiled.prepare(data, existing=None, env=env, source="json")
    except RecordValidationError:
        raise
    values.setdefault("created_by", who)
    return values


def _pinned_key(row: Any) -> tuple[str, str, str]:
    """(app, flow, flow hash) of an inbox row (positions of store.flows._INBOX_COLUMNS)."""
    return row[11], row[14], row[15]


def _inbox_view(row: Any, tree: Any, locale: str) -> TaskView:
    """A TaskView from an inbox row (unpacked by position: this runs for every row
    listed, and attribute access on rows costs several times more)."""
    (
        task_id,
        node,
        kind,
        assignee,
        status,
        created_at,
        acted_at,
        acted_by,
        comment,
        reason,
        instance_id,
        app,
        form,
        record_id,
        flow,
        _flow_hash,
        title,
        submitter,
        _instance_status,
    ) = row
    place = tree.places.get(node)
    return TaskView(
        task_id,
        instance_id,
        app,
        form,
        record_id,
        flow,
        node,
        place.node.label(locale) if place is not None else node,
        kind,
        assignee,
        status,
        reason or {},
        created_at,
        title,
        submitter,
        acted_at,
        acted_by,
        comment,
    )


def _task_view(
    row: Mapping[str, Any], inst: Mapping[str, Any] | None, locale: str, tree: Any = None
) -> TaskView:
    source = inst or row
    node = row["node"]
    name = node
    if tree is not None and node in tree.places:
        name = tree.node(node).label(locale)
    return TaskView(
        id=int(row["id"]),
        instance_id=int(row.get("instance_id") or source.get("id")),
        app=source["app"],
        form=source["form"],
        record_id=int(source["record_id"]),
        flow=source["flow"],
        node=node,
        node_name=name,
        kind=row["kind"],
        assignee=row.get("assignee", ""),
        status=row["status"],
        reason=dict(row.get("reason") or {}),
        created_at=row["created_at"],
        title=source.get("title"),
        submitter=source.get("submitter"),
        acted_at=row.get("acted_at"),
        acted_by=row.get("acted_by"),
        comment=row.get("comment"),
    )


def _row_of(task: Task, instance_id: int) -> dict[str, Any]:
    return {
        "id": task.id,
        "instance_id": instance_id,
        "node": task.node,
        "kind": task.kind,
        "assignee": task.assignee,
        "status": task.status,
        "reason": task.reason,
        "created_at": task.created_at,
        "acted_at": task.acted_at,
        "acted_by": task.acted_by,
        "comment": task.comment,
    }


def _closed_task(row: Mapping[str, Any]) -> Task:
    """A task that is no longer live: acting on it is refused with who handled it."""
    from engine.service.flow_session import _task

    task = _task(row)
    task.live = False
    return task


def _refuse_handled(conn: Any, row: Mapping[str, Any]) -> None:
    """Refuse a closed task with who handled it and when: its holder (or the engine: a
    timeout, a transfer), or, for a task a sibling's vote made unnecessary (或签, a
    reject in 会签), whoever acted last at its node in that moment. Checked before the
    instance's status, so the loser of a race on a flow's last node hears the same."""
    handled = row
    if not row["acted_by"]:
        if row["status"] != "not_needed" or row["acted_at"] is None:
            return
        siblings = {
            int(r["id"]): r
            for r in store.tasks_of_instance(conn, int(row["instance_id"]))
            if (r["node"], r["entry"], r["cycle"]) == (row["node"], row["entry"], row["cycle"])
            and r["acted_by"]
            and r["acted_at"] == row["acted_at"]
            and r["status"] in ("approved", "rejected", "sent_back")
        }
        entries = store.timeline(conn, int(row["instance_id"]))
        last = next((e["task_id"] for e in reversed(entries) if e["task_id"] in siblings), None)
        if last is None:
            return
        handled = siblings[int(last)]
    if handled["status"] in ("pending", "waiting"):
        return
    raise FlowRefusal(
        "task_handled", by=handled["acted_by"], at=handled["acted_at"], status=handled["status"]
    )


def _editable_columns(node: Any, key: str) -> set[str]:
    """The sub-table columns of ``key`` a node makes editable (``lines.qty``)."""
    prefix = key + "."
    return {
        k[len(prefix) :] for k, v in node.fields.items() if v == "editable" and k.startswith(prefix)
    }


def _merged_rows(
    node: Any, key: str, columns: set[str], stored: Any, given: Any, actor: Actor
) -> list[dict[str, Any]]:
    """Sub-table rows as an approver may change them when the node makes only some
    columns editable: the same rows (by ``id``), only those columns changed; another
    column sent with a different value, or a row added or left out, is refused."""

    def refuse(field: str) -> FlowActionError:
        return flow_error("not_editable", actor.locale, field=field, node=node.key)

    rows = [dict(r) for r in stored or []]
    if not isinstance(given, (list, tuple)) or len(given) != len(rows):
        raise refuse(key)
    by_id = {r.get("id"): r for r in rows}
    seen: set[Any] = set()
    for item in given:
        if not isinstance(item, Mapping) or item.get("id") not in by_id or item["id"] in seen:
            raise refuse(key)
        seen.add(item["id"])
        row = by_id[item["id"]]
        for column, value in item.items():
            if column in columns:
                row[column] = value
            elif column != "id" and not _same_value(row.get(column), value):
                raise refuse(f"{key}.{column}")
    return rows


def _same_value(stored: Any, given: Any) -> bool:
    """Whether a value sent back unchanged equals the stored one (``5`` and
    ``Decimal("5")``, ``"2026-01-05"`` and a date)."""
    return stored == given or (
        stored is not None and given is not None and str(stored) == str(given)
    )


def _require_submitter(loaded: Loaded, actor: Actor) -> None:
    if loaded.row["submitter"] != actor.user_id:
        raise flow_error("not_submitter", actor.locale, submitter=loaded.row["submitter"])


def _require_user(session: FlowSession, login: str | None, locale: str) -> None:
    if not login or login not in session.directory.active([login]):
        raise flow_error("unknown_user", locale, user=login)


def _text_argument(name: str, value: Any, locale: str, limit: int = 2000) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise check.invalid(locale, name, value, "text")
    if len(value) > limit:
        raise check.invalid(locale, name, value[:20] + "…", f"at most {limit} characters")
    return value


def _logins(name: str, value: Any, locale: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise check.invalid(locale, name, value, "a non-empty list of logins")
    for item in value:
        if not isinstance(item, str) or not item:
            raise check.invalid(locale, name, value, "a non-empty list of logins")
    return list(value)


def _choices(value: Any, locale: str) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise check.invalid(locale, "choices", value, "a mapping of node key to logins")
    return {str(k): _logins(f"choices.{k}", v, locale) for k, v in value.items()}


def _check_choices(
    tree: Any,
    session: FlowSession,
    values: Mapping[str, Any],
    submitter: str,
    choices: Mapping[str, Sequence[str]],
    locale: str,
) -> None:
    """Chosen approvers (发起人自选): picked within bounds, among those allowed; a node
    on every path (not inside a branch) must have its picks at submit."""
    from engine.runtime.flows.resolve import Resolver

    for key in choices:
        if key not in tree.places:  # a mistyped node key would be silently ignored
            raise flow_error("unknown_node", locale, node=key)
    for key, place in tree.places.items():
        node = place.node
        chosen = next((s for s in node.approvers if s.kind == "chosen"), None)
        if chosen is None:
            if key in choices:
                raise flow_error("choice_not_chosen", locale, node=key)
            continue
        picked = list(choices.get(key, ()))
        if not picked:
            if place.gateway is None and chosen.minimum > 0:
                raise flow_error("choice_missing", locale, node=key)
            continue
        maximum = chosen.maximum or 50
        if not chosen.minimum <= len(picked) <= maximum:
            raise flow_error(
                "choice_count", locale, node=key, minimum=chosen.minimum, maximum=maximum
            )
        known = session.directory.active(picked)
        allowed: set[str] | None = None
        if chosen.among:
            resolver = Resolver(
                session.directory,
                tree.flow.form,
                values,
                submitter,
                {},
                lambda *_: None,
                session.now,
            )
            allowed = {a.login for a in resolver.sources(chosen.among, node)}
        for login in picked:
            if login not in known or (allowed is not None and login not in allowed):
                raise flow_error("choice_unknown", locale, user=login)


__all__ = [
    "FLOW_SYSTEM",
    "FlowActionError",
    "FlowUseCases",
    "PermissionDeniedError",
    "Iterable",
]
