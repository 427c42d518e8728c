"""Benchmark: "my open tasks" through service.flows.tasks vs the hand-written SQL.

The app of bench_flows.py (an expense form and its flow of three approvals by named
users) is installed, then 100,000 instances are bulk-inserted straight into the flow
tables (test setup, not measured): each has its first task approved (by some user)
and its second pending, so the 1,000 users ``u0000``..``u0999`` hold 100 open tasks
and 100 done ones each, 200,000 task rows in all. For 50 users spread over the range,
one after the other, times ``service.flows.tasks(Actor(user), page_size=50)`` (the
newest 50 pending tasks with their instance's app, form, record, flow, title and
submitter, and the count of all of them) against the hand-written SQL returning the
same columns (the JSON ``reason`` and the times typed as the service returns them)
and the same count, in one read transaction each. The answers are asserted equal for
every user first. Target: service <= 1.5x hand-written. Printed, never asserted.

    python tests/bench/bench_inbox.py [--users 1000] [--tasks 100] [--repeats 20] [--postgres postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import FLOW, FLOW_APP, FLOW_APP_KEY, FLOW_FORM, machine, paired_medians  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, Actor, Service  # noqa: E402
from engine.store.flow_tables import flow_instances, flow_tasks  # noqa: E402

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
APP, FORM = FLOW_APP_KEY, FLOW_FORM
PAGE_SIZE = 50
#: users asked in one timed run (each side asks the same ones in the same order)
ASKED = 50
BATCH = 10_000

HAND_SQL = """
select t.id, t.node, t.kind, t.assignee, t.status, t.created_at, t.acted_at, t.acted_by,
       t.comment, t.reason, i.id as instance_id, i.app, i.form, i.record_id, i.flow, i.title, i.submitter,
       i.status as instance_status
