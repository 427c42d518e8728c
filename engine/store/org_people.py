"""Writes of one person, role membership or API token at a time (SQLAlchemy Core only).

What the organisation's use cases change between file loads: a user's fields, password
hash and active flag, role members, and API tokens (stored as SHA-256 only). The caller
(engine/service/org.py) owns the transaction, the audit entry and the generation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.store.org_tables import (
    org_api_tokens,
    org_dealers,
    org_departments,
    org_memberships,
    org_regions,
    org_role_members,
    org_roles,
    org_users,
)

#: codes per IN (...) list when reading existing rows
CHUNK = 500
#: deepest tree the closure rebuild follows (guards against a cycle made outside the engine)
MAX_TREE_DEPTH = 100


_U = org_users.c
#: user columns a caller may set one by one
USER_FIELDS = (
    "name",
    "kind",
    "email",
    "mobile",
    "locale",
    "department",
    "leader",
    "region",
    "dealer",
)
_EXISTS = {
    "user": (org_users, _U.login),
    "department": (org_departments, org_departments.c.code),
    "region": (org_regions, org_regions.c.code),
    "dealer": (org_dealers, org_dealers.c.code),
    "role": (org_roles, org_roles.c.code),
}


def exists(conn: sa.Connection, kind: str, code: str) -> bool:
    """Whether the organisation has a ``kind`` (user, department, region, dealer, role) ``code``."""
    table, column = _EXISTS[kind]
    return conn.execute(sa.select(column).where(column == code)).first() is not None


def get_user(conn: sa.Connection, login: str) -> Mapping[str, Any] | None:
    """The stored row of a user (password hash included: never hand it out)."""
    return conn.execute(sa.select(org_users).where(_U.login == login)).mappings().first()


def insert_user(conn: sa.Connection, values: Mapping[str, Any], now: datetime) -> None:
    """A new user (``login`` and ``name`` at least) and their main department membership."""
    columns = ("login", *USER_FIELDS, "password_hash", "password_must_change", "active")
    row = {c: values[c] for c in columns if c in values}
    row = {k: v for k, v in row.items() if v is not None}
    conn.execute(org_users.insert().values(created_at=now, updated_at=now, **row))
    if values.get("department"):
        conn.execute(
            org_memberships.insert().values(
                login=values["login"], department=values["department"], main=True
            )
        )


def update_user(
    conn: sa.Connection, login: str, changes: Mapping[str, Any], now: datetime
) -> dict[str, tuple[Any, Any]]:
    """Set some of :data:`USER_FIELDS`; the (old, new) of those that really changed."""
    before = get_user(conn, login)
    if before is None:
        return {}
    changed = {c: (before[c], v) for c, v in changes.items() if c in USER_FIELDS and before[c] != v}
    if not changed:
        return {}
    conn.execute(
        org_users.update()
        .where(_U.login == login)
        .values(updated_at=now, **{c: new for c, (_, new) in changed.items()})
    )
    if "department" in changed:
        m = org_memberships.c
        conn.execute(org_memberships.update().where(m.login == login).values(main=False))
        new = changed["department"][1]
        if new:
            conn.execute(org_memberships.delete().where(m.login == login, m.department == new))
            conn.execute(org_memberships.insert().values(login=login, department=new, main=True))
    return changed


def set_password_hash(
    conn: sa.Connection, login: str, password_hash: str | None, now: datetime
) -> bool:
    """Store a user's password hash (None: no password); False when there is no such user."""
    result = conn.execute(
        org_users.update()
        .where(_U.login == login)
        .values(password_hash=password_hash, updated_at=now)
    )
    return result.rowcount == 1


def set_active(conn: sa.Connection, login: str, active: bool, now: datetime) -> bool:
    """Enable or disable a user; True when that changed something."""
    result = conn.execute(
        org_users.update()
        .where(_U.login == login, _U.active != active)
        .values(active=active, updated_at=now)
    )
    return result.rowcount == 1


def ensure_role(conn: sa.Connection, code: str, name: str) -> bool:
    """Create the role when missing; True when it was created."""
    if exists(conn, "role", code):
        return False
    conn.execute(org_roles.insert().values(code=code, name=name))
    return True


def add_role_member(conn: sa.Connection, role: str, login: str) -> bool:
    """Put ``login`` in ``role``; False when already a member."""
    r = org_role_members.c
    if conn.execute(sa.select(r.login).where(r.role == role, r.login == login)).first():
        return False
    conn.execute(org_role_members.insert().values(role=role, login=login))
    return True


def remove_role_member(conn: sa.Connection, role: str, login: str) -> bool:
    """Take ``login`` out of ``role``; False when not a member."""
    r = org_role_members.c
    return (
        conn.execute(org_role_members.delete().where(r.role == role, r.login == login)).rowcount
        == 1
    )


def user_roles(conn: sa.Connection, login: str) -> list[str]:
    r = org_role_members.c
    return list(conn.execute(sa.select(r.role).where(r.login == login).order_by(r.role)).scalars())


# -- API tokens -----------------------------------------------------------------------
_T = org_api_tokens.c


def insert_token(
    conn: sa.Connection, login: str, name: str, digest: str, prefix: str, now: datetime
) -> int:
    """A new token row (only its SHA-256 and display prefix); its id."""
    return int(
        conn.execute(
            org_api_tokens.insert()
            .values(login=login, name=name, token_hash=digest, prefix=prefix, created_at=now)
            .returning(_T.id)
        ).scalar_one()
    )


def tokens_of(conn: sa.Connection, login: str) -> list[Mapping[str, Any]]:
    """A user's tokens (revoked ones included), oldest first, without their hashes."""
    columns = (_T.id, _T.login, _T.name, _T.prefix, _T.created_at, _T.last_used_at, _T.revoked_at)
    return list(
        conn.execute(sa.select(*columns).where(_T.login == login).order_by(_T.id)).mappings()
    )


def revoke_token(conn: sa.Connection, login: str, token_id: int, now: datetime) -> str | None:
    """Revoke one of ``login``'s tokens: ``revoked``, ``already`` (revoked before) or None (none)."""
    row = conn.execute(sa.select(_T.revoked_at).where(_T.id == token_id, _T.login == login)).first()
    if row is None:
        return None
    if row[0] is not None:
        return "already"
    conn.execute(org_api_tokens.update().where(_T.id == token_id).values(revoked_at=now))
    return "revoked"


def use_token(conn: sa.Connection, digest: str, now: datetime) -> str | None:
    """The login of a live token of an active user, touching its last use; else None.

    One UPDATE ... RETURNING: a revoked token or a disabled user's token matches nothing.
    """
    active_user = sa.select(_U.login).where(_U.login == _T.login, _U.active.is_(True)).exists()
    return conn.execute(
        org_api_tokens.update()
        .where(_T.token_hash == digest, _T.revoked_at.is_(None), active_user)
        .values(last_used_at=now)
        .returning(_T.login)
    ).scalar_one_or_none()
