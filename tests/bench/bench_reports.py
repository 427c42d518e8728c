"""Benchmark: dashboard widgets (service.reports.run) vs hand-written SQL on the same tables.

Builds the purchase_request example (its org, app and dashboard, plus a second dashboard
of extra widgets written into a copy of the app) with 1,000,000 requests and 3,000,000
lines loaded straight into the form tables, then times every widget against the
hand-written SQL computing the same numbers with the same number of queries (a ranking:
top N + others + total; a pivot: cells + row totals + column totals + subtotals + grand),
after checking that both give the same figures to the cent. Targets (printed, never
asserted): every widget <= 1.5x, the 6-widget dashboard <= 2x the sum of its queries,
peak memory of a report process < 200 MB, the same figures on SQLite and PostgreSQL.

    python tests/bench/bench_reports.py [--rows 1000000] [--repeats 5] [--postgres URL]
        [--rebuild] [--echo WIDGET]

The loaded data is kept for the next run: <tmp>/lowcode_bench_reports.db and the database
lowcode_bench_reports on the PostgreSQL server (``--rebuild`` loads it again). ``--echo
WIDGET`` prints the SQL the service emits for one widget (profiling a missed target).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import bench_database, machine, paired_medians  # noqa: E402

from engine.cli.demo import EXAMPLES  # noqa: E402
from engine.org.org_file import read_org_file  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service, load_app  # noqa: E402

ZONE = ZoneInfo("Asia/Shanghai")
#: "this year" (the dashboard's default period) is 2026; needed_by spans 2025 and 2026
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=ZONE)
FIRST_DAY, DAYS = date(2025, 1, 1), 730
YEAR = (date(2026, 1, 1), date(2026, 12, 31))
MONTH, PREVIOUS_MONTH = (
    (date(2026, 12, 1), date(2026, 12, 31)),
    (date(2026, 11, 1), date(2026, 11, 30)),
)
#: the form keeps (supplier, needed_by) unique: 1,400 suppliers x 730 days leave room
#: for 1,000,000 requests (500 would not)
SUPPLIERS, PRODUCTS = 1400, 200
BATCH = 50_000
ADMIN = Actor("admin")
APP, DASHBOARD, EXTRA = "purchase", "purchasing", "bench_extra"
BENCH_DATABASE = "lowcode_bench_reports"
REQUESTS, LINES = "f_purchase_purchase_request", "f_purchase_purchase_request__lines"
SUPPLIER, PRODUCT = "f_purchase_supplier", "f_purchase_product"
#: the 6-widget dashboard: the example's widgets minus its two KPIs
SIX = [
    "spend_by_month",
    "by_department",
    "top_suppliers",
    "status_funnel",
    "department_quarter",
    "recent",
]

EXTRA_DASHBOARD = """
dashboard: bench_extra
name: {zh-CN: 基准, en: Bench}
filters:
  period: {type: date_range, label: {zh-CN: 需求期间, en: Period}, field: needed_by, default: this_year}
widgets:
  by_product:
    kind: bar
    source: purchase_request
    dimensions: [lines.product]
    measures: {amount: {expr: "SUM(lines.amount)", format: money}}
    sort: [-amount]
  by_supplier_state:
    kind: bar
    source: purchase_request
    dimensions: [supplier.state]
    measures: {spend: {expr: "SUM(total)", format: money}}
  status_pie:
    kind: pie
    source: purchase_request
    dimensions: [status]
    measures: {spend: {expr: "SUM(total)", format: money}}
  distinct_suppliers:
    kind: bar
    source: purchase_request
    dimensions: [department]
    measures: {suppliers: {expr: "COUNT_DISTINCT(supplier)", format: integer}}
  pivot_subtotals:
    kind: pivot
    source: purchase_request
    dimensions: [department, status]
    columns: [{field: needed_by, bucket: quarter}]
    measures: {spend: {expr: "SUM(total)", format: money}}
    subtotals: true
