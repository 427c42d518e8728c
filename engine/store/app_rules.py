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
    conn: sa.Connection,
    app: str,
    rules: Sequence[Mapping[str, Any]],
    *,
    by: str,
    now: datetime,
    machines: Sequence[Mapping[str, Any]] = (),
    jobs: Sequence[Mapping[str, Any]] = (),
    dashboards: Sequence[Mapping[str, Any]] = (),
) -> bool:
    """Store ``app``'s rules, status machines, batch jobs and dashboards (replacing the
    ones before); True when any of them changed."""
    stored = rules_data(conn, app)
    wanted = [dict(r) for r in rules]
    wanted_machines = [dict(m) for m in machines] or None
    wanted_jobs = [dict(j) for j in jobs] or None
    wanted_dashboards = [dict(d) for d in dashboards] or None
    if (
        stored == wanted
        and machines_data(conn, app) == (wanted_machines or [])
        and jobs_data(conn, app) == (wanted_jobs or [])
        and dashboards_data(conn, app) == (wanted_dashboards or [])
    ):
        return False
    values = {
        "rules": wanted,
        "machines": wanted_machines,
        "jobs": wanted_jobs,
        "dashboards": wanted_dashboards,
        "published_at": now,
        "published_by": by,
    }
    if stored is None:
        conn.execute(app_rules.insert().values(app=app, **values))
    else:
        conn.execute(app_rules.update().where(app_rules.c.app == app).values(**values))
    return True


def rules_data(conn: sa.Connection, app: str) -> list[dict[str, Any]] | None:
    """The rules ``app`` published (None: it never published any)."""
    found = conn.execute(sa.select(app_rules.c.rules).where(app_rules.c.app == app)).scalar()
    return None if found is None else list(found)


def machines_data(conn: sa.Connection, app: str) -> list[dict[str, Any]]:
    """The status machines ``app`` published (empty: none)."""
    found = conn.execute(sa.select(app_rules.c.machines).where(app_rules.c.app == app)).scalar()
    return list(found or [])


def jobs_data(conn: sa.Connection, app: str) -> list[dict[str, Any]]:
    """The batch jobs ``app`` published (empty: none)."""
    found = conn.execute(sa.select(app_rules.c.jobs).where(app_rules.c.app == app)).scalar()
    return list(found or [])


def dashboards_data(conn: sa.Connection, app: str) -> list[dict[str, Any]]:
    """The dashboards ``app`` published (empty: none), as stored: ``{data, file, line,
    lines}`` each (engine.definitions.dashboards.dashboard_from_source rebuilds them)."""
    found = conn.execute(sa.select(app_rules.c.dashboards).where(app_rules.c.app == app)).scalar()
    return list(found or [])
