"""Benchmark: records/s of Service.create_record vs a raw Core insert of the same rows.

Each write is its own transaction on both sides. The engine side validates, computes the
formulas, allocates a serial number and writes the record, its child rows, a revision,
an audit entry and an outbox event; the raw side inserts the same form row and child
rows. The sides alternate in rounds and the medians are compared, so load from
elsewhere on the machine touches both. Target: engine <= 2x raw. Printed, never asserted.

    python tests/bench/bench_submit.py [--count 500] [--rounds 5] [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BENCH_APP, machine  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=SHANGHAI)
ACTOR = Actor("bench.user")


def run(url: str, count: int, rounds: int) -> tuple[list[float], list[float], str]:
    """Per-round seconds per record (engine, raw) and the server version, on one database.

    The two sides alternate in ``rounds`` rounds of ``count // rounds`` records each, so
    a burst of load from elsewhere on the machine hits both sides alike.
    """
    service = Service(url, clock=lambda: NOW)
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(BENCH_APP))
    suppliers = [
        service.create_record(ACTOR, "bench", "supplier", {"name": f"S{i}"}).id for i in range(50)
    ]

    def payload(n: int) -> dict:
        return {
            "supplier": suppliers[n % len(suppliers)],
            "needed_by": (date(2026, 2, 1) + timedelta(days=n // len(suppliers))).isoformat(),
            "lines": [
                {"item": "paper", "qty": 3, "price": "12.50"},
                {"item": "ink", "qty": 1, "price": "99.00"},
            ],
        }

    service.create_record(ACTOR, "bench", "purchase_request", payload(0))  # warm caches

    # the bench reaches behind the facade on purpose: the baseline writes the same tables
    with service._context.transactions.read("bench") as tx:
        runtime = tx.form("purchase_request")
    table, lines = runtime.tables.table, runtime.tables.children["lines"]
    template = service.get_record(ACTOR, "bench", "purchase_request", 1)
    base = {c.name: getattr(template, c.name, None) for c in table.columns if c.name != "id"}
    base.update({k: template.values[k] for k in runtime.tables.fields})
    base.update(
        created_at=NOW,
        updated_at=NOW,
        created_by="bench.user",
        updated_by="bench.user",
        status="active",
        version=1,
        title=template.title,
        deleted_at=None,
    )
    child_rows = [{k: v for k, v in r.items() if k != "id"} for r in template.values["lines"]]
    insert, child_insert = table.insert(), lines.insert()
    engine = service._database.engine

    def engine_side(first: int, size: int) -> float:
        start = time.perf_counter()
        for n in range(first, first + size):
            service.create_record(ACTOR, "bench", "purchase_request", payload(n))
        return (time.perf_counter() - start) / size

    def raw_side(first: int, size: int) -> float:
        start = time.perf_counter()
        for n in range(first, first + size):
            row = dict(base, needed_by=date(2030, 1, 1) + timedelta(days=n), serial=f"RAW-{n}")
            with engine.begin() as conn:
                new_id = conn.execute(insert, row).inserted_primary_key[0]
                conn.execute(
                    child_insert,
                    [dict(r, parent_id=new_id, row_index=i) for i, r in enumerate(child_rows)],
                )
        return (time.perf_counter() - start) / size

    size = max(1, count // rounds)
    engine_times, raw_times = [], []
    for r in range(rounds):
        engine_times.append(engine_side(1 + r * size, size))
        raw_times.append(raw_side(r * size, size))
    version = service._database.server_version()
    service._database.dispose()
    return engine_times, raw_times, version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="records per side (default 500)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()

    results: dict[str, tuple[list[float], list[float]]] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        engine_times, raw_times, version = run(
            f"sqlite:///{folder}/bench.db", args.count, args.rounds
        )
        results["sqlite (file, WAL)"] = (engine_times, raw_times)
        versions["sqlite"] = version
    if args.postgres:
        server = sa.make_url(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"lowcode_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            engine_times, raw_times, version = run(url, args.count, args.rounds)
            results["postgresql"] = (engine_times, raw_times)
            versions["postgresql"] = version
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    print(machine(versions))
    print(
        f"records per side: {args.count} in {args.rounds} alternating rounds, "
        "one transaction per record; medians of the rounds"
    )
    for label, (engine_times, raw_times) in results.items():
        engine_s, raw_s = statistics.median(engine_times), statistics.median(raw_times)
        ratios = sorted(e / r for e, r in zip(engine_times, raw_times, strict=True))
        print(
            f"{label:20} engine {1 / engine_s:8.1f} rec/s   raw insert {1 / raw_s:8.1f} rec/s   "
            f"engine/raw time ratio {engine_s / raw_s:5.2f}x (target <= 2.00x; "
            f"rounds {ratios[0]:.2f}x-{ratios[-1]:.2f}x)"
        )


if __name__ == "__main__":
    main()
