"""The tables of ledgers (``ledgers/*.yaml``; docs/ledgers.md).

- ``ledgers``: each app's declared ledgers (the checked document, published at install).
- ``ledger_accounts``: one row per account (ledger + key values) holding the running
  ``balance`` and ``held`` amounts. Every action updates it in the transaction that
  appends its entries, under a row lock, so a balance read is one unique-index read
  whatever the number of entries.
- ``ledger_operations``: one row per action that wrote something, under its idempotency
  key (unique per ledger): a retried action finds it and writes nothing. An action may
  append several entries (a consumption across lots), which is why the key lives here
  and not on the entries.
- ``ledger_entries``: the append-only journal: each entry's effect on the balance
  (``amount``) and on the held amount (``held``), its lot or hold, its source record.
  No code path updates or deletes an entry; database triggers (migration 0011) refuse
  UPDATE and DELETE on both databases.
- ``ledger_lots``: what a post credited, what remains, and when it expires
  (``expires_on``: the last usable day; ``expires_at``: 00:00 of the next day in the
  ledger's zone, the instant the sweep compares with).
- ``ledger_holds``: frozen amounts, what remains of them, and their status.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime, ExactDecimal

#: amounts: 18 digits, 4 decimals (a ledger declares at most 4)
Amount = ExactDecimal(18, 4)

ledgers = sa.Table(
    "ledgers",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("app", sa.String(50), nullable=False),
    sa.Column("key", sa.String(60), nullable=False),
    # {"data": the ledger document, "file": ..., "line": ...}
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("published_at", AwareDateTime, nullable=False),
    sa.Column("published_by", sa.String(100), nullable=False),
    sa.UniqueConstraint("app", "key", name="uq_ledgers_app_key"),
)

ledger_accounts = sa.Table(
    "ledger_accounts",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("ledger_id", IdType, sa.ForeignKey("ledgers.id"), nullable=False),
    # the key values joined with U+001F, as text (relation ids become their digits)
    sa.Column("account_key", sa.String(500), nullable=False),
    sa.Column("key_values", sa.JSON, nullable=False),
    sa.Column("balance", Amount, nullable=False),
    sa.Column("held", Amount, nullable=False),
    # the earliest expiry among the account's open lots, or earlier (never later): an
    # action looks for lots to expire only once it has passed, so the common case costs
    # no query (None: nothing can expire)
    sa.Column("next_expiry", AwareDateTime),
    sa.Column("updated_at", AwareDateTime, nullable=False),
    sa.UniqueConstraint("ledger_id", "account_key", name="uq_ledger_accounts_key"),
)

ledger_operations = sa.Table(
    "ledger_operations",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("ledger_id", IdType, sa.ForeignKey("ledgers.id"), nullable=False),
    sa.Column("idempotency_key", sa.String(300), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("source_form", sa.String(50)),
    sa.Column("source_id", IdType),
    sa.Column("rule", sa.String(120)),
    sa.Column("amount", Amount, nullable=False),
    sa.Column("at", AwareDateTime, nullable=False),
    sa.Column("by", sa.String(100), nullable=False),
    sa.UniqueConstraint("ledger_id", "idempotency_key", name="uq_ledger_operations_key"),
)

ledger_lots = sa.Table(
    "ledger_lots",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("operation_id", IdType, sa.ForeignKey("ledger_operations.id"), nullable=False),
    sa.Column("original", Amount, nullable=False),
    sa.Column("remaining", Amount, nullable=False),
    sa.Column("posted_on", sa.Date, nullable=False),
    sa.Column("expires_on", sa.Date),
    sa.Column("expires_at", AwareDateTime),
    sa.Column("posted_at", AwareDateTime, nullable=False),
    # when the expiry sweep queued the ledger's reminder for this lot (lots.remind):
    # set in the transaction that queues it, so each lot is reminded once
    sa.Column("reminded_at", AwareDateTime),
    # the open lots of an account, in expiry order: what a consumption walks
    sa.Index(
        "ix_ledger_lots_account",
        "account_id",
        "expires_on",
        "id",
        sqlite_where=sa.text("remaining > 0"),
        postgresql_where=sa.text("remaining > 0"),
    ),
    sa.Index("ix_ledger_lots_expiry", "expires_at"),
    # the lots a reminder may still be due for: what the sweep's reminder pass reads
    sa.Index(
        "ix_ledger_lots_remind",
        "expires_on",
        sqlite_where=sa.text("reminded_at IS NULL AND remaining > 0"),
        postgresql_where=sa.text("reminded_at IS NULL AND remaining > 0"),
    ),
)

ledger_holds = sa.Table(
    "ledger_holds",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("amount", Amount, nullable=False),
    sa.Column("remaining", Amount, nullable=False),
    # open | released | consumed
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Index("ix_ledger_holds_name", "account_id", "name"),
)

ledger_entries = sa.Table(
    "ledger_entries",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    sa.Column("operation_id", IdType, sa.ForeignKey("ledger_operations.id"), nullable=False),
    sa.Column("account_id", IdType, sa.ForeignKey("ledger_accounts.id"), nullable=False),
    # post | hold | release | consume | reverse | expire
    sa.Column("kind", sa.String(20), nullable=False),
    # the effect on the balance (credit > 0) and on the held amount
    sa.Column("amount", Amount, nullable=False),
    sa.Column("held", Amount, nullable=False),
    sa.Column("lot_id", IdType, sa.ForeignKey("ledger_lots.id")),
    sa.Column("hold_id", IdType, sa.ForeignKey("ledger_holds.id")),
    sa.Column("source_form", sa.String(50)),
    sa.Column("source_id", IdType),
    sa.Column("memo", sa.String(500)),
    sa.Column("at", AwareDateTime, nullable=False),
    sa.Index("ix_ledger_entries_account", "account_id", "id"),
    sa.Index("ix_ledger_entries_source", "account_id", "source_form", "source_id"),
)
