"""Loading an organisation file into the tables (SQLAlchemy Core only).

:func:`apply_snapshot` makes the database say what an organisation file says, and no
more: every entity of the file is inserted or updated, the links it lists (department
and region managers, role members, a user's departments) are replaced to match, and a
tree's closure table is rebuilt, with one recursive INSERT ... SELECT, only when a node
of that tree was added or re-parented. Entities absent from the file are left alone.
Loading the same file twice changes nothing the second time: rows are compared before
anything is written, and the summary says so (``changed`` is False), so the caller
neither audits nor moves the organisation's generation.

App role maps are read and written by :mod:`engine.store.org` (``role_map``,
``save_role_map``). The caller (engine/service/org.py) owns the transaction, the audit entry and
``bump_org_generation``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.org.org_file import OrgSnapshot
from engine.store.org_tables import (
    org_dealer_paths,
    org_dealers,
    org_department_managers,
    org_department_paths,
    org_departments,
    org_memberships,
    org_region_managers,
    org_region_paths,
    org_regions,
    org_role_members,
    org_roles,
    org_users,
)

#: codes per IN (...) list when reading existing rows
CHUNK = 500
#: deepest tree the closure rebuild follows (guards against a cycle made outside the engine)
MAX_TREE_DEPTH = 100


# -- summary --------------------------------------------------------------------------
@dataclass(frozen=True)
class KindSummary:
    """What loading did to one kind of entity."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


@dataclass(frozen=True)
class LoadSummary:
    """What loading an organisation file did, per kind."""

    departments: KindSummary = KindSummary()
    roles: KindSummary = KindSummary()
    regions: KindSummary = KindSummary()
    dealers: KindSummary = KindSummary()
    users: KindSummary = KindSummary()

    @property
    def changed(self) -> bool:
        return any(getattr(self, f.name).changed for f in fields(self))

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            f.name: {
                "created": getattr(self, f.name).created,
                "updated": getattr(self, f.name).updated,
                "unchanged": getattr(self, f.name).unchanged,
            }
            for f in fields(self)
        }

    def lines(self) -> list[str]:
        """One line per kind: ``users: 3 created, 1 updated, 20 unchanged``."""
        return [
            f"{name}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged"
            for name, counts in self.as_dict().items()
        ]


# -- loading a snapshot ---------------------------------------------------------------
@dataclass(frozen=True)
class _Link:
    """A link table owned by one kind: ``owner`` column -> rows of the ``member`` columns."""

    table: sa.Table
    owner: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class _Kind:
    table: sa.Table
    key: str
    paths: sa.Table | None = None
    link: _Link | None = None
    #: columns the file may leave unsaid (None in the snapshot: keep the stored value)
    optional: tuple[str, ...] = ()
    #: whether the table has created_at / updated_at
    stamped: bool = False


_DEPARTMENTS = _Kind(
    org_departments,
    "code",
    org_department_paths,
    _Link(org_department_managers, "department", ("login",)),
)
_ROLES = _Kind(org_roles, "code", link=_Link(org_role_members, "role", ("login",)))
_REGIONS = _Kind(
    org_regions, "code", org_region_paths, _Link(org_region_managers, "region", ("login",))
)
_DEALERS = _Kind(org_dealers, "code", org_dealer_paths, optional=("active",))
_USERS = _Kind(
    org_users,
    "login",
    link=_Link(org_memberships, "login", ("department", "main")),
    optional=("active",),
    stamped=True,
)


def apply_snapshot(conn: sa.Connection, snapshot: OrgSnapshot, now: datetime) -> LoadSummary:
    """Upsert every entity of ``snapshot``; what changed, per kind (see the module doc)."""
    departments = _apply(
        conn,
        _DEPARTMENTS,
        {d.code: {"name": d.name, "parent": d.parent} for d in snapshot.departments},
        {d.code: {(m,) for m in d.managers} for d in snapshot.departments},
        now,
    )
    roles = _apply(
        conn,
        _ROLES,
        {r.code: {"name": r.name} for r in snapshot.roles},
        {r.code: {(m,) for m in r.members} for r in snapshot.roles},
        now,
    )
    regions = _apply(
        conn,
        _REGIONS,
        {r.code: {"name": r.name, "parent": r.parent, "level": r.level} for r in snapshot.regions},
        {r.code: {(m,) for m in r.managers} for r in snapshot.regions},
        now,
    )
    dealers = _apply(
        conn,
        _DEALERS,
        {
            d.code: {
                "name": d.name,
                "parent": d.parent,
                "region": d.region,
                "sales_rep": d.sales_rep,
                "active": d.active,
            }
            for d in snapshot.dealers
        },
        {},
        now,
    )
    users = _apply(
        conn,
        _USERS,
        {
            u.login: {
                "name": u.name,
                "kind": u.kind,
                "email": u.email,
                "mobile": u.mobile,
                "locale": u.locale,
                "department": u.department,
                "leader": u.leader,
                "region": u.region,
                "dealer": u.dealer,
                "active": u.active,
            }
            for u in snapshot.users
        },
        {u.login: {(d, d == u.department) for d in u.departments} for u in snapshot.users},
        now,
    )
    return LoadSummary(departments, roles, regions, dealers, users)


