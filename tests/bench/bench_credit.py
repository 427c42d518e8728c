"""Benchmark of an order submit under a credit lock (issue 15): engine vs hand-written SQL.

``credit_submit``: one order of 10 lines, each line priced by a best-match lookup
(``MATCH``, docs/lookups.md) over a 100,000-row price list, plus a credit check
aggregating the account's 10,000 open orders (``AGGREGATE``, docs/aggregates.md) under a
lock on the account (``lock: account``). Engine side: ``service.create_record`` of the
order (lock, 10 lookups, the aggregate, LOOKUP of the limit, formulas, the inserts of the
order and its lines, revision, audit entry and outbox event), one transaction each.
Baseline, in one transaction on the same tables: the account row ``SELECT ... FOR
UPDATE`` (a plain read on SQLite, where the write transaction already serialises), the
same 10 best-match queries (``ORDER BY`` specificity ``LIMIT 1``), the same ``SUM`` over
the open orders, the totals in Python, and the inserts of the order row and its 10 line
rows; nothing journalled. Both sides price every line the same way (checked). Target:
engine <= 2x the baseline's time per order.

The price list and the open orders are seeded straight into the form tables (the bench
reaches behind the facade on purpose: 110,000 records through the service would take
minutes and test nothing here). The sides take turns in ``--rounds`` rounds; medians of
the rounds are compared. Printed, never asserted.

    python tests/bench/bench_credit.py [--orders 200] [--rounds 10] [--prices 100000]
        [--open 10000] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, postgres_database  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402

ACTOR = Actor("bench.user")
APP = "benchcredit"
SHANGHAI = ZoneInfo("Asia/Shanghai")
ORDER_DATE = date(2025, 5, 20)
CENT = Decimal("0.01")

CREDIT_APP = """
app: benchcredit
version: 1.0.0
name: Bench credit
---
form: account
name: Account
title: "{{ name }}"
fields:
  name: {type: text, required: true}
  credit_limit: {type: money, required: true}
---
form: price_entry
name: Price entry
fields:
  sku: {type: text, required: true, index: true}
  grade: text
  min_qty: {type: number, precision: 0}
  valid_from: date
  valid_to: date
  unit_price: {type: money, required: true}
---
form: order
name: Order
lock: account
fields:
  account: {type: relation, to: account, required: true, index: true}
  grade: text
  order_date: {type: date, required: true}
  lines:
    type: subtable
    fields:
      sku: {type: text, required: true}
      qty: {type: number, precision: 0, required: true}
      unit_price: {type: formula, expr: 'MATCH("line_price")', result: money}
      amount: {type: formula, expr: "qty * unit_price", result: money}
  credit_amount: {type: formula, expr: "SUM(lines.amount)", result: money}
  shipped: boolean
  credit_limit: {type: formula, expr: "LOOKUP(account, 'credit_limit')", result: money}
  credit_used: {type: formula, expr: "AGGREGATE('open_credit')", result: money}
  credit_shortfall:
    type: formula
    expr: "MAX(0, credit_amount - (credit_limit - credit_used))"
    result: money
lookups:
  line_price:
    form: price_entry
    match: {sku: sku, grade: grade}
    ranges: {min_qty: {at_most: qty}}
    effective: {from: valid_from, to: valid_to, date: order_date}
    rank: [grade, min_qty]
    value: unit_price
    on_none: {error: {zh-CN: 该商品暂无适用价格, en: No price applies}}
aggregates:
  open_credit:
    form: order
    measure: SUM(credit_amount)
    where: "account == record.account and status == 'approved' and not shipped and id != record.id"
"""


def _columns(tables: Any) -> dict[str, Any]:
    """field key -> its column, for the one-column fields of a form's main table."""
    return {key: tables.table.c[fc.names[0]] for key, fc in tables.fields.items() if fc.names}


