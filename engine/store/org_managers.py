"""Managers up the department tree, one SQL query over the closure table per question.

The rules (docs/org.md, "Managers"), as DingTalk's approval designer has them:

* the chain starts at the user's main department, or at its parent when the user is
  themselves a manager of their main department;
* level 1 is the managers of the starting department, level k the managers of its
  ancestor k-1 steps up (``org_department_paths.depth = k - 1``);
* a user's direct ``leader``, when set, replaces level 1 (only level 1);
* a department without managers gives an empty level: the caller decides whether to
  skip it, go further up or stop;
* inactive managers (and an inactive leader) are left out.

Every function returns ``(level, login)`` pairs (the batch ones ``(subject, level,
login)``) ordered by subject, level, then login, and runs exactly one statement,
whatever the number of logins or levels.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from engine.store.org_tables import (
    org_department_managers,
    org_department_paths,
    org_departments,
    org_users,
)

#: highest level asked for (trees are never this deep)
MAX_LEVEL = 100

_U = org_users.alias("subject")
_M = org_department_managers
_D = org_departments
_P = org_department_paths
_ACTIVE = org_users.alias("manager")


def _statement(exact: bool) -> sa.Select:
    """The query for many subjects (expanding ``logins``) at ``level`` or up to it."""
    manages_own = (
        sa.select(_M.c.login)
        .where(_M.c.department == _U.c.department, _M.c.login == _U.c.login)
        .exists()
    )
    parent = sa.select(_D.c.parent).where(_D.c.code == _U.c.department).scalar_subquery()
    start = (
        sa.select(
            _U.c.login.label("subject"),
            sa.case((manages_own, parent), else_=_U.c.department).label("department"),
            _U.c.leader,
        )
        .where(_U.c.login.in_(sa.bindparam("logins", expanding=True)))
        .cte("start")
    )
    level = (_P.c.depth + 1).label("level")
    wanted = level == sa.bindparam("level") if exact else level <= sa.bindparam("level")
    from_departments = (
        sa.select(start.c.subject, level, _M.c.login)
        .select_from(start)
        .join(_P, _P.c.descendant == start.c.department)
        .join(_M, _M.c.department == _P.c.ancestor)
        .join(_ACTIVE, sa.and_(_ACTIVE.c.login == _M.c.login, _ACTIVE.c.active.is_(True)))
        .where(wanted, sa.or_(_P.c.depth > 0, start.c.leader.is_(None)))
    )
    one = sa.literal(1, sa.Integer)
    first_wanted = one == sa.bindparam("level") if exact else one <= sa.bindparam("level")
    from_leader = (
        sa.select(start.c.subject, one.label("level"), start.c.leader.label("login"))
        .select_from(start)
        .join(_ACTIVE, sa.and_(_ACTIVE.c.login == start.c.leader, _ACTIVE.c.active.is_(True)))
        .where(first_wanted)
    )
    union = sa.union_all(from_departments, from_leader).subquery("chain")
    return sa.select(union.c.subject, union.c.level, union.c.login).order_by(
        union.c.subject, union.c.level, union.c.login
    )


_AT_LEVEL = _statement(exact=True)
_UP_TO = _statement(exact=False)


def managers_at_level(conn: sa.Connection, login: str, level: int) -> list[tuple[int, str]]:
    """The managers ``level`` levels up from ``login`` (level >= 1): (level, login) pairs."""
    return [(lv, who) for _, lv, who in managers_at_level_of(conn, [login], level)]


def managers_up_to(conn: sa.Connection, login: str, level: int) -> list[tuple[int, str]]:
    """The managers of levels 1..``level`` above ``login``: (level, login) pairs."""
    return [(lv, who) for _, lv, who in managers_up_to_of(conn, [login], level)]


def managers_at_level_of(
    conn: sa.Connection, logins: Iterable[str], level: int
) -> list[tuple[str, int, str]]:
    """:func:`managers_at_level` for many logins at once: (subject, level, login) triples."""
    return _run(conn, _AT_LEVEL, logins, level)


def managers_up_to_of(
    conn: sa.Connection, logins: Iterable[str], level: int
) -> list[tuple[str, int, str]]:
    """:func:`managers_up_to` for many logins at once: (subject, level, login) triples."""
    return _run(conn, _UP_TO, logins, level)


def _run(
    conn: sa.Connection, statement: sa.Select, logins: Iterable[str], level: int
) -> list[tuple[str, int, str]]:
    wanted = sorted(set(logins))
    if not wanted or level < 1:
        return []
    rows = conn.execute(statement, {"logins": wanted, "level": min(level, MAX_LEVEL)})
    return [(subject, int(lv), who) for subject, lv, who in rows]
