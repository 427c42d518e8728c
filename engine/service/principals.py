"""Who an actor is: their :class:`Principal`, resolved from the organisation once per change.

Each call of the service resolves its actor here, in its own transaction. Principals
are kept per process and dropped whenever the organisation's generation moves (every
change of users, roles, departments, regions or dealers moves it), so a role taken
away or a user disabled in another process counts from that process's next call on.

An actor whose ``user_id`` the organisation does not know (a script, a test, a
database with no organisation yet) acts as an internal user with the roles and
department the ``Actor`` claims. The web and the CLI make actors for known users only.
"""

from __future__ import annotations

import threading

from engine.errors import PermissionDeniedError
from engine.org.principal import SYSTEM_PRINCIPAL, Principal
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.store.database import Connection
from engine.store.org import org_generation, principal_facts


class PrincipalCache:
    """login -> Principal for the organisation generation they were read at."""

    def __init__(self) -> None:
        self._generation: int | None = None
        self._principals: dict[str, Principal | None] = {}
        self._lock = threading.Lock()

    def resolve(self, conn: Connection, actor: Actor) -> Principal:
        """The actor's principal as of this transaction (claims when unknown)."""
        if actor is SYSTEM_ACTOR or actor == SYSTEM_ACTOR:
            return SYSTEM_PRINCIPAL
        generation = org_generation(conn)
        if generation != self._generation:
            with self._lock:
                self._principals = {}
                self._generation = generation
        login = actor.user_id
        if login in self._principals:
            known = self._principals[login]
        else:
            known = principal_facts(conn, login) if generation else None
            with self._lock:
                self._principals[login] = known
        if known is None:
            return _claimed(actor)
        return known

    def clear(self) -> None:
        with self._lock:
            self._principals = {}
            self._generation = None


def _claimed(actor: Actor) -> Principal:
    """An actor the organisation does not know: what it claims, as an internal user."""
    department = actor.department
    return Principal(
        login=actor.user_id,
        name=actor.user_id,
        locale=actor.locale,
        roles=frozenset(actor.roles),
        department=department,
        departments=(department,) if department else (),
    )


def require_active(principal: Principal, locale: str) -> Principal:
    """Refuse a disabled user (PermissionDeniedError in the actor's language)."""
    if not principal.active:
        if locale.startswith("en"):
            text = f"the user {principal.login} is disabled and cannot act"
        else:
            text = f"用户 {principal.login} 已停用，不能操作"
        raise PermissionDeniedError(text)
    return principal