def bench_credit_submit(url: str, args: argparse.Namespace) -> list[str]:
    """create_record of a 10-line order under the account lock vs the same SQL by hand."""
    service = Service(url, clock=lambda: datetime(2025, 5, 20, 10, 0, tzinfo=SHANGHAI))
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(CREDIT_APP))
    account = service.create_record(
        SYSTEM_ACTOR, APP, "account", {"name": "D001", "credit_limit": "500000000.00"}
    ).id
    with service._context.transactions.read(APP) as tx:
        prices, orders = tx.form("price_entry").tables, tx.form("order").tables
        accounts = tx.form("account").tables
    engine = service._database.engine
    now = datetime(2025, 5, 20, 10, 0, tzinfo=SHANGHAI)
    system = {"version": 1, "title": "", "created_at": now, "created_by": "seed"}
    system |= {"updated_at": now, "updated_by": "seed"}

    started = time.perf_counter()
    rng = random.Random(15)
    skus = [f"P-{n:05d}" for n in range(args.prices // 4)]
    pc = _columns(prices)
    rows = []
    for sku in skus:  # four rows a SKU: all grades, grade B, grade B from 100, grade A
        base = Decimal(rng.randrange(1000, 50000)) / 100
        for grade, min_qty, factor in (
            (None, 1, "0.95"),
            ("B", 1, "0.90"),
            ("B", 100, "0.85"),
            ("A", 1, "0.85"),
        ):
            rows.append(
                {
                    "status": "active",
                    **system,
                    pc["sku"].name: sku,
                    pc["grade"].name: grade,
                    pc["min_qty"].name: min_qty,
                    pc["valid_from"].name: date(2025, 1, 1),
                    pc["valid_to"].name: date(2025, 12, 31),
                    pc["unit_price"].name: (base * Decimal(factor)).quantize(CENT, ROUND_HALF_UP),
                }
            )
    oc = _columns(orders)
    open_orders = [
        {
            "status": "approved",
            **system,
            oc["account"].name: account,
            oc["order_date"].name: date(2025, 5, 1),
            oc["credit_amount"].name: Decimal(rng.randrange(100, 100000)) / 100,
            oc["shipped"].name: False,
        }
        for _ in range(args.open)
    ]
    with engine.begin() as conn:
        for first in range(0, len(rows), 10_000):
            conn.execute(prices.table.insert(), rows[first : first + 10_000])
        conn.execute(orders.table.insert(), open_orders)
    expected_used = sum((o[oc["credit_amount"].name] for o in open_orders), Decimal(0))
    seeded = time.perf_counter() - started

    # -- the hand-written side: the same statements a person would write ------------------
    ac = _columns(accounts)
    lock = sa.select(ac["credit_limit"]).where(
        accounts.table.c.id == sa.bindparam("account"), accounts.table.c.deleted_at.is_(None)
    )
    if not url.startswith("sqlite"):
        lock = lock.with_for_update()
    p = prices.table
    best = (
        sa.select(pc["unit_price"])
        .where(
            p.c.deleted_at.is_(None),
            pc["sku"] == sa.bindparam("sku"),
            sa.or_(pc["grade"] == sa.bindparam("grade"), pc["grade"].is_(None)),
            sa.or_(
                pc["min_qty"] <= sa.bindparam("qty", type_=pc["min_qty"].type),
                pc["min_qty"].is_(None),
            ),
            sa.or_(
                pc["valid_from"] <= sa.bindparam("day", type_=sa.Date), pc["valid_from"].is_(None)
            ),
            sa.or_(pc["valid_to"] >= sa.bindparam("day", type_=sa.Date), pc["valid_to"].is_(None)),
        )
        .order_by(pc["grade"].is_(None), pc["min_qty"].desc())
        .limit(1)
    )
    o = orders.table
    used = sa.select(sa.func.sum(oc["credit_amount"], type_=oc["credit_amount"].type)).where(
        o.c.deleted_at.is_(None),
        oc["account"] == sa.bindparam("account"),
        o.c.status == "approved",
        sa.not_(oc["shipped"].is_(True)),
    )
    lines_table = orders.children["lines"]
    lc = {k: lines_table.c[fc.names[0]] for k, fc in orders.child_fields["lines"].items()}

    def order_lines(n: int) -> list[dict[str, Any]]:
        picked = random.Random(n)
        return [
            {"sku": picked.choice(skus), "qty": picked.choice((10, 50, 120))} for _ in range(10)
        ]

    engine_prices: list[list[Decimal]] = []
    base_prices: list[list[Decimal]] = []

    def engine_side(first: int, size: int) -> float:
        work = [order_lines(n) for n in range(first, first + size)]
        start = time.perf_counter()
        for lines in work:
            record = service.create_record(
                ACTOR,
                APP,
                "order",
                {"account": account, "grade": "B", "order_date": "2025-05-20", "lines": lines},
            )
            engine_prices.append([line["unit_price"] for line in record.values["lines"]])
        return (time.perf_counter() - start) / size

    def baseline_side(first: int, size: int) -> float:
        work = [order_lines(n) for n in range(first, first + size)]
        start = time.perf_counter()
        for lines in work:
            with engine.begin() as conn:
                limit = conn.execute(lock, {"account": account}).scalar_one()
                priced = []
                for line in lines:
                    price = conn.execute(
                        best,
                        {"sku": line["sku"], "grade": "B", "qty": line["qty"], "day": ORDER_DATE},
                    ).scalar_one()
                    priced.append(
                        (line, price, (line["qty"] * price).quantize(CENT, ROUND_HALF_UP))
                    )
                open_credit = conn.execute(used, {"account": account}).scalar() or Decimal(0)
                total = sum((amount for _, _, amount in priced), Decimal(0))
                shortfall = max(Decimal(0), total - (limit - open_credit))
                now_ = service._context.clock()
                row = {
                    "status": "active",
                    "version": 1,
                    "title": "",
                    "created_at": now_,
                    "created_by": ACTOR.user_id,
                    "updated_at": now_,
                    "updated_by": ACTOR.user_id,
                    oc["account"].name: account,
                    oc["grade"].name: "B",
                    oc["order_date"].name: ORDER_DATE,
                    oc["credit_amount"].name: total,
                    oc["credit_limit"].name: limit,
                    oc["credit_used"].name: open_credit,
                    oc["credit_shortfall"].name: shortfall,
                }
                order_id = conn.execute(o.insert().values(row).returning(o.c.id)).scalar_one()
                conn.execute(
                    lines_table.insert(),
                    [
                        {
                            "parent_id": order_id,
                            "row_index": i,
                            lc["sku"].name: line["sku"],
                            lc["qty"].name: line["qty"],
                            lc["unit_price"].name: price,
                            lc["amount"].name: amount,
                        }
                        for i, (line, price, amount) in enumerate(priced)
                    ],
                )
            base_prices.append([price for _, price, _ in priced])
        return (time.perf_counter() - start) / size

    for side in (engine_side, baseline_side):  # warm caches and statements
        side(0, 3)
    size = max(1, args.orders // args.rounds)
    times: dict[str, list[float]] = {"engine": [], "baseline": []}
    for r in range(args.rounds):
        first = 3 + r * size
        times["engine"].append(engine_side(first, size))
        times["baseline"].append(baseline_side(first, size))

    # both sides priced every order alike (same lines: same seeds) and read the same credit
    assert engine_prices == base_prices, "the engine and the hand SQL priced lines differently"
    check = service.create_record(
        ACTOR,
        APP,
        "order",
        {"account": account, "grade": "B", "order_date": "2025-05-20", "lines": order_lines(0)},
    )
    assert check.values["credit_used"] == expected_used, (
        check.values["credit_used"],
        expected_used,
    )
    version = service._database.server_version()
    service.close()
    engine_s, base_s = statistics.median(times["engine"]), statistics.median(times["baseline"])
    rounds = sorted(e / b for e, b in zip(times["engine"], times["baseline"], strict=True))
    return [
        f"database: {version}; seeded {len(rows):,} price rows and {args.open:,} open orders "
        f"in {seeded:.1f} s",
        f"credit_submit: engine {engine_s * 1e3:.2f} ms/order ({1 / engine_s:,.1f} orders/s), "
        f"baseline {base_s * 1e3:.2f} ms/order ({1 / base_s:,.1f} orders/s)",
        f"credit_submit: engine/baseline {engine_s / base_s:.2f}x (target <= 2x; rounds "
        f"{rounds[0]:.2f}x-{rounds[-1]:.2f}x)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="orders per side (200)")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (10)")
    parser.add_argument("--prices", type=int, default=100_000, help="price rows (100,000)")
    parser.add_argument("--open", type=int, default=10_000, help="open orders (10,000)")
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()
    if args.orders < 1 or args.rounds < 1 or args.prices < 4:
        parser.error("--orders and --rounds must be at least 1, --prices at least 4")
    print(machine({}), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        print("== credit_submit, SQLite (file, WAL)", flush=True)
        print("\n".join(bench_credit_submit(f"sqlite:///{folder}/credit.db", args)), flush=True)
    if args.postgres:
        with postgres_database(args.postgres, "lowcode_bench_credit") as url:
            print("== credit_submit, PostgreSQL", flush=True)
            print("\n".join(bench_credit_submit(url, args)), flush=True)


if __name__ == "__main__":
    main()
