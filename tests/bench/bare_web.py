"""The baseline of bench_web.py: a bare Flask endpoint that inserts one row, served by
the same gunicorn settings on the same database (``LOWCODE_DATABASE_URL``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, jsonify

engine = sa.create_engine(os.environ["LOWCODE_DATABASE_URL"])
rows = sa.Table(
    "bench_bare_rows",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
if engine.dialect.name == "sqlite":
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _wal(connection, _record):  # the engine's own SQLite settings (WAL, NORMAL)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=10000")


rows.metadata.create_all(engine)
app = Flask(__name__)


@app.post("/bare")
def bare():
    with engine.begin() as conn:
        conn.execute(rows.insert().values(subject="load", created_at=datetime.now(UTC)))
    return jsonify({"ok": True}), 201
