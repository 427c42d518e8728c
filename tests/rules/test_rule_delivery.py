"""Messages a rule queues, delivered after commit by the dispatcher to real receivers on
127.0.0.1: a signed webhook with the record, a DingTalk robot with the rendered text,
and a message to people in their notifications centre (tests/notifications/ has the rest)."""

from __future__ import annotations

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from engine.service.delivery import dingtalk_sign, verify_webhook_signature
from engine.service.dispatcher import Dispatcher
from engine.service.rule_delivery import register_rule_deliverers
from tests.delivery.conftest import http_receiver  # noqa: F401  (the fixture)
from tests.rules.conftest import ADMIN, BOTH_ENGINES, ORG

pytestmark = BOTH_ENGINES

APP = """
app: desk
version: 1.0.0
name: Desk
---
form: ticket
name: Ticket
fields:
  subject: {type: text, required: true}
  amount: money
---
rule: announce
form: ticket
trigger: created
actions:
  - webhook: {url: "URL/erp", secret: "s3cret"}
  - notify:
      channel: dingtalk
      url: "URL/robot?access_token=abc"
      secret: "SECrobot"
      title: "新工单 {{ record.subject }}"
      message: "金额 {{ record.amount }}"
  - notify: {to: {role: staff}, message: "{{ record.subject }}"}
"""


def test_a_rules_messages_reach_their_receivers_once(make_service, http_receiver):  # noqa: F811
    receiver = http_receiver
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(ADMIN, load_app_text(APP.replace("URL", receiver.url)))
    record = service.create_record(
        ADMIN, "desk", "ticket", {"subject": "打印机坏了", "amount": "1200.50"}
    )
    dispatcher = Dispatcher(service, consumer="test")
    register_rule_deliverers(dispatcher, service)
    run = dispatcher.dispatch_once()
    assert len(run.delivered) == 3 and run.dead == [] and run.retrying == []

    erp, robot = sorted(receiver.requests, key=lambda seen: seen.path)
    assert erp.path == "/erp"
    assert erp.json()["rule"] == "announce" and erp.json()["record_id"] == record.id
    assert erp.json()["record"]["subject"] == "打印机坏了"
    headers = erp.headers
    assert headers["x-lowcode-event"] == "rule.announce"
    assert verify_webhook_signature(
        "s3cret", headers["x-lowcode-timestamp"], erp.body, headers["x-lowcode-signature"]
    )

    assert robot.path == "/robot"
    timestamp = robot.query["timestamp"][0]
    assert robot.query["sign"] == [dingtalk_sign("SECrobot", int(timestamp))]
    assert robot.json()["msgtype"] == "markdown"
    assert robot.json()["markdown"]["title"] == "新工单 打印机坏了"
    assert "金额 1200.50" in robot.json()["markdown"]["text"]

    # the message to people: one unread row for each member of the role staff
    for login in ("boss", "clerk"):
        [note] = service.notifications.list(Actor(login)).items
        assert (note.title, note.body, note.record_id) == ("打印机坏了", "打印机坏了", record.id)
        assert service.notifications.unread_count(Actor(login)) == 1
    assert service.notifications.list(Actor("admin")).total == 0
    # nothing is sent twice
    assert dispatcher.dispatch_once().delivered == [] and len(receiver.requests) == 2
