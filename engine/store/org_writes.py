"""Writes of the organisation (SQLAlchemy Core only): loading a file, users, API tokens.

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

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.org.org_file import OrgSnapshot
from engine.store.org_tables import (
    org_api_tokens,
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


# -- single entities ------------------------------------------------------------------
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
    row = {c: values[c] for c in ("login", *USER_FIELDS, "password_hash", "active") if c in values}
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