"""


# -- the data ----------------------------------------------------------------------------
def build(service: Service, rows: int) -> None:
    """Install org and app, create suppliers and products through the service, then
    bulk-load the requests and their lines straight into the form tables."""
    start = time.perf_counter()
    service.init_database()
    org = read_org_file(EXAMPLES / "org.yaml")
    service.org.load(SYSTEM_ACTOR, org)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "purchase_request"
        shutil.copytree(EXAMPLES / "purchase_request", folder)
        (folder / "dashboards" / "bench_extra.yaml").write_text(EXTRA_DASHBOARD, "utf-8")
        service.install_app(
            ADMIN, load_app(folder), role_map={"purchasing": "sales_ops", "finance": "payables"}
        )
    rng = random.Random(16)
    for i in range(SUPPLIERS):
        state = "paused" if i % 7 == 3 else "active"
        service.create_record(ADMIN, APP, "supplier", {"name": f"供应商{i:04d}", "state": state})
    prices = []
    for i in range(PRODUCTS):
        price = Decimal(rng.randrange(100, 50_000)) / 100
        prices.append(int(price * 100))
        service.create_record(
            ADMIN,
            APP,
            "product",
            {"sku": f"SKU-{i:04d}", "name": f"商品{i:04d}", "price": str(price)},
        )
    print(
        f"org, app, {SUPPLIERS} suppliers, {PRODUCTS} products: {time.perf_counter() - start:.1f}s"
    )
    departments = [d.code for d in org.departments]
    users = [u.login for u in org.users]
    with service._context.transactions.read(APP) as tx:
        form = tx.form("purchase_request").tables
        requests, lines = form.table, form.children["lines"]
    start = time.perf_counter()
    loader = _sqlite_load if service._database.engine.dialect.name == "sqlite" else _postgres_load
    loader(service, requests, lines, _generate(rows, rng, prices, departments, users))
    print(f"loaded {rows} requests and {3 * rows} lines in {time.perf_counter() - start:.1f}s")


def _generate(
    rows: int, rng: random.Random, prices: list[int], departments: list[str], users: list[str]
) -> Iterator[tuple[list[dict[str, Any]], list[dict[str, Any]]]]:
    """Batches of (request rows, line rows); money in minor units, dates as dates."""
    combos = rng.sample(range(SUPPLIERS * DAYS), rows)  # distinct (supplier, day) pairs
    statuses = ["draft"] * 2 + ["in_approval"] * 3 + ["approved"] * 5
    created = NOW.replace(tzinfo=None) - timedelta(hours=8)  # naive UTC
    line_id = 0
    for first in range(0, rows, BATCH):
        batch, children = [], []
        for n in range(first, min(rows, first + BATCH)):
            supplier, day = divmod(combos[n], DAYS)
            total = 0
            for index in range(1 + (n * 3) % 5):  # 1..5 lines, 3 on average
                product = rng.randrange(PRODUCTS)
                qty = rng.randrange(1, 20)
                amount = qty * prices[product]
                total += amount
                line_id += 1
                children.append(
                    {
                        "id": line_id,
                        "parent_id": n + 1,
                        "row_index": index,
                        "product": product + 1,
                        "unit": "箱",
                        "qty": qty,
                        "price": prices[product],
                        "amount": amount,
                    }
                )
            batch.append(
                {
                    "id": n + 1,
                    "status": statuses[rng.randrange(10)],
                    "version": 1,
                    "title": f"PR-{n:07d}",
                    "created_at": created,
                    "created_by": "bench",
                    "updated_at": created,
                    "updated_by": "bench",
                    "serial": f"PR-{n:07d}",
                    "applicant": users[n % len(users)],
                    "supplier": supplier + 1,
                    "needed_by": FIRST_DAY + timedelta(days=day),
                    "total": total,
                    "urgent": n % 13 == 0,
                    "contract": False,
                    "department": departments[rng.randrange(len(departments))],
                }
            )
        yield batch, children


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _sqlite_load(service: Service, requests: sa.Table, lines: sa.Table, batches: Iterator) -> None:
    raw = service._database.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA synchronous = OFF")
        # indexes built once after the load, not row by row (several times faster)
        indexes = [
            sql
            for (sql,) in cursor.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ('{requests.name}', '{lines.name}')"
            ).fetchall()
        ]
        for (name,) in cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ('{requests.name}', '{lines.name}')"
        ).fetchall():
            cursor.execute(f"DROP INDEX {name}")
        names = ([c.name for c in requests.columns], [c.name for c in lines.columns])
        sql = [
            f"INSERT INTO {t.name} ({', '.join(n)}) VALUES ({', '.join('?' * len(n))})"
            for t, n in zip((requests, lines), names, strict=True)
        ]
        for batch, children in batches:
            for statement, columns, data in zip(sql, names, (batch, children), strict=True):
                cursor.executemany(
                    statement, [tuple(_sqlite_value(r.get(c)) for c in columns) for r in data]
                )
            raw.commit()
        for sql in indexes:
            cursor.execute(sql)
        cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat() + "+00"
    return str(value)


def _postgres_load(
    service: Service, requests: sa.Table, lines: sa.Table, batches: Iterator
) -> None:
    engine = service._database.engine
    money = {
        table.name: {c.name for c in table.columns if c.name in ("total", "price", "amount")}
        for table in (requests, lines)
    }
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # indexes built once after the load (constraint indexes, the keys, stay)
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename IN (%s, %s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            (requests.name, lines.name),
        )
        indexes = cursor.fetchall()
        for name, _sql in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        raw.commit()
        for batch, children in batches:
            for table, data in ((requests, batch), (lines, children)):
                columns = [c.name for c in table.columns]
                cents = money[table.name]
                text = "".join(
                    "\t".join(
                        _copy_text(
                            Decimal(r[c]).scaleb(-2)
                            if c in cents and r.get(c) is not None
                            else r.get(c)
                        )
                        for c in columns
                    )
                    + "\n"
                    for r in data
                )
                with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write(text)
            raw.commit()
        for _name, sql in indexes:
            cursor.execute(sql)
        for table in (requests, lines):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"(SELECT max(id) FROM {table.name}))"
            )
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in (REQUESTS, LINES, SUPPLIER, PRODUCT):
            conn.exec_driver_sql(f"VACUUM ANALYZE {name}")


def loaded(url: str, rows: int) -> bool:
    """Whether the database already holds the benchmark's rows."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(LINES):
                return False
            have = conn.exec_driver_sql(f"SELECT count(*) FROM {REQUESTS}").scalar_one()
            lines = conn.exec_driver_sql(f"SELECT count(*) FROM {LINES}").scalar_one()
            return have == rows and lines == 3 * rows
    finally:
        engine.dispose()


