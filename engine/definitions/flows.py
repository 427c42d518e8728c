"""Approval flows as immutable values: a tree of nodes attached to a form.

A flow document (``flows/<key>.yaml``) reads like the DingTalk designer: a list of
nodes from start to end, where a gateway node (``branches``, ``inclusive``,
``parallel``) holds branches that are lists of nodes again. Every node has a key: the
value of its kind (``approval: manager``), or for gateways an optional ``key:``
(generated from the position otherwise: ``branches_1``).

:func:`flow_from_data` builds a :class:`FlowDefinition` from the plain document, so a
flow version stored as data (``flow_versions.definition``) is rebuilt exactly as it was
loaded: a running instance stays on the version it started with.

Pure code: no database, no web.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.definitions.durations import Duration, parse_duration
from engine.definitions.model import I18nText, content_hash, frozen_mapping

#: the layout of a stored flow definition (``flow_versions.format_version``)
FLOW_FORMAT_VERSION = 1

TASK_NODES = ("approval", "handler")
SIMPLE_NODES = ("approval", "handler", "cc", "action", "end")
GATEWAYS = ("branches", "inclusive", "parallel")
NODE_KINDS = SIMPLE_NODES + GATEWAYS

MODES = ("sequential", "all", "any", "vote")
REJECT_RULES = ("any", "all", "unreachable")
EMPTY_POLICIES = ("pass", "reject", "admins", "refuse", "route")
SELF_POLICIES = ("approve", "skip", "manager")
COMMENT_RULES = ("never", "reject", "always")
FIELD_ACCESS = ("editable", "readonly", "hidden")
RESUBMIT = ("rerun", "return")
TIMEOUT_ACTIONS = ("approve", "reject", "send_back", "transfer", "escalate")
SEND_BACK_TARGETS = ("previous", "start", "any")

#: approver sources and what their value is
SOURCE_KINDS = (
    "user",  # a login or a list of logins
    "role",  # an app role (mapped to organisation roles at install)
    "manager",  # N levels up from the submitter (or from the user field ``of``)
    "managers_up_to",  # every manager from level 1 up to N (连续多级主管)
    "department_manager",  # the managers of a department code
    "field",  # a user field (its users) or department field (its managers) of the record
    "path",  # relations and the organisation: dealer.region.manager
    "dealer_users",  # the users of the record's dealer field (external participants)
    "chosen",  # the submitter picks at submit time (发起人自选)
    "expr",  # an expression giving a login or a list of logins
)


@dataclass(frozen=True)
class ApproverSource:
    """One way to find people: ``{manager: 2}``, ``{role: finance}``, ``{path: ...}``."""

    kind: str
    value: Any
    #: ``manager``/``managers_up_to``: the user field whose managers (None: the submitter)
    of: str | None = None
    #: ``chosen``: how many the submitter must pick, and among whom (None: anyone)
    minimum: int = 1
    maximum: int | None = None
    among: tuple[ApproverSource, ...] = ()

    def describe(self) -> str:
        """A short English description for reasons and explanations."""
        whose = f" of {self.of}" if self.of else " of the submitter"
        if self.kind == "manager":
            return f"manager level {self.value}{whose}"
        if self.kind == "managers_up_to":
            return f"managers up to level {self.value}{whose}"
        if self.kind == "user":
            return "named user " + ", ".join(self.value)
        if self.kind == "chosen":
            return "chosen by the submitter"
        return f"{self.kind.replace('_', ' ')} {self.value}"


@dataclass(frozen=True)
class TimeoutAction:
    """What happens at the deadline: approve, reject, send back, transfer or escalate."""

    kind: str
    to: tuple[ApproverSource, ...] = ()


@dataclass(frozen=True)
class Timeout:
    """A node's deadline (a duration after entry, or a date field), reminders, action."""

    after: Duration | None = None
    field: str | None = None
    remind_every: Duration | None = None
    then: TimeoutAction | None = None


@dataclass(frozen=True)
class SendBack:
    """Where a node may send back to and how a resubmission continues."""

    to: tuple[str, ...] = ("previous", "start")
    resubmit: str = "rerun"


@dataclass(frozen=True)
class Branch:
    """One branch of a gateway: a condition (None: ``otherwise`` / always) and its nodes."""

    when: str | None
    nodes: tuple[FlowNode, ...]
    otherwise: bool = False
    name: I18nText | None = None


