"""The organisation's tables: users, departments, roles, regions, dealers, API tokens.

Every tree (departments, regions, dealers) keeps a closure table beside it
(``*_paths``: one row per ancestor/descendant pair, ``depth`` 0 for the node itself),
so "everything under X" and "the managers N levels up" are single indexed queries,
never Python loops over parents. The closure rows are rebuilt by the store whenever a
node's parent changes (:mod:`engine.store.org`).

Codes (``login``, department, region, dealer and role codes) are the stable text ids
that ``user``, ``department``, ``region`` and ``dealer`` fields store; names change
freely. ``org_generations`` moves on with every change, so each process can keep the
people it resolved until the organisation changes.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime

#: length of every code (matches the ``user``/``department`` field columns)
CODE = 64

org_generations = sa.Table(
    "org_generations",
    metadata,
    sa.Column("name", sa.String(20), primary_key=True),
    sa.Column("generation", sa.BigInteger, nullable=False),
)

org_users = sa.Table(
    "org_users",
    metadata,
    sa.Column("login", sa.String(CODE), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("locale", sa.String(10), nullable=False, server_default="zh-CN"),
    sa.Column("email", sa.String(254)),
    sa.Column("mobile", sa.String(20)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    # internal (the brand's staff) or external (a dealer's people)
    sa.Column("kind", sa.String(10), nullable=False, server_default="internal"),
    sa.Column("password_hash", sa.String(255)),
    # set with a password someone else chose (an admin's generated one): the next
    # sign-in must choose a new one before anything else
    sa.Column("password_must_change", sa.Boolean, nullable=False, server_default=sa.false()),
    # web sessions carry the epoch they began in; moving it signs out every session
    sa.Column("session_epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("department", sa.String(CODE)),  # main department
    sa.Column("leader", sa.String(CODE)),  # direct leader: overrides the level-1 manager
    sa.Column("region", sa.String(CODE)),  # main region (CURRENT_REGION of internal users)
    sa.Column("dealer", sa.String(CODE)),  # the dealer an external user belongs to
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("updated_at", AwareDateTime, nullable=False),
    sa.Index("ix_org_users_dealer", "dealer"),
    sa.Index("ix_org_users_department", "department"),
)

org_departments = sa.Table(
    "org_departments",
    metadata,
    sa.Column("code", sa.String(CODE), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("parent", sa.String(CODE)),
    sa.Index("ix_org_departments_parent", "parent"),
)

# a user's departments: the main one (also org_users.department) and the others
org_memberships = sa.Table(
    "org_memberships",
    metadata,
    sa.Column("login", sa.String(CODE), primary_key=True),
    sa.Column("department", sa.String(CODE), primary_key=True),
    sa.Column("main", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_org_memberships_department", "department"),
)

org_department_managers = sa.Table(
    "org_department_managers",
    metadata,
    sa.Column("department", sa.String(CODE), primary_key=True),
    sa.Column("login", sa.String(CODE), primary_key=True),
    sa.Index("ix_org_department_managers_login", "login"),
)

org_roles = sa.Table(
    "org_roles",
    metadata,
    sa.Column("code", sa.String(CODE), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
)

org_role_members = sa.Table(
    "org_role_members",
    metadata,
    sa.Column("role", sa.String(CODE), primary_key=True),
    sa.Column("login", sa.String(CODE), primary_key=True),
    sa.Index("ix_org_role_members_login", "login"),
)

org_regions = sa.Table(
    "org_regions",
    metadata,
    sa.Column("code", sa.String(CODE), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("parent", sa.String(CODE)),
    # 大区 area, 省区 province, 城市 city... free text: the tree's depth is what counts
    sa.Column("level", sa.String(20)),
    sa.Index("ix_org_regions_parent", "parent"),
)

org_region_managers = sa.Table(
    "org_region_managers",
    metadata,
    sa.Column("region", sa.String(CODE), primary_key=True),
    sa.Column("login", sa.String(CODE), primary_key=True),
    sa.Index("ix_org_region_managers_login", "login"),
)

org_dealers = sa.Table(
    "org_dealers",
    metadata,
    sa.Column("code", sa.String(CODE), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("parent", sa.String(CODE)),  # the tier-1 dealer a sub-dealer buys from
    sa.Column("region", sa.String(CODE)),  # owning region
    sa.Column("sales_rep", sa.String(CODE)),  # responsible sales representative (login)
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index("ix_org_dealers_parent", "parent"),
    sa.Index("ix_org_dealers_region", "region"),
    sa.Index("ix_org_dealers_sales_rep", "sales_rep"),
)


def _paths(name: str) -> sa.Table:
    """A closure table: (ancestor, descendant, depth), the node itself at depth 0."""
    return sa.Table(
        name,
        metadata,
        sa.Column("ancestor", sa.String(CODE), primary_key=True),
        sa.Column("descendant", sa.String(CODE), primary_key=True),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Index(f"ix_{name}_descendant", "descendant", "depth"),
    )


org_department_paths = _paths("org_department_paths")
org_region_paths = _paths("org_region_paths")
org_dealer_paths = _paths("org_dealer_paths")

org_api_tokens = sa.Table(
    "org_api_tokens",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("login", sa.String(CODE), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    # SHA-256 of the token (tokens are long random secrets: no slow hash needed)
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(12), nullable=False),  # shown in lists, never enough to use
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("last_used_at", AwareDateTime),
    sa.Column("revoked_at", AwareDateTime),
    sa.Index("ix_org_api_tokens_login", "login"),
)

# an app role (app.yaml ``roles``) -> the organisation role whose members hold it,
# chosen at install (``--map-role finance=财务部``; same code when not given)
app_role_map = sa.Table(
    "app_role_map",
    metadata,
    sa.Column("app", sa.String(50), primary_key=True),
    sa.Column("role", sa.String(CODE), primary_key=True),
    sa.Column("org_role", sa.String(CODE), nullable=False),
    # the app role administers the app (app.yaml ``roles: {x: {admin: true}}``)
    sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
)
