"""The organisation and records as approver resolution sees them, in one transaction.

Implements :class:`engine.runtime.flows.Directory` over the store, reading through the
store's organisation queries and (for relation paths) the record source with every
row in scope: resolving approvers is the engine's own read, not the actor's.
Answers are memoised for the life of one command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from engine.service.actor import Actor
from engine.service.transactions import Transaction
from engine.store import flow_directory as org
from engine.store import flows as flow_store
from engine.store.org_managers import managers_at_level, managers_up_to
from engine.store.records import ALL_ROWS


class TransactionDirectory:
    """A :class:`~engine.runtime.flows.Directory` over one transaction."""

    def __init__(self, tx: Transaction):
        self.tx = tx
        self._memo: dict[tuple[Any, ...], Any] = {}
        self._people = tx.has_people()

    def _cached(self, key: tuple[Any, ...], load: Any) -> Any:
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    def managers(self, login: str, level: int) -> list[str]:
        found = self._cached(
            ("m", login, level), lambda: managers_at_level(self.tx.conn, login, level)
        )
        return [who for _lv, who in found]

    def managers_up_to(self, login: str, level: int) -> list[list[str]]:
        found = self._cached(
            ("mu", login, level), lambda: managers_up_to(self.tx.conn, login, level)
        )
        levels: dict[int, list[str]] = {}
        for lv, who in found:
            levels.setdefault(lv, []).append(who)
        return [levels[lv] for lv in sorted(levels)]

    def role_members(self, role: str) -> list[str]:
        mapped = self.tx.catalog.role_map(self.tx.conn, self.tx.app).get(role)
        code = mapped[0] if mapped else role
        return self._cached(("r", code), lambda: org.role_members(self.tx.conn, code))

    def department_managers(self, code: str) -> list[str]:
        return self._cached(("dm", code), lambda: org.department_managers(self.tx.conn, code))

    def org_step(self, kind: str, code: str, step: str) -> list[str]:
        conn = self.tx.conn
        if step == "parent":
            parent = org.parent_of(conn, kind, code)
            return [parent] if parent else []
        if step == "manager":
            if kind == "region":
                return org.region_managers(conn, code)
            if kind == "department":
                return org.department_managers(conn, code)
            return self.managers(code, 1)  # a user's manager
        if kind == "dealer":
            facts = org.dealer_facts(conn, code)
            if facts is None:
                return []
            if step == "region":
                return [facts[0]] if facts[0] else []
            if step == "sales_rep":
                return [facts[1]] if facts[1] else []
            if step == "users":
                return org.dealer_users(conn, code)
        if kind == "user" and step in ("department", "region"):
            facts = org.user_facts(conn, code)
            value = facts[0 if step == "department" else 1] if facts else None
            return [value] if value else []
        return []

    def related(self, form: str, field: str, value: Any) -> tuple[str, Mapping[str, Any]] | None:
        if value in (None, ""):
            return None
        target = self.tx.form(form).definition.field(field).option("to")
        if not target:
            return None
        source = self.tx.source(form, ALL_ROWS)
        found = source.related_record(str(target), int(value))
        return (str(target), found) if found is not None else None

    def field_type(self, form: str, field: str) -> str | None:
        definition = self.tx.form(form).definition
        return definition.field(field).type if definition.has_field(field) else None

    def admins(self) -> list[str]:
        return self._cached(("admins",), lambda: org.admins(self.tx.conn))

    def active(self, logins: Sequence[str]) -> set[str]:
        if not self._people:
            return set(logins)  # no organisation yet: the Python API names whom it likes
        found = set()
        for login in logins:
            # principals are cached per process until the organisation changes
            who = self.tx.principal(Actor(login))
            if who.known and who.active:
                found.add(login)
        return found

    def delegate(self, login: str, at: datetime) -> str | None:
        """The newest active delegation of ``login`` at ``at``. Delegations move the
        organisation's generation, so the list is read once per generation and process."""
        delegations = self.tx.org_memo(
            ("flow_delegations",), lambda: flow_store.delegations(self.tx.conn, active_only=True)
        )
        for row in reversed(delegations):
            if row["login"] == login and row["starts_at"] <= at < row["ends_at"]:
                return str(row["delegate"])
        return None
