"""Approver resolution: the fixed pipeline run when a task node is entered.

source -> remove duplicates -> empty policy -> self-approval policy -> cross-node
dedupe -> delegation. Each step that changes someone is written into the assignment's
``reason``, so a task always says why its assignee got it.

The organisation and the records are reached through a :class:`Directory` the service
implements over the store: this module stays free of SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from engine.definitions.flows import ApproverSource, FlowNode
from engine.runtime.flows.refusals import FlowRefusal


class Directory(Protocol):
    """What resolution needs from the organisation and the records (read only)."""

    def managers(self, login: str, level: int) -> list[str]:
        """The managers ``level`` levels up from ``login`` (DingTalk's rules)."""

    def managers_up_to(self, login: str, level: int) -> list[list[str]]:
        """The managers of each level from 1 to ``level`` (fewer when the tree ends)."""

    def role_members(self, role: str) -> list[str]:
        """The active members of an app role (through the app's role map)."""

    def department_managers(self, code: str) -> list[str]: ...

    def org_step(self, kind: str, code: str, step: str) -> list[str]:
        """One step through the organisation: ``("dealer", "DL-1", "region")`` -> codes,
        or logins for steps that give people (manager, users, sales_rep)."""

    def related(self, form: str, field: str, value: Any) -> tuple[str, Mapping[str, Any]] | None:
        """The record a relation value of ``form.field`` points to: (its form, values)."""

    def field_type(self, form: str, field: str) -> str | None: ...

    def admins(self) -> list[str]: ...

    def active(self, logins: Sequence[str]) -> set[str]:
        """Which of ``logins`` are known, active users (others are skipped)."""

    def delegate(self, login: str, at: datetime) -> str | None:
        """Who stands in for ``login`` at ``at`` (an active 委托), or None."""


@dataclass
class Assignment:
    """One resolved person for a node, with why, and whether the engine decides for them."""

    login: str
    reason: dict[str, Any] = field(default_factory=dict)
    #: "self" (self-approval skipped), "dedupe" (already approved): auto-approved
    auto: str | None = None


@dataclass
class Resolution:
    """The outcome of the pipeline for one node."""

    assignments: list[Assignment]
    #: what the empty policy did ("pass", "reject") when nobody was found
    empty: str | None = None


@dataclass
class Resolver:
    """The pipeline for one instance: its form, record values, submitter and choices."""

    directory: Directory
    form: str
    values: Mapping[str, Any]
    submitter: str
    #: node key -> logins the submitter chose (发起人自选)
    choices: Mapping[str, Sequence[str]]
    evaluate: Callable[[str, Mapping[str, Any]], Any]
    now: datetime
    approved_by: Sequence[str] = ()
    dedupe: bool = False

    def resolve(self, node: FlowNode, *, at_start: bool = False) -> Resolution:
        found = self.sources(node.approvers, node)
        found = self._known(found)
        empty = None
        if not found and node.kind != "cc":
            found, empty = self._empty(node, at_start)
        if node.kind in ("approval", "handler"):
            found = self._self_approval(node, found)
            found = self._dedupe_across(node, found)
        found = self._delegation(found)
        return Resolution(_unique(found), empty)

    # -- source -------------------------------------------------------------------------
    def sources(self, sources: Sequence[ApproverSource], node: FlowNode | None) -> list[Assignment]:
        out: list[Assignment] = []
        for source in sources:
            for login in self._source(source, node):
                out.append(Assignment(login, {"source": source.describe()}))
        return _unique(out)

    def _source(self, source: ApproverSource, node: FlowNode | None) -> list[str]:
        d, kind = self.directory, source.kind
        whose = self._people(self.values.get(source.of)) if source.of else [self.submitter]
        if kind == "user":
            return list(source.value)
        if kind == "role":
            return d.role_members(source.value)
        if kind == "manager":
            return [m for who in whose for m in d.managers(who, int(source.value))]
        if kind == "managers_up_to":
            return [
                m
                for who in whose
                for level in d.managers_up_to(who, int(source.value))
                for m in level
            ]
        if kind == "department_manager":
            return d.department_managers(source.value)
        if kind == "field":
            value = self.values.get(source.value)
            if d.field_type(self.form, source.value) == "department":
                return [m for code in self._people(value) for m in d.department_managers(code)]
            return self._people(value)
        if kind == "dealer_users":
            return [
                u
                for code in self._people(self.values.get(source.value))
                for u in d.org_step("dealer", code, "users")
            ]
        if kind == "path":
            return self._path(str(source.value))
        if kind == "chosen":
            return list(self.choices.get(node.key, ())) if node is not None else []
        if kind == "expr":
            return self._people(self.evaluate(str(source.value), self.values))
        raise ValueError(f"unknown approver source {kind!r}")  # pragma: no cover - checked at load

    def _path(self, text: str) -> list[str]:
        """Walk ``dealer.region.manager``: relations by record, then the organisation."""
        form, values = self.form, self.values
        kind: str | None = None
        codes: list[str] = []
        for step in text.split("."):
            if kind is None:
                value = values.get(step)
                field_type = self.directory.field_type(form, step)
                if field_type == "relation":
                    target = self.directory.related(form, step, value)
                    if target is None:
                        return []
                    form, values = target
                    continue
                codes = self._people(value)
                kind = field_type
                continue
            reached = [
                found for code in codes for found in self.directory.org_step(kind, code, step)
            ]
            codes = list(dict.fromkeys(reached))
            kind = {"region": "region", "parent": kind, "department": "department"}.get(
                step, "people"
            )
        return codes

    @staticmethod
    def _people(value: Any) -> list[str]:
        if value is None or value == "":
            return []
        if isinstance(value, (list, tuple)):
            return [str(v) for v in value if v not in (None, "")]
        return [str(value)]

    # -- pipeline steps -----------------------------------------------------------------
    def _known(self, found: list[Assignment]) -> list[Assignment]:
        active = self.directory.active([a.login for a in found])
        return [a for a in found if a.login in active]

    def _empty(self, node: FlowNode, at_start: bool) -> tuple[list[Assignment], str | None]:
        policy = node.empty
        if policy == "refuse":
            if at_start:
                raise FlowRefusal("no_approver", node=node.key)
            policy = "admins"  # data changed since submit: an admin sorts it out
        if policy in ("pass", "reject"):
            return [], policy
        if policy == "route":
            routed = self._known(self.sources(node.empty_route, node))
            for a in routed:
                a.reason = {"source": a.reason["source"], "empty": "routed: nobody was found"}
            if routed:
                return routed, None
        admins = self._known([Assignment(login, {}) for login in self.directory.admins()])
        for a in admins:
            a.reason = {"source": "administrator", "empty": "nobody was found"}
        return (admins, None) if admins else ([], "pass")

    def _self_approval(self, node: FlowNode, found: list[Assignment]) -> list[Assignment]:
        out: list[Assignment] = []
        for a in found:
            if a.login != self.submitter or node.self_approval == "approve":
                out.append(a)
            elif node.self_approval == "skip":
                a.auto = "self"
                a.reason = {
                    **a.reason,
                    "self_approval": "skipped: the submitter approves own request",
                }
                out.append(a)
            else:
                managers = self._known(
                    [Assignment(m) for m in self.directory.managers(self.submitter, 1)]
                )
                for m in managers:
                    m.reason = {
                        **a.reason,
                        "self_approval": f"handed from {a.login} to the department manager",
                    }
                out.extend(managers or [a])
        return out

    def _dedupe_across(self, node: FlowNode, found: list[Assignment]) -> list[Assignment]:
        dedupe = self.dedupe if node.dedupe is None else node.dedupe
        if not dedupe:
            return found
        for a in found:
            if a.login in self.approved_by and a.auto is None:
                a.auto = "dedupe"
                a.reason = {**a.reason, "dedupe": "already approved this request"}
        return found

    def _delegation(self, found: list[Assignment]) -> list[Assignment]:
        for a in found:
            if a.auto is not None:
                continue
            seen = {a.login}
            stand_in = self.directory.delegate(a.login, self.now)
            # follow chains, never loop; a stand-in disabled since the delegation was
            # made is passed over (the task would wait on someone who cannot act)
            while stand_in and stand_in not in seen and self.directory.active([stand_in]):
                a.reason = {**a.reason, "delegated_from": a.reason.get("delegated_from", a.login)}
                a.login = stand_in
                seen.add(stand_in)
                stand_in = self.directory.delegate(stand_in, self.now)
        return found


def _unique(found: list[Assignment]) -> list[Assignment]:
    """First occurrence of each login wins."""
    seen: set[str] = set()
    out = []
    for a in found:
        if a.login not in seen:
            seen.add(a.login)
            out.append(a)
    return out
