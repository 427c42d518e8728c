"""Each app's published rules, stored as data (SQLAlchemy Core only).

``publish_rules`` runs inside an install's transaction; ``rules_data`` reads them back
for a process that did not install the app (engine/service/rules.py caches what it
builds per app generation, like the forms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.rule_tables import app_rules


def publish_rules(
    conn: sa.Connection, app: str, rules: Sequence[Mapping[str, Any]], *, by: str, now: datetime
) -> bool:
    """Store ``app``'s rules (replacing the ones before); True when they changed."""
    stored = rules_data(conn, app)
    wanted = [dict(r) for r in rules]
    if stored == wanted:
        return False
    values = {"rules": wanted, "published_at": now, "published_by": by}
    if stored is None:
        conn.execute(app_rules.insert().values(app=app, **values))
    else:
        conn.execute(app_rules.update().where(app_rules.c.app == app).values(**values))
    return True


def rules_data(conn: sa.Connection, app: str) -> list[dict[str, Any]] | None:
    """The rules ``app`` published (None: it never published any)."""
    found = conn.execute(sa.select(app_rules.c.rules).where(app_rules.c.app == app)).scalar()
    return None if found is None else list(found)
