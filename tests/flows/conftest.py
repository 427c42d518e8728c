"""Fixtures of the flow tests: one organisation, one app skeleton, helpers to act.

The organisation (people named by what they are, so a test reads as a story):

```
hq (zhou) ─ sales_center (chen) ─ sales_east (li) ─ team (wang)
   │                                                  staff: xiao, wu (leader: sun)
   ├ finance_dept (zhao)   staff: qian, feng
   ├ hr_dept (song)        ├ legal_dept (lu)      └ empty_dept (no manager): loner
regions: cn (chen) ─ east (sun) ─ zhejiang (qian.hao) / south (lin) ─ guangdong (tang)
dealers: DL-HZ (zhejiang, rep wu) ─ DL-HZ-01 (sub-dealer) ; DL-GD (guangdong, rep deng)
roles: admin [admin]; finance [zhao, qian, feng]; hr [song]; legal [lu]
```

``xiao``'s managers: 1 wang, 2 li, 3 chen, 4 zhou. ``wu``'s level 1 is his leader sun
(the override), level 2 li. Dealer people are external: hz.boss and hz.sales (DL-HZ),
yh.boss (DL-HZ-01), gz.boss (DL-GD).

Every flow test installs the app ``t`` made by :func:`app_text` with its own flow
document on the form ``request`` (and the form ``store``, a relation target with a
dealer field, for path sources).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from tests.conftest import fresh_database_url

ORG = """
departments:
  - {code: hq, name: 总部, managers: [zhou]}
  - {code: sales_center, name: 销售中心, parent: hq, managers: [chen]}
  - {code: sales_east, name: 华东销售部, parent: sales_center, managers: [li]}
  - {code: team, name: 杭州小组, parent: sales_east, managers: [wang]}
  - {code: finance_dept, name: 财务部, parent: hq, managers: [zhao]}
  - {code: hr_dept, name: 人事部, parent: hq, managers: [song]}
  - {code: legal_dept, name: 法务部, parent: hq, managers: [lu]}
  - {code: empty_dept, name: 无主管部门}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: staff, name: 员工}
  - {code: finance, name: 财务, members: [zhao, qian, feng]}
  - {code: hr, name: 人事, members: [song]}
  - {code: legal, name: 法务, members: [lu]}
  - {code: dealer_admin, name: 经销商管理员, members: [hz.boss, hz.sales, yh.boss, gz.boss]}
regions:
  - {code: cn, name: 全国, level: 全国, managers: [chen]}
  - {code: east, name: 华东大区, level: 大区, parent: cn, managers: [sun]}
  - {code: zhejiang, name: 浙江省区, level: 省区, parent: east, managers: [qian.hao]}
  - {code: south, name: 华南大区, level: 大区, parent: cn, managers: [lin]}
  - {code: guangdong, name: 广东省区, level: 省区, parent: south, managers: [tang]}
