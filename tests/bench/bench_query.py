"""Benchmark: Service.query_records vs hand-written SQL for the same query on the same tables.

Loads N purchase requests (default 1,000,000) linked to 1,000 suppliers with executemany
in batches (the SQLite file is reused between runs when it already holds N rows), then
times: status == 'active' and total >= 5000 and supplier.name startswith 'S1', sorted
by -total, page 3 of 50. Target: service <= 1.5x hand-written. Printed, never asserted.

    python tests/bench/bench_query.py [--rows 1000000] [--sqlite PATH] [--postgres SERVER_URL]

The loaded rows are kept for the next run: in <tmp>/lowcode_bench_query.db and in the
database lowcode_bench_query on the PostgreSQL server (drop it to free the space).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_APP, fresh_tables, machine, paired_medians  # noqa: E402
from _common import bench_database as common_bench_database

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ACTOR = Actor("bench.user")
SUPPLIERS = 1000
BATCH = 20_000
FILTERS = [
    ("status", "eq", "active"),
    ("total", "ge", "5000"),
    ("supplier.name", "startswith", "S1"),
]
HAND_SQL = """
select r.* from f_bench_purchase_request r
join f_bench_supplier s on s.id = r.supplier and s.deleted_at is null
where r.deleted_at is null and r.status = :status and r.total >= :total
  and s.name like :prefix
order by r.total desc, r.id desc
limit 50 offset 100
"""
HAND_COUNT = """
select count(*) from f_bench_purchase_request r
join f_bench_supplier s on s.id = r.supplier and s.deleted_at is null
where r.deleted_at is null and r.status = :status and r.total >= :total and s.name like :prefix
"""


def prepare(service: Service, rows: int) -> None:
    """Install the app and bulk-load suppliers and requests unless already there."""
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(BENCH_APP))
    fresh = fresh_tables(service, "bench", rows, SUPPLIERS, NOW)
    if fresh is None:
        return
    requests, suppliers, system = fresh
    start = time.perf_counter()
    rng = random.Random(7)
    statuses = ["active"] * 8 + ["draft", "approved"]
    for first in range(0, rows, BATCH):
        batch = []
        for n in range(first, min(rows, first + BATCH)):
            total = Decimal(rng.randrange(100, 10_000_000)) / 100
            batch.append(
                {
                    **system,
                    "status": statuses[n % 10],
                    "serial": f"PR-{n:07d}",
                    "title": f"PR-{n:07d}",
                    "applicant": "bench",
                    "supplier": n % SUPPLIERS + 1,
                    "needed_by": date(2026, 2, 1) + timedelta(days=n // SUPPLIERS),
                    "total": total,
                    "urgent": False,
                }
            )
        with service._database.write() as conn:
            conn.execute(requests.insert(), batch)
    print(f"loaded {rows} rows in {time.perf_counter() - start:.1f}s")
    if service._database.engine.dialect.name == "postgresql":
        # planner statistics and the visibility map (index-only counts) as autovacuum
        # would leave them, whether or not the server runs it
        with service._database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            for table in (requests, suppliers):
                conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")


def measure(service: Service, repeats: int) -> dict[str, tuple[float, float]]:
    """Seconds (service, hand-written) per query, without and with the total count."""
    engine = service._database.engine
    # the stored form of 5000.00: a NUMERIC on PostgreSQL, minor units (500000) on SQLite
    with service._context.transactions.read("bench") as tx:
        total_type = tx.form("purchase_request").tables.table.c.total.type
    total = total_type.process_bind_param(Decimal("5000"), engine.dialect)
    params = {"status": "active", "total": total, "prefix": "S1%"}

    def hand(with_count: bool) -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(HAND_SQL), params).mappings().all()
            if with_count:
                conn.execute(sa.text(HAND_COUNT), params).scalar_one()

    def ours(with_count: bool) -> None:
        page = service.query_records(
            ACTOR,
            "bench",
            "purchase_request",
            filters=FILTERS,
            sort="-total",
            page=3,
            page_size=50,
            with_total=with_count,
        )
        assert len(page.items) == 50

    return {
        "page": paired_medians(repeats, lambda: ours(False), lambda: hand(False)),
        "page + total": paired_medians(repeats, lambda: ours(True), lambda: hand(True)),
    }


BENCH_DATABASE = "lowcode_bench_query"


def bench_database(server_url: str) -> str:
    """The URL of this benchmark's own database on the server (see _common)."""
    return common_bench_database(server_url, BENCH_DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sqlite", help="database file (default: <tmp>/lowcode_bench_query.db)")
    parser.add_argument(
        "--postgres",
        help="server URL; the rows go into its database lowcode_bench_query (created, kept for reuse)",
    )
    args = parser.parse_args()
    path = args.sqlite or str(Path(tempfile.gettempdir()) / "lowcode_bench_query.db")
    targets = {"sqlite (file, WAL)": f"sqlite:///{path}"}
    if args.postgres:
        targets["postgresql"] = bench_database(args.postgres)
    results, versions = {}, {}
    for label, url in targets.items():
        service = Service(url, clock=lambda: NOW)
        prepare(service, args.rows)
        versions[label] = service._database.server_version()
        results[label] = measure(service, args.repeats)
        service._database.dispose()
    print(machine(versions))
    print(f"rows: {args.rows}, suppliers: {SUPPLIERS}, query: {FILTERS}, sort -total, page 3 of 50")
    for label, timings in results.items():
        for name, (ours, hand) in timings.items():
            print(
                f"{label:20} {name:13} service {ours * 1000:8.1f} ms   hand SQL "
                f"{hand * 1000:8.1f} ms   ratio {ours / hand:5.2f}x (target <= 1.50x)"
            )


if __name__ == "__main__":
    main()
