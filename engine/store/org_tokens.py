"""API token reads on the request path: who a token is, and when it was last used.

Every REST API request looks its token up, so the lookup is one prepared read (the
driver's fast path) of the token's SHA-256, and the moment of use is written only when
the one kept is older than :data:`TOUCH_INTERVAL`: a write per request would put every
API read behind the database's write lock (SQLite) or make it a write transaction
(PostgreSQL), and would end the kept list totals (engine.store.totals) of every reader.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from engine.store.driver import DriverStatement
from engine.store.org_tables import org_api_tokens, org_users

#: how old ``last_used_at`` may be before a use writes it again
TOUCH_INTERVAL = timedelta(minutes=1)

_T = org_api_tokens.c
_U = org_users.c

# the digest is compared by the database's unique index: the token is 256 random bits,
# so what a timing difference could tell about a SHA-256 prefix is of no use
_LIVE_TOKEN = DriverStatement(
    sa.select(_T.login, _T.last_used_at)
    .join_from(org_api_tokens, org_users, _U.login == _T.login)
    .where(
        _T.token_hash == sa.bindparam("digest"),
        _T.revoked_at.is_(None),
        _U.active.is_(True),
    )
)


def live_token(conn: sa.Connection, digest: str) -> tuple[str, datetime | None] | None:
    """(login, last use) of the live token of an active user with this SHA-256, or None."""
    row = _LIVE_TOKEN.first(conn, {"digest": digest})
    return None if row is None else (row[0], row[1])


def is_stale(last_used: datetime | None, now: datetime) -> bool:
    """Whether a use at ``now`` should write the moment of use (see TOUCH_INTERVAL)."""
    return last_used is None or not (now - TOUCH_INTERVAL < last_used <= now)


def touch_token(conn: sa.Connection, digest: str, now: datetime) -> None:
    """Record ``now`` as the token's last use (a revoked token is left alone)."""
    conn.execute(
        org_api_tokens.update()
        .where(_T.token_hash == digest, _T.revoked_at.is_(None))
        .values(last_used_at=now)
    )
