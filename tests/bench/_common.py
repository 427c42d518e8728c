"""Shared pieces of the benchmark scripts: the purchase app and the machine description."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

BENCH_APP = """
app: bench
version: 1.0.0
name: Bench
---
form: supplier
name: Supplier
title: "{{ name }}"
fields:
  name: {type: text, required: true}
  city: {type: text}
---
form: purchase_request
name: Purchase request
title: "{{ serial }}"
fields:
  serial:    {type: serial, pattern: "PR-{YYYYMMDD}-{000000}", reset: day}
  applicant: {type: user, default_expr: "CURRENT_USER()"}
  supplier:  {type: relation, to: supplier, display: name, required: true}
  needed_by: {type: date, required: true}
  lines:
    type: subtable
    min_rows: 1
    fields:
      item:   {type: text, required: true}
      qty:    {type: number, precision: 0, min: 1}
      price:  {type: money, min: 0}
      amount: {type: formula, expr: "qty * price", result: money}
  total:     {type: formula, expr: "SUM(lines.amount)", result: money}
  urgent:    {type: boolean, default: false}
  reason:    {type: textarea, visible_if: "urgent", required_if: "urgent"}
list:
  columns: [serial, supplier, needed_by, total, status]
  sort: [-total]
  filters: [status, total]
validations:
  - expr: "needed_by >= TODAY()"
    field: needed_by
    message: The date needed cannot be in the past
unique:
  - fields: [supplier, needed_by]
"""

#: bench_flows.py and bench_inbox.py: an expense form and its flow of three approval
#: nodes, one named user each (no organisation needed, no timeouts)
FLOW_APP_KEY, FLOW_FORM, FLOW = "benchflow", "expense", "three_approvals"
FLOW_APP = f"""
app: {FLOW_APP_KEY}
version: 1.0.0
name: Bench flows
---
form: {FLOW_FORM}
name: Expense
title: "{{{{ item }}}}"
fields:
  item:   {{type: text, required: true}}
  amount: {{type: money, min: 0}}
---
flow: {FLOW}
form: {FLOW_FORM}
name: Three approvals
nodes:
  - approval: first
    approvers: {{user: alice}}
  - approval: second
    approvers: {{user: bob}}
  - approval: third
    approvers: {{user: carol}}
"""


def machine(versions: dict[str, str]) -> str:
    """One paragraph naming the machine and software the numbers were measured on."""
    lines = [
        f"platform: {platform.platform()}",
        f"cpus: {os.cpu_count()}  python: {platform.python_version()}  "
        f"sqlite library: {sqlite3.sqlite_version}",
    ]
    lines += [f"{name}: {version}" for name, version in versions.items()]
    return "\n".join(lines)


def paired_medians(
    repeats: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[float, float]:
    """Median seconds of ``repeats`` runs of each action, the two taking turns.

    Alternating (after one warm-up run of each) means a burst of load from elsewhere on
    the machine, or a cold cache, falls on both sides rather than on one.
    """
    first()
    second()
    return paired_once(repeats, first, second)


def paired_once(
    repeats: int, first: Callable[[], object], second: Callable[[], object]
) -> tuple[float, float]:
    """Median seconds of ``repeats`` alternating runs of each (no warm-up run)."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for action, bucket in ((first, times[0]), (second, times[1])):
            start = time.perf_counter()
            action()
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def bench_database(server_url: str, name: str) -> str:
    """The URL of a benchmark's own database ``name`` on the server, created when missing.

    Kept between runs, so a large table is loaded once.
    """
    import sqlalchemy as sa

    server = sa.make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.exec_driver_sql(
            "select 1 from pg_database where datname = %(name)s", {"name": name}
        ).first()
        if exists is None:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


@contextlib.contextmanager
def postgres_database(server_url: str, prefix: str = "lowcode_bench") -> Iterator[str]:
    """The URL of a throwaway database on the server, dropped afterwards."""
    import sqlalchemy as sa

    server = sa.make_url(server_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def fresh_tables(
    service: Any, app: str, rows: int, suppliers_count: int, now: Any
) -> tuple[Any, Any, dict[str, Any]] | None:
    """The request and supplier tables of ``app`` emptied and given ``suppliers_count``
    suppliers, with the system columns of a loaded row; None when the requests already
    hold ``rows`` rows (a kept benchmark database is reused)."""
    import sqlalchemy as sa

    # the benchmark reaches behind the facade on purpose: it bulk-loads the real tables
    with service._context.transactions.read(app) as tx:
        requests = tx.form("purchase_request").tables.table
        suppliers = tx.form("supplier").tables.table
    with service._database.read() as conn:
        have = conn.execute(sa.select(sa.func.count()).select_from(requests)).scalar_one()
    if have == rows:
        print(f"reusing {rows} loaded rows")
        return None
    system = {
        "status": "active",
        "version": 1,
        "created_at": now,
        "created_by": "bench",
        "updated_at": now,
        "updated_by": "bench",
    }
    with service._database.write() as conn:
        conn.execute(requests.delete())
        conn.execute(suppliers.delete())
        conn.execute(
            suppliers.insert(),
            [
                {**system, "id": i + 1, "name": f"S{i}", "title": f"S{i}"}
                for i in range(suppliers_count)
            ],
        )
    return requests, suppliers, system
