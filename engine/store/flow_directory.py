"""Organisation reads that approver resolution needs (engine/runtime/flows/resolve.py):
role members, managers of departments and regions, dealers' facts and users, admins,
which logins are active. Small indexed queries over the organisation tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from engine.org.principal import ADMIN_ROLE
from engine.store.org_tables import (
    org_dealers,
    org_department_managers,
    org_departments,
    org_region_managers,
    org_regions,
    org_role_members,
    org_users,
)


def _active(login_column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.exists().where(org_users.c.login == login_column, org_users.c.active.is_(True))


def role_members(conn: sa.Connection, role: str) -> list[str]:
    """Active members of an organisation role, by login."""
    m = org_role_members
    return list(
        conn.execute(
            sa.select(m.c.login).where(m.c.role == role, _active(m.c.login)).order_by(m.c.login)
        ).scalars()
    )


def admins(conn: sa.Connection) -> list[str]:
    return role_members(conn, ADMIN_ROLE)


def department_managers(conn: sa.Connection, code: str) -> list[str]:
    m = org_department_managers
    return list(
        conn.execute(
            sa.select(m.c.login)
            .where(m.c.department == code, _active(m.c.login))
            .order_by(m.c.login)
        ).scalars()
    )


def region_managers(conn: sa.Connection, code: str) -> list[str]:
    m = org_region_managers
    return list(
        conn.execute(
            sa.select(m.c.login).where(m.c.region == code, _active(m.c.login)).order_by(m.c.login)
        ).scalars()
    )


def parent_of(conn: sa.Connection, kind: str, code: str) -> str | None:
    table = {"region": org_regions, "department": org_departments, "dealer": org_dealers}[kind]
    return conn.execute(sa.select(table.c.parent).where(table.c.code == code)).scalar()


def dealer_facts(conn: sa.Connection, code: str) -> tuple[str | None, str | None] | None:
    """(region, sales rep) of a dealer, or None when there is no such dealer."""
    row = conn.execute(
        sa.select(org_dealers.c.region, org_dealers.c.sales_rep).where(org_dealers.c.code == code)
    ).first()
    return (row[0], row[1]) if row else None


def dealer_users(conn: sa.Connection, code: str) -> list[str]:
    """The active users who belong to a dealer (its portal users)."""
    u = org_users
    return list(
        conn.execute(
            sa.select(u.c.login).where(u.c.dealer == code, u.c.active.is_(True)).order_by(u.c.login)
        ).scalars()
    )


def user_facts(conn: sa.Connection, login: str) -> tuple[str | None, str | None] | None:
    """(main department, main region) of a user."""
    row = conn.execute(
        sa.select(org_users.c.department, org_users.c.region).where(org_users.c.login == login)
    ).first()
    return (row[0], row[1]) if row else None


def active_logins(conn: sa.Connection, logins: Sequence[str]) -> set[str]:
    """Which of ``logins`` are active users."""
    wanted = sorted(set(logins))
    if not wanted:
        return set()
    u = org_users
    return set(
        conn.execute(
            sa.select(u.c.login).where(u.c.login.in_(wanted), u.c.active.is_(True))
        ).scalars()
    )