def _apply(
    conn: sa.Connection,
    kind: _Kind,
    wanted: dict[str, dict[str, Any]],
    wanted_links: dict[str, set[tuple[Any, ...]]],
    now: datetime,
) -> KindSummary:
    if not wanted:
        return KindSummary()
    table, key = kind.table, kind.table.c[kind.key]
    columns = [c for c in next(iter(wanted.values()))]
    stored: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(wanted)):
        rows = conn.execute(
            sa.select(key, *(table.c[c] for c in columns)).where(key.in_(chunk))
        ).mappings()
        for row in rows:
            stored[row[kind.key]] = {c: row[c] for c in columns}
    stored_links = _read_links(conn, kind.link, sorted(wanted)) if kind.link else {}
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    relink: list[str] = []
    reparented = False
    unchanged = 0
    for code, values in wanted.items():
        said = {c: v for c, v in values.items() if not (c in kind.optional and v is None)}
        links_differ = kind.link is not None and stored_links.get(code, set()) != wanted_links.get(
            code, set()
        )
        before = stored.get(code)
        if before is None:
            row = {kind.key: code, **said}
            if kind.stamped:
                row.update(created_at=now, updated_at=now)
            inserts.append(row)
            reparented = reparented or kind.paths is not None
            if kind.link is not None and wanted_links.get(code):
                relink.append(code)
            continue
        differs = {c: v for c, v in said.items() if before[c] != v}
        if differs:
            if "parent" in differs:
                reparented = True
            if kind.stamped:
                differs["updated_at"] = now
            updates.append({"_key": code, **differs})
        if links_differ:
            relink.append(code)
            if kind.stamped and not differs:
                updates.append({"_key": code, "updated_at": now})
        if not differs and not links_differ:
            unchanged += 1
    for group in _same_keys(inserts):
        conn.execute(table.insert(), group)
    for group in _same_keys(updates):
        names = [c for c in group[0] if c != "_key"]
        conn.execute(
            table.update()
            .where(key == sa.bindparam("_key"))
            .values({c: sa.bindparam(c, type_=table.c[c].type) for c in names}),
            group,
        )
    if relink and kind.link is not None:
        _replace_links(conn, kind.link, relink, wanted_links)
    if reparented and kind.paths is not None:
        rebuild_paths(conn, table, kind.paths)
    created = len(inserts)
    return KindSummary(created, len(wanted) - created - unchanged, unchanged)


def _read_links(
    conn: sa.Connection, link: _Link, owners: list[str]
) -> dict[str, set[tuple[Any, ...]]]:
    table = link.table
    out: dict[str, set[tuple[Any, ...]]] = {}
    for chunk in _chunks(owners):
        rows = conn.execute(
            sa.select(table.c[link.owner], *(table.c[m] for m in link.members)).where(
                table.c[link.owner].in_(chunk)
            )
        )
        for owner, *members in rows:
            out.setdefault(owner, set()).add(tuple(members))
    return out


def _replace_links(
    conn: sa.Connection, link: _Link, owners: list[str], wanted: dict[str, set[tuple[Any, ...]]]
) -> None:
    table = link.table
    for chunk in _chunks(owners):
        conn.execute(table.delete().where(table.c[link.owner].in_(chunk)))
    rows = [
        {link.owner: owner, **dict(zip(link.members, members, strict=True))}
        for owner in owners
        for members in sorted(wanted.get(owner, ()))
    ]
    if rows:
        conn.execute(table.insert(), rows)


def rebuild_paths(conn: sa.Connection, tree: sa.Table, paths: sa.Table) -> None:
    """Rebuild a closure table from its tree in one set-based statement (recursive CTE)."""
    conn.execute(paths.delete())
    node = tree.c
    walk = sa.select(
        node.code.label("ancestor"),
        node.code.label("descendant"),
        sa.literal(0, sa.Integer).label("depth"),
    ).cte("walk", recursive=True)
    walk = walk.union_all(
        sa.select(walk.c.ancestor, node.code, walk.c.depth + 1).where(
            node.parent == walk.c.descendant, walk.c.depth < MAX_TREE_DEPTH
        )
    )
    conn.execute(
        paths.insert().from_select(
            ["ancestor", "descendant", "depth"],
            sa.select(walk.c.ancestor, walk.c.descendant, walk.c.depth),
        )
    )


def _chunks(codes: Sequence[str]) -> Iterable[list[str]]:
    for start in range(0, len(codes), CHUNK):
        yield list(codes[start : start + CHUNK])


def _same_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows grouped by their set of keys (one executemany per group)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())
