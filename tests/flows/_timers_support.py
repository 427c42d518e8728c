"""Shared set-up of tests/flows/test_flow_concurrency.py and test_flow_timers.py.

An organisation, an app whose one form carries a flow given as YAML nodes, a Service on
a settable clock with the 2026 working calendar, and readers of what a flow wrote
(tasks, timers, outbox events, the instance row). Loaded by path (pytest runs with
``--import-mode=importlib``): ``support = load_support()`` in each test module.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.service import SYSTEM_ACTOR, Actor, Service, load_app_text, read_org_text
from engine.store.engine_tables import outbox
from engine.store.flow_tables import flow_instances, flow_tasks, flow_timeline, flow_timers
from tests.conftest import fresh_database_url

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: ops is led by lead; lead's own manager is boss (the manager of hq, ops' parent).
#: alice, bob and carol approve; sub submits; zed is a spare person for transfers.
ORG = """
departments:
  - {code: hq, name: 总部, managers: [boss]}
  - {code: ops, name: 运营部, parent: hq, managers: [lead]}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: checkers, name: 复核, members: [carol]}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: boss, name: 老板, department: hq}
  - {login: lead, name: 组长, department: ops}
  - {login: alice, name: 爱丽丝, department: ops}
  - {login: bob, name: 鲍勃, department: ops}
  - {login: carol, name: 卡罗尔, department: ops}
  - {login: sub, name: 申请人, department: ops}
  - {login: zed, name: 泽德, department: ops}
"""

APP_HEAD = """
app: reqs
version: 1.0.0
name: {zh-CN: 申请, en: Requests}
roles:
  checkers: {zh-CN: 复核, en: Checkers}
---
form: req
name: {zh-CN: 申请, en: Request}
title: "{{ subject }}"
fields:
  subject:  {type: text, required: true}
  amount:   {type: number, precision: 0}
  due_date: {type: date}
---
flow: req_flow
form: req
name: {zh-CN: 申请审批, en: Request approval}
"""


def app_text(nodes: str, settings: str = "") -> str:
    """The app with ``nodes`` (the YAML list under ``nodes:``) as the flow of ``req``."""
    return (
        APP_HEAD
        + textwrap.dedent(settings)
        + "nodes:\n"
        + textwrap.indent(textwrap.dedent(nodes).strip("\n"), "  ")
        + "\n"
    )


class Clock:
    """A settable clock for ``Service(clock=...)``."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class World:
    """A Service with the organisation, the calendar and the app installed."""

    def __init__(self, service: Service, clock: Clock, url: str):
        self.service, self.clock, self.url = service, clock, url

    def actor(self, login: str, locale: str = "zh-CN") -> Actor:
        return Actor(login, locale=locale)

    def submit(self, subject: str = "申请", **values: Any) -> int:
        """Submit a request as ``sub``; the instance id."""
        record = self.service.flows.submit(
            self.actor("sub"), "reqs", "req", {"subject": subject, **values}
        )
        view = self.service.flows.instance_of(SYSTEM_ACTOR, "reqs", "req", record.id)
        return view.id

    def instance(self, instance_id: int) -> Any:
        return self.service.flows.instance(SYSTEM_ACTOR, "reqs", instance_id)

    def row(self, instance_id: int) -> Mapping[str, Any]:
        return self.select(flow_instances, flow_instances.c.id == instance_id)[0]

    def tasks(self, instance_id: int, **where: Any) -> list[Mapping[str, Any]]:
        """The instance's task rows, oldest first; ``where`` filters on columns."""
        rows = self.select(flow_tasks, flow_tasks.c.instance_id == instance_id)
        return [r for r in rows if all(r[k] == v for k, v in where.items())]

    def pending(self, instance_id: int, login: str | None = None) -> list[int]:
        """Ids of the pending tasks (of ``login``)."""
        rows = self.tasks(instance_id, status="pending")
        return [int(r["id"]) for r in rows if login is None or r["assignee"] == login]

    def timers(self, instance_id: int, **where: Any) -> list[Mapping[str, Any]]:
        rows = self.select(flow_timers, flow_timers.c.instance_id == instance_id)
        return [r for r in rows if all(r[k] == v for k, v in where.items())]

    def timeline(self, instance_id: int) -> list[Mapping[str, Any]]:
        return self.select(flow_timeline, flow_timeline.c.instance_id == instance_id)

    def events(self, instance_id: int, topic: str | None = None) -> list[dict[str, Any]]:
        """Outbox payloads of the instance (of ``topic``), in order, with their topic."""
        with self.service._database.read() as conn:
            rows = conn.execute(sa.select(outbox.c.topic, outbox.c.payload).order_by(outbox.c.id))
            found = [
                {"topic": t, **p}
                for t, p in rows
                if isinstance(p, dict) and p.get("instance") == instance_id
            ]
        return [e for e in found if topic is None or e["topic"] == topic]

    def select(self, table: sa.Table, *where: Any) -> list[Mapping[str, Any]]:
        with self.service._database.read() as conn:
            stmt = sa.select(table).where(*where).order_by(table.c[next(iter(table.c.keys()))])
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def execute(self, statement: Any) -> None:
        with self.service._database.write() as conn:
            conn.execute(statement)


def make_world(
    url: str, tmp_path: Path, nodes: str, *, now: datetime, settings: str = "", **options: Any
) -> World:
    """A fresh Service on ``url`` with the organisation, the 2026 calendar and the app."""
    clock = Clock(now)
    service = Service(url, clock=clock, files_dir=tmp_path / "files", **options)
    service.init_database()
    service.calendar.seed(SYSTEM_ACTOR, years=[2026])
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(
        SYSTEM_ACTOR, load_app_text(app_text(nodes, settings)), role_map={"checkers": "checkers"}
    )
    return World(service, clock, url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def flow_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database per test on each engine: a SQLite file (never ``:memory:``: the
    races need connections of their own), or a fresh schema on the session's PostgreSQL
    database (``postgres_database`` of tests/conftest.py, skipped with its reason when
    there is no server, a failure under CI=true). Its own name, so a folder conftest that
    narrows ``database_url`` to SQLite does not narrow these tests."""
    with fresh_database_url(request, tmp_path, request.param, "flows.db") as url:
        yield url


def at(*parts: int) -> datetime:
    """A moment in Shanghai: ``at(2026, 9, 30, 16)``."""
    return datetime(*parts, tzinfo=SHANGHAI)
