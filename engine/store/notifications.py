"""SQL of the notifications centre: people's messages, their recipients, the digest.

One ``notifications`` row per message and recipient (engine/store/notification_tables.py).
Inserting is idempotent on ``(source_key, user_id)``: a retried delivery inserts nothing
twice. Every read and change of a person's messages names the person (``user_id``), so
one person never reads or marks another's.

The organisation queries here find the people a message goes to (active users only)
and who has open approval tasks, for the ``notify`` deliverer
(engine/service/notifications.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.store.engine_tables import audit_log
from engine.store.flow_tables import flow_instances, flow_tasks
from engine.store.notification_tables import notifications
from engine.store.org_tables import org_memberships, org_role_members, org_users

#: the columns a list of notifications shows
_COLUMNS = (
    notifications.c.id,
    notifications.c.user_id,
    notifications.c.app,
    notifications.c.form,
    notifications.c.record_id,
    notifications.c.title,
    notifications.c.body,
    notifications.c.sender,
    notifications.c.created_at,
    notifications.c.read_at,
    notifications.c.emailed_at,
)
#: the unread count of the navigation bar (one indexed count per page), built once
_UNREAD = (
    sa.select(sa.func.count())
    .select_from(notifications)
    .where(notifications.c.user_id == sa.bindparam("user_id"), notifications.c.read_at.is_(None))
)
_USER_COLUMNS = (
    org_users.c.login,
    org_users.c.name,
    org_users.c.email,
    org_users.c.locale,
    org_users.c.active,
)


# -- writing ------------------------------------------------------------------------------
def insert_once(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the rows whose ``(source_key, user_id)`` is not there yet; how many were new."""
    if not rows:
        return 0
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(notifications).on_conflict_do_nothing(
        index_elements=["source_key", "user_id"]
    )
    keys = sorted({row["source_key"] for row in rows})
    count = (
        sa.select(sa.func.count())
        .select_from(notifications)
        .where(notifications.c.source_key.in_(keys))
    )
    # an executemany's rowcount is not reliable on every driver: count instead
    before = conn.execute(count).scalar_one()
    conn.execute(statement, [dict(row) for row in rows])
    return int(conn.execute(count).scalar_one()) - int(before)


def of_source(conn: sa.Connection, source_key: str) -> list[Mapping[str, Any]]:
    """The rows one delivery wrote (every recipient), by id."""
    query = (
        sa.select(*_COLUMNS)
        .where(notifications.c.source_key == source_key)
        .order_by(notifications.c.id)
    )
    return list(conn.execute(query).mappings())


def mark_emailed(conn: sa.Connection, notification_id: int, now: datetime) -> bool:
    """Note that the e-mail copy of one row went out (False: it was noted already)."""
    result = conn.execute(
        notifications.update()
        .where(notifications.c.id == notification_id, notifications.c.emailed_at.is_(None))
        .values(emailed_at=now)
    )
    return result.rowcount == 1


# -- a person's messages ------------------------------------------------------------------
def page_of(
    conn: sa.Connection, user_id: str, *, unread_only: bool, limit: int, offset: int
) -> tuple[list[Mapping[str, Any]], int]:
    """A person's messages, newest first, and how many there are in all."""
    where = [notifications.c.user_id == user_id]
    if unread_only:
        where.append(notifications.c.read_at.is_(None))
    rows = conn.execute(
        sa.select(*_COLUMNS)
        .where(*where)
        .order_by(notifications.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    total = conn.execute(
        sa.select(sa.func.count()).select_from(notifications).where(*where)
    ).scalar_one()
    return list(rows), int(total)


def unread_count(conn: sa.Connection, user_id: str) -> int:
    """How many of a person's messages are unread (on the partial unread index)."""
    return int(conn.execute(_UNREAD, {"user_id": user_id}).scalar_one())


def one_of(conn: sa.Connection, user_id: str, notification_id: int) -> Mapping[str, Any] | None:
    """One of a person's messages, or None (absent, or someone else's)."""
    query = sa.select(*_COLUMNS).where(
        notifications.c.id == notification_id, notifications.c.user_id == user_id
    )
    return conn.execute(query).mappings().first()


def mark_read(conn: sa.Connection, user_id: str, ids: Iterable[int] | None, now: datetime) -> int:
    """Mark a person's unread messages read (``ids`` None: all of them); how many changed.
    Ids of other people's messages change nothing."""
    where = [notifications.c.user_id == user_id, notifications.c.read_at.is_(None)]
    if ids is not None:
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        where.append(notifications.c.id.in_(wanted))
    result = conn.execute(notifications.update().where(*where).values(read_at=now))
    return int(result.rowcount or 0)


# -- the organisation: who a message goes to ------------------------------------------------
def users_by_login(conn: sa.Connection, logins: Iterable[str]) -> dict[str, Mapping[str, Any]]:
    """login -> (login, name, email, locale, active) of the users that exist."""
    wanted = sorted(set(logins))
    if not wanted:
        return {}
    rows = conn.execute(sa.select(*_USER_COLUMNS).where(org_users.c.login.in_(wanted)))
    return {row["login"]: row for row in rows.mappings()}


def role_members(conn: sa.Connection, roles: Iterable[str]) -> list[str]:
    """The logins of the members of the organisation roles ``roles``."""
    wanted = sorted(set(roles))
    if not wanted:
        return []
    query = sa.select(org_role_members.c.login).where(org_role_members.c.role.in_(wanted))
    return sorted(set(conn.execute(query).scalars()))


def department_members(conn: sa.Connection, departments: Iterable[str]) -> list[str]:
    """The logins of the people in the departments (any membership, main or not)."""
    wanted = sorted(set(departments))
    if not wanted:
        return []
    query = sa.select(org_memberships.c.login).where(org_memberships.c.department.in_(wanted))
    return sorted(set(conn.execute(query).scalars()))


def password_must_change(conn: sa.Connection, login: str) -> bool | None:
    """Whether the user still has to replace the password they were given (None: no user)."""
    query = sa.select(org_users.c.password_must_change).where(org_users.c.login == login)
    found = conn.execute(query).first()
    return None if found is None else bool(found[0])


def created_by(conn: sa.Connection, login: str, actor: str) -> bool:
    """Whether the organisation's audit says ``actor`` created the user ``login``."""
    query = (
        sa.select(audit_log.c.detail)
        .where(
            audit_log.c.form == "org",
            audit_log.c.action == "user.create",
            audit_log.c.actor == actor,
        )
        .order_by(audit_log.c.id.desc())
    )
    return any(
        isinstance(detail, Mapping) and detail.get("login") == login
        for detail in conn.execute(query).scalars()
    )


# -- the digest: open approval tasks ----------------------------------------------------------
def open_tasks(conn: sa.Connection, app: str | None) -> list[Mapping[str, Any]]:
    """Every open (pending) approval task with its record, oldest first per person:
    assignee, task id, node, created_at, and the instance's app, form, record_id, title."""
    t, i = flow_tasks, flow_instances
    where = [t.c.status == "pending", t.c.live.is_(True)]
    if app is not None:
        where.append(i.c.app == app)
    query = (
        sa.select(
            t.c.assignee,
            t.c.id.label("task_id"),
            t.c.node,
            t.c.created_at,
            i.c.app,
            i.c.form,
            i.c.record_id,
            i.c.title,
        )
        .select_from(t.join(i, i.c.id == t.c.instance_id))
        .where(*where)
        .order_by(t.c.assignee, t.c.created_at, t.c.id)
    )
    return list(conn.execute(query).mappings())
