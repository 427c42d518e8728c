"""The organisation: users, departments, roles, regions, dealers, API tokens, role maps.

Revision ID: 0003
Revises: 0002

Adds the tables of :mod:`engine.store.org_tables` (trees with closure tables, the
organisation's generation counter, hashed API tokens) and ``app_role_map`` (an app's
roles mapped to organisation roles at install). Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CODE = 64


def _paths(name: str) -> None:
    op.create_table(
        name,
        sa.Column("ancestor", sa.String(CODE), primary_key=True),
        sa.Column("descendant", sa.String(CODE), primary_key=True),
        sa.Column("depth", sa.Integer, nullable=False),
    )
    op.create_index(f"ix_{name}_descendant", name, ["descendant", "depth"])


def upgrade() -> None:
    op.create_table(
        "org_generations",
        sa.Column("name", sa.String(20), primary_key=True),
        sa.Column("generation", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "org_users",
        sa.Column("login", sa.String(CODE), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("locale", sa.String(10), nullable=False, server_default="zh-CN"),
        sa.Column("email", sa.String(254)),
        sa.Column("mobile", sa.String(20)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("kind", sa.String(10), nullable=False, server_default="internal"),
        sa.Column("password_hash", sa.String(255)),
        sa.Column("department", sa.String(CODE)),
        sa.Column("leader", sa.String(CODE)),
        sa.Column("region", sa.String(CODE)),
        sa.Column("dealer", sa.String(CODE)),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("updated_at", Aware, nullable=False),
    )
    op.create_index("ix_org_users_dealer", "org_users", ["dealer"])
    op.create_index("ix_org_users_department", "org_users", ["department"])
    op.create_table(
        "org_departments",
        sa.Column("code", sa.String(CODE), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent", sa.String(CODE)),
    )
    op.create_index("ix_org_departments_parent", "org_departments", ["parent"])
    op.create_table(
        "org_memberships",
        sa.Column("login", sa.String(CODE), primary_key=True),
        sa.Column("department", sa.String(CODE), primary_key=True),
        sa.Column("main", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_org_memberships_department", "org_memberships", ["department"])
    op.create_table(
        "org_department_managers",
        sa.Column("department", sa.String(CODE), primary_key=True),
        sa.Column("login", sa.String(CODE), primary_key=True),
    )
    op.create_index("ix_org_department_managers_login", "org_department_managers", ["login"])
    op.create_table(
        "org_roles",
        sa.Column("code", sa.String(CODE), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "org_role_members",
        sa.Column("role", sa.String(CODE), primary_key=True),
        sa.Column("login", sa.String(CODE), primary_key=True),
    )
    op.create_index("ix_org_role_members_login", "org_role_members", ["login"])
    op.create_table(
        "org_regions",
        sa.Column("code", sa.String(CODE), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent", sa.String(CODE)),
        sa.Column("level", sa.String(20)),
    )
    op.create_index("ix_org_regions_parent", "org_regions", ["parent"])
    op.create_table(
        "org_region_managers",
        sa.Column("region", sa.String(CODE), primary_key=True),
        sa.Column("login", sa.String(CODE), primary_key=True),
    )
    op.create_index("ix_org_region_managers_login", "org_region_managers", ["login"])
    op.create_table(
        "org_dealers",
        sa.Column("code", sa.String(CODE), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent", sa.String(CODE)),
        sa.Column("region", sa.String(CODE)),
        sa.Column("sales_rep", sa.String(CODE)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_index("ix_org_dealers_parent", "org_dealers", ["parent"])
    op.create_index("ix_org_dealers_region", "org_dealers", ["region"])
    op.create_index("ix_org_dealers_sales_rep", "org_dealers", ["sales_rep"])
    _paths("org_department_paths")
    _paths("org_region_paths")
    _paths("org_dealer_paths")
    op.create_table(
        "org_api_tokens",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("login", sa.String(CODE), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", Aware, nullable=False),
        sa.Column("last_used_at", Aware),
        sa.Column("revoked_at", Aware),
    )
    op.create_index("ix_org_api_tokens_login", "org_api_tokens", ["login"])
    op.create_table(
        "app_role_map",
        sa.Column("app", sa.String(50), primary_key=True),
        sa.Column("role", sa.String(CODE), primary_key=True),
        sa.Column("org_role", sa.String(CODE), nullable=False),
        # the app role administers the app (app.yaml ``roles: {x: {admin: true}}``)
        sa.Column("admin", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    for table in (
        "app_role_map",
        "org_api_tokens",
        "org_dealer_paths",
        "org_region_paths",
        "org_department_paths",
        "org_dealers",
        "org_region_managers",
        "org_regions",
        "org_role_members",
        "org_roles",
        "org_department_managers",
        "org_memberships",
        "org_departments",
        "org_users",
        "org_generations",
    ):
        op.drop_table(table)
