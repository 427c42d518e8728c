"""Reads of the organisation as lists, for the admin pages (SQLAlchemy Core only).

A page of users with their roles (two queries), and each tree (departments, regions,
dealers) with every node's depth from its closure table and its managers or people.
Nothing here checks who reads: engine/service/org.py lets administrators only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from engine.store.org_tables import (
    org_dealer_paths,
    org_dealers,
    org_department_managers,
    org_department_paths,
    org_departments,
    org_region_managers,
    org_region_paths,
    org_regions,
    org_role_members,
    org_roles,
    org_users,
)

_U = org_users.c
#: user columns a list shows (never the password hash)
_USER_COLUMNS = (
    _U.login,
    _U.name,
    _U.kind,
    _U.active,
    _U.department,
    _U.dealer,
    _U.region,
    _U.password_hash.is_not(None).label("has_password"),
)


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def users_page(
    conn: sa.Connection, search: str | None, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Users whose login or name contains ``search`` (any case), by login; and their total.

    Each row has the user's roles (sorted) under ``roles``.
    """
    where: list[Any] = []
    if search:
        pattern = f"%{_escaped(search.lower())}%"
        where.append(
            sa.or_(
                sa.func.lower(_U.login).like(pattern, escape="\\"),
                sa.func.lower(_U.name).like(pattern, escape="\\"),
            )
        )
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(org_users).where(*where)).scalar_one()
    )
    rows = [
        dict(row)
        for row in conn.execute(
            sa.select(*_USER_COLUMNS).where(*where).order_by(_U.login).offset(offset).limit(limit)
        ).mappings()
    ]
    roles = _links(
        conn, org_role_members.c.login, org_role_members.c.role, [r["login"] for r in rows]
    )
    for row in rows:
        row["active"] = bool(row["active"])
        row["has_password"] = bool(row["has_password"])
        row["roles"] = tuple(roles.get(row["login"], ()))
    return rows, total


def _links(
    conn: sa.Connection,
    key: sa.ColumnElement[Any],
    value: sa.ColumnElement[Any],
    keys: Iterable[str],
) -> dict[str, list[str]]:
    """``key`` -> sorted ``value``s of a link table, for the given keys (or all: None)."""
    wanted = sorted(set(keys))
    out: dict[str, list[str]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        for k, v in conn.execute(sa.select(key, value).where(key.in_(chunk)).order_by(key, value)):
            out.setdefault(k, []).append(v)
    return out


def _all_links(
    conn: sa.Connection, key: sa.ColumnElement[Any], value: sa.ColumnElement[Any]
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in conn.execute(sa.select(key, value).order_by(key, value)):
        out.setdefault(k, []).append(v)
    return out


def _tree(
    conn: sa.Connection, table: sa.Table, paths: sa.Table, *columns: str
) -> list[dict[str, Any]]:
    """Every node of a tree with ``depth`` (its number of ancestors), parents before children.

    The depth is one grouped query over the closure table; the order (each node after its
    parent, siblings by code) is a walk of the rows already read.
    """
    p = paths.c
    depth = (
        sa.select(p.descendant, sa.func.max(p.depth).label("depth"))
        .group_by(p.descendant)
        .subquery()
    )
    c = table.c
    rows = [
        dict(row)
        for row in conn.execute(
            sa.select(c.code, c.name, c.parent, *(c[name] for name in columns), depth.c.depth)
            .select_from(table.outerjoin(depth, depth.c.descendant == c.code))
            .order_by(c.code)
        ).mappings()
    ]
    return _ordered(rows)


def _ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    codes = {row["code"] for row in rows}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        parent = row["parent"] if row["parent"] in codes else None
        children.setdefault(parent, []).append(row)
    out: list[dict[str, Any]] = []
    stack = list(reversed(children.get(None, [])))
    seen: set[str] = set()
    while stack:
        row = stack.pop()
        if row["code"] in seen:
            continue
        seen.add(row["code"])
        row["depth"] = int(row["depth"] or 0)
        out.append(row)
        stack.extend(reversed(children.get(row["code"], [])))
    # a node on a cycle made outside the engine: still listed, at the end
    out += [dict(row, depth=int(row["depth"] or 0)) for row in rows if row["code"] not in seen]
    return out


def departments(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every department (tree order, ``depth``) with its ``managers`` and ``people`` count."""
    rows = _tree(conn, org_departments, org_department_paths)
    managers = _all_links(
        conn, org_department_managers.c.department, org_department_managers.c.login
    )
    counts = dict(
        conn.execute(
            sa.select(_U.department, sa.func.count())
            .where(_U.department.is_not(None))
            .group_by(_U.department)
        ).all()
    )
    for row in rows:
        row["managers"] = tuple(managers.get(row["code"], ()))
        row["people"] = int(counts.get(row["code"], 0))
    return rows


def regions(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every region (tree order, ``depth``, ``level``) with its ``managers``."""
    rows = _tree(conn, org_regions, org_region_paths, "level")
    managers = _all_links(conn, org_region_managers.c.region, org_region_managers.c.login)
    for row in rows:
        row["managers"] = tuple(managers.get(row["code"], ()))
    return rows


def dealers(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every dealer (tree order, ``depth``, region, sales rep, active) with its ``users``."""
    rows = _tree(conn, org_dealers, org_dealer_paths, "region", "sales_rep", "active")
    people = _all_links(conn, _U.dealer, _U.login)
    for row in rows:
        row["active"] = bool(row["active"])
        row["users"] = tuple(people.get(row["code"], ()))
    return rows


def roles(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every role by code with its ``members``."""
    r = org_roles.c
    members = _all_links(conn, org_role_members.c.role, org_role_members.c.login)
    return [
        {"code": code, "name": name, "members": tuple(members.get(code, ()))}
        for code, name in conn.execute(sa.select(r.code, r.name).order_by(r.code))
    ]
