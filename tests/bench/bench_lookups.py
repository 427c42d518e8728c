"""Benchmark of best-match lookups (docs/lookups.md): an order of 10 lines, each priced by
``MATCH`` over a 100,000-row reference form, against hand-written SQL doing the same.

The app (``APP``) has dealers, price lines (``price_entry``: 10,000 SKUs x 10 lines each:
lists for every grade, grade A/B/C lines, regional lines, quantity breaks and dated
lines, loaded in bulk before timing) and orders whose lines price themselves with
``MATCH("line_price")`` (SKU, the dealer's grade and region through LOOKUP, quantity
break, order date end-inclusive, ``state == 'active'``, ranked grade > region >
min_qty).

Sides, taking turns in ``--rounds`` rounds (medians compared):

* engine: ``service.create_record`` of one order with 10 lines of different SKUs (one
  transaction: validation, 10 MATCH queries, the dealer read once, the insert, its
  revision, audit entry and outbox event);
* baseline: the same in hand-written SQLAlchemy Core, one transaction: the dealer's grade
  and region by primary key, the 10 best-match SELECTs (same WHERE, same ORDER BY,
  LIMIT 1), then the order row and its 10 line rows (nothing journalled);
* for information, the engine creating the same order with the prices typed in (a form
  without the lookup), so the difference is what MATCH costs per line.

Indexes: the lookup needs the reference form's most selective match field indexed
(``sku: {index: true}`` gives the live-row index ``ix_<table>__sku__id``); the script
prints the query plan of one lookup on each database and checks that it uses it.
Printed, never asserted (except the plan check, which exits with status 1).

    python tests/bench/bench_lookups.py [--rows 100000] [--orders 200] [--rounds 10]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, postgres_database  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.runtime.forms.lookups import MatchQuery  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402
from engine.store.best_match import best_match_statement  # noqa: E402

ACTOR = Actor("bench.user")
NOW = datetime(2025, 5, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ORDER_DATE = date(2025, 5, 20)
LINES = 10

APP = """
app: benchlookup
version: 1.0.0
name: Bench lookups
---
form: dealer
title: "{{ code }}"
fields:
  code: {type: text, required: true}
  grade: {type: select, options: [A, B, C, D]}
  region: text
---
form: price_entry
title: "{{ list_code }} {{ sku }}"
fields:
  list_code: {type: text, required: true}
  sku: {type: text, required: true, index: true}
  grade: {type: select, options: [A, B, C, D]}
  region: text
  min_qty: {type: number, precision: 0, default: 1}
  valid_from: date
  valid_to: date
  state: {type: select, options: [draft, active], default: draft}
  unit_price: {type: money, required: true}
---
form: sales_order
fields:
  dealer: {type: relation, to: dealer, display: code, required: true}
  order_date: {type: date, required: true}
  lines:
    type: subtable
    fields:
      sku: {type: text, required: true}
      qty: {type: number, precision: 0, required: true}
      unit_price: {type: formula, expr: 'MATCH("line_price")', result: money}
      amount: {type: formula, expr: "qty * unit_price", result: money}
  goods_amount: {type: formula, expr: "SUM(lines.amount)", result: money}
lookups:
  line_price:
    form: price_entry
    match:
      sku: sku
      grade: 'LOOKUP(dealer, "grade")'
      region: 'LOOKUP(dealer, "region")'
    ranges: {min_qty: {at_most: qty}}
    effective: {from: valid_from, to: valid_to, date: order_date}
    where: "state == 'active'"
    rank: [grade, region, min_qty]
    value: unit_price
    on_none: {error: "no price"}
---
form: typed_order
fields:
  dealer: {type: relation, to: dealer, display: code, required: true}
  order_date: {type: date, required: true}
  lines:
    type: subtable
    fields:
      sku: {type: text, required: true}
      qty: {type: number, precision: 0, required: true}
      unit_price: {type: money, required: true}
      amount: {type: formula, expr: "qty * unit_price", result: money}
  goods_amount: {type: formula, expr: "SUM(lines.amount)", result: money}
