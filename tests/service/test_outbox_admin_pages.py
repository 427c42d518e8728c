"""The service behind the admin pages of background work: outbox pages by view with
counts and keyset paging (on the indexes that exist), the job queue's pages and replay,
the scheduled runs; administrators only. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor, InvalidArgumentError, PermissionDeniedError
from engine.store import jobs as stored
from engine.store import outbox_admin

ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: admin, name: 管理员, members: [admin]}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: clerk, name: 文员, department: hq}
"""
ADMIN = Actor("admin", locale="en")
CLERK = Actor("clerk", locale="en")


def failing_job(payload: dict) -> None:
    """A job that always fails (for the queue's dead view)."""
    raise ValueError(f"bad input {payload['n']}")


@pytest.fixture
def shop(purchase):
    purchase.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    return purchase


def _fail_until_dead(service, consumer: str) -> list[int]:
    events = service.events.claim(SYSTEM_ACTOR, consumer, limit=10)
    for event in events:
        service.events.give_up(SYSTEM_ACTOR, consumer, event.id, f"HTTP 400 for {event.id}")
    return [e.id for e in events]


def test_outbox_pages_by_view_with_counts_and_keyset_paging(shop):
    for name in ("Acme", "Bolt", "Cord", "Dune", "Echo"):
        shop.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": name})
    dead = _fail_until_dead(shop, "rules")[:2]  # leased all five, gave up on all
    shop.events.replay(ADMIN, [i for i in range(1, 6) if i not in dead])  # 3 pending again
    done = shop.events.claim(SYSTEM_ACTOR, "rules", limit=1)
    shop.events.acknowledge(SYSTEM_ACTOR, "rules", [done[0].id])

    page = shop.events.page(ADMIN, view="pending", limit=1)
    assert page.counts == {"pending": 2, "failed": 2, "delivered": 1}
    assert [e["id"] for e in page.events] == [5] and page.older == 5
    page = shop.events.page(ADMIN, view="pending", before=page.older, limit=1)
    assert [e["id"] for e in page.events] == [4] and page.older is None
    failed = shop.events.page(ADMIN, view="failed")
    assert [(e["id"], e["attempts"], e["last_error"]) for e in failed.events] == [
        (2, 1, "HTTP 400 for 2"),
        (1, 1, "HTTP 400 for 1"),
    ]
    assert failed.events[0]["payload"]["id"] == 2
    assert shop.events.page(ADMIN, view="delivered").events[0]["id"] == 3
    assert shop.events.page(ADMIN, topic="record.updated").counts == {
        "pending": 0,
        "failed": 0,
        "delivered": 0,
    }
    assert shop.events.page(ADMIN).count_text("failed") == "2"

    with pytest.raises(PermissionDeniedError, match="administrator"):
        shop.events.page(CLERK)
    with pytest.raises(InvalidArgumentError) as refused:
        shop.events.page(ADMIN, view="everything")
    assert refused.value.argument == "view"
    with pytest.raises(InvalidArgumentError) as refused:
        shop.events.page(ADMIN, before=-3)
    assert refused.value.argument == "before"


def test_a_count_stops_at_the_cap(shop, monkeypatch):
    for name in ("Acme", "Bolt", "Cord"):
        shop.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": name})
    monkeypatch.setattr(outbox_admin, "COUNT_CAP", 2)
    assert shop.events.page(ADMIN).counts["pending"] == 3  # 2 + 1: "more than" the cap


def test_the_page_queries_walk_an_index(shop):
    engine = shop._context.transactions.database.engine
    # the indexes exist on both engines (made by the migrations)
    names = {i["name"] for i in sa.inspect(engine).get_indexes("outbox")}
    assert "ix_outbox_due" in names
    assert "ix_jobs_due" in {i["name"] for i in sa.inspect(engine).get_indexes("jobs")}
    if engine.dialect.name != "sqlite":
        return  # PostgreSQL picks plans by table statistics: a fresh table is scanned
    expected = {
        "pending": "USING INDEX ix_outbox_due",
        "failed": "USING INTEGER PRIMARY KEY",
        "delivered": "USING INTEGER PRIMARY KEY",
    }
    with engine.connect() as conn:
        for view, index in expected.items():
            stmt = outbox_admin.events_page_statement(view, topic=None, before_id=100, limit=50)
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            plan = " ".join(r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            # one index range walk, newest first, no sort step
            assert index in plan and "TEMP B-TREE" not in plan, (view, plan)


def test_the_job_queue_pages_replays_and_refuses(shop, clock):
    job = int(shop.jobs.submit("tests.service.test_outbox_admin_pages:failing_job", {"n": 7}))
    for _ in range(5):
        shop.jobs.run_due(runner="test")
        clock.now += timedelta(hours=2)
    page = shop.jobs.page(ADMIN, view="dead")
    assert page.counts == {"pending": 0, "running": 0, "dead": 1, "finished": 0}
    [row] = page.jobs
    assert (row["id"], row["attempts"], row["last_error"]) == (job, 5, "ValueError: bad input 7")

    assert shop.jobs.replay(ADMIN, [job]) == [job]
    page = shop.jobs.page(ADMIN, view="pending")
    assert [j["attempts"] for j in page.jobs] == [0] and page.counts["dead"] == 0
    # claimed by a runner (its lease running): running, and not replayed under it
    with shop._context.transactions.database.write() as conn:
        stored.claim_jobs(conn, "busy", now=clock.now, lease=timedelta(minutes=10))
    assert shop.jobs.page(ADMIN, view="running").counts["running"] == 1
    with pytest.raises(InvalidArgumentError, match=f"job {job} is running now"):
        shop.jobs.replay(ADMIN, [job])
    with pytest.raises(InvalidArgumentError, match="job 999 does not exist"):
        shop.jobs.replay(ADMIN, [999])
    with pytest.raises(InvalidArgumentError, match="list of job ids"):
        shop.jobs.replay(ADMIN, "1")
    with pytest.raises(PermissionDeniedError, match="administrator"):
        shop.jobs.page(CLERK)
    with pytest.raises(PermissionDeniedError, match="administrator"):
        shop.jobs.replay(CLERK, [job])
    state = shop.jobs.scheduling(ADMIN)
    assert state.schedules == [] and state.leader is None
    with pytest.raises(PermissionDeniedError):
        shop.jobs.scheduling(CLERK)
