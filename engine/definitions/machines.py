"""Status machines as immutable values: the states of a record that lives past its approval.

A machine document (``machines/<name>.yaml``) names a form, the ``select`` field that
holds the state (its options are the states) and the transitions between them::

    machine: order_stage
    name: {zh-CN: 订单进度, en: Order progress}
    form: order
    field: stage                     # a select field; records start in its default
    transitions:
      - key: ship
        label: {zh-CN: 发货, en: Ship}
        from: [picking]              # the states it leaves (a list, or one state)
        to: shipped
        roles: [warehouse]           # app roles that see the button (empty: anyone who may update)
        when: "SUM(lines.qty) > 0"   # a guard over the record (with the step's inputs)
        message: {zh-CN: 没有可发货的行, en: Nothing to ship}
        require: [tracking_no]       # fields filled in this step (asked on the button)
        confirm: {zh-CN: 确认发货？, en: Ship now?}
        actions:                     # rule actions, in the same transaction
          - notify: {to: [{field: created_by}], title: "{{ record.title }} 已发货"}

Each transition is a button on the record page for the roles given; pressing it from
another state is a refusal naming the states it leaves from. The state field changes
only through transitions (and rules): a person's edit of it is refused.

Pure code: no database, no web.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.model import I18nText, content_hash
from engine.definitions.rules import RuleDefinition, rule_from_data


@dataclass(frozen=True)
class Transition:
    """One transition: a button from some states to one, with guard, inputs and actions."""

    key: str
    label: I18nText | None
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...] = ()
    when: str | None = None
    message: I18nText | None = None
    require: tuple[str, ...] = ()
    confirm: I18nText | None = None
    #: the actions, as a rule (key ``<machine>.<transition>``) the rules runtime runs
    rule: RuleDefinition | None = None

    def title(self, locale: str = "zh-CN") -> str:
        """The button's text in ``locale``, or the key."""
        return self.label.get(locale) if self.label else self.key


@dataclass(frozen=True)
class MachineDefinition:
    """A status machine over one select field of a form."""

    key: str
    form: str
    field: str
    transitions: tuple[Transition, ...]
    name: I18nText | None = None
    source_file: str | None = field(default=None, compare=False, repr=False)
    line: int = field(default=0, compare=False)
    #: what it was built from, to store it and build it again in another process
    source: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the machine's canonical content (locations excluded)."""
        return content_hash(self)

    def transition(self, key: str) -> Transition | None:
        """The transition ``key``, or None."""
        return next((t for t in self.transitions if t.key == key), None)

    def label(self, locale: str = "zh-CN") -> str:
        """The machine's name in ``locale``, or its key."""
        return self.name.get(locale) if self.name else self.key


def _states(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value or ())


def _transition(machine: str, form: str, data: Mapping[str, Any], file: str | None) -> Transition:
    actions = data.get("actions") or ()
    rule = None
    if actions:
        rule = rule_from_data(
            {
                "rule": f"{machine}.{data['key']}",
                "form": form,
                "trigger": {"manual": None},
                "actions": list(actions),
            },
            file,
        )
    return Transition(
        key=data["key"],
        label=I18nText.of(data.get("label")),
        sources=_states(data.get("from")),
        target=str(data["to"]),
        roles=tuple(data.get("roles") or ()),
        when=data.get("when"),
        message=I18nText.of(data.get("message")),
        require=tuple(data.get("require") or ()),
        confirm=I18nText.of(data.get("confirm")),
        rule=rule,
    )


def machine_from_data(
    data: Mapping[str, Any], source_file: str | None = None, line: int = 0
) -> MachineDefinition:
    """A :class:`MachineDefinition` from a checked machine document."""
    from engine.definitions.rules import _plain

    key, form = data["machine"], data["form"]
    return MachineDefinition(
        key=key,
        form=form,
        field=data["field"],
        transitions=tuple(
            _transition(key, form, t, source_file) for t in data.get("transitions") or ()
        ),
        name=I18nText.of(data.get("name")),
        source_file=source_file,
        line=line,
        source={"data": _plain(data), "file": source_file, "line": line},
    )


def machine_from_source(source: Mapping[str, Any]) -> MachineDefinition:
    """A machine built again from its stored ``source``."""
    return machine_from_data(source["data"], source.get("file"), source.get("line", 0))


__all__ = ["MachineDefinition", "Transition", "machine_from_data", "machine_from_source"]
