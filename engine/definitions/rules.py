"""Rules as immutable values: a trigger on a form, a condition and ordered actions.

A rule document (``rules/<name>.yaml``) holds one rule, several ``---`` separated rules
or a list of rules. See docs/rules.md for the language; in short::

    rule: deduct_stock
    name: {zh-CN: 扣减库存, en: Deduct stock}
    form: order
    trigger: {flow: approved}          # created | updated | deleted | {updated: {fields: [..]}}
    when: "total > 0"                  # a condition over the record (old.x: value before)
    run: in_transaction                # or after_commit
    actions:
      - update:
          form: product
          for_each: lines              # once per row of the record's sub-table (row.x)
          where: "id == row.product"   # the product's fields; record.x / row.x
          set: {stock: "stock - row.qty"}

The key is ``trigger:`` rather than ``on:``: YAML 1.1 reads a bare ``on`` as true.

Prefixed names (``old.qty``, ``record.total``, ``row.qty``) are not part of the formula
language: :func:`mangle` turns them into plain names of the same length
(``old\u02cdqty``) before compiling, and :func:`demangle` turns them back in messages.

Pure code: no database, no web.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.model import I18nText, content_hash, frozen_mapping

#: what a trigger may be
RECORD_EVENTS = ("created", "updated", "deleted")
FLOW_EVENTS = ("started", "approved", "rejected", "withdrawn", "node_reached", "node_timed_out")
#: the journal topic of each flow event (engine/runtime/flows/machine.py)
FLOW_TOPICS = {
    "flow.started": "started",
    "flow.approved": "approved",
    "flow.rejected": "rejected",
    "flow.withdrawn": "withdrawn",
    "task.created": "node_reached",
    "node.timeout": "node_timed_out",
}
TRIGGER_KINDS = (*RECORD_EVENTS, "flow", "schedule", "before", "after", "manual")
RUN_MODES = ("in_transaction", "after_commit")
DATA_ACTIONS = ("set", "create", "update", "upsert", "delete", "start_flow")
DELIVERY_ACTIONS = ("notify", "webhook", "create_user")
#: ledger entries (engine/definitions/ledgers.py, docs/ledgers.md)
LEDGER_ACTIONS = ("post", "hold", "release", "consume", "reverse")
ACTION_KINDS = DATA_ACTIONS + DELIVERY_ACTIONS + LEDGER_ACTIONS
#: rows one update/delete action may touch unless the action sets ``limit``
DEFAULT_ROW_LIMIT = 1000
#: rule chains (a rule's write triggering another rule) deeper than this are refused
MAX_DEPTH = 8
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: the time of day a date field stands for in a before/after trigger
DEFAULT_DATE_TIME = "09:00"

#: the letter that stands for the dot of a prefixed name (a Python identifier letter)
JOIN = "\u02cd"
PREFIXES = ("old", "record", "row")
_STRING = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
_PREFIXED = re.compile(rf"({_STRING})|\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)")


def mangle(text: str, prefixes: tuple[str, ...] = PREFIXES) -> str:
    """``old.qty`` -> ``oldˍqty`` for the given prefixes (strings left alone; same length)."""

    def swap(match: re.Match[str]) -> str:
        if match.group(1) is not None or match.group(2) not in prefixes:
            return match.group(0)
        return f"{match.group(2)}{JOIN}{match.group(3)}"

    return _PREFIXED.sub(swap, text)


def demangle(text: str) -> str:
    """Messages about mangled names in the author's spelling (``old.qty``)."""
    return text.replace(JOIN, ".")


def mangled(prefix: str, key: str) -> str:
    """The mangled name of ``prefix.key``."""
    return f"{prefix}{JOIN}{key}"


