"""The table of people's notifications (the notifications centre).

One row per message and recipient: a rule's ``notify`` action to people of the
organisation, a digest, later flow and portal messages. ``source_key`` is the delivering
event's idempotency key, so a retried delivery never shows a message twice; ``emailed_at``
records the e-mail copy, so a retry sends only the mails that did not go out.
"""

from __future__ import annotations

import sqlalchemy as sa

from engine.store.engine_tables import IdType, metadata
from engine.store.types import AwareDateTime

notifications = sa.Table(
    "notifications",
    metadata,
    sa.Column("id", IdType, primary_key=True, autoincrement=True),
    # the recipient's login (org_users.user_id)
    sa.Column("user_id", sa.String(100), nullable=False),
    sa.Column("app", sa.String(50)),
    sa.Column("form", sa.String(50)),
    sa.Column("record_id", IdType),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    # who or what sent it (``rule:purchase.notify_requester``)
    sa.Column("sender", sa.String(200), nullable=False),
    sa.Column("source_key", sa.String(300), nullable=False),
    sa.Column("created_at", AwareDateTime, nullable=False),
    sa.Column("read_at", AwareDateTime),
    sa.Column("emailed_at", AwareDateTime),
    sa.UniqueConstraint("source_key", "user_id", name="uq_notifications_source_user"),
    sa.Index("ix_notifications_user", "user_id", "id"),
    sa.Index(
        "ix_notifications_unread",
        "user_id",
        sqlite_where=sa.text("read_at IS NULL"),
        postgresql_where=sa.text("read_at IS NULL"),
    ),
)
