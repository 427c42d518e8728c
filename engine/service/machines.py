"""Status machines at run time: the buttons a person may press on a record, and pressing one.

A machine (engine/definitions/machines.py) keeps a record's state in a select field.
:meth:`MachineUseCases.buttons` lists the transitions that leave the record's current
state for the actor (one of the transition's app roles, and the right to update the
record), each with whether its guard holds now; :meth:`MachineUseCases.transition`
presses one, in one transaction, with the record locked:

1. the record must be in one of the transition's ``from`` states: otherwise a
   :class:`TransitionError` (code ``state``) naming the state it is in and the states
   the transition leaves from;
2. the state field and the step's inputs (``require`` fields only) are written through
   the one write path as the person (revision, audit, events, in-transaction rules);
3. every ``require`` field must then be filled, and the guard ``when`` must hold on the
   new values: otherwise the whole step rolls back with the transition's message;
4. the transition's actions run as a rule (``rule:<machine>.<transition>``) in the same
   transaction.

The state field changes only through transitions (and rules): a person's edit of it is
refused (:meth:`MachineUseCases._before_prepare`).

Machines are published with the app (``app_rules.machines``) and built once per app
generation in every process, like the rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.machines import MachineDefinition, Transition, machine_from_source
from engine.errors import (
    InvalidArgumentError,
    PermissionDeniedError,
    RecordError,
    RecordValidationError,
    ServiceError,
)
from engine.service import arguments as check
from engine.service import writer
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.reading import row_values
from engine.service.rule_values import record_names, truthy
from engine.service.rules import RuleUseCases
from engine.service.transactions import Transaction
from engine.store.app_rules import machines_data
from engine.store.journal import Journal, Subject


class TransitionError(ServiceError):
    """A transition that cannot happen now; ``code``: ``state`` (not from this state),
    ``guard`` (its condition does not hold), ``unknown`` (no such transition)."""

    def __init__(self, message: str, *, code: str, transition: str):
        super().__init__(message)
        self.message = message
        self.code = code
        self.transition = transition


@dataclass(frozen=True)
class TransitionButton:
    """One button on a record page: a transition the actor may press from this state."""

    machine: str
    transition: str
    label: str
    target: str
    confirm: str | None
    require: tuple[str, ...]
    #: False when the guard does not hold now; ``reason`` says why
    enabled: bool = True
    reason: str | None = None


@dataclass
class TransitionResult:
    """What pressing a transition did."""

    machine: str
    transition: str
    record_id: int
    previous: str | None
    state: str
    changes: list[dict[str, Any]] = field(default_factory=list)


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


class MachineUseCases:
    """The status machines of one Service."""

    def __init__(self, context: ServiceContext, rules: RuleUseCases):
        self._context = context
        self._rules = rules
        context.hooks.add("before_prepare", self._before_prepare)

    # -- registry -------------------------------------------------------------------------
    def _machines(self, tx: Transaction) -> tuple[MachineDefinition, ...]:
        def load(conn: Any) -> tuple[MachineDefinition, ...]:
            return tuple(machine_from_source(s) for s in machines_data(conn, tx.app))

        return tx.catalog.extra(tx.conn, tx.app, "machines", load)

    def _of(self, tx: Transaction, form: str) -> list[MachineDefinition]:
        return [m for m in self._machines(tx) if m.form == form]

    # -- service calls --------------------------------------------------------------------
    def buttons(
        self, actor: Actor, app_key: str, form_key: str, record_id: int
    ) -> list[TransitionButton]:
        """The transitions the actor may press on the record now, in definition order."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("form", form_key, 50, locale)
        check.check_record_id(record_id, locale)
        with self._context.transactions.read(app_key) as tx:
            machines = self._of(tx, form_key)
            if not machines:
                return []
            access = tx.access(actor)
            runtime = tx.form(form_key)
            if not access.allows(runtime.definition, "update"):
                return []
            source = tx.source(form_key, access.scope(form_key, "update"))
            row = source.row(record_id)
            values = record_names(
                row_values(runtime, row, source.children([record_id])[record_id]), row
            )
            buttons: list[TransitionButton] = []
            for machine in machines:
                state = _text(values.get(machine.field))
                for step in machine.transitions:
                    if state not in step.sources or not _may(access.roles, step):
                        continue
                    enabled, reason = True, None
                    if step.when is not None and not step.require:
                        enabled = self._guard(tx, step, values, record_id, actor)
                        reason = None if enabled else _message(step, locale)
                    buttons.append(
                        TransitionButton(
                            machine.key,
                            step.key,
                            step.title(locale),
                            step.target,
                            step.confirm.get(locale) if step.confirm else None,
                            step.require,
                            enabled,
                            reason,
                        )
                    )
            return buttons

    def transition(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        record_id: int,
        machine_key: str,
        transition_key: str,
        values: Mapping[str, Any] | None = None,
        *,
        source: str = "json",
    ) -> TransitionResult:
        """Press transition ``transition_key`` of machine ``machine_key`` on a record,
        with the step's inputs ``values`` (``require`` fields only; ``source`` says how
        they are written: ``json`` or ``web`` text)."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("form", form_key, 50, locale)
        check.check_record_id(record_id, locale)
        check.check_key("machine", machine_key, 60, locale)
        check.check_key("transition", transition_key, 60, locale)
        if values is not None and not isinstance(values, Mapping):
            raise InvalidArgumentError(
                _say(
                    locale,
                    f"values 须为字段取值的对象，收到 {type(values).__name__}",
                    f"values must be an object of field values, got {type(values).__name__}",
                ),
                argument="values",
                code="type",
            )

        def work(tx: Transaction) -> TransitionResult:
            machine = next((m for m in self._of(tx, form_key) if m.key == machine_key), None)
            step = machine.transition(transition_key) if machine else None
            if machine is None or step is None:
                raise TransitionError(
                    _say(
                        locale,
                        f"表单 {form_key} 没有状态流转 {machine_key}.{transition_key}",
                        f"form {form_key} has no transition {machine_key}.{transition_key}",
                    ),
                    code="unknown",
                    transition=transition_key,
                )
            access = tx.access(actor)
            runtime = tx.form(form_key)
            access.require(runtime.definition, "update", locale)
            records = tx.source(form_key, access.scope(form_key, "update"))
            row = records.row(record_id, for_update=True)  # one transition at a time
            state = _text(row.get(machine.field))
            label = step.title(locale)
            if state not in step.sources:
                shown = (
                    "、".join(step.sources)
                    if not locale.startswith("en")
                    else ", ".join(step.sources)
                )
                raise TransitionError(
                    _say(
                        locale,
                        f"记录 #{record_id} 当前状态为 {state or '（空）'}，不能执行“{label}”"
                        f"（只能从 {shown} 执行）",
                        f"record #{record_id} is {state or '(blank)'}: “{label}” "
                        f"can be done only from {shown}",
                    ),
                    code="state",
                    transition=step.key,
                )
            if not _may(access.roles, step):
                raise PermissionDeniedError(
                    _say(
                        locale,
                        f"“{label}”只能由以下角色执行：{'、'.join(step.roles)}",
                        f"“{label}” may be done only by: {', '.join(step.roles)}",
                    )
                )
            inputs = dict(values or {})
            extra = sorted(set(inputs) - set(step.require))
            if extra:
                raise InvalidArgumentError(
                    _say(
                        locale,
                        f"“{label}”只接受这些字段：{'、'.join(step.require) or '（无）'}；"
                        f"多出：{'、'.join(extra)}",
                        f"“{label}” takes only {', '.join(step.require) or 'no fields'}; "
                        f"not: {', '.join(extra)}",
                    ),
                    argument="values",
                    code="unknown",
                )
            now = self._context.clock()
            journal = Journal(actor.user_id, now)
            ctx = writer.WriteContext(
                tx,
                runtime,
                actor,
                now,
                tx.source(form_key, access.scope(form_key, "read")),
                journal,
                self._context.hooks,
                None,
                access,
                flow={"edit": f"machine:{machine.key}.{step.key}"},
            )
            writer.update_record(
                ctx, record_id, {**inputs, machine.field: step.target}, None, source
            )
            after = tx.source(form_key, access.scope(form_key, "read"))
            new_row = after.row(record_id)
            new_values = record_names(
                row_values(runtime, new_row, after.children([record_id])[record_id]), new_row
            )
            missing = [k for k in step.require if new_values.get(k) in (None, "", [])]
            if missing:
                raise RecordValidationError(
                    [
                        RecordError(
                            k,
                            _say(locale, f"“{label}”需要填写此项", f"“{label}” needs this field"),
                            "required",
                        )
                        for k in missing
                    ]
                )
            if step.when is not None and not self._guard(tx, step, new_values, record_id, actor):
                raise TransitionError(_message(step, locale), code="guard", transition=step.key)
            result = TransitionResult(machine.key, step.key, record_id, state, step.target)
            journal.audit(
                Subject(tx.app, form_key, record_id),
                "record.transition",
                {"machine": machine.key, "transition": step.key, "from": state, "to": step.target},
            )
            journal.flush(tx.conn)
            if step.rule is not None:
                result.changes = self._rules.run_actions(
                    tx, now, locale, actor.user_id, step.rule, record_id, new_values
                )
            return result

        return self._context.transactions.write(app_key, work)

    # -- hooks ----------------------------------------------------------------------------
    def _before_prepare(self, ctx: Any, data: Mapping[str, Any], existing: Any) -> None:
        """A machine's state field changes only through its transitions (or a rule)."""
        if not isinstance(data, Mapping) or str(ctx.actor.user_id).startswith(("rule:", "job:")):
            return
        if str((ctx.flow or {}).get("edit") or "").startswith("machine:"):
            return
        for machine in self._of(ctx.tx, ctx.runtime.key):
            if machine.field not in data:
                continue
            wanted = _text(data[machine.field])
            if existing is not None:
                before = _text(existing.get(machine.field))
            else:
                default = ctx.runtime.definition.field(machine.field).default
                before = _text(default)
            if wanted in ("", before):
                continue
            steps = "、".join(t.title(ctx.actor.locale) for t in machine.transitions)
            raise RecordValidationError(
                [
                    RecordError(
                        machine.field,
                        _say(
                            ctx.actor.locale,
                            f"此状态只能通过按钮流转（{steps}）",
                            f"this state changes only through its buttons ({steps})",
                        ),
                        "state",
                    )
                ]
            )

    def _guard(
        self,
        tx: Transaction,
        step: Transition,
        values: Mapping[str, Any],
        record_id: int,
        actor: Actor,
    ) -> bool:
        assert step.when is not None
        return truthy(
            self._rules.evaluate(tx, step.when, values, actor.user_id, f"{step.key}.when")
        )


def _may(roles: frozenset[str], step: Transition) -> bool:
    return not step.roles or bool(set(step.roles) & set(roles))


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _message(step: Transition, locale: str) -> str:
    if step.message is not None:
        return step.message.get(locale)
    return _say(
        locale, f"不满足“{step.title(locale)}”的条件", f"“{step.title(locale)}” is not possible now"
    )


__all__ = ["MachineUseCases", "TransitionButton", "TransitionError", "TransitionResult"]