@dataclass(frozen=True)
class FlowNode:
    """One node. Which attributes matter depends on ``kind`` (see docs/flows.md)."""

    key: str
    kind: str
    name: I18nText | None = None
    approvers: tuple[ApproverSource, ...] = ()
    mode: str = "any"
    #: vote mode: approvals needed as a count, or as a percentage of the approvers
    vote_count: int | None = None
    vote_percent: int | None = None
    reject: str = "any"
    empty: str = "admins"
    empty_route: tuple[ApproverSource, ...] = ()
    self_approval: str = "approve"
    #: cross-node dedupe for this node (None: the flow's setting)
    dedupe: bool | None = None
    fields: Mapping[str, str] = field(default_factory=frozen_mapping)
    comment: str = "never"
    signature: bool = False
    timeout: Timeout | None = None
    send_back: SendBack | None = None
    #: action nodes: field -> expression; and an event name to emit
    set: Mapping[str, str] = field(default_factory=frozen_mapping)
    emit: str | None = None
    #: end nodes: the outcome the instance ends with
    outcome: str = "approved"
    branches: tuple[Branch, ...] = ()

    def needed(self, count: int) -> int:
        """Approvals needed to pass a vote node with ``count`` approvers."""
        if self.vote_count is not None:
            return self.vote_count
        return max(1, math.ceil(count * (self.vote_percent or 100) / 100))

    def label(self, locale: str = "zh-CN") -> str:
        return self.name.get(locale) if self.name else self.key


@dataclass(frozen=True)
class FlowDefinition:
    """A flow: its key, the form it is attached to, its nodes and flow-wide settings."""

    key: str
    form: str
    nodes: tuple[FlowNode, ...]
    name: I18nText | None = None
    #: someone who already approved this instance passes later nodes automatically
    dedupe: bool = False
    #: the submitter may withdraw an approved request within this many days (None: never)
    withdraw_days: int | None = None
    send_back: SendBack = field(default_factory=SendBack)
    #: the document it was built from (kept to store the version as data)
    data: Mapping[str, Any] = field(default_factory=frozen_mapping, compare=False, repr=False)
    source_file: str | None = field(default=None, compare=False, repr=False)

    @property
    def content_hash(self) -> str:
        return content_hash(self)

    def walk(self) -> Iterator[FlowNode]:
        """Every node, depth first in document order."""

        def visit(nodes: tuple[FlowNode, ...]) -> Iterator[FlowNode]:
            for node in nodes:
                yield node
                for branch in node.branches:
                    yield from visit(branch.nodes)

        return visit(self.nodes)

    def node(self, key: str) -> FlowNode:
        for node in self.walk():
            if node.key == key:
                return node
        raise KeyError(key)

    def label(self, locale: str = "zh-CN") -> str:
        return self.name.get(locale) if self.name else self.key


# -- building from plain data (checked first by the schema and engine/definitions/checks/flows.py)


def node_kind(item: Mapping[str, Any]) -> str | None:
    """The kind of a node mapping: the one key of NODE_KINDS it has."""
    kinds = [k for k in NODE_KINDS if k in item]
    return kinds[0] if len(kinds) == 1 else None


def gateway_keys(nodes: Any, prefix: str = "") -> dict[tuple[int, ...], str]:
    """Generated keys of gateways without ``key:``, by their index path."""
    found: dict[tuple[int, ...], str] = {}
    counter = {"n": 0}

    def visit(items: Any, path: tuple[int, ...]) -> None:
        if not isinstance(items, list):
            return
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            kind = node_kind(item)
            if kind in GATEWAYS:
                counter["n"] += 1
                found[(*path, index)] = item.get("key") or f"{kind}_{counter['n']}"
                branches = item.get(kind)
                for b, branch in enumerate(branches if isinstance(branches, list) else []):
                    nested = branch_nodes(branch)
                    visit(nested, (*path, index, b))

    visit(nodes, ())
    return found


def branch_nodes(branch: Any) -> Any:
    """The nodes of a branch written ``{when, nodes}`` or ``{otherwise: [nodes]}``."""
    if not isinstance(branch, dict):
        return None
    if isinstance(branch.get("otherwise"), list):
        return branch["otherwise"]
    return branch.get("nodes")


def sources_of(value: Any) -> tuple[ApproverSource, ...]:
    """Approver sources written as one mapping or a list of mappings."""
    items = value if isinstance(value, list) else [value] if value is not None else []
    return tuple(source_of(item) for item in items if isinstance(item, dict))


def source_of(item: Mapping[str, Any]) -> ApproverSource:
    if "users" in item:
        return ApproverSource("user", tuple(item["users"]))
    kind = next(k for k in SOURCE_KINDS if k in item)
    value = item[kind]
    if kind == "user":
        value = tuple(value) if isinstance(value, list) else (value,)
    if kind == "chosen":
        spec = value if isinstance(value, dict) else {}
        return ApproverSource(
            "chosen",
            True,
            minimum=int(spec.get("min", 1)),
            maximum=spec.get("max"),
            among=sources_of(spec.get("among")),
        )
    return ApproverSource(kind, value, of=item.get("of"))


