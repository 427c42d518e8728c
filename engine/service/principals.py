"""What the organisation says, cached per process until it changes: principals and names.

Each call of the service resolves its actor here, in its own transaction. Principals,
display names of organisation codes and "has the organisation any users" are kept per
process and dropped whenever the organisation's generation moves (every change of
users, roles, departments, regions or dealers moves it), so a role taken away or a
user disabled in another process counts from that process's next call on. The
generation is read once per transaction (:meth:`OrgCache.sync`); everything else costs
no statement once cached.

An actor whose ``user_id`` the organisation does not know (a script, a test, a
database with no organisation yet) acts as an internal user with the roles and
department the ``Actor`` claims. The web and the CLI make actors for known users only.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from engine.errors import PermissionDeniedError
from engine.org.principal import ADMIN_ROLE, SYSTEM_PRINCIPAL, Principal
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.store.database import Connection
from engine.store.org import has_people, names_of, org_generation, principal_facts

#: most names kept before the cache starts again (an organisation has a few thousand)
MAX_NAMES = 200_000
#: most prepared scoped statements kept (people x forms x actions in use)
MAX_STATEMENTS = 5_000


class OrgCache:
    """Principals and names as of one organisation generation (thread-safe)."""

    def __init__(self) -> None:
        self._generation: int | None = None
        self._principals: dict[str, Principal | None] = {}
        self._names: dict[tuple[str, str], str | None] = {}
        self._people: bool | None = None
        #: prepared scoped statements of known principals (engine.store.row_scopes)
        self.statements: dict[tuple[object, ...], object] = {}
        self._lock = threading.Lock()

    @property
    def generation(self) -> int | None:
        """The generation the cached principals and names are of (None: nothing cached)."""
        return self._generation

    def sync(self, conn: Connection) -> int:
        """Read the organisation's generation in this transaction; drop what it outdated."""
        return self.observe(org_generation(conn))

    def observe(self, generation: int) -> int:
        """Note the generation as read in a transaction; drop what it outdated."""
        if generation != self._generation:
            with self._lock:
                self._principals = {}
                self._names = {}
                self._people = None
                self.statements = {}
                self._generation = generation
        if len(self.statements) > MAX_STATEMENTS:
            self.statements = {}
        return generation

    def resolve(self, conn: Connection, actor: Actor) -> Principal:
        """The actor's principal as of this transaction (claims when unknown)."""
        if actor is SYSTEM_ACTOR or actor == SYSTEM_ACTOR:
            return SYSTEM_PRINCIPAL
        generation = self.sync(conn)
        return self.principal(conn, actor, generation)

    def principal(self, conn: Connection, actor: Actor, generation: int) -> Principal:
        """The principal of an actor after :meth:`sync` (no statement when cached)."""
        if actor is SYSTEM_ACTOR or actor == SYSTEM_ACTOR:
            return SYSTEM_PRINCIPAL
        login = actor.user_id
        if login in self._principals:
            known = self._principals[login]
        else:
            # generation 0: the organisation never changed, so it has nobody
            known = principal_facts(conn, login) if generation else None
            with self._lock:
                self._principals[login] = known
        return _claimed(actor) if known is None else known

    def has_people(self, conn: Connection) -> bool:
        """Whether the organisation has users (after :meth:`sync`)."""
        if self._people is None:
            people = bool(self._generation) and has_people(conn)
            with self._lock:
                self._people = people
        return self._people

    def names(self, conn: Connection, kind: str, codes: Iterable[str]) -> dict[str, str]:
        """Display names of the codes the organisation has (after :meth:`sync`)."""
        wanted = {c for c in codes if isinstance(c, str) and c}
        missing = [c for c in wanted if (kind, c) not in self._names]
        if missing:
            found = names_of(conn, kind, missing) if self._generation else {}
            with self._lock:
                if len(self._names) + len(missing) > MAX_NAMES:
                    self._names = {}
                for code in missing:
                    self._names[(kind, code)] = found.get(code)
        out = {}
        for code in wanted:
            name = self._names.get((kind, code))
            if name is not None:
                out[code] = name
        return out

    def clear(self) -> None:
        with self._lock:
            self._principals = {}
            self._names = {}
            self._people = None
            self.statements = {}
            self._generation = None


#: the former name (principals were the first thing kept)
PrincipalCache = OrgCache


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


def require_org_admin(
    principals: OrgCache, conn: Connection, actor: Actor, locale: str, *, zh: str, en: str
) -> None:
    """Refuse anyone but an organisation administrator once the organisation has users
    (the engine itself always passes). ``zh`` / ``en`` say what was refused ("修改工作日历"
    / "change the working calendar")."""
    if actor == SYSTEM_ACTOR:
        return
    generation = principals.sync(conn)
    if not principals.has_people(conn):
        return
    principal = principals.principal(conn, actor, generation)
    if principal.active and principal.is_admin:
        return
    if locale.startswith("en"):
        text = (
            f"only an administrator (a member of the organisation role '{ADMIN_ROLE}') "
            f"may {en}; {actor.user_id} is not one"
        )
    else:
        text = f"只有管理员（组织角色 {ADMIN_ROLE} 的成员）可以{zh}，{actor.user_id} 不是"
    raise PermissionDeniedError(text)
