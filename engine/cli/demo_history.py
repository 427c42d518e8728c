"""A year of purchase requests for the demo's dashboard (examples/purchase_request).

The requests are written through the service like any other, each on its own day:
a second :class:`Service` on the demo database runs on a clock set to that day, so the
form's rule "needed by today or later" holds then, the serial numbers carry that day,
and the approvals happen that day too. About two in three are approved, one in ten is
rejected by the manager, and the rest are still in approval, so the funnel, the
monthly line and the department pivot have something to show.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.service import Actor, Service, ServiceError

#: the example apps' zone (the clock of the history runs in it)
ZONE = ZoneInfo("Asia/Shanghai")

#: who asks (their departments make the department chart): login -> requests weight
BUYERS = (
    ("ma.lan", 5),
    ("li.ming", 4),
    ("huang.lei", 3),
    ("song.jia", 1),
    ("xu.feng", 2),
    ("qin.yue", 1),
)
#: more suppliers, so the top-10 ranking has an "others" bar
MORE_SUPPLIERS = (
    "上海申达印务有限公司",
    "广州穗丰纸业有限公司",
    "宁波甬兴五金有限公司",
    "苏州恒通物流有限公司",
    "南京金陵包装材料厂",
    "厦门鹭岛贸易有限公司",
    "成都蜀锦办公用品有限公司",
    "武汉江城标签印刷厂",
    "青岛海润胶带有限公司",
    "天津津宝文具有限公司",
    "合肥徽商纸品有限公司",
)
#: requests written (about three a week)
REQUESTS = 150


class _Clock:
    """A clock the history moves day by day."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def add_purchase_history(
    database_url: str,
    files_dir: str | None,
    today: date,
    suppliers: Sequence[int],
    products: Sequence[int],
    *,
    seed: int = 2026,
) -> dict[str, int]:
    """Write :data:`REQUESTS` requests over the year before ``today`` (needed a week
    after each was written) and move them through the approval flow; the counts of
    requests per outcome."""
    rnd = random.Random(seed)
    clock = _Clock(datetime.combine(today, time(9), ZONE))
    service = Service(database_url, files_dir=files_dir, clock=clock)
    buyers = [login for login, weight in BUYERS for _ in range(weight)]
    counts = {"approved": 0, "rejected": 0, "in_approval": 0}
    used: set[tuple[int, date]] = set()
    try:
        clock.now = datetime.combine(today - timedelta(days=366), time(9), ZONE)
        suppliers = [
            *suppliers,
            *(
                service.create_record(Actor("admin"), "purchase", "supplier", {"name": name}).id
                for name in MORE_SUPPLIERS
            ),
        ]
        for index in range(REQUESTS):
            day = today - timedelta(days=365 - index * 365 // REQUESTS)
            clock.now = datetime.combine(day, time(9 + index % 8), ZONE)
            supplier = suppliers[rnd.randrange(len(suppliers))]
            needed = day + timedelta(days=7 + rnd.randrange(10))
            if (supplier, needed) in used:  # one request per supplier and day
                continue
            used.add((supplier, needed))
            lines = [
                {"product": products[rnd.randrange(len(products))], "qty": rnd.randrange(1, 60)}
                for _ in range(rnd.randrange(1, 4))
            ]
            data = {"supplier": supplier, "needed_by": needed.isoformat(), "lines": lines}
            try:
                record = service.create_record(
                    Actor(rnd.choice(buyers)), "purchase", "purchase_request", data
                )
            except ServiceError:
                continue
            outcome = _decide(service, rnd, record.id, index, today)
            counts[outcome] += 1
    finally:
        service.close()
    return counts


def _decide(service: Service, rnd: random.Random, record_id: int, index: int, today: date) -> str:
    """Approve (two in three), reject (one in ten) or leave the request in approval;
    the last weeks' requests are mostly still waiting."""
    roll = rnd.random()
    recent = index > REQUESTS - 12
    if recent and roll < 0.7:
        return "in_approval"
    rejecting = roll > 0.9
    if roll > 0.66 and not rejecting:
        return "in_approval"
    for _ in range(6):
        instance = service.flows.instance_of(
            Actor("admin"), "purchase", "purchase_request", record_id
        )
        pending = [t for t in instance.tasks if t.status == "pending"]
        if not pending:
            break
        for task in pending:
            try:
                if rejecting:
                    service.flows.reject(Actor(task.assignee), task.id, comment="预算不足")
                    return "rejected"
                service.flows.approve(Actor(task.assignee), task.id, comment="同意")
            except ServiceError:
                return "in_approval"
    instance = service.flows.instance_of(Actor("admin"), "purchase", "purchase_request", record_id)
    return "approved" if instance.status == "approved" else "in_approval"
