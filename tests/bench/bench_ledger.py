"""Benchmarks of ledgers (issue 15): FIFO consumption against hand-written SQL, and a
balance read that stays constant-time as entries grow.

``consume``: ``--consumptions`` (10,000) consumptions of 1.00 across ``--lots`` (1,000)
lots of 10.00 each (posted by the engine before timing, one account per side, FIFO
order), one transaction per consumption. Engine side: a write transaction of the
service on the app's current definitions (``Transactions.write``: generation checks,
the cached ledger definition) running the engine's ``LedgerWriter.consume``: lock the
account row, expire what is due, the idempotency check and the operation row, walk the
open lots, update the lots touched, append the entries, store the new balance.
Baseline: the same work hand-written with SQLAlchemy Core on the same tables in one
transaction, every statement built once before timing: SELECT … FOR UPDATE of the account, INSERT of the operation, SELECT of the
open lots in id order (LIMIT 50), UPDATE of the lots touched, INSERT of the entries,
UPDATE of the balance; nothing else read. The sides take turns in ``--rounds`` rounds
of equal size and the medians are compared; both accounts must end at 0.00 with every
lot spent (checked). For information, a third side consumes through a rule (a record
created, the rule's ``consume`` action in its transaction), fewer times. Target: engine
<= 2x the baseline's time per consumption.

``balance``: the time of a balance read of an account with ``--entries`` (10,000) and
of one with ``--big`` (1,000,000) entries (bulk-inserted in SQL, alternating +1.00 and
-1.00), the two reads taking turns in rounds so the machine's load falls on both. Engine: ``service.ledgers.account`` (a read transaction,
one unique-index read of the account row) and the expression callback alone
(``ledger_reader``, what BALANCE() calls in a formula). For contrast, the naive
``SELECT SUM(amount)`` over the account's entries. Target: the engine's read time at
1,000,000 entries within noise of the one at 10,000.

Printed, never asserted. Each benchmark gets a fresh database: a temporary SQLite file
and, with ``--postgres``, a throwaway database on that server.

    python tests/bench/bench_ledger.py [--only consume|balance ...] [--consumptions 10000]
        [--lots 1000] [--rounds 20] [--entries 10000] [--big 1000000] [--reads 2000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402
from engine.service.ledgers import ledger_reader, ledgers_of  # noqa: E402
from engine.store import ledger as store  # noqa: E402
from engine.store.ledger import LedgerWriter, Source  # noqa: E402
from engine.store.ledger_tables import (  # noqa: E402
    ledger_accounts,
    ledger_entries,
    ledger_lots,
    ledger_operations,
)
from tests.bench._common import machine, postgres_database  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 1, 5, 10, 0, tzinfo=SHANGHAI)
APP = "ledger_bench"
LOT = Decimal("10.00")
ONE = Decimal("1.00")

LEDGER_APP = f"""
app: {APP}
version: 1.0.0
name: Ledger benchmark
---
ledger: points
account: holder
lots: {{order: fifo}}
---
form: usage
fields:
  holder: {{type: text, required: true}}
  amount: {{type: money, required: true}}
---
form: grant
fields:
  holder: {{type: text, required: true}}
  amount: {{type: money, required: true}}
---
rule: grant_points
form: grant
trigger: created
actions:
  - post: {{ledger: points, account: {{holder: holder}}, amount: amount}}
---
rule: use_points
form: usage
trigger: created
actions:
  - consume: {{ledger: points, account: {{holder: holder}}, amount: amount}}
"""


def _service(url: str) -> Service:
    service = Service(url, clock=lambda: NOW)
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(LEDGER_APP))
    return service


def _post_lots(service: Service, holder: str, lots: int) -> None:
    """``lots`` lots of 10.00 on ``holder``'s account, in one transaction."""

    def work(tx: Any) -> None:
        ledger = ledgers_of(tx)["points"]
        writer = LedgerWriter(tx.conn, ledger.ref(), [holder], NOW, NOW.date())
        for n in range(lots):
            writer.post(f"seed:{holder}:{n}", LOT, Source(by="bench"))

    service._context.transactions.write(APP, work)