"""

#: the 10 lines of one SKU: (list, grade, region, min_qty, valid_from, valid_to, factor)
SHAPES = [
    ("PL-ALL", None, None, 1, None, None, "0.95"),
    ("PL-A", "A", None, 1, None, None, "0.85"),
    ("PL-B", "B", None, 1, None, None, "0.90"),
    ("PL-B", "B", None, 100, None, None, "0.87"),
    ("PL-C", "C", None, 1, None, None, "0.93"),
    ("PL-B-ZJ", "B", "ZJ", 1, date(2025, 4, 1), date(2025, 6, 30), "0.875"),
    ("PL-B-GD", "B", "GD", 1, date(2025, 4, 1), date(2025, 6, 30), "0.88"),
    ("PL-A-ZJ", "A", "ZJ", 50, None, None, "0.84"),
    ("PL-OLD", None, None, 1, date(2024, 1, 1), date(2024, 12, 31), "0.99"),
    ("PL-DRAFT", "B", "ZJ", 1, None, None, "0.50"),
]


def load(service: Service, rows: int) -> None:
    """Dealers and ``rows`` price lines (``rows // 10`` SKUs) in bulk, behind the facade."""
    system = {
        "status": "active",
        "version": 1,
        "created_at": NOW,
        "created_by": "bench",
        "updated_at": NOW,
        "updated_by": "bench",
    }
    with service._context.transactions.read("benchlookup") as tx:
        prices = tx.form("price_entry").tables.table
        dealers = tx.form("dealer").tables.table
    batch: list[dict[str, Any]] = []
    next_id = 1
    with service._database.write() as conn:
        conn.execute(
            dealers.insert(),
            [{**system, "id": 1, "title": "D001", "code": "D001", "grade": "B", "region": "ZJ"}],
        )
        for sku_no in range(rows // len(SHAPES)):
            sku = f"P-{sku_no:05d}"
            base = Decimal(100 + sku_no % 400)
            for list_code, grade, region, min_qty, start, end, factor in SHAPES:
                batch.append(
                    {
                        **system,
                        "id": next_id,
                        "title": f"{list_code} {sku}",
                        "list_code": list_code,
                        "sku": sku,
                        "grade": grade,
                        "region": region,
                        "min_qty": min_qty,
                        "valid_from": start,
                        "valid_to": end,
                        "state": "draft" if list_code == "PL-DRAFT" else "active",
                        "unit_price": (base * Decimal(factor)).quantize(Decimal("0.01")),
                    }
                )
                next_id += 1
            if len(batch) >= 5000:
                conn.execute(prices.insert(), batch)
                batch = []
        if batch:
            conn.execute(prices.insert(), batch)
    with service._database.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f'ANALYZE "{prices.name}"')
        else:
            conn.exec_driver_sql("ANALYZE")


def check_plan(service: Service, sku: str) -> list[str]:
    """The plan of one lookup query; exits with 1 unless it uses the SKU index."""
    with service._context.transactions.read("benchlookup") as tx:
        stored = tx.form("price_entry").stored
        lookup = tx.form("sales_order").definition.lookups[0]
    query = MatchQuery(
        lookup,
        (("sku", sku), ("grade", "B"), ("region", "ZJ")),
        (("min_qty", "at_most", Decimal(50)),),
        ORDER_DATE,
    )
    stmt = best_match_statement(stored, query)
    with service._database.read() as conn:
        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN " if conn.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
        plan = [" ".join(str(v) for v in row) for row in conn.exec_driver_sql(prefix + sql)]
    index = f"ix_{stored.tables.table.name}__sku__id"
    lines = ["plan of one lookup:", *(f"  {line}" for line in plan)]
    if not any(index in line for line in plan):
        lines.append(f"PLAN CHECK FAILED: the lookup does not use {index}")
        print("\n".join(lines))
        sys.exit(1)
    lines.append(f"plan check: uses {index}")
    return lines


def baseline_factory(service: Service) -> Any:
    """One order by hand-written SQL: dealer read, 10 lookups, order and line inserts."""
    with service._context.transactions.read("benchlookup") as tx:
        prices = tx.form("price_entry").tables.table
        dealers = tx.form("dealer").tables.table
        orders = tx.form("sales_order").tables.table
        lines_table = tx.form("sales_order").tables.children["lines"]
    p = prices.c
    params = {n: sa.bindparam(n) for n in ("sku", "grade", "region", "qty", "day")}
    lookup = (
        sa.select(p.unit_price)
        .where(
            p.deleted_at.is_(None),
            p.sku == params["sku"],
            sa.or_(p.grade == params["grade"], p.grade.is_(None)),
            sa.or_(p.region == params["region"], p.region.is_(None)),
            sa.or_(p.min_qty <= params["qty"], p.min_qty.is_(None)),
            sa.or_(p.valid_from <= params["day"], p.valid_from.is_(None)),
            sa.or_(p.valid_to >= params["day"], p.valid_to.is_(None)),
            p.state == "active",
        )
        .order_by(
            sa.case((p.grade.is_(None), 1), else_=0),
            sa.case((p.region.is_(None), 1), else_=0),
            sa.case((p.min_qty.is_(None), 1), else_=0),
            p.min_qty.desc(),
            p.id,
        )
        .limit(1)
    )
    dealer_read = sa.select(dealers.c.grade, dealers.c.region).where(
        dealers.c.id == 1, dealers.c.deleted_at.is_(None)
    )

    def run(items: list[tuple[str, int]]) -> Decimal:
        with service._database.write() as conn:
            grade, region = conn.execute(dealer_read).one()
            priced = []
            for sku, qty in items:
                price = conn.execute(
                    lookup,
                    {"sku": sku, "grade": grade, "region": region, "qty": qty, "day": ORDER_DATE},
                ).scalar_one()
                priced.append((sku, qty, price, price * qty))
            total = sum(amount for *_x, amount in priced)
            order_id = conn.execute(
                orders.insert().returning(orders.c.id),
                {
                    "status": "active",
                    "version": 1,
                    "title": "",
                    "created_at": NOW,
                    "created_by": "bench",
                    "updated_at": NOW,
                    "updated_by": "bench",
                    "dealer": 1,
                    "order_date": ORDER_DATE,
                    "goods_amount": total,
                },
            ).scalar_one()
            conn.execute(
                lines_table.insert(),
                [
                    {
                        "parent_id": order_id,
                        "row_index": i,
                        "sku": sku,
                        "qty": qty,
                        "unit_price": price,
                        "amount": amount,
                    }
                    for i, (sku, qty, price, amount) in enumerate(priced)
                ],
            )
            return total

    return run


def bench(url: str, args: argparse.Namespace) -> list[str]:
    service = Service(url, clock=lambda: NOW)
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    started = time.perf_counter()
    load(service, args.rows)
    out = [f"loaded {args.rows:,} price lines in {time.perf_counter() - started:.1f} s"]
    out += check_plan(service, "P-00042")
    skus = args.rows // len(SHAPES)
    rng = random.Random(7)
    orders = [
        [(f"P-{rng.randrange(skus):05d}", rng.choice((10, 50, 120))) for _ in range(LINES)]
        for _ in range(args.orders * 3 * (args.rounds + 1))
    ]
    baseline = baseline_factory(service)
    feed = iter(orders)

    def engine_order() -> None:
        items = next(feed)
        data = {
            "dealer": 1,
            "order_date": ORDER_DATE.isoformat(),
            "lines": [{"sku": s, "qty": q} for s, q in items],
        }
        service.create_record(ACTOR, "benchlookup", "sales_order", data)

    def typed_order() -> None:
        items = next(feed)
        data = {
            "dealer": 1,
            "order_date": ORDER_DATE.isoformat(),
            "lines": [{"sku": s, "qty": q, "unit_price": "100.00"} for s, q in items],
        }
        service.create_record(ACTOR, "benchlookup", "typed_order", data)

    def baseline_order() -> None:
        baseline(next(feed))

    # the engine and the baseline price the same order the same way
    sample = orders[0]
    created = service.create_record(
        ACTOR,
        "benchlookup",
        "sales_order",
        {
            "dealer": 1,
            "order_date": ORDER_DATE.isoformat(),
            "lines": [{"sku": s, "qty": q} for s, q in sample],
        },
    )
    assert created.values["goods_amount"] == baseline(sample), "engine and baseline disagree"
    sides = {"engine": engine_order, "baseline": baseline_order, "typed": typed_order}
    times: dict[str, list[float]] = {name: [] for name in sides}
    for round_no in range(args.rounds + 1):
        for name, action in sides.items():
            start = time.perf_counter()
            for _ in range(args.orders):
                action()
            if round_no:  # the first round warms up
                times[name].append((time.perf_counter() - start) / args.orders)
    engine_s, base_s, typed_s = (statistics.median(times[n]) for n in sides)
    ratios = sorted(e / b for e, b in zip(times["engine"], times["baseline"], strict=True))
    service.close()
    return [
        *out,
        f"order of {LINES} lines: engine {engine_s * 1e3:.2f} ms, baseline "
        f"{base_s * 1e3:.2f} ms, ratio {engine_s / base_s:.2f}x (target <= 2x; rounds "
        f"{ratios[0]:.2f}x-{ratios[-1]:.2f}x)",
        f"for information: the same order with typed prices {typed_s * 1e3:.2f} ms, so MATCH "
        f"costs {(engine_s - typed_s) / LINES * 1e3:.3f} ms per line",
    ]


@contextmanager
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="price lines (100,000)")
    parser.add_argument("--orders", type=int, default=20, help="orders per side per round (20)")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (10)")
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()
    if args.rows < len(SHAPES) or args.orders < 1 or args.rounds < 1:
        parser.error(f"--rows must be at least {len(SHAPES)}; --orders and --rounds at least 1")
    print(machine({"sqlalchemy": sa.__version__}), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        print("== SQLite (file, WAL)", flush=True)
        print("\n".join(bench(f"sqlite:///{folder}/lookups.db", args)), flush=True)
    if args.postgres:
        with postgres_database(args.postgres) as url:
            print("== PostgreSQL", flush=True)
            print("\n".join(bench(url, args)), flush=True)


if __name__ == "__main__":
    main()