from flow_tasks t join flow_instances i on i.id = t.instance_id
where t.assignee = :login and t.status = 'pending'
order by t.id desc
limit 50
"""
HAND_COUNT = "select count(*) from flow_tasks where assignee = :login and status = 'pending'"


def login(n: int) -> str:
    return f"u{n:04d}"


def load(service: Service, users: int, per_user: int) -> None:
    """``users * per_user`` instances, each with a done first task and an open second one."""
    start = time.perf_counter()
    with service._database.read() as conn:
        flow_hash = conn.execute(
            sa.text("select content_hash from flow_versions where app = :app and flow = :flow"),
            {"app": APP, "flow": FLOW},
        ).scalar_one()
    total = users * per_user
    for first in range(0, total, BATCH):
        numbers = range(first, min(total, first + BATCH))
        instances, tasks = [], []
        for k in numbers:
            at = NOW + timedelta(seconds=k)
            instances.append(
                {
                    "id": k + 1,
                    "app": APP,
                    "form": FORM,
                    "record_id": k + 1,
                    "flow": FLOW,
                    "flow_hash": flow_hash,
                    "status": "running",
                    "submitter": login((k * 13 + 5) % users),
                    "title": f"expense {k:06d}",
                    "cycle": 1,
                    "state": {
                        "format": 1,
                        "status": "running",
                        "cycle": 1,
                        "active": {"second": 1},
                        "visited": ["first"],
                    },
                    "format_version": 1,
                    "started_at": at,
                    "updated_at": at,
                    "finished_at": None,
                    "version": 3,
                }
            )
            done_by = login((k * 7 + 3) % users)
            for offset, node, who, status in (
                (1, "first", done_by, "approved"),
                (2, "second", login(k % users), "pending"),
            ):
                tasks.append(
                    {
                        "id": 2 * k + offset,
                        "instance_id": k + 1,
                        "node": node,
                        "kind": "approval",
                        "assignee": who,
                        "status": status,
                        "slot": 0,
                        "stage": 0,
                        "stage_mode": "all",
                        "entry": 1,
                        "cycle": 1,
                        "live": status == "pending",
                        "auto": False,
                        "reason": {"source": f"named user {who}"},
                        "created_at": at,
                        "acted_at": at if status == "approved" else None,
                        "acted_by": who if status == "approved" else None,
                        "comment": None,
                        "signature": None,
                    }
                )
        with service._database.write() as conn:
            conn.execute(flow_instances.insert(), instances)
            conn.execute(flow_tasks.insert(), tasks)
    with service._database.write() as conn:
        if service._database.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE flow_tasks")
            conn.exec_driver_sql("ANALYZE flow_instances")
            # the bulk rows carry their ids: move the sequences past them
            for table in ("flow_instances", "flow_tasks"):
                conn.exec_driver_sql(
                    f"select setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(select max(id) from {table}))"
                )
    print(
        f"loaded {total} instances and {2 * total} tasks ({total} open) "
        f"in {time.perf_counter() - start:.1f}s"
    )


def measure(service: Service, users: int, per_user: int, repeats: int) -> tuple[float, float]:
    """Seconds per call (service, hand-written), medians of ``repeats`` paired runs."""
    engine = service._database.engine
    hand_sql = sa.text(HAND_SQL).columns(
        created_at=flow_tasks.c.created_at.type,
        acted_at=flow_tasks.c.acted_at.type,
        reason=flow_tasks.c.reason.type,
    )
    hand_count = sa.text(HAND_COUNT)
    asked = [login(n * users // ASKED) for n in range(ASKED)]

    def hand_page(who: str) -> tuple[list, int]:
        with engine.connect() as conn:
            rows = conn.execute(hand_sql, {"login": who}).mappings().all()
            total = conn.execute(hand_count, {"login": who}).scalar_one()
        return rows, total

    for who in asked:
        page = service.flows.tasks(Actor(who), page_size=PAGE_SIZE)
        rows, total = hand_page(who)
        assert page.total == total == per_user, (who, page.total, total)
        assert [t.id for t in page.items] == [r["id"] for r in rows], who
        first, row = page.items[0], rows[0]
        assert (first.assignee, first.created_at, first.reason, first.title) == (
            row["assignee"],
            row["created_at"],
            row["reason"],
            row["title"],
        ), (first, row)

    def ours() -> None:
        for who in asked:
            service.flows.tasks(Actor(who), page_size=PAGE_SIZE)

    def hand() -> None:
        for who in asked:
            hand_page(who)

    service_s, hand_s = paired_medians(repeats, ours, hand)
    return service_s / len(asked), hand_s / len(asked)


def run(url: str, users: int, per_user: int, repeats: int) -> tuple[float, float, str]:
    service = Service(url, clock=lambda: NOW)
    service.init_database()
    service.install_app(SYSTEM_ACTOR, load_app_text(FLOW_APP))
    load(service, users, per_user)
    service_s, hand_s = measure(service, users, per_user, repeats)
    version = service._database.server_version()
    service._database.dispose()
    return service_s, hand_s, version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000, help="users (default 1000)")
    parser.add_argument("--tasks", type=int, default=100, help="open tasks per user (default 100)")
    parser.add_argument("--repeats", type=int, default=20, help="paired runs (default 20)")
    parser.add_argument("--postgres", help="server URL; a throwaway database is created on it")
    args = parser.parse_args()

    results: dict[str, tuple[float, float]] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as folder:
        *times, versions["sqlite"] = run(
            f"sqlite:///{folder}/inbox.db", args.users, args.tasks, args.repeats
        )
        results["SQLite (file, WAL)"] = tuple(times)  # type: ignore[assignment]
    if args.postgres:
        server = sa.make_url(args.postgres.replace("postgresql://", "postgresql+psycopg://", 1))
        name = f"lowcode_bench_{secrets.token_hex(4)}"
        admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            url = server.set(database=name).render_as_string(hide_password=False)
            *times, versions["postgresql"] = run(url, args.users, args.tasks, args.repeats)
            results["PostgreSQL"] = tuple(times)  # type: ignore[assignment]
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()

    print(machine(versions))
    print(
        f"{args.users * args.tasks} open tasks ({args.tasks} per user, as many done) across "
        f"{args.users} users; first page of {PAGE_SIZE} with the total, for {ASKED} users in "
        f"turn; medians of {args.repeats} paired runs"
    )
    for label, (ours, hand) in results.items():
        print(
            f"{label:20} service.flows.tasks {ours * 1e3:7.3f} ms   hand SQL {hand * 1e3:7.3f} ms"
            f"   ratio {ours / hand:5.2f}x (target <= 1.50x)"
        )


if __name__ == "__main__":
    main()