def _ratio_line(label: str, engine: list[float], baseline: list[float], target: str) -> list[str]:
    engine_s, base_s = statistics.median(engine), statistics.median(baseline)
    rounds = sorted(e / b for e, b in zip(engine, baseline, strict=True))
    return [
        f"{label}: engine {engine_s * 1e3:.3f} ms/consumption ({1 / engine_s:,.0f}/s), "
        f"baseline {base_s * 1e3:.3f} ms/consumption ({1 / base_s:,.0f}/s)",
        f"{label}: {engine_s / base_s:.2f}x the baseline ({target}; "
        f"rounds {rounds[0]:.2f}x-{rounds[-1]:.2f}x)",
    ]


# -- 1. FIFO consumption ------------------------------------------------------------------


def bench_consume(url: str, args: argparse.Namespace) -> list[str]:
    """10,000 FIFO consumptions across 1,000 lots: engine writer vs hand-written Core."""
    service = _service(url)
    transactions, database = service._context.transactions, service._database
    per_round = args.consumptions // args.rounds
    _post_lots(service, "engine", args.lots)
    _post_lots(service, "baseline", args.lots)
    with transactions.read(APP) as tx:
        ref = ledgers_of(tx)["points"].ref()
    with database.read() as conn:
        base_account = store.account_row(conn, ref.id, "baseline").id
    a, lo, o = ledger_accounts.c, ledger_lots.c, ledger_operations.c
    counter = {"engine": 0, "baseline": 0}

    def engine_one() -> None:
        n = counter["engine"] = counter["engine"] + 1

        def work(tx: Any) -> None:
            ledger = ledgers_of(tx)["points"]
            writer = LedgerWriter(tx.conn, ledger.ref(), ["engine"], NOW, NOW.date())
            writer.consume(f"use:{n}", ONE, Source("usage", n, "bench", "bench"))

        transactions.write(APP, work)

    lock = sa.select(a.balance).where(a.id == base_account).with_for_update()
    open_lots = (
        sa.select(lo.id, lo.remaining)
        .where(lo.account_id == base_account, lo.remaining > 0)
        .order_by(lo.id)
        .limit(50)
    )
    set_lot = (
        ledger_lots.update()
        .where(lo.id == sa.bindparam("lot"))
        .values(remaining=sa.bindparam("rest", type_=lo.remaining.type))
    )
    # every statement built once, as a careful hand-written loop would
    add_operation = ledger_operations.insert().returning(o.id)
    add_entries = ledger_entries.insert()
    set_balance = (
        ledger_accounts.update()
        .where(a.id == base_account)
        .values(
            balance=sa.bindparam("new_balance", type_=a.balance.type),
            updated_at=sa.bindparam("new_updated_at", type_=a.updated_at.type),
        )
    )

    def baseline_one() -> None:
        n = counter["baseline"] = counter["baseline"] + 1
        with database.write() as conn:
            balance = conn.execute(lock).scalar_one()
            op = conn.execute(
                add_operation,
                {
                    "ledger_id": ref.id,
                    "idempotency_key": f"base:{n}",
                    "action": "consume",
                    "account_id": base_account,
                    "source_form": "usage",
                    "source_id": n,
                    "rule": "bench",
                    "amount": ONE,
                    "at": NOW,
                    "by": "bench",
                },
            ).scalar_one()
            left, rests, entries = ONE, [], []
            for lot_id, remaining in conn.execute(open_lots):
                take = min(remaining, left)
                rests.append({"lot": lot_id, "rest": remaining - take})
                entries.append(
                    {
                        "operation_id": op,
                        "account_id": base_account,
                        "kind": "consume",
                        "amount": -take,
                        "held": Decimal(0),
                        "lot_id": lot_id,
                        "source_form": "usage",
                        "source_id": n,
                        "at": NOW,
                    }
                )
                left -= take
                if left <= 0:
                    break
            conn.execute(set_lot, rests)
            conn.execute(add_entries, entries)
            conn.execute(set_balance, {"new_balance": balance - ONE, "new_updated_at": NOW})

    engine_rounds: list[float] = []
    base_rounds: list[float] = []
    for _ in range(args.rounds):
        for side, bucket in ((engine_one, engine_rounds), (baseline_one, base_rounds)):
            start = time.perf_counter()
            for _i in range(per_round):
                side()
            bucket.append((time.perf_counter() - start) / per_round)
    lines = _ratio_line("consume", engine_rounds, base_rounds, "target <= 2x")
    # through a rule, for information: a record created, its rule consuming in the same
    # transaction (a grant first, so there is something to consume)
    clerk = Actor("bench")
    service.create_record(clerk, APP, "grant", {"holder": "rule", "amount": "1000.00"})
    rule_n = min(per_round, 500)
    start = time.perf_counter()
    for _ in range(rule_n):
        service.create_record(clerk, APP, "usage", {"holder": "rule", "amount": "1.00"})
    rule_s = (time.perf_counter() - start) / rule_n
    lines.append(
        f"consume: through a rule (a record created + its consume action), for information: "
        f"{rule_s * 1e3:.3f} ms/consumption over {rule_n}"
    )
    with database.read() as conn:
        for holder in ("engine", "baseline"):
            row = store.account_row(conn, ref.id, holder)
            left = conn.execute(
                sa.select(sa.func.count())
                .select_from(ledger_lots)
                .where(lo.account_id == row.id, lo.remaining > 0)
            ).scalar_one()
            lines.append(
                f"consume: {holder} account after {counter[holder]:,} consumptions: "
                f"balance {row.balance}, open lots {left}"
            )
    service.close()
    return lines