@dataclass(frozen=True)
class Trigger:
    """When a rule runs. Which attributes matter depends on ``kind``."""

    kind: str
    #: updated: run only when one of these fields changed (empty: any change)
    fields: tuple[str, ...] = ()
    #: flow: the event (approved...) and optionally the node (node_reached/timed_out)
    event: str | None = None
    node: str | None = None
    #: schedule
    cron: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    #: schedule: runs missed while no scheduler ran (``run_once`` or ``skip``)
    misfire: str = "run_once"
    #: before/after: the date field and the offset
    field: str | None = None
    days: int = 0
    hours: int = 0
    #: before/after on a date field: the time of day (HH:MM, Asia/Shanghai) it stands for
    at: str = DEFAULT_DATE_TIME
    #: manual: the button and its confirmation
    label: I18nText | None = None
    confirm: I18nText | None = None
    #: manual: the app roles that see the button (empty: everyone who may update)
    roles: tuple[str, ...] = ()

    @property
    def in_transaction_capable(self) -> bool:
        """Record and flow events happen inside a write, a button press is one; schedule
        and date triggers start from the scheduler, after commit."""
        return self.kind in RECORD_EVENTS or self.kind in ("flow", "manual")


@dataclass(frozen=True)
class RowsMapping:
    """``create.rows``: one new sub-table row per row of the record's sub-table ``source``."""

    source: str
    values: Mapping[str, str] = field(default_factory=frozen_mapping)


@dataclass(frozen=True)
class RuleAction:
    """One action. Data actions use the typed attributes; delivery actions keep ``data``."""

    kind: str
    #: the form acted on (create/update/upsert/delete); None: the triggering record
    form: str | None = None
    #: set / update.set: field -> expression; create/upsert: values
    values: Mapping[str, str] = field(default_factory=frozen_mapping)
    rows: Mapping[str, RowsMapping] = field(default_factory=frozen_mapping)
    where: str | None = None
    match: tuple[str, ...] = ()
    limit: int | None = None
    #: run once per row of the triggering record's sub-table (the row is ``row.x``)
    for_each: str | None = None
    #: notify / webhook / create_user / start_flow: the action's own keys, as written
    data: Mapping[str, Any] = field(default_factory=frozen_mapping)
    line: int = 0


@dataclass(frozen=True)
class RuleDefinition:
    """A rule: key, triggering form, trigger, condition, run mode and actions."""

    key: str
    form: str
    trigger: Trigger
    actions: tuple[RuleAction, ...]
    name: I18nText | None = None
    when: str | None = None
    run: str = "in_transaction"
    enabled: bool = True
    source_file: str | None = field(default=None, compare=False, repr=False)
    line: int = field(default=0, compare=False)
    #: what the rule was built from, to store it and build it again in another process
    #: (engine/store/app_rules.py): {"data", "file", "line", "action_lines"}
    source: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the rule's canonical content (locations excluded)."""
        return content_hash(self)

    def label(self, locale: str = "zh-CN") -> str:
        """The rule's name in ``locale``, or its key."""
        return self.name.get(locale) if self.name else self.key

    @property
    def where(self) -> str:
        """``rules/stock.yaml:3``: where the rule is written."""
        return f"{self.source_file or '?'}:{self.line}"


def trigger_kind(value: Any) -> str | None:
    """The kind of a ``trigger:`` value (a word or a one-key mapping), or None."""
    if isinstance(value, str):
        return value if value in RECORD_EVENTS else None
    if isinstance(value, Mapping):
        kinds = [k for k in value if k in TRIGGER_KINDS]
        return kinds[0] if len(kinds) == 1 else None
    return None


def action_kind(value: Any) -> str | None:
    """The kind of one ``actions:`` item (its single key), or None."""
    if isinstance(value, Mapping) and len(value) == 1:
        key = next(iter(value))
        return key if key in ACTION_KINDS else None
    return None


