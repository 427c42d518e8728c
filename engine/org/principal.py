"""The principal: an actor as the organisation knows them, resolved once per call.

Permissions are decided on a :class:`Principal`, never on what a caller claims: the
service resolves ``Actor.user_id`` against the organisation (engine/service/
principals.py). Actors the organisation does not know (scripts and tests that build an
``Actor`` by hand) act with the roles and department they claim, as internal users.
"""

from __future__ import annotations

from dataclasses import dataclass

INTERNAL = "internal"
EXTERNAL = "external"
#: the engine itself: installs, migrations, scheduled rules
SYSTEM = "system"
KINDS = (INTERNAL, EXTERNAL)

#: the organisation role whose members administer everything (every app, every row)
ADMIN_ROLE = "admin"


@dataclass(frozen=True)
class Principal:
    """Who acts: identity, organisation roles and where they sit in the trees."""

    login: str
    name: str = ""
    kind: str = INTERNAL
    active: bool = True
    #: True when the organisation has a user with this login
    known: bool = False
    locale: str = "zh-CN"
    roles: frozenset[str] = frozenset()
    #: main department (CURRENT_DEPARTMENT())
    department: str | None = None
    #: every department of the user, the main one first
    departments: tuple[str, ...] = ()
    #: the dealer an external user belongs to (CURRENT_DEALER())
    dealer: str | None = None
    #: CURRENT_REGION(): an internal user's main region, a dealer user's dealer's region
    region: str | None = None
    #: the user's regions for row scopes: the main region and every region they manage
    regions: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        """Members of the organisation's ``admin`` role (and the system) see everything."""
        return self.kind == SYSTEM or ADMIN_ROLE in self.roles

    @property
    def is_external(self) -> bool:
        return self.kind == EXTERNAL


SYSTEM_PRINCIPAL = Principal("system", "system", SYSTEM, True, True, roles=frozenset({ADMIN_ROLE}))
