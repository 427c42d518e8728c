"""The organisation: who the people are and how they relate (pure code, no SQL).

Users (internal staff and external dealer people), departments, roles, regions and
dealers are kept by the store (:mod:`engine.store.org_tables`) and changed through the
service (:mod:`engine.service.org`). This package holds what needs no database: the
resolved :class:`~engine.org.principal.Principal` an actor acts as, password and token
hashing, and reading an organisation file (YAML or xlsx).
"""

from engine.org.principal import Principal

__all__ = ["Principal"]