def _duration(value: Any) -> Duration | None:
    return parse_duration(value) if isinstance(value, str) else None


def _timeout(value: Any) -> Timeout | None:
    if not isinstance(value, dict):
        return None
    then = value.get("then")
    action = None
    if isinstance(then, str):
        action = TimeoutAction(then)
    elif isinstance(then, dict) and then:
        kind = next(iter(then))
        action = TimeoutAction(kind, sources_of(then[kind]) if kind == "transfer" else ())
    return Timeout(
        after=_duration(value.get("after")),
        field=value.get("field"),
        remind_every=_duration(value.get("remind_every")),
        then=action,
    )


def _send_back(value: Any) -> SendBack | None:
    if not isinstance(value, dict):
        return None
    to = value.get("to", ["previous", "start"])
    return SendBack(tuple(to if isinstance(to, list) else [to]), value.get("resubmit", "rerun"))


def _empty(value: Any) -> tuple[str, tuple[ApproverSource, ...]]:
    if isinstance(value, dict) and "route" in value:
        return "route", sources_of(value["route"])
    return (value if isinstance(value, str) else "admins"), ()


def _fields(value: Any) -> Mapping[str, str]:
    """``{editable: [a], hidden: [b]}`` -> ``{a: editable, b: hidden}``."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for access in FIELD_ACCESS:
            for key in value.get(access) or []:
                out[str(key)] = access
    return frozen_mapping(out)


def _node(item: Mapping[str, Any], path: tuple[int, ...], gateways: dict) -> FlowNode:
    kind = node_kind(item)
    assert kind is not None  # checked before building
    name = I18nText.of(item.get("name"))
    if kind in GATEWAYS:
        branches = []
        for b, branch in enumerate(item[kind]):
            nested = branch_nodes(branch) or []
            branches.append(
                Branch(
                    when=branch.get("when"),
                    nodes=tuple(_node(n, (*path, b, i), gateways) for i, n in enumerate(nested)),
                    otherwise="otherwise" in branch,
                    name=I18nText.of(branch.get("name")),
                )
            )
        return FlowNode(gateways[path], kind, name, branches=tuple(branches))
    key = str(item[kind])
    if kind == "cc":
        return FlowNode(key, kind, name, approvers=sources_of(item.get("to")))
    if kind == "action":
        return FlowNode(
            key,
            kind,
            name,
            set=frozen_mapping(item.get("set") or {}),
            emit=item.get("emit"),
        )
    if kind == "end":
        return FlowNode(key, kind, name, outcome=item.get("outcome", "approved"))
    approvers = sources_of(item.get("approvers"))
    default_mode = "sequential" if any(s.kind == "managers_up_to" for s in approvers) else "any"
    vote = item.get("vote") if isinstance(item.get("vote"), dict) else {}
    mode = item.get("mode", default_mode)
    empty, route = _empty(item.get("empty"))
    return FlowNode(
        key,
        kind,
        name,
        approvers=approvers,
        mode=mode,
        vote_count=vote.get("count"),
        vote_percent=vote.get("percent"),
        reject=item.get("reject", "unreachable" if mode == "vote" else "any"),
        empty=empty,
        empty_route=route,
        self_approval=item.get("self_approval", "approve"),
        dedupe=item.get("dedupe"),
        fields=_fields(item.get("fields")),
        comment=item.get("comment", "never"),
        signature=item.get("signature") is True,
        timeout=_timeout(item.get("timeout")),
        send_back=_send_back(item.get("send_back")),
    )


def flow_from_data(data: Mapping[str, Any], source_file: str | None = None) -> FlowDefinition:
    """A :class:`FlowDefinition` from a checked flow document (plain data)."""
    nodes = data.get("nodes") or []
    gateways = gateway_keys(nodes)
    withdraw = data.get("withdraw")
    days = withdraw.get("after_approval_days") if isinstance(withdraw, dict) else None
    return FlowDefinition(
        key=str(data["flow"]),
        form=str(data["form"]),
        name=I18nText.of(data.get("name")),
        nodes=tuple(_node(item, (i,), gateways) for i, item in enumerate(nodes)),
        dedupe=data.get("dedupe") is True,
        withdraw_days=days,
        send_back=_send_back(data.get("send_back")) or SendBack(),
        data=frozen_mapping(data),
        source_file=source_file,
    )


def thaw(value: Any) -> Any:
    """Plain dicts and lists from frozen definition data (to store it as JSON)."""
    if isinstance(value, Mapping):
        return {str(k): thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value
