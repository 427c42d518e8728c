"""CHANNEL_DOMAIN C4: two processes race for the last credit, 100 times, on SQLite (a file
database) and PostgreSQL.

available 60,000.00; orders X 40,000.00 and Y 35,000.00 are submitted at once from two
processes (each its own Service and connection, released together by a barrier).
Every run: exactly one is approved with no finance task, the other waits for finance
with a shortfall of 15,000.00 (60,000 − 40,000 = 20,000 left for Y's 35,000, or
60,000 − 35,000 = 25,000 left for X's 40,000: 15,000 either way); used grows by exactly
the approved amount. The order form locks its credit account (``lock: account``), so the
second submit reads its aggregates after the first has committed.
"""

from __future__ import annotations

import multiprocessing
import time
from decimal import Decimal

import pytest

from engine.definitions import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from tests.scenarios.credit_race import APP, fixed_now, worker
from tests.scenarios.test_credit_scenario import APP_FILE, ORG

RUNS = 100
SALES = Actor("sales.li")

pytestmark = pytest.mark.slow


@pytest.fixture
def race_service(make_service, database_url, clock):
    clock.now = fixed_now()
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(APP_FILE.read_text(encoding="utf-8")))
    return service, database_url


def test_c4_two_processes_racing_for_the_last_credit(race_service, tmp_path):
    service, url = race_service
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    queues = [context.Queue(), context.Queue()]
    workers = [
        context.Process(
            target=worker, args=(url, str(tmp_path / "files"), q, results, barrier), daemon=True
        )
        for q in queues
    ]
    for process in workers:
        process.start()
    started = time.perf_counter()
    try:
        for run in range(RUNS):
            account = service.create_record(
                SALES, APP, "credit_account", {"dealer_name": f"D{run}", "credit_limit": "60000.00"}
            ).id
            queues[0].put((account, f"X-{run}", "40000.00"))
            queues[1].put((account, f"Y-{run}", "35000.00"))
            outcome = sorted(results.get(timeout=120) for _ in range(2))
            crashed = [o for o in outcome if o[2] == "crashed"]
            assert not crashed, crashed[0][3]
            statuses = sorted(status for _, _, status, _ in outcome)
            assert statuses == ["approved", "in_approval"], (run, outcome)
            approved = next(o for o in outcome if o[2] == "approved")
            waiting = next(o for o in outcome if o[2] == "in_approval")
            assert Decimal(approved[3]) == Decimal("0.00"), (run, outcome)
            assert Decimal(waiting[3]) == Decimal("15000.00"), (run, outcome)
            assert _tasks(service, approved[1]) == []
            # one finance task (15,000 is over 10% of 60,000: finance comes first, then the
            # area director, who has no task yet)
            assert _tasks(service, waiting[1]) == [("finance_first", "fin.zhao", "pending")]
            figures = service.update_record(SALES, APP, "credit_account", account, {}).values
            amount = Decimal("40000.00") if approved[0].startswith("X") else Decimal("35000.00")
            assert figures["used"] == amount  # grows by exactly the approved amount
            assert figures["available"] >= 0  # never below 0 without a finance approval
    finally:
        for q in queues:
            q.put(None)
        for process in workers:
            process.join(timeout=30)
    elapsed = time.perf_counter() - started
    print(f"\nC4: {RUNS} races on {url.split(':')[0]} in {elapsed:.1f} s")


def _tasks(service, record_id: int) -> list[tuple[str, str, str]]:
    view = service.flows.instance_of(SYSTEM_ACTOR, APP, "order", record_id)
    if view is None:
        return []
    return [(t.node, t.assignee, t.status) for t in view.tasks]