# -- the hand-written SQL ------------------------------------------------------------------
class Hand:
    """The hand-written queries of each widget on one database, returning figures in the
    shape :func:`normalize` gives the service's results."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"

    def money(self, value: Any) -> Decimal | None:
        """A stored money sum as a Decimal (minor units on SQLite, NUMERIC on PostgreSQL)."""
        if value is None:
            return None
        return Decimal(value) if self.pg else Decimal(int(value)).scaleb(-2)

    def day(self, value: date) -> Any:
        """A date as the column compares it (ISO text on SQLite)."""
        return value if self.pg else value.isoformat()

    def month(self, column: str) -> str:
        """SQL of a date column's month, ``2026-03``."""
        return f"to_char({column}, 'YYYY-MM')" if self.pg else f"substr({column}, 1, 7)"

    def quarter(self, column: str) -> str:
        """SQL of a date column's quarter, ``2026-Q1``."""
        if self.pg:
            return f"to_char({column}, 'YYYY-\"Q\"Q')"
        return (
            f"substr({column}, 1, 4) || '-Q' || ((cast(substr({column}, 6, 2) as integer) + 2) / 3)"
        )

    def _run(self, conn: sa.Connection, sql: str, **params: Any) -> list[Any]:
        bound = {k: self.day(v) if isinstance(v, date) else v for k, v in params.items()}
        return list(conn.execute(sa.text(sql), bound))

    def widgets(self, funnel: Any) -> dict[str, Callable[[sa.Connection], Any]]:
        """Widget key -> function of a connection computing its figures (``funnel``: the
        example's funnel widget, whose steps and cumulation the example may change)."""
        year = {"y0": YEAR[0], "y1": YEAR[1]}
        live = "r.deleted_at IS NULL AND r.needed_by BETWEEN :y0 AND :y1"
        q = self._run
        m = self.money
        count = Decimal

        def kpi_spend(c: sa.Connection) -> Any:
            sql = f"SELECT sum(total) FROM {REQUESTS} WHERE deleted_at IS NULL AND needed_by BETWEEN :a AND :b"
            value = q(c, sql, a=MONTH[0], b=MONTH[1])[0][0]
            before = q(c, sql, a=PREVIOUS_MONTH[0], b=PREVIOUS_MONTH[1])[0][0]
            spark = q(
                c,
                f"SELECT needed_by, sum(total) FROM {REQUESTS} WHERE deleted_at IS NULL "
                "AND needed_by BETWEEN :a AND :b GROUP BY needed_by",
                a=MONTH[0],
                b=MONTH[1],
            )
            return {
                "value": m(value) or Decimal(0),
                "compared": m(before) or Decimal(0),
                "sparkline": {str(d): m(v) for d, v in spark if v},
            }

        def kpi_count(c: sa.Connection) -> Any:
            sql = f"SELECT count(*) FROM {REQUESTS} WHERE deleted_at IS NULL AND needed_by BETWEEN :a AND :b"
            return {
                "value": count(q(c, sql, a=MONTH[0], b=MONTH[1])[0][0]),
                "compared": count(q(c, sql, a=PREVIOUS_MONTH[0], b=PREVIOUS_MONTH[1])[0][0]),
            }

        def grouped(select: str, group: str, order: str = "", value: Callable = m, join: str = ""):
            def compute(c: sa.Connection) -> Any:
                found = q(
                    c,
                    f"SELECT {group}, {select} FROM {REQUESTS} r {join} WHERE {live} "
                    f"GROUP BY {group} {order}",
                    **year,
                )
                (total,) = q(c, f"SELECT {select} FROM {REQUESTS} r {join} WHERE {live}", **year)
                rows = [((str(k) if k is not None else None,), (value(v),)) for k, v in found]
                return {"rows": sorted(rows, key=str), "totals": [value(total[0])]}

            return compute

        supplier_join = f"LEFT JOIN {SUPPLIER} s ON s.id = r.supplier AND s.deleted_at IS NULL"

        def top_suppliers(c: sa.Connection) -> Any:
            top = q(
                c,
                f"SELECT r.supplier, s.title, sum(r.total) FROM {REQUESTS} r {supplier_join} "
                f"WHERE {live} GROUP BY r.supplier, s.title ORDER BY 3 DESC LIMIT 10",
                **year,
            )
            ids = ", ".join(str(k) for k, _t, _v in top)
            (others,) = q(
                c,
                f"SELECT sum(r.total) FROM {REQUESTS} r WHERE {live} "
                f"AND (r.supplier IS NULL OR r.supplier NOT IN ({ids}))",
                **year,
            )
            (total,) = q(c, f"SELECT sum(r.total) FROM {REQUESTS} r WHERE {live}", **year)
            rows = [((str(k),), (m(v),)) for k, _t, v in top] + [((None,), (m(others[0]),))]
            return {"rows": rows, "totals": [m(total[0])]}

        def pivot(rows: list[str], subtotals: bool) -> Callable[[sa.Connection], Any]:
            quarter = self.quarter("r.needed_by")

            def by(columns: list[str]) -> str:
                keys = ", ".join(columns)
                return f"SELECT {keys}, sum(r.total) FROM {REQUESTS} r WHERE {live} GROUP BY {keys}"

            def compute(c: sa.Connection) -> Any:
                n = len(rows)
                cells = {
                    (tuple(map(str, k[:n])), str(k[n])): m(k[n + 1])
                    for k in q(c, by([*rows, quarter]), **year)
                }
                row_totals = {tuple(map(str, k[:n])): m(k[n]) for k in q(c, by(rows), **year)}
                column_totals = {str(k[0]): m(k[1]) for k in q(c, by([quarter]), **year)}
                subs: dict[Any, Any] = {}
                if subtotals:  # each subtotal row: its total and its cells
                    subs = {str(k[0]): m(k[1]) for k in q(c, by(rows[:1]), **year)}
                    for k in q(c, by([rows[0], quarter]), **year):
                        subs[(str(k[0]), str(k[1]))] = m(k[2])
                (grand,) = q(c, f"SELECT sum(r.total) FROM {REQUESTS} r WHERE {live}", **year)
                return {
                    "cells": cells,
                    "row_totals": row_totals,
                    "column_totals": column_totals,
                    "subtotals": subs,
                    "grand": m(grand[0]),
                }

            return compute

        def status_funnel(c: sa.Connection) -> Any:
            found = dict(
                q(
                    c,
                    f"SELECT r.status, count(*) FROM {REQUESTS} r WHERE {live} GROUP BY r.status",
                    **year,
                )
            )
            (total,) = q(c, f"SELECT count(*) FROM {REQUESTS} r WHERE {live}", **year)
            values = [count(found.get(step, 0)) for step in funnel.steps]
            if funnel.cumulative:  # a step counts the records that reached it: it and later
                values = [sum(values[i:], Decimal(0)) for i in range(len(values))]
            rows = [((str(step),), (v,)) for step, v in zip(funnel.steps, values, strict=True)]
            return {"rows": sorted(rows, key=str), "totals": [count(total[0])]}

        def recent(c: sa.Connection) -> Any:
            page = q(
                c,
                f"SELECT r.id, r.title, r.serial, r.supplier, s.title, r.total, r.needed_by, "
                f"r.status FROM {REQUESTS} r {supplier_join} WHERE {live} "
                "ORDER BY r.needed_by DESC, r.id DESC LIMIT 10",
                **year,
            )
            (total,) = q(c, f"SELECT count(*) FROM {REQUESTS} r WHERE {live}", **year)
            return {"ids": [row[0] for row in page], "total": total[0]}

        product_join = (
            f"JOIN {LINES} l ON l.parent_id = r.id "
            f"LEFT JOIN {PRODUCT} p ON p.id = l.product AND p.deleted_at IS NULL"
        )

        def by_product(c: sa.Connection) -> Any:
            found = q(
                c,
                f"SELECT l.product, p.title, sum(l.amount) FROM {REQUESTS} r {product_join} "
                f"WHERE {live} GROUP BY l.product, p.title ORDER BY 3 DESC",
                **year,
            )
            (total,) = q(
                c,
                f"SELECT sum(l.amount) FROM {REQUESTS} r JOIN {LINES} l ON l.parent_id = r.id "
                f"WHERE {live}",
                **year,
            )
            rows = [((str(k),), (m(v),)) for k, _t, v in found]
            return {"rows": sorted(rows, key=str), "totals": [m(total[0])]}

        return {
            "this_month": kpi_spend,
            "requests": kpi_count,
            "spend_by_month": grouped("sum(r.total)", self.month("r.needed_by"), "ORDER BY 1"),
            "by_department": grouped("sum(r.total)", "r.department", "ORDER BY 2 DESC"),
            "top_suppliers": top_suppliers,
            "status_funnel": status_funnel,
            "department_quarter": pivot(["r.department"], subtotals=False),
            "recent": recent,
            "by_product": by_product,
            "by_supplier_state": grouped("sum(r.total)", "s.state", join=supplier_join),
            "status_pie": grouped("sum(r.total)", "r.status", "ORDER BY 2 DESC"),
            "distinct_suppliers": grouped(
                "count(DISTINCT r.supplier)", "r.department", "ORDER BY 2 DESC", value=count
            ),
            "pivot_subtotals": pivot(["r.department", "r.status"], subtotals=True),
        }