dealers:
  - {code: DL-HZ, name: 杭州恒泰, region: zhejiang, sales_rep: wu}
  - {code: DL-HZ-01, name: 余杭恒泰, parent: DL-HZ, region: zhejiang, sales_rep: wu}
  - {code: DL-GD, name: 广州粤华, region: guangdong, sales_rep: deng}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: zhou, name: 周总, department: hq, roles: [staff]}
  - {login: chen, name: 陈晓, department: sales_center, region: cn, roles: [staff]}
  - {login: li, name: 李明, department: sales_east, roles: [staff]}
  - {login: wang, name: 王组长, department: team, roles: [staff]}
  - {login: xiao, name: 小萧, department: team, roles: [staff]}
  - {login: wu, name: 吴刚, department: team, leader: sun, roles: [staff]}
  - {login: sun, name: 孙丽, department: sales_east, region: east, roles: [staff]}
  - {login: qian.hao, name: 钱浩, department: sales_east, region: zhejiang, roles: [staff]}
  - {login: lin, name: 林峰, department: sales_center, region: south, roles: [staff]}
  - {login: tang, name: 唐伟, department: sales_center, region: guangdong, roles: [staff]}
  - {login: deng, name: 邓超, department: sales_center, region: guangdong, roles: [staff]}
  - {login: zhao, name: 赵敏, department: finance_dept, roles: [staff]}
  - {login: qian, name: 钱丽, department: finance_dept, roles: [staff]}
  - {login: feng, name: 冯雪, department: finance_dept, roles: [staff], locale: en}
  - {login: song, name: 宋佳, department: hr_dept, roles: [staff]}
  - {login: lu, name: 陆律, department: legal_dept, roles: [staff]}
  - {login: loner, name: 孤雁, department: empty_dept, roles: [staff]}
  - {login: outsider, name: 局外人, department: hq}
  - {login: hz.boss, name: 杭州恒泰 王总, kind: external, dealer: DL-HZ}
  - {login: hz.sales, name: 杭州恒泰 小张, kind: external, dealer: DL-HZ}
  - {login: yh.boss, name: 余杭恒泰 刘经理, kind: external, dealer: DL-HZ-01}
  - {login: gz.boss, name: 广州粤华 陈总, kind: external, dealer: DL-GD}
"""

APP_HEAD = """
app: t
version: {version}
name: {{zh-CN: 流程测试, en: Flow tests}}
roles:
  staff: 员工
  finance: 财务
  hr: 人事
  legal: 法务
  dealer_admin: 经销商管理员
---
form: store
name: Store
title: "{{{{ name }}}}"
fields:
  name: {{type: text, required: true}}
  dealer: dealer
permissions:
  staff: {{can: all}}
  dealer_admin: {{can: [read]}}
---
form: request
name: Request
title: "{{{{ subject }}}}"
fields:
  subject: {{type: text, required: true}}
  amount: {{type: number, precision: 0}}
  days: {{type: number, precision: 0}}
  category: {{type: select, options: [travel, equipment, other]}}
  owner: user
  reviewers: {{type: user, many: true}}
  dept: department
  dealer: dealer
  store: {{type: relation, to: store, display: name}}
  note: text
  budget_code: text
  lines:
    type: subtable
    fields:
      item: text
      qty: {{type: number, precision: 0}}
      cost: {{type: number, precision: 0}}
permissions:
  staff: {{can: [create, read, update], rows: own}}
  finance: {{can: [read]}}
  dealer_admin: {{can: [create, read, update], rows: dealer_tree}}
