"""Who is acting: every service call takes an :class:`Actor` first."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """A user (or the system) acting through the service; roles feed permissions.

    ``locale`` picks the language of the messages the actor gets back (zh-CN or en).
    """

    user_id: str
    roles: frozenset[str] = frozenset()
    department: str | None = None
    locale: str = "zh-CN"


#: the engine itself: installs, migrations, scheduled rules
SYSTEM_ACTOR = Actor("system", frozenset({"admin"}))