def _trigger(value: Any) -> Trigger:
    kind = trigger_kind(value)
    if kind is None:
        raise ValueError(f"not a trigger: {value!r}")
    if isinstance(value, str):
        return Trigger(kind)
    body = value[kind]
    if kind in RECORD_EVENTS:
        fields = tuple((body or {}).get("fields", ())) if isinstance(body, Mapping) else ()
        return Trigger(kind, fields=fields)
    if kind == "flow":
        return Trigger(kind, event=body, node=value.get("node"))
    if kind == "schedule":
        return Trigger(
            kind,
            cron=body["cron"],
            timezone=body.get("timezone", DEFAULT_TIMEZONE),
            misfire=body.get("misfire", "run_once"),
        )
    if kind in ("before", "after"):
        return Trigger(
            kind,
            field=body["field"],
            days=int(body.get("days", 0)),
            hours=int(body.get("hours", 0)),
            at=body.get("at", DEFAULT_DATE_TIME),
        )
    body = body or {}
    return Trigger(
        kind,
        label=I18nText.of(body.get("label")),
        confirm=I18nText.of(body.get("confirm")),
        roles=tuple(body.get("roles") or ()),
    )


def _action(value: Mapping[str, Any], line: int) -> RuleAction:
    kind = action_kind(value)
    if kind is None:
        raise ValueError(f"not an action: {value!r}")
    body = value[kind]
    if kind == "set":
        return RuleAction(kind, values=frozen_mapping(body), line=line)
    if kind in DELIVERY_ACTIONS or kind == "start_flow" or kind in LEDGER_ACTIONS:
        return RuleAction(kind, data=frozen_mapping(body or {}), line=line)
    rows = {
        k: RowsMapping(r["from"], frozen_mapping(r.get("values", {})))
        for k, r in (body.get("rows") or {}).items()
    }
    return RuleAction(
        kind,
        form=body["form"],
        values=frozen_mapping(body.get("values") or body.get("set") or {}),
        rows=frozen_mapping(rows),
        where=body.get("where"),
        match=tuple(body.get("match", ())),
        limit=body.get("limit"),
        for_each=body.get("for_each"),
        line=line,
    )


def rule_from_data(
    data: Mapping[str, Any],
    source_file: str | None = None,
    line: int = 0,
    action_lines: tuple[int, ...] = (),
) -> RuleDefinition:
    """A :class:`RuleDefinition` from a checked rule document."""
    actions = data.get("actions") or ()
    lines = tuple(action_lines) + (0,) * (len(actions) - len(action_lines))
    trigger = _trigger(data["trigger"])
    default_run = "in_transaction" if trigger.in_transaction_capable else "after_commit"
    return RuleDefinition(
        key=data["rule"],
        form=data["form"],
        trigger=trigger,
        actions=tuple(_action(a, n) for a, n in zip(actions, lines, strict=True)),
        name=I18nText.of(data.get("name")),
        when=data.get("when"),
        run=data.get("run", default_run),
        enabled=bool(data.get("enabled", True)),
        source_file=source_file,
        line=line,
        source={
            "data": _plain(data),
            "file": source_file,
            "line": line,
            "action_lines": list(lines),
        },
    )


def rule_from_source(source: Mapping[str, Any]) -> RuleDefinition:
    """A rule built again from its stored ``source`` (RuleDefinition.source)."""
    return rule_from_data(
        source["data"],
        source.get("file"),
        source.get("line", 0),
        tuple(source.get("action_lines") or ()),
    )


def _plain(value: Any) -> Any:
    """The document as plain JSON data (mappings and lists of text, numbers, booleans)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


__all__ = [
    "ACTION_KINDS",
    "DATA_ACTIONS",
    "DEFAULT_ROW_LIMIT",
    "DELIVERY_ACTIONS",
    "FLOW_EVENTS",
    "FLOW_TOPICS",
    "MAX_DEPTH",
    "RECORD_EVENTS",
    "RUN_MODES",
    "TRIGGER_KINDS",
    "RowsMapping",
    "RuleAction",
    "RuleDefinition",
    "Trigger",
    "action_kind",
    "demangle",
    "mangle",
    "mangled",
    "rule_from_data",
    "rule_from_source",
    "trigger_kind",
]
