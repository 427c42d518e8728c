"""Benchmark: a dealer's scoped Service.query_records vs hand-written SQL with the same predicate.

The purchase app of bench_query.py with a ``dealer`` field and permissions: the role
``dealer_admin`` reads purchase requests with the row rule ``dealer_tree`` (its dealer
and every dealer below it) and every supplier. The organisation has 2,000 dealers
(400 tier-1 dealers with 4 sub-dealers each), loaded through ``service.org.load``;
N purchase requests (default 1,000,000) are spread over all 2,000 dealers and loaded
with batched bulk inserts. As the external user of one tier-1 dealer, times:
status == 'active' and total >= 5000 and supplier.name startswith 'S1', sorted by
-total, page 1 of 50 (with and without the total), against the hand-written SQL with
``dealer IN (SELECT descendant FROM org_dealer_paths WHERE ancestor = :dealer)``.
Target: service <= 1.2x hand-written. Printed, never asserted.

    python tests/bench/bench_scoped_query.py [--rows 1000000] [--repeats 20] [--postgres SERVER_URL]

The loaded rows are kept for the next run: in <tmp>/lowcode_bench_scoped_query.db and in
the database lowcode_bench_scoped_query on the PostgreSQL server (drop it to free the space).
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
from engine.definitions.naming import form_table_name  # noqa: E402
from engine.org.org_file import Dealer, OrgSnapshot, Role, User  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402
from engine.store.query import build_query  # noqa: E402

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
APP = "benchscope"
SUPPLIERS = 1000
TIER1, SUBS = 400, 4
DEALERS = TIER1 * (1 + SUBS)
BATCH = 20_000
#: the tier-1 dealer whose user queries (its tree: itself and 4 sub-dealers)
DEALER = "D0007"
LOGIN = "d0007.boss"
ACTOR = Actor(LOGIN)
FILTERS = [
    ("status", "eq", "active"),
    ("total", "ge", "5000"),
    ("supplier.name", "startswith", "S1"),
]
REQUESTS = form_table_name(APP, "purchase_request")
SUPPLIER_TABLE = form_table_name(APP, "supplier")
WHERE = f"""
from {REQUESTS} r
join {SUPPLIER_TABLE} s on s.id = r.supplier and s.deleted_at is null
where r.deleted_at is null and r.status = :status and r.total >= :total
  and s.name like :prefix
  and r.dealer in (select descendant from org_dealer_paths where ancestor = :dealer)
"""
HAND_SQL = f"select r.* {WHERE} order by r.total desc, r.id desc limit 50"
HAND_COUNT = f"select count(*) {WHERE}"


def scoped_app() -> str:
    """BENCH_APP with a dealer field on purchase requests and permissions on both forms."""
    text = BENCH_APP.replace("app: bench\n", f"app: {APP}\n", 1)
    text = text.replace(
        "name: Bench\n", "name: Bench\nroles:\n  dealer_admin: {en: Dealer admin}\n", 1
    )
    text = text.replace(
        "  city: {type: text}\n",
        "  city: {type: text}\npermissions:\n  dealer_admin: {can: [read]}\n",
        1,
    )
    text = text.replace(
        "  needed_by: {type: date, required: true}\n",
        "  needed_by: {type: date, required: true}\n"
        '  dealer:    {type: dealer, default_expr: "CURRENT_DEALER()", required: true}\n',
        1,
    )
    return text + "permissions:\n  dealer_admin: {can: [create, read], rows: dealer_tree}\n"


def dealer_codes() -> list[str]:
    """Every dealer code: D0000..D0399 (tier 1), then D0000-1..D0399-4 (their sub-dealers)."""
    tier1 = [f"D{i:04d}" for i in range(TIER1)]
    return tier1 + [f"{code}-{k}" for code in tier1 for k in range(1, SUBS + 1)]


def organisation() -> OrgSnapshot:
    """2,000 dealers in a two-level tree, one external user per tier-1 dealer."""
    tier1 = [f"D{i:04d}" for i in range(TIER1)]
    dealers = [Dealer(code, f"Dealer {code}") for code in tier1]
    dealers += [
        Dealer(f"{code}-{k}", f"Sub-dealer {code}-{k}", parent=code)
        for code in tier1
        for k in range(1, SUBS + 1)
    ]
    users = tuple(
        User(f"{code.lower()}.boss", f"Boss of {code}", kind="external", dealer=code)
        for code in tier1
    )
    role = Role("dealer_admin", "Dealer admin", tuple(sorted(u.login for u in users)))
    return OrgSnapshot(roles=(role,), dealers=tuple(dealers), users=users)


def prepare(service: Service, rows: int) -> None:
    """Load the organisation, install the app and bulk-load suppliers and requests."""
    service.init_database()
    start = time.perf_counter()
    summary = service.org.load(SYSTEM_ACTOR, organisation())
    print(
        f"service.org.load of {DEALERS} dealers and {TIER1} users: "
        f"{time.perf_counter() - start:.2f}s ({'changed' if summary.changed else 'unchanged'})"
    )
    service.install_app(SYSTEM_ACTOR, load_app_text(scoped_app()))
    fresh = fresh_tables(service, APP, rows, SUPPLIERS, NOW)
    if fresh is None:
        return
    requests, suppliers, system = fresh
    start = time.perf_counter()
    rng, spread = random.Random(7), random.Random(11)
    statuses = ["active"] * 8 + ["draft", "approved"]
    codes = dealer_codes()
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
                    "dealer": codes[spread.randrange(DEALERS)],
                    "total": total,
                    "urgent": False,
                }
            )
        with service._database.write() as conn:
            conn.execute(requests.insert(), batch)
    with service._database.write() as conn:
        if service._database.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql(f"ANALYZE {REQUESTS}")
            conn.exec_driver_sql(f"ANALYZE {SUPPLIER_TABLE}")
            conn.exec_driver_sql("ANALYZE org_dealer_paths")
    print(f"loaded {rows} rows in {time.perf_counter() - start:.1f}s")


def engine_sql(service: Service, with_count: bool = False) -> str:
    """The SQL the record source runs for the benchmark's query, as the dealer user."""
    with service._context.transactions.read(APP) as tx:
        access = tx.access(ACTOR)
        source = tx.source("purchase_request", access.scope("purchase_request", "read"))
        query = build_query(
            source.form.tables,
            lambda key: tx.stored(key).tables,
            visible=source.scope.condition,
            hidden=source.scope.hidden_fields,
            filters=FILTERS,
            sort="-total",
            page=1,
            page_size=50,
            search=None,
            locale="en",
        )
        dialect = service._database.engine.dialect
        stmt = query.count if with_count else query.rows
        return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def explain(service: Service, sql: str, params: dict | None = None) -> str:
    """The query plan of ``sql`` (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL)."""
    prefix = "EXPLAIN QUERY PLAN " if service._database.is_sqlite else "EXPLAIN ANALYZE "
    with service._database.engine.connect() as conn:
        rows = conn.execute(sa.text(prefix + sql), params or {}).all()
    return "\n".join(" | ".join(str(v) for v in row) for row in rows)