# -- 2. a balance read as entries grow ---------------------------------------------------


def _bulk_entries(service: Service, account_id: int, operation_id: int, total: int) -> None:
    """Entries 1..total on the account (alternating +1.00 / -1.00), inserted in SQL."""
    units = 1 if service._database.engine.dialect.name == "postgresql" else 10_000
    with service._database.write() as conn:
        have = conn.execute(
            sa.select(sa.func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.account_id == account_id)
        ).scalar_one()
        if conn.dialect.name == "postgresql":
            series = f"SELECT n FROM generate_series({have + 1}, {total}) AS n"
        else:
            series = (
                f"WITH RECURSIVE s(n) AS (SELECT {have + 1} UNION ALL SELECT n + 1 FROM s "
                f"WHERE n < {total}) SELECT n FROM s"
            )
        conn.exec_driver_sql(
            "INSERT INTO ledger_entries (operation_id, account_id, kind, amount, held, at) "
            f"SELECT {operation_id}, {account_id}, 'post', "
            f"CASE WHEN MOD(n, 2) = 1 THEN {units} ELSE -{units} END, 0, "
            f"'{NOW.isoformat()}' "
            f"FROM ({series}) AS t"
        )


def bench_balance(url: str, args: argparse.Namespace) -> list[str]:
    """A balance read at 10,000 and at 1,000,000 entries: constant-time."""
    service = _service(url)
    clerk = Actor("bench")
    transactions = service._context.transactions
    sizes = {"small": args.entries, "big": args.big}
    accounts = {}
    for holder, total in sizes.items():
        service.create_record(clerk, APP, "grant", {"holder": holder, "amount": "1.00"})
        with transactions.read(APP) as tx:
            ref = ledgers_of(tx)["points"].ref()
            row = store.account_row(tx.conn, ref.id, holder)
            op = tx.conn.execute(
                sa.select(ledger_operations.c.id).where(ledger_operations.c.account_id == row.id)
            ).scalar_one()
        started = time.perf_counter()
        _bulk_entries(service, row.id, op, total)
        accounts[holder] = (row.id, time.perf_counter() - started)
    with service._database.write() as conn:  # fresh statistics, as a live database has
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE ledger_entries")

    def service_read(holder: str) -> Callable[[], Any]:
        return lambda: service.ledgers.account(SYSTEM_ACTOR, APP, "points", [holder]).balance

    def callback_read(holder: str) -> Callable[[], Any]:
        def read_100() -> None:
            with transactions.read(APP) as tx:
                read = ledger_reader(tx)
                for _ in range(100):
                    read("balance", "points", [holder])

        return read_100

    # the two accounts take turns, so load from elsewhere falls on both sizes alike
    service_s = {h: [] for h in sizes}
    callback_s = {h: [] for h in sizes}
    for _ in range(args.reads // 100):
        for holder in sizes:
            for _i in range(100):
                start = time.perf_counter()
                service_read(holder)()
                service_s[holder].append(time.perf_counter() - start)
            start = time.perf_counter()
            callback_read(holder)()
            callback_s[holder].append((time.perf_counter() - start) / 100)
    lines = []
    for holder, total in sizes.items():
        account_id, loaded = accounts[holder]
        sum_sql = sa.select(sa.func.sum(ledger_entries.c.amount)).where(
            ledger_entries.c.account_id == account_id
        )
        with service._database.read() as conn:
            start = time.perf_counter()
            summed = conn.execute(sum_sql).scalar_one()
            sum_s = time.perf_counter() - start
        lines.append(
            f"balance at {total:>9,} entries (loaded in {loaded:.1f}s): service.ledgers.account "
            f"{statistics.median(service_s[holder]) * 1e3:.3f} ms, BALANCE() callback "
            f"{statistics.median(callback_s[holder]) * 1e6:.1f} us, naive SUM over entries "
            f"{sum_s * 1e3:.1f} ms (= {summed})"
        )
    small = statistics.median(service_s["small"])
    big = statistics.median(service_s["big"])
    lines.append(
        f"balance: read at {args.big:,} / at {args.entries:,} entries = {big / small:.2f}x"
    )
    service.close()
    return lines


BENCHMARKS: dict[str, tuple[str, Callable[[str, argparse.Namespace], list[str]]]] = {
    "consume": ("FIFO consumptions across lots vs hand-written SQL", bench_consume),
    "balance": ("a balance read at 10,000 and 1,000,000 entries", bench_balance),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=list(BENCHMARKS))
    parser.add_argument("--consumptions", type=int, default=10_000, help="per side (10,000)")
    parser.add_argument("--lots", type=int, default=1_000, help="lots of 10.00 per side (1,000)")
    parser.add_argument("--rounds", type=int, default=20, help="alternating rounds (20)")
    parser.add_argument("--entries", type=int, default=10_000, help="small case (10,000)")
    parser.add_argument("--big", type=int, default=1_000_000, help="large case (1,000,000)")
    parser.add_argument("--reads", type=int, default=2_000, help="timed reads per case (2,000)")
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()
    if args.consumptions < args.rounds or args.consumptions > args.lots * 10:
        parser.error("--consumptions must be at least --rounds and at most 10 x --lots")

    print(machine({}), flush=True)
    for name in args.only or list(BENCHMARKS):
        title, benchmark = BENCHMARKS[name]
        with tempfile.TemporaryDirectory() as folder:
            print(f"== {name} ({title}), SQLite (file, WAL)", flush=True)
            print("\n".join(benchmark(f"sqlite:///{folder}/{name}.db", args)), flush=True)
        if args.postgres:
            with postgres_database(args.postgres) as url:
                print(f"== {name} ({title}), PostgreSQL", flush=True)
                print("\n".join(benchmark(url, args)), flush=True)


if __name__ == "__main__":
    main()
