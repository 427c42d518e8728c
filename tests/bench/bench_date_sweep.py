"""Benchmark: the date-relative rule sweep vs the hand-written indexed query.

1,000,000 contracts (default) with an indexed ``end_date``; exactly 1,000 of them end on
the day a rule ``{before: {field: end_date, days: 30}}`` is due in the swept minute.
Times ``service.rules.sweep_dates(now)`` (find the due records through the index and
queue one ``rule.fire`` outbox event each, watermark moved, one transaction) against
the same work written by hand: the indexed range query on the form table and one
executemany INSERT of the same 1,000 outbox rows. Also prints the query plan (the sweep
must use the index, never scan). Target: sweep <= 1.5x hand. Printed, never asserted.

    python tests/bench/bench_date_sweep.py [--rows 1000000] [--postgres SERVER_URL]

The loaded rows are kept for the next run: in <tmp>/lowcode_bench_dates.db and in the
database lowcode_bench_dates on the PostgreSQL server (drop it to free the space).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, machine, paired_medians  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Service  # noqa: E402
from engine.store.outbox import outbox  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=ZONE)
LAST = NOW - timedelta(minutes=1)
DUE_DAY = date(2026, 2, 4)  # 30 days after 2026-01-05, at 09:00
DUE = 1000
BATCH = 50_000
APP = """
app: dates
version: 1.0.0
name: Dates
---
form: contract
name: Contract
fields:
  name: {type: text}
  end_date: {type: date, index: true}
---
rule: expiry_reminder
form: contract
trigger: {before: {field: end_date, days: 30}}
actions:
  - webhook: {url: "http://127.0.0.1:9/never", secret: "s"}
"""
KEY = "date:dates.expiry_reminder"


def prepare(service: Service, rows: int) -> sa.Table:
    """Install the app and bulk-load the contracts unless already there."""
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    with service._context.transactions.read("dates") as tx:
        table = tx.form("contract").tables.table
    with service._database.read() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if have == rows:
        print(f"reusing {rows} loaded rows")
        return table
    system = {
        "status": "active",
        "version": 1,
        "created_at": NOW,
        "created_by": "bench",
        "updated_at": NOW,
        "updated_by": "bench",
    }
    start = time.perf_counter()
    with service._database.write() as conn:
        conn.execute(table.delete())
    for first in range(0, rows, BATCH):
        batch = []
        for n in range(first, min(rows, first + BATCH)):
            # the first DUE rows end on the due day; the rest on 3,000 other days
            day = DUE_DAY if n < DUE else DUE_DAY + timedelta(days=1 + n % 3000)
            batch.append({**system, "name": f"C{n}", "title": f"C{n}", "end_date": day})
        with service._database.write() as conn:
            conn.execute(table.insert(), batch)
    print(f"loaded {rows} rows in {time.perf_counter() - start:.1f}s")
    if service._database.engine.dialect.name == "postgresql":
        with service._database.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            conn.exec_driver_sql(f"VACUUM ANALYZE {table.name}")
    else:
        with service._database.write() as conn:
            conn.exec_driver_sql("ANALYZE")
    return table


def _reset(service: Service) -> None:
    """Back to before the sweep: watermark at LAST, no queued events."""
    from engine.store.job_tables import schedule_runs

    with service._database.write() as conn:
        conn.execute(outbox.delete().where(outbox.c.topic == "rule.fire"))
        conn.execute(schedule_runs.delete().where(schedule_runs.c.key == KEY))
        conn.execute(schedule_runs.insert().values(key=KEY, last_fire_at=LAST))


def measure(service: Service, table: sa.Table, repeats: int) -> tuple[float, float, str]:
    """Seconds (sweep, hand) per run, and the query plan of the hand query."""
    engine = service._database.engine
    end = table.c.end_date
    hand_query = sa.select(table.c.id).where(
        table.c.deleted_at.is_(None), end.between(DUE_DAY, DUE_DAY)
    )

    def sweep() -> None:
        _reset(service)
        assert service.rules.sweep_dates(NOW).queued == DUE

    def hand() -> None:
        _reset(service)
        with engine.begin() as conn:
            ids = conn.execute(hand_query).scalars().all()
            conn.execute(
                outbox.insert(),
                [
                    {
                        "topic": "rule.fire",
                        "payload": {"app": "dates", "form": "contract", "id": i, "rule": "r"},
                        "idempotency_key": f"hand:{i}",
                        "created_at": NOW,
                        "available_at": NOW,
                        "attempts": 0,
                    }
                    for i in ids
                ],
            )
        assert len(ids) == DUE

    compiled = hand_query.compile(engine, compile_kwargs={"literal_binds": True})
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        plan = "; ".join(str(r[-1]) for r in conn.exec_driver_sql(explain + str(compiled)))
    ours, theirs = paired_medians(repeats, sweep, hand)
    _reset(service)
    return ours, theirs, plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sqlite", help="database file (default: <tmp>/lowcode_bench_dates.db)")
    parser.add_argument("--postgres", help="server URL (database lowcode_bench_dates, kept)")
    args = parser.parse_args()
    path = args.sqlite or str(Path(tempfile.gettempdir()) / "lowcode_bench_dates.db")
    targets = {"sqlite (file, WAL)": f"sqlite:///{path}"}
    if args.postgres:
        targets["postgresql"] = bench_database(args.postgres, "lowcode_bench_dates")
    results, versions = {}, {}
    for label, url in targets.items():
        service = Service(url, clock=lambda: NOW)
        table = prepare(service, args.rows)
        versions[label] = service._database.server_version()
        results[label] = measure(service, table, args.repeats)
        service._database.dispose()
    print(machine(versions))
    print(f"rows: {args.rows}, due: {DUE} (end_date {DUE_DAY}, rule 30 days before at 09:00)")
    for label, (ours, theirs, plan) in results.items():
        print(
            f"{label:20} sweep {ours * 1000:8.1f} ms   hand (indexed query + insert) "
            f"{theirs * 1000:8.1f} ms   ratio {ours / theirs:5.2f}x (target <= 1.50x)"
        )
        print(f"{'':20} plan: {plan}")


if __name__ == "__main__":
    main()