def hand_params(service: Service) -> dict:
    """The hand-written SQL's values: 5000.00 as stored (minor units on SQLite)."""
    with service._context.transactions.read(APP) as tx:
        total_type = tx.form("purchase_request").tables.table.c.total.type
    total = total_type.process_bind_param(Decimal("5000"), service._database.engine.dialect)
    return {"status": "active", "total": total, "prefix": "S1%", "dealer": DEALER}


def measure(service: Service, repeats: int) -> dict[str, tuple[float, float]]:
    """Seconds (service, hand-written) per query, without and with the total count."""
    engine = service._database.engine
    params = hand_params(service)
    with engine.connect() as conn:
        hand_rows = conn.execute(sa.text(HAND_SQL), params).mappings().all()
        hand_total = conn.execute(sa.text(HAND_COUNT), params).scalar_one()
    check = service.query_records(
        ACTOR, APP, "purchase_request", filters=FILTERS, sort="-total", page_size=50
    )
    assert [r.id for r in check.items] == [r["id"] for r in hand_rows], "different rows"
    assert check.total == hand_total, (check.total, hand_total)
    print(f"{hand_total} matching rows in the dealer's tree; page 1 holds {len(hand_rows)}")

    def hand(with_count: bool) -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(HAND_SQL), params).mappings().all()
            if with_count:
                conn.execute(sa.text(HAND_COUNT), params).scalar_one()

    def ours(with_count: bool) -> None:
        page = service.query_records(
            ACTOR,
            APP,
            "purchase_request",
            filters=FILTERS,
            sort="-total",
            page=1,
            page_size=50,
            with_total=with_count,
        )
        assert len(page.items) == len(hand_rows)

    return {
        "page": paired_medians(repeats, lambda: ours(False), lambda: hand(False)),
        "page + total": paired_medians(repeats, lambda: ours(True), lambda: hand(True)),
    }


BENCH_DATABASE = "lowcode_bench_scoped_query"


def bench_database(server_url: str) -> str:
    """The URL of this benchmark's own database on the server (see _common)."""
    return common_bench_database(server_url, BENCH_DATABASE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument(
        "--sqlite", help="database file (default: <tmp>/lowcode_bench_scoped_query.db)"
    )
    parser.add_argument(
        "--postgres",
        help="server URL; the rows go into its database lowcode_bench_scoped_query (kept)",
    )
    parser.add_argument(
        "--explain", action="store_true", help="print both query plans (SQLite: EXPLAIN QUERY PLAN)"
    )
    args = parser.parse_args()
    path = args.sqlite or str(Path(tempfile.gettempdir()) / "lowcode_bench_scoped_query.db")
    targets = {"sqlite (file, WAL)": f"sqlite:///{path}"}
    if args.postgres:
        targets["postgresql"] = bench_database(args.postgres)
    results, versions = {}, {}
    for label, url in targets.items():
        service = Service(url, clock=lambda: NOW)
        prepare(service, args.rows)
        versions[label] = service._database.server_version()
        print(f"\n{label}: the engine's SQL for page 1 (bound values inlined):")
        print(engine_sql(service))
        if args.explain:
            params = hand_params(service)
            plans = {
                "the engine's page query": explain(service, engine_sql(service)),
                "the hand-written page query": explain(service, HAND_SQL, params),
                "the engine's count": explain(service, engine_sql(service, with_count=True)),
                "the hand-written count": explain(service, HAND_COUNT, params),
            }
            for title, plan in plans.items():
                print(f"\n{label}: plan of {title}\n{plan}")
        results[label] = measure(service, args.repeats)
        service._database.dispose()
    print()
    print(machine(versions))
    print(
        f"rows: {args.rows}, dealers: {DEALERS} ({TIER1} tier-1 x {SUBS} sub-dealers), "
        f"actor: {LOGIN} (dealer_tree of {DEALER}), query: {FILTERS}, sort -total, page 1 of 50; "
        f"medians of {args.repeats} paired runs"
    )
    for label, timings in results.items():
        for name, (ours, hand) in timings.items():
            print(
                f"{label:20} {name:13} service {ours * 1000:8.2f} ms   hand SQL "
                f"{hand * 1000:8.2f} ms   ratio {ours / hand:5.2f}x (target <= 1.20x)"
            )


if __name__ == "__main__":
    main()
