"""The baselines of bench_web.py, served by the same gunicorn settings on the same
database (``LOWCODE_DATABASE_URL``): a bare Flask endpoint that inserts one row, and the
list page of bench_web.py as hand-written SQL on the same indexed tables (the limit the
store's list is compared with)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask, jsonify, request

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


#: the page bench_web.py's LIST asks the REST API for (total >= 5000, sorted by -total,
#: page 3 of 50, with the total), written by hand
HAND_ROWS = sa.text(
    "select * from f_bench_purchase_request where deleted_at is null and total >= :total "
    "order by total desc, id desc limit 50 offset 100"
)
HAND_COUNT = sa.text(
    "select count(*) from f_bench_purchase_request where deleted_at is null and total >= :total"
)
#: 5000.00 as the column stores it: minor units on SQLite, a NUMERIC on PostgreSQL
TOTAL = 500000 if engine.dialect.name == "sqlite" else Decimal("5000")


def _json(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


@app.get("/bare/list")
def bare_list():
    """The page and its total (``?count=0``: the page alone, the total not counted)."""
    counting = request.args.get("count") != "0"
    with engine.connect() as conn:
        rows = conn.execute(HAND_ROWS, {"total": TOTAL}).mappings().all()
        total = conn.execute(HAND_COUNT, {"total": TOTAL}).scalar_one() if counting else None
    items = [{k: _json(v) for k, v in row.items()} for row in rows]
    return jsonify({"items": items, "total": total, "page": 3, "page_size": 50})
