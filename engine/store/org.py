"""Reads of the organisation the service needs on every call: who an actor is.

:func:`principal_facts` resolves a login to a :class:`~engine.org.principal.Principal`
in three indexed queries; :func:`org_generation` tells a process whether the people
it resolved earlier are still current (every change moves it on:
:func:`bump_org_generation`). Row-scope predicates read the closure tables directly
(engine/service/permissions.py builds them over these tables).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from engine.org.principal import EXTERNAL, Principal
from engine.store.driver import Ahead, DriverStatement, send_ahead
from engine.store.engine_tables import app_generations
from engine.store.org_tables import (
    app_role_map,
    org_dealers,
    org_departments,
    org_generations,
    org_memberships,
    org_region_managers,
    org_regions,
    org_role_members,
    org_users,
)
from engine.store.org_tables import org_roles as org_roles_table

ORG = "org"
_G = org_generations.c
_GENERATION = DriverStatement(sa.select(_G.generation).where(_G.name == ORG))
_UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

_U = org_users.c
_USER = sa.select(
    _U.login,
    _U.name,
    _U.kind,
    _U.active,
    _U.locale,
    _U.department,
    _U.region,
    _U.dealer,
    sa.select(org_dealers.c.region)
    .where(org_dealers.c.code == _U.dealer)
    .scalar_subquery()
    .label("dealer_region"),
).where(_U.login == sa.bindparam("login"))
# roles, departments and managed regions of one login in one statement
_LINKS = sa.union_all(
    sa.select(sa.literal("role").label("kind"), org_role_members.c.role.label("code")).where(
        org_role_members.c.login == sa.bindparam("login")
    ),
    sa.select(sa.literal("department"), org_memberships.c.department).where(
        org_memberships.c.login == sa.bindparam("login")
    ),
    sa.select(sa.literal("region"), org_region_managers.c.region).where(
        org_region_managers.c.login == sa.bindparam("login")
    ),
)


def org_generation(conn: sa.Connection) -> int:
    """The organisation's generation now (0 before its first change)."""
    row = _GENERATION.first(conn, {})
    return 0 if row is None else int(row[0])


def request_org_generation(conn: sa.Connection) -> Ahead:
    """Read the organisation's generation with the transaction's next statement.

    A write checks it before COMMIT (as it does the app's generation) instead of
    spending a round trip of its own on it first.
    """
    return send_ahead(conn, _GENERATION, {})


_ORG_SUBQUERY = sa.func.coalesce(
    sa.select(_G.generation).where(_G.name == ORG).scalar_subquery(), 0
)
#: SQLite writes: the app's and the organisation's generations in one statement (the
#: write holds the database lock, so nothing changes between them)
_BOTH_GENERATIONS = DriverStatement(
    sa.select(
        sa.func.coalesce(
            sa.select(app_generations.c.generation)
            .where(app_generations.c.app == sa.bindparam("app"))
            .scalar_subquery(),
            0,
        ),
        _ORG_SUBQUERY,
    )
)
#: PostgreSQL writes: the same, with the share lock on the app's row that keeps a publish
#: from committing under the write (no row before the app's first publish)
_BOTH_GENERATIONS_SHARED = DriverStatement(
    sa.select(app_generations.c.generation, _ORG_SUBQUERY)
    .where(app_generations.c.app == sa.bindparam("app"))
    .with_for_update(read=True, of=app_generations)
)


class _OrgColumn:
    """The organisation's generation out of a combined generations row (see above)."""

    def __init__(self, conn: sa.Connection, ahead: Ahead):
        self.conn, self.ahead = conn, ahead

    def row(self) -> tuple[int] | None:
        row = self.ahead.row()
        if row is None:  # the app was never published: read it on its own
            return (org_generation(self.conn),)
        return (row[1],)


def request_write_generations(conn: sa.Connection, app: str) -> tuple[Ahead, Any]:
    """(app generation, organisation generation) of a write, sent with its next statement.

    One statement for both; read them with ``generation_of`` / :func:`org_generation_of`.
    """
    shared = conn.dialect.name == "postgresql"
    statement = _BOTH_GENERATIONS_SHARED if shared else _BOTH_GENERATIONS
    both = send_ahead(conn, statement, {"app": app})
    return both, _OrgColumn(conn, both)


