"""Fixtures of the notifications centre: an organisation with e-mail addresses, a
purchasing app whose rules notify people (a role, user fields) in-app and by e-mail,
send a digest of open approvals and create dealer accounts, and the real SMTP server
(aiosmtpd on 127.0.0.1) of tests/delivery/.

``buyers`` are ``buyer`` and ``wang`` (with addresses), ``clerk`` (none) and ``gone``
(inactive);
requests over 1000 are approved by ``boss``, the others by ``lead``.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from typing import Any

import pytest

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from tests.conftest import fresh_database_url
from tests.delivery.conftest import smtp_server  # noqa: F401  (the fixture)

ORG = """
departments:
  - {code: hq, name: 总部, managers: [boss]}
  - {code: sales, name: 销售部, managers: [lead]}
dealers:
  - {code: d01, name: 杭州一号经销商}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: buyers, name: 采购, members: [buyer, clerk, gone, wang]}
  - {code: dealer, name: 经销商, members: []}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: boss, name: 老板, department: hq, email: boss@example.cn}
  - {login: lead, name: 组长, department: sales, email: lead@example.cn}
  - {login: buyer, name: 采购员, department: sales, email: buyer@example.cn}
  - {login: clerk, name: 文员, department: hq}
  - {login: gone, name: 离职者, department: sales, email: gone@example.cn, active: false}
  - {login: wang, name: 王申请, department: sales, email: wang@example.cn}
"""

APP = """
app: buy
version: 1.0.0
name: 采购
roles:
  staff: 员工
---
form: request
name: 采购申请
title: "{{ item }}"
fields:
  item: {type: text, required: true}
  total: money
  applicant: {type: user}
permissions:
  staff: {can: all}
---
form: dealer_signup
name: 经销商开户
title: "{{ contact }}"
fields:
  code: {type: text, required: true}
  contact: {type: text, required: true}
  mail: {type: email}
permissions:
  staff: {can: all}
---
flow: request_approval
form: request
nodes:
  - approval: check
    approvers: {expr: "IF(total > 1000, 'boss', 'lead')"}
---
rule: tell_buyers
form: request
trigger: created
actions:
  - notify:
      to: [{role: buyers}, {field: applicant}]
      via: [inbox, email]
      title: "采购申请 {{ record.item }} 已提交"
      message: "金额 ¥{{ record.total }}，{{ recipient.name }}请查看"
---
rule: morning_digest
form: request
trigger: {schedule: {cron: "0 9 * * *"}}
actions:
  - notify: {digest: pending_approvals, via: [inbox, email], title: "待审批 {{ count }} 项"}
---
rule: open_account
form: dealer_signup
trigger: created
actions:
  - create_user:
      login: "'dealer_' + record.code"
      name: record.contact
      email: record.mail
      roles: [dealer]
      dealer: "'d01'"
"""

ADMIN = Actor("admin", locale="en")
STAFF = Actor("wang", locale="en")

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


@pytest.fixture
def buy(make_service):
    """A service with the organisation and the purchasing app (its rules registered)."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.calendar.seed(SYSTEM_ACTOR, [2026])
    service.install_app(ADMIN, load_app_text(APP), role_map={"staff": "buyers"})
    return service


def mails(box: Any) -> list[tuple[list[str], str, str, str]]:
    """(envelope recipients, To, Subject, body) of every mail the server took, in order."""
    found = []
    for envelope in box.messages:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        found.append((list(envelope.rcpt_tos), str(message["To"]), str(message["Subject"]), body))
    return found


PASSWORD = "notify-test-pass-1"


@pytest.fixture
def web(buy, database_url, tmp_path, smtp_server):  # noqa: F811
    """(Flask app, service) on the purchasing database; every user's password PASSWORD,
    mail through the test SMTP server."""
    from web import create_app

    for login in ("admin", "boss", "lead", "buyer", "clerk", "wang"):
        buy.org.set_password(SYSTEM_ACTOR, login, PASSWORD)
    buy.mail_url = f"smtp://127.0.0.1:{smtp_server.port}"
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "FILES_DIR": str(tmp_path / "files"),
            "SECRET_KEY": "test-secret",
            "TESTING": True,
        }
    )
    return app, buy
