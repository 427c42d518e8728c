"""Who is acting: every service call takes an :class:`Actor` first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A user (or the system) acting through the service; roles feed permissions."""

    user_id: str
    roles: frozenset[str] = frozenset()
    department: str | None = None


#: the engine itself: installs, migrations, scheduled rules
SYSTEM_ACTOR = Actor("system", frozenset({"admin"}))