def _d(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def normalize(result: dict[str, Any]) -> Any:
    """A widget's figures from its JSON, in the shape the hand-written functions give."""
    kind = result["kind"]
    if result.get("error"):
        raise AssertionError(f"{result['key']}: {result['error']}")
    if kind == "kpi":
        kpi = result["kpi"]
        out = {"value": _d(kpi["value"]), "compared": _d(kpi.get("compared"))}
        if "sparkline" in kpi:
            out["sparkline"] = {k: _d(v) for k, v in kpi["sparkline"] if _d(v)}
        return out
    if kind == "table":
        return {"ids": [r["keys"][0] for r in result["rows"]], "total": result["page"]["total"]}
    if kind == "pivot":
        grid = result["pivot"]
        columns = [c["keys"][0] for c in grid["columns"]]
        out = {
            "cells": {},
            "row_totals": {},
            "column_totals": {
                str(c): _d(t[0]) for c, t in zip(columns, grid["column_totals"], strict=True) if t
            },
            "subtotals": {},
            "grand": _d(grid["grand"][0]),
        }
        for row in grid["rows"]:
            keys = tuple(map(str, row["keys"]))
            if row["kind"] == "subtotal":
                head = str(row["keys"][0])
                out["subtotals"][head] = _d(row["total"][0])
                for column, cell in zip(columns, row["cells"], strict=True):
                    if cell is not None:
                        out["subtotals"][(head, str(column))] = _d(cell[0])
                continue
            out["row_totals"][keys] = _d(row["total"][0])
            for column, cell in zip(columns, row["cells"], strict=True):
                if cell is not None:
                    out["cells"][(keys, str(column))] = _d(cell[0])
        return out
    rows = [
        (tuple(None if k is None else str(k) for k in r["keys"]), tuple(_d(v) for v in r["values"]))
        for r in result["rows"]
    ]
    if kind != "ranking":
        rows = sorted(rows, key=str)
    return {"rows": rows, "totals": [_d(t) for t in result["totals"]]}


# -- measuring ---------------------------------------------------------------------------
def widget_keys(service: Service) -> dict[str, str]:
    """Widget key -> its dashboard, the example's first."""
    out = {}
    for dashboard in (DASHBOARD, EXTRA):
        for widget in service.reports.definition(ADMIN, APP, dashboard).widgets:
            out[widget.key] = dashboard
    return out


def ours(service: Service, dashboard: str, keys: list[str]) -> list[dict[str, Any]]:
    """The widgets' JSON, measured without the result cache."""
    service.reports.cache.clear()
    result = service.reports.run(ADMIN, APP, dashboard, widgets=keys)
    return [w.to_json() for w in result.widgets]


def measure(
    service: Service, repeats: int, only: set[str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per widget (and the 6-widget dashboard): (ours s, hand s, queries); and the figures."""
    hand = Hand(service._database.engine)
    example = service.reports.definition(ADMIN, APP, DASHBOARD)
    functions = hand.widgets(next(w for w in example.widgets if w.key == "status_funnel"))
    where = widget_keys(service)
    timings: dict[str, Any] = {}
    figures: dict[str, Any] = {}
    for key, dashboard in where.items():
        if only is not None and key not in only:
            continue
        (mine,) = ours(service, dashboard, [key])
        figures[key] = normalize(mine)
        with service._database.engine.connect() as conn:
            theirs = functions[key](conn)
        if figures[key] != theirs:
            raise AssertionError(f"{key}: service {figures[key]!r}\n   hand {theirs!r}")

        def by_hand(function: Callable = functions[key]) -> None:
            with service._database.engine.connect() as conn:
                function(conn)

        if not repeats:  # figures only
            continue
        timings[key] = paired_medians(
            repeats, lambda k=key, d=dashboard: ours(service, d, [k]), by_hand
        )
        print(
            f"  {key}: {timings[key][0] * 1000:.0f} / {timings[key][1] * 1000:.0f} ms", flush=True
        )

    def six_by_hand() -> None:
        with service._database.engine.connect() as conn:
            for key in SIX:
                functions[key](conn)

    if not repeats or (only is not None and "dashboard" not in only):
        return timings, figures
    timings["dashboard (6 widgets)"] = paired_medians(
        repeats, lambda: ours(service, DASHBOARD, SIX), six_by_hand
    )
    return timings, figures


def memory_probe(url: str) -> dict[str, float]:
    """Peak memory of a fresh process running every widget of both dashboards once."""
    done = subprocess.run(
        [sys.executable, __file__, "--memory-probe", url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _status_kb(key: str) -> int:
    """A line of /proc/self/status in kB (VmRSS: now; VmHWM: the peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _memory_probe(url: str) -> None:
    """Print the process's resident memory before and at its peak while every widget
    runs (VmHWM, reset just before: ru_maxrss would also count the memory of the parent
    this process was forked from), and the peak of Python's own allocations."""
    service = Service(url, clock=lambda: NOW)
    where = widget_keys(service)
    ours(service, DASHBOARD, ["requests"])  # imports, definitions, connection pool
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    for dashboard in (DASHBOARD, EXTRA):
        ours(service, dashboard, [k for k, d in where.items() if d == dashboard])
    peak = _status_kb("VmHWM")
    tracemalloc.start()
    for dashboard in (DASHBOARD, EXTRA):
        ours(service, dashboard, [k for k, d in where.items() if d == dashboard])
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(
        json.dumps(
            {
                "rss_mb": peak / 1024,
                "rss_growth_mb": (peak - before) / 1024,
                "python_peak_mb": traced / 1024 / 1024,
            }
        )
    )


def echo(service: Service, key: str) -> None:
    """Print the statements the service runs for one widget, with their time."""
    engine = service._database.engine
    started: list[float] = []

    @sa.event.listens_for(engine, "before_cursor_execute")
    def before(conn, cursor, statement, parameters, context, many):  # noqa: ANN001
        started.append(time.perf_counter())

    @sa.event.listens_for(engine, "after_cursor_execute")
    def after(conn, cursor, statement, parameters, context, many):  # noqa: ANN001
        spent = (time.perf_counter() - started.pop()) * 1000
        print(f"-- {spent:.1f} ms  {parameters}\n{statement}\n")

    ours(service, widget_keys(service)[key], [key])
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="0: check the figures only")
    parser.add_argument(
        "--sqlite",
        help="database file (default: <tmp>/lowcode_bench_reports.db; 'none': PostgreSQL only)",
    )
    parser.add_argument("--postgres", help="server URL; data in its database lowcode_bench_reports")
    parser.add_argument("--rebuild", action="store_true", help="load the data again")
    parser.add_argument("--echo", metavar="WIDGET", help="print the SQL of one widget and stop")
    parser.add_argument(
        "--only", help="comma-separated widget keys to measure ('dashboard': the 6 widgets)"
    )
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_probe:
        _memory_probe(args.memory_probe)
        return
    if args.rows % 5:
        parser.error("--rows must be a multiple of 5 (1 to 5 lines per request, 3 on average)")
    path = Path(args.sqlite or Path(tempfile.gettempdir()) / "lowcode_bench_reports.db")
    targets = {} if args.sqlite == "none" else {"sqlite": f"sqlite:///{path}"}
    if args.postgres:
        targets["postgresql"] = bench_database(args.postgres, BENCH_DATABASE)
    results, figures, memory, versions = {}, {}, {}, {}
    for label, url in targets.items():
        if args.rebuild or not loaded(url, args.rows):
            _empty(label, url, path, args.postgres)
            build(Service(url, clock=lambda: NOW), args.rows)
        service = Service(url, clock=lambda: NOW)
        if args.echo:
            echo(service, args.echo)
            continue
        versions[label] = service._database.server_version()
        only = set(args.only.split(",")) if args.only else None
        results[label], figures[label] = measure(service, args.repeats, only)
        service._database.dispose()
        memory[label] = memory_probe(url) if args.repeats else None
    if args.echo:
        return
    print(machine(versions))
    print(
        f"requests: {args.rows}, lines: {3 * args.rows}, suppliers: {SUPPLIERS}, "
        f"products: {PRODUCTS}, period: this year (half the rows), median of {args.repeats}"
    )
    for label, checked in figures.items():
        print(f"{label}: {len(checked)} widgets, the service's figures equal the hand SQL's")
    for label, timings in results.items():
        print(f"\n{label}\n{'widget':26} {'ours ms':>9} {'hand ms':>9} {'ratio':>6}  target")
        for key, (mine, theirs) in timings.items():
            limit = 2.0 if key.startswith("dashboard") else 1.5
            met = "met" if mine / theirs <= limit else "MISSED"
            print(
                f"{key:26} {mine * 1000:9.1f} {theirs * 1000:9.1f} {mine / theirs:5.2f}x  "
                f"<= {limit}x {met}"
            )
        m = memory[label]
        if m is None:
            continue
        print(
            f"memory of a report process: {m['rss_mb']:.0f} MB peak RSS, "
            f"+{m['rss_growth_mb']:.1f} MB over all widgets, Python peak "
            f"{m['python_peak_mb']:.1f} MB (target < 200 MB)"
        )
    if len(figures) == 2:
        same = figures["sqlite"] == figures["postgresql"]
        differ = [
            k for k in figures["sqlite"] if figures["sqlite"][k] != figures["postgresql"].get(k)
        ]
        print(f"\nSQLite and PostgreSQL figures equal to the cent: {same} {differ or ''}")


def _empty(label: str, url: str, path: Path, server: str | None) -> None:
    """Start from an empty database."""
    if label == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    admin = sa.create_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DATABASE}"')
    admin.dispose()


if __name__ == "__main__":
    main()
