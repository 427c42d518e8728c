"""What a web session needs of its user, read and written one user at a time
(SQLAlchemy Core only): whether they may still act, the session epoch their sessions
must carry, whether their password must be changed first, and their language.

The caller (engine/service/accounts.py) owns the transaction and the audit entry. None of
these columns is part of a Principal, so changing them never moves the organisation's
generation (no cache to drop).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.org_tables import org_users

_U = org_users.c
_SESSION = sa.select(
    _U.login, _U.active, _U.session_epoch, _U.password_must_change, _U.locale
).where(_U.login == sa.bindparam("login"))


def session_facts(conn: sa.Connection, login: str) -> Mapping[str, Any] | None:
    """The session columns of one user (None when there is no such user)."""
    return conn.execute(_SESSION, {"login": login}).mappings().first()


def password_hash_of(conn: sa.Connection, login: str) -> str | None:
    """The stored password hash of one user (None: no user or no password)."""
    return conn.execute(
        sa.select(_U.password_hash).where(_U.login == login, _U.active.is_(True))
    ).scalar()


def next_session_epoch(conn: sa.Connection, login: str, now: datetime) -> int | None:
    """Move the user's session epoch on (every older session ends); the new epoch, or
    None when there is no such user."""
    result = conn.execute(
        org_users.update()
        .where(_U.login == login)
        .values(session_epoch=_U.session_epoch + 1, updated_at=now)
    )
    if result.rowcount != 1:
        return None
    return int(conn.execute(sa.select(_U.session_epoch).where(_U.login == login)).scalar_one())


def set_password(
    conn: sa.Connection, login: str, password_hash: str, *, must_change: bool, now: datetime
) -> int | None:
    """Store a new password hash, whether it must be changed at the next sign-in, and move
    the session epoch on (a new password ends every other session). The new epoch, or
    None when there is no such user."""
    result = conn.execute(
        org_users.update()
        .where(_U.login == login)
        .values(
            password_hash=password_hash,
            password_must_change=must_change,
            session_epoch=_U.session_epoch + 1,
            updated_at=now,
        )
    )
    if result.rowcount != 1:
        return None
    return int(conn.execute(sa.select(_U.session_epoch).where(_U.login == login)).scalar_one())


def set_locale(conn: sa.Connection, login: str, locale: str, now: datetime) -> bool:
    """Store the user's language; True when the user exists."""
    result = conn.execute(
        org_users.update().where(_U.login == login).values(locale=locale, updated_at=now)
    )
    return result.rowcount == 1
