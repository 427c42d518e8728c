"""Benchmark: exporting 100,000 records to xlsx through the engine vs XlsxWriter alone.

Builds a 10-column order form (text, number, money, percent, date, datetime, select,
relation, user) with N records loaded straight into its table, then times
``service.exports.write`` (every page read through the scoped record source, relation
titles and people's names looked up, the workbook written in constant memory) against
XlsxWriter writing the same cells from a plain Python list in ``constant_memory`` mode
(same header, formats and frozen pane). Target (printed, never asserted): the engine
<= 2x XlsxWriter alone. The peak RSS of a fresh process running one engine export is
printed too (VmHWM, reset just before the export).

    python tests/bench/bench_export.py [--rows 100000] [--repeats 1] [--postgres URL]
        [--sqlite FILE|none] [--rebuild]

The loaded data is kept for the next run: <tmp>/lowcode_bench_export.db and the
database lowcode_bench_export on the PostgreSQL server (``--rebuild`` loads it again).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, machine  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.org.org_file import read_org_file  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=ZONE)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BENCH_DATABASE = "lowcode_bench_export"
CUSTOMERS = 500
OWNERS = ("wu.gang", "sun.li", "chen.xiao", "ma.lan", "he.jing", "qian.hao", "zhao.min")
KINDS = ("retail", "wholesale", "online")

APP = """
app: benchx
version: 1.0.0
name: Bench export
---
form: customer
name: {zh-CN: 客户, en: Customer}
title: "{{ name }}"
fields:
  name: {type: text, required: true, label: {zh-CN: 名称, en: Name}}
---
form: order
name: {zh-CN: 订单, en: Order}
title: "{{ code }}"
fields:
  code: {type: text, required: true, label: {zh-CN: 单号, en: Code}}
  note: {type: text, label: {zh-CN: 摘要, en: Note}}
  qty: {type: number, precision: 0, label: {zh-CN: 数量, en: Qty}}
  price: {type: money, label: {zh-CN: 金额, en: Amount}}
  rate: {type: percent, label: {zh-CN: 折扣率, en: Discount}}
  order_date: {type: date, label: {zh-CN: 下单日期, en: Order date}}
  placed_at: {type: datetime, label: {zh-CN: 下单时间, en: Placed at}}
  kind:
    type: select
    label: {zh-CN: 渠道, en: Channel}
    options:
      - {value: retail, label: {zh-CN: 零售, en: Retail}}
      - {value: wholesale, label: {zh-CN: 批发, en: Wholesale}}
      - {value: online, label: {zh-CN: 电商, en: Online}}
  customer: {type: relation, to: customer, display: name, label: {zh-CN: 客户, en: Customer}}
  owner: {type: user, label: {zh-CN: 负责人, en: Owner}}
list:
  columns: [code, customer, price, order_date]
  sort: [-order_date]
"""
COLUMNS = [
    "code",
    "note",
    "qty",
    "price",
    "rate",
    "order_date",
    "placed_at",
    "kind",
    "customer",
    "owner",
]


def row_values(i: int) -> dict[str, Any]:
    """The field values of record ``i`` (0-based)."""
    return {
        "code": f"SO-{i + 1:07d}",
        "note": f"备注 {i % 997}",
        "qty": i % 50 + 1,
        "price": Decimal(i % 100000) / 100 + Decimal("0.05"),
        "rate": Decimal(i % 30) / 100,
        "order_date": date(2025, 1, 1) + timedelta(days=i % 700),
        "placed_at": datetime(2025, 1, 1, 8, 0, tzinfo=ZONE) + timedelta(minutes=17 * i),
        "kind": KINDS[i % 3],
        "customer": i % CUSTOMERS + 1,
        "owner": OWNERS[i % len(OWNERS)],
    }


def build(service: Service, rows: int) -> None:
    """Organisation, app and ``rows`` orders loaded straight into the form table."""
    service.init_database()
    service.org.load(SYSTEM_ACTOR, read_org_file(EXAMPLES / "org.yaml"))
    service.install_app(Actor("admin"), load_app_text(APP))
    with service._context.transactions.read("benchx") as tx:
        orders = tx.form("order").tables
        customers = tx.form("customer").tables.table
    table = orders.table
    system = {
        "status": "active",
        "version": 1,
        "created_at": NOW,
        "created_by": "admin",
        "updated_at": NOW,
        "updated_by": "admin",
    }
    names = {key: orders.fields[key].names[0] for key in COLUMNS}
    with service._database.write() as conn:
        conn.execute(
            customers.insert(),
            [
                {**system, "id": i + 1, "name": f"客户{i + 1:03d}", "title": f"客户{i + 1:03d}"}
                for i in range(CUSTOMERS)
            ],
        )
    started = time.perf_counter()
    chunk = 5000
    for first in range(0, rows, chunk):
        batch = []
        for i in range(first, min(rows, first + chunk)):
            values = row_values(i)
            item = {**system, "id": i + 1, "title": values["code"]}
            item.update({names[k]: v for k, v in values.items()})
            batch.append(item)
        with service._database.write() as conn:
            conn.execute(table.insert(), batch)
    # the planner's statistics, as autovacuum (PostgreSQL) or ``lowcode`` would have them
    with service._database.write() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"loaded {rows} records in {time.perf_counter() - started:.1f} s")


def loaded(url: str, rows: int) -> bool:
    """Whether the database already holds the app with ``rows`` orders."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            table = next((n for n in names if n == "f_benchx_order"), None)
            if table is None:
                return False
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == rows
    finally:
        engine.dispose()