def request_read_generations(conn: sa.Connection, app: str) -> tuple[Ahead, Any]:
    """Both generations of a read, sent with its next statement (no lock is taken)."""
    both = send_ahead(conn, _BOTH_GENERATIONS, {"app": app})
    return both, _OrgColumn(conn, both)


def org_generation_of(ahead: Any) -> int:
    """The generation a :func:`request_org_generation` read (0 before the first change)."""
    row = ahead.row()
    return 0 if row is None else int(row[0])


def bump_org_generation(conn: sa.Connection) -> int:
    """Move the organisation's generation on (in the changing transaction); the new one."""
    insert = _UPSERTS[conn.dialect.name]
    stmt = (
        insert(org_generations)
        .values(name=ORG, generation=1)
        .on_conflict_do_update(index_elements=[_G.name], set_={"generation": _G.generation + 1})
        .returning(_G.generation)
    )
    return int(conn.execute(stmt).scalar_one())


def principal_facts(conn: sa.Connection, login: str) -> Principal | None:
    """The principal of ``login``, or None when the organisation has no such user."""
    user = conn.execute(_USER, {"login": login}).mappings().first()
    if user is None:
        return None
    roles: list[str] = []
    departments: list[str] = []
    managed: list[str] = []
    for kind, code in conn.execute(_LINKS, {"login": login}):
        {"role": roles, "department": departments, "region": managed}[kind].append(code)
    main = user["department"]
    ordered = ([main] if main else []) + sorted(d for d in departments if d != main)
    external = user["kind"] == EXTERNAL
    region = user["dealer_region"] if external else user["region"]
    regions = ([user["region"]] if user["region"] and not external else []) + sorted(
        r for r in set(managed) if r != user["region"]
    )
    return Principal(
        login=user["login"],
        name=user["name"],
        kind=user["kind"],
        active=bool(user["active"]),
        known=True,
        locale=user["locale"],
        roles=frozenset(roles),
        department=main,
        departments=tuple(ordered),
        dealer=user["dealer"] if external else None,
        region=region,
        regions=tuple(regions),
    )


_NAMED = {
    "user": (org_users.c.login, org_users.c.name),
    "department": (org_departments.c.code, org_departments.c.name),
    "region": (org_regions.c.code, org_regions.c.name),
    "dealer": (org_dealers.c.code, org_dealers.c.name),
}
#: field types whose values are organisation codes
ORG_KINDS = tuple(_NAMED)


def names_of(conn: sa.Connection, kind: str, codes: Iterable[str]) -> dict[str, str]:
    """Display names of organisation codes of one kind (``user``, ``department``...)."""
    wanted = sorted({c for c in codes if isinstance(c, str) and c})
    if not wanted:
        return {}
    code, name = _NAMED[kind]
    out: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        out.update((c, n) for c, n in conn.execute(sa.select(code, name).where(code.in_(chunk))))
    return out


def has_people(conn: sa.Connection) -> bool:
    """Whether the organisation has any user yet."""
    return conn.execute(sa.select(_U.login).limit(1)).first() is not None


def role_map(conn: sa.Connection, app: str) -> dict[str, tuple[str, bool]]:
    """An app's roles: app role -> (organisation role, administers the app)."""
    m = app_role_map.c
    rows = conn.execute(sa.select(m.role, m.org_role, m.admin).where(m.app == app))
    return {role: (org_role, bool(admin)) for role, org_role, admin in rows}


def save_role_map(conn: sa.Connection, app: str, roles: dict[str, tuple[str, bool]]) -> None:
    """Replace an app's role map (in the installing transaction)."""
    m = app_role_map.c
    conn.execute(sa.delete(app_role_map).where(m.app == app))
    if roles:
        conn.execute(
            sa.insert(app_role_map),
            [
                {"app": app, "role": role, "org_role": org_role, "admin": admin}
                for role, (org_role, admin) in sorted(roles.items())
            ],
        )


def org_roles(conn: sa.Connection) -> dict[str, str]:
    """Every organisation role: code -> name."""
    return dict(conn.execute(sa.select(org_roles_table.c.code, org_roles_table.c.name)).all())
