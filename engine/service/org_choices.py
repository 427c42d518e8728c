"""What a person may pick in a ``user``, ``department``, ``region`` or ``dealer`` field.

The organisation's full lists (:class:`engine.service.org.OrgUseCases`) are for
administrators. A form page needs less: codes with their names, searched, for whoever
fills the form, and no more than they may know:

* internal staff (and actors the organisation does not know: scripts, a fresh install)
  pick among every active user, every department, every region and every active dealer;
* a dealer's person (an external user) picks only within their own dealer: its active
  users, the dealer itself and its region; no department (those are the brand's).

Names are the organisation's, codes are what a field stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.org.principal import Principal
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.org_arguments import optional_text_argument
from engine.service.principals import require_active
from engine.store import org_lists
from engine.store.database import Connection
from engine.store.org import names_of, principal_facts

#: the field types whose value is an organisation code
ORG_CHOICE_KINDS = ("user", "department", "region", "dealer")
#: the most choices one call returns
MAX_CHOICES = 500


@dataclass(frozen=True)
class OrgChoices:
    """Choices for one organisation field: ``(code, name)`` in the organisation's order,
    and whether more matched than were returned (search to narrow them)."""

    items: list[tuple[str, str]]
    more: bool


class OrgChoiceUseCases:
    """The organisation pickers of one Service."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def choices(
        self,
        actor: Actor,
        kind: str,
        *,
        search: str | None = None,
        limit: int = 200,
    ) -> OrgChoices:
        """The users, departments, regions or dealers ``actor`` may pick, whose code or
        name contains ``search`` (any case); at most ``limit``."""
        say = check.actor_locale(actor)
        check.check_choice("kind", kind, ORG_CHOICE_KINDS, say)
        search = optional_text_argument("search", search, 100, say)
        check.check_whole_number("limit", limit, 1, MAX_CHOICES, say)
        with self._context.transactions.database.read() as conn:
            principal = require_active(
                self._context.transactions.principals.resolve(conn, actor), say
            )
            found = _allowed(conn, principal, kind, search, limit)
        wanted = (search or "").lower()
        matching = [
            (code, name)
            for code, name in found
            if not wanted or wanted in code.lower() or wanted in (name or "").lower()
        ]
        return OrgChoices(matching[:limit], len(matching) > limit)

    def names(self, actor: Actor, kind: str, codes: Iterable[str]) -> dict[str, str]:
        """Names of the given codes among what ``actor`` may pick (others left out)."""
        say = check.actor_locale(actor)
        check.check_choice("kind", kind, ORG_CHOICE_KINDS, say)
        wanted = {c for c in list(codes)[:MAX_CHOICES] if isinstance(c, str) and c}
        if not wanted:
            return {}
        with self._context.transactions.database.read() as conn:
            principal = require_active(
                self._context.transactions.principals.resolve(conn, actor), say
            )
            if principal.is_external:
                allowed = dict(_allowed(conn, principal, kind, None, MAX_CHOICES))
                return {c: allowed[c] for c in wanted if c in allowed}
            return names_of(conn, kind, wanted)


def _allowed(
    conn: Connection, principal: Principal, kind: str, search: str | None, limit: int
) -> list[tuple[str, str]]:
    """(code, name) the principal may pick; for users, at most a little over ``limit``."""
    if principal.is_external:
        return _within_dealer(conn, principal, kind)
    if kind == "user":
        # a page more than asked for, so "more" is known after leaving out disabled users
        rows, _total = org_lists.users_page(conn, search, 0, limit + 50)
        return [(r["login"], r["name"]) for r in rows if r["active"]][: limit + 1]
    if kind == "department":
        return [(r["code"], r["name"]) for r in org_lists.departments(conn)]
    if kind == "region":
        return [(r["code"], r["name"]) for r in org_lists.regions(conn)]
    return [(r["code"], r["name"]) for r in org_lists.dealers(conn) if r["active"]]


def _within_dealer(conn: Connection, principal: Principal, kind: str) -> list[tuple[str, str]]:
    """What a dealer's person may pick: their dealer, its region, its active users."""
    if principal.dealer is None or kind == "department":
        return []
    if kind == "dealer":
        return sorted(names_of(conn, "dealer", [principal.dealer]).items())
    if kind == "region":
        return sorted(names_of(conn, "region", [principal.region or ""]).items())
    dealer: dict[str, Any] = next(
        (d for d in org_lists.dealers(conn) if d["code"] == principal.dealer), {}
    )
    names = names_of(conn, "user", dealer.get("users", ()))
    return [
        (login, name)
        for login, name in sorted(names.items())
        if (facts := principal_facts(conn, login)) is not None and facts.active
    ]
