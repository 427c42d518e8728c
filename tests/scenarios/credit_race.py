"""The worker processes of CHANNEL_DOMAIN C4 (test_credit_race_scenario.py).

Each worker is its own process with its own Service (engine, connection pool): it waits
for an order to submit, meets the other worker at a barrier and submits at once. Not a
test module: ``spawn`` imports it in the child by name.
"""

from __future__ import annotations

import traceback
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
APP = "credit_demo"


def fixed_now() -> datetime:
    """C4's moment: 2025-05-20 10:00 in Shanghai."""
    return datetime(2025, 5, 20, 10, 0, tzinfo=SHANGHAI)


def worker(url: str, files_dir: str, jobs: Any, results: Any, barrier: Any) -> None:
    """Submit each (account, order number, amount) from ``jobs`` after the barrier; put
    (order number, record id, status, shortfall or an error) on ``results``. None stops."""
    from engine.service import Actor, Service

    service = Service(url, clock=fixed_now, files_dir=files_dir)
    sales = Actor("sales.li")
    try:
        while True:
            job = jobs.get()
            if job is None:
                return
            account, number, amount = job
            data = {
                "order_no": number,
                "account": account,
                "order_date": "2025-05-20",
                "lines": [{"sku": "P-1001", "qty": 1, "unit_price": amount}],
            }
            barrier.wait(timeout=60)
            try:
                record = service.flows.submit(sales, APP, "order", data)
                shortfall = str(record.values["credit_shortfall"])
                results.put((number, record.id, record.status, shortfall))
            except Exception:  # noqa: BLE001 - the test reports it
                results.put((number, None, "crashed", traceback.format_exc()))
    finally:
        service.close()