def engine_export(url: str) -> tuple[float, int, int]:
    """Seconds, records and bytes of one engine export (xlsx, every field)."""
    service = Service(url, clock=lambda: NOW)
    try:
        started = time.perf_counter()
        made = service.exports.write(Actor("admin"), "benchx", "order", format="xlsx")
        spent = time.perf_counter() - started
        size = made.path.stat().st_size
        made.path.unlink()
        return spent, made.count, size
    finally:
        service.close()


def plain_rows(rows: int) -> list[list[Any]]:
    """The same cells as the engine writes, as a plain list (built before timing)."""
    labels = {"retail": "零售", "wholesale": "批发", "online": "电商"}
    names = {o: o for o in OWNERS}
    out = []
    for i in range(rows):
        v = row_values(i)
        out.append(
            [
                v["code"],
                v["note"],
                float(v["qty"]),
                float(v["price"]),
                float(v["rate"]),
                v["order_date"],
                v["placed_at"].replace(tzinfo=None),
                labels[v["kind"]],
                f"客户{v['customer']:03d}",
                names[v["owner"]],
            ]
        )
    return out


def xlsxwriter_alone(data: list[list[Any]]) -> float:
    """Seconds XlsxWriter takes to write ``data`` in constant-memory mode."""
    with tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False) as handle:
        name = handle.name
    started = time.perf_counter()
    book = xlsxwriter.Workbook(name, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet("订单")
    header = book.add_format({"bold": True})
    formats = [
        None,
        None,
        book.add_format({"num_format": "#,##0"}),
        book.add_format({"num_format": "¥#,##0.00"}),
        book.add_format({"num_format": "0.00%"}),
        book.add_format({"num_format": "yyyy-mm-dd"}),
        book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        None,
        None,
        None,
    ]
    sheet.freeze_panes(1, 0)
    for col, key in enumerate(COLUMNS):
        sheet.write_string(0, col, key, header)
    for r, cells in enumerate(data, start=1):
        for c, value in enumerate(cells):
            if isinstance(value, float):
                sheet.write_number(r, c, value, formats[c])
            elif isinstance(value, date):
                sheet.write_datetime(r, c, value, formats[c])
            else:
                sheet.write_string(r, c, value)
    book.close()
    spent = time.perf_counter() - started
    Path(name).unlink()
    return spent


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _memory_probe(url: str) -> None:
    """Print the peak RSS of one engine export in this fresh process (VmHWM reset just
    before it, after the imports and a first small read)."""
    service = Service(url, clock=lambda: NOW)
    service.exports.count(Actor("admin"), "benchx", "order")
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    made = service.exports.write(Actor("admin"), "benchx", "order", format="xlsx")
    made.path.unlink()
    peak = _status_kb("VmHWM")
    print(json.dumps({"rss_mb": peak / 1024, "growth_mb": (peak - before) / 1024}))


def memory_probe(url: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--memory-probe", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _empty(label: str, url: str, path: Path, server: str | None) -> None:
    if label == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    assert server is not None
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--sqlite", help="database file (default: <tmp>/lowcode_bench_export.db; 'none')"
    )
    parser.add_argument("--postgres", help="server URL; data in its database lowcode_bench_export")
    parser.add_argument("--rebuild", action="store_true", help="load the data again")
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        _memory_probe(args.memory_probe)
        return
    path = Path(args.sqlite or Path(tempfile.gettempdir()) / "lowcode_bench_export.db")
    targets = {} if args.sqlite == "none" else {"sqlite": f"sqlite:///{path}"}
    if args.postgres:
        targets["postgresql"] = bench_database(args.postgres, BENCH_DATABASE)
    data = plain_rows(args.rows)
    versions, report = {}, []
    for label, url in targets.items():
        if args.rebuild or not loaded(url, args.rows):
            _empty(label, url, path, args.postgres)
            build(Service(url, clock=lambda: NOW), args.rows)
        service = Service(url, clock=lambda: NOW)
        versions[label] = service._database.server_version()
        service.close()
        ours, theirs = [], []
        for _ in range(args.repeats):
            spent, count, size = engine_export(url)
            ours.append(spent)
            theirs.append(xlsxwriter_alone(data))
        assert count == args.rows, (count, args.rows)
        mine, plain = min(ours), min(theirs)
        memory = memory_probe(url)
        report.append(
            f"{label:10} engine {mine:6.2f} s  xlsxwriter alone {plain:6.2f} s  "
            f"ratio {mine / plain:4.2f}x (target <= 2x: {'met' if mine / plain <= 2 else 'MISSED'})"
            f"  file {size / 1e6:.1f} MB  engine export peak RSS {memory['rss_mb']:.0f} MB "
            f"(+{memory['growth_mb']:.0f} MB during the export)"
        )
    print(machine(versions))
    print(f"records: {args.rows} x 10 columns, best of {args.repeats}")
    print("\n".join(report))


if __name__ == "__main__":
    main()
