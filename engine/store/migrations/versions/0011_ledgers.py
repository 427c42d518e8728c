"""Ledgers: declared ledgers, accounts with running balances, append-only entries,
idempotent operations, lots with expiry, holds.

Revision ID: 0011
Revises: 0010

Adds the tables of :mod:`engine.store.ledger_tables`, and triggers that refuse UPDATE
and DELETE on ``ledger_entries`` and ``ledger_operations`` (both databases): entries are
never edited or deleted, only reversed by new entries. Nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.store.types import ExactDecimal

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Aware = sa.DateTime(timezone=True)
IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Amount = ExactDecimal(18, 4)
#: the append-only tables and the message a refused change gets
APPEND_ONLY = ("ledger_entries", "ledger_operations")
MESSAGE = "ledger entries are append-only: reverse them with a new entry"


def upgrade() -> None:
    op.create_table(
        "ledgers",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("app", sa.String(50), nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("published_at", Aware, nullable=False),
        sa.Column("published_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("app", "key", name="uq_ledgers_app_key"),
    )
    op.create_table(
        "ledger_accounts",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("ledger_id", IdType, sa.ForeignKey("ledgers.id"), nullable=False),
        sa.Column("account_key", sa.String(500), nullable=False),
        sa.Column("key_values", sa.JSON, nullable=False),
        sa.Column("balance", Amount, nullable=False),
        sa.Column("held", Amount, nullable=False),
        sa.Column("next_expiry", Aware),
        sa.Column("updated_at", Aware, nullable=False),
        sa.UniqueConstraint("ledger_id", "account_key", name="uq_ledger_accounts_key"),
    )
    op.create_table(
        "ledger_operations",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("ledger_id", IdType, sa.ForeignKey("ledgers.id"), nullable=False),
        sa.Column("idempotency_key", sa.String(300), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("source_form", sa.String(50)),
        sa.Column("source_id", IdType),
        sa.Column("rule", sa.String(120)),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("at", Aware, nullable=False),
        sa.Column("by", sa.String(100), nullable=False),
        sa.UniqueConstraint("ledger_id", "idempotency_key", name="uq_ledger_operations_key"),
    )
    op.create_table(
        "ledger_lots",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("operation_id", IdType, sa.ForeignKey("ledger_operations.id"), nullable=False),
        sa.Column("original", Amount, nullable=False),
        sa.Column("remaining", Amount, nullable=False),
        sa.Column("posted_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date),
        sa.Column("expires_at", Aware),
        sa.Column("posted_at", Aware, nullable=False),
        sa.Column("reminded_at", Aware),
    )
    op.create_index(
        "ix_ledger_lots_account",
        "ledger_lots",
        ["account_id", "expires_on", "id"],
        sqlite_where=sa.text("remaining > 0"),
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_index("ix_ledger_lots_expiry", "ledger_lots", ["expires_at"])
    op.create_index(
        "ix_ledger_lots_remind",
        "ledger_lots",
        ["expires_on"],
        sqlite_where=sa.text("reminded_at IS NULL AND remaining > 0"),
        postgresql_where=sa.text("reminded_at IS NULL AND remaining > 0"),
    )
    op.create_table(
        "ledger_holds",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("remaining", Amount, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", Aware, nullable=False),
    )
    op.create_index("ix_ledger_holds_name", "ledger_holds", ["account_id", "name"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", IdType, primary_key=True, autoincrement=True),
        sa.Column("operation_id", IdType, sa.ForeignKey("ledger_operations.id"), nullable=False),
        sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", Amount, nullable=False),
        sa.Column("held", Amount, nullable=False),
        sa.Column("lot_id", IdType, sa.ForeignKey("ledger_lots.id")),
        sa.Column("hold_id", IdType, sa.ForeignKey("ledger_holds.id")),
        sa.Column("source_form", sa.String(50)),
        sa.Column("source_id", IdType),
        sa.Column("memo", sa.String(500)),
        sa.Column("at", Aware, nullable=False),
    )
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account_id", "id"])
    op.create_index(
        "ix_ledger_entries_source", "ledger_entries", ["account_id", "source_form", "source_id"]
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE of entries and operations in the database itself, so
    not even SQL typed by hand edits the history."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE} (%)', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
        return
    for table in APPEND_ONLY:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE} ({table})'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
    for table in (
        "ledger_entries",
        "ledger_holds",
        "ledger_lots",
        "ledger_operations",
        "ledger_accounts",
        "ledgers",
    ):
        op.drop_table(table)