"""

ADMIN = Actor("admin")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def app_text(flow: str, version: str = "1.0.0") -> str:
    """The test app with ``flow`` (a flow document on ``request``, ``flow:`` first)."""
    return APP_HEAD.format(version=version) + "---\n" + textwrap.dedent(flow).strip() + "\n"


def flow_doc(nodes: str, **settings: str) -> str:
    """A flow document on ``request`` from its node list (YAML, indented or not)."""
    head = "flow: approval\nform: request\n"
    head += "".join(f"{key}: {value}\n" for key, value in settings.items())
    return head + "nodes:\n" + textwrap.indent(textwrap.dedent(nodes).strip(), "  ") + "\n"


def as_(login: str, locale: str = "en") -> Actor:
    """An actor by login; English messages unless a test asks for Chinese."""
    return Actor(login, locale=locale)


class Flows:
    """A service with the organisation loaded and helpers that read like a story."""

    def __init__(self, service: Any, database_url: str):
        self.service = service
        self.flows = service.flows
        self.database_url = database_url

    # -- setup ----------------------------------------------------------------------------
    def install(self, nodes: str, version: str = "1.0.0", **settings: str) -> Any:
        """Install the app with a flow made of ``nodes`` (and flow-wide ``settings``)."""
        return self.install_text(app_text(flow_doc(nodes, **settings), version))

    def install_text(self, text: str) -> Any:
        return self.service.install_app(ADMIN, load_app_text(text))

    # -- acting ---------------------------------------------------------------------------
    def submit(self, who: str, choices: dict[str, list[str]] | None = None, **data: Any):
        """``who`` submits a request; returns the instance."""
        data.setdefault("subject", f"request of {who}")
        record = self.flows.submit(as_(who), "t", "request", data, choices=choices)
        return self.flows.instance_of(ADMIN, "t", "request", record.id)

    def instance(self, instance_id: int):
        return self.flows.instance(ADMIN, "t", instance_id)

    def pending(self, instance_id: int, node: str | None = None) -> dict[str, int]:
        """Pending tasks of an instance: assignee -> task id (optionally of one node)."""
        view = self.instance(instance_id)
        return {
            t.assignee: t.id
            for t in view.tasks
            if t.status == "pending" and (node is None or t.node == node)
        }

    def task_of(self, instance_id: int, login: str, status: str = "pending") -> int:
        found = [
            t.id
            for t in self.instance(instance_id).tasks
            if t.assignee == login and t.status == status
        ]
        assert found, f"{login} has no {status} task; tasks: {self.describe(instance_id)}"
        return found[-1]

    def approve(self, instance_id: int, login: str, **options: Any):
        return self.flows.approve(as_(login), self.task_of(instance_id, login), **options)

    def reject(self, instance_id: int, login: str, comment: str = "no", **options: Any):
        return self.flows.reject(
            as_(login), self.task_of(instance_id, login), comment=comment, **options
        )

    def send_back(self, instance_id: int, login: str, to: str = "previous", **options: Any):
        options.setdefault("comment", "please fix")
        return self.flows.send_back(as_(login), self.task_of(instance_id, login), to=to, **options)

    # -- reading --------------------------------------------------------------------------
    def describe(self, instance_id: int) -> list[tuple[str, str, str]]:
        """(node, assignee, status) of every task, in creation order."""
        return [(t.node, t.assignee, t.status) for t in self.instance(instance_id).tasks]

    def statuses(self, instance_id: int, node: str) -> dict[str, str]:
        """assignee -> status of the newest task of each person at ``node``."""
        out: dict[str, str] = {}
        for t in self.instance(instance_id).tasks:
            if t.node == node:
                out[t.assignee] = t.status
        return out

    def actions(self, instance_id: int) -> list[tuple[str, str | None, str]]:
        """(action, node, actor) of the timeline, in order."""
        return [(e.action, e.node, e.actor) for e in self.instance(instance_id).timeline]

    def record(self, instance_id: int):
        view = self.instance(instance_id)
        return self.service.get_record(ADMIN, "t", "request", view.record_id)

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(sa.text(sql), params)]
        finally:
            engine.dispose()

    def events(self, instance_id: int | None = None) -> list[tuple[str, dict[str, Any]]]:
        """(topic, payload) of the flow events in the outbox, in order."""
        import json

        out = []
        for topic, payload in self.rows("select topic, payload from outbox order by id"):
            body = json.loads(payload) if isinstance(payload, str) else payload
            if not (topic.startswith("flow.") or topic.startswith("task.")):
                continue
            if instance_id is None or body.get("instance") == instance_id:
                out.append((topic, body))
        return out

    def counts(self, tables: Iterable[str]) -> dict[str, int]:
        return {t: self.rows(f"select count(*) from {t}")[0][0] for t in tables}


@pytest.fixture
def world(make_service, database_url) -> Flows:
    """A service on a fresh database with the organisation and the working calendar."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.calendar.seed(SYSTEM_ACTOR, [2026])
    return Flows(service, database_url)


#: end-to-end modules run on both engines: ``pytestmark = BOTH_ENGINES``
BOTH_ENGINES = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """SQLite unless a module asks for both engines (``BOTH_ENGINES``)."""
    with fresh_database_url(request, tmp_path, getattr(request, "param", "sqlite")) as url:
        yield url
