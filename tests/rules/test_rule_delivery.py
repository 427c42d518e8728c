"""Messages a rule queues, delivered after commit by the dispatcher to real receivers on
127.0.0.1: a signed webhook with the record, a DingTalk robot with the rendered text,
and a message to people (not built yet) kept as failed, never dropped."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR
from engine.service.delivery import dingtalk_sign, verify_webhook_signature
from engine.service.dispatcher import Dispatcher
from engine.service.rule_delivery import register_rule_deliverers
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


class Receiver:
    """Records each POST's path, query, headers and JSON body; answers DingTalk-style."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parts = urlsplit(self.path)
                receiver.seen.append(
                    {
                        "path": parts.path,
                        "query": parse_qs(parts.query),
                        "headers": dict(self.headers),
                        "raw": body,
                        "json": json.loads(body),
                    }
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"errcode": 0, "errmsg": "ok"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def test_a_rules_messages_reach_their_receivers_once(make_service, receiver):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(ADMIN, load_app_text(APP.replace("URL", receiver.url)))
    record = service.create_record(
        ADMIN, "desk", "ticket", {"subject": "打印机坏了", "amount": "1200.50"}
    )
    dispatcher = Dispatcher(service, consumer="test")
    register_rule_deliverers(dispatcher)
    run = dispatcher.dispatch_once()
    assert len(run.delivered) == 2 and len(run.dead) == 1

    erp, robot = sorted(receiver.seen, key=lambda seen: seen["path"])
    assert erp["path"] == "/erp"
    assert erp["json"]["rule"] == "announce" and erp["json"]["record_id"] == record.id
    assert erp["json"]["record"]["subject"] == "打印机坏了"
    headers = erp["headers"]
    assert headers["X-Lowcode-Event"] == "rule.announce"
    assert verify_webhook_signature(
        "s3cret", headers["X-Lowcode-Timestamp"], erp["raw"], headers["X-Lowcode-Signature"]
    )

    assert robot["path"] == "/robot"
    timestamp = robot["query"]["timestamp"][0]
    assert robot["query"]["sign"] == [dingtalk_sign("SECrobot", int(timestamp))]
    assert robot["json"]["msgtype"] == "markdown"
    assert robot["json"]["markdown"]["title"] == "新工单 打印机坏了"
    assert "金额 1200.50" in robot["json"]["markdown"]["text"]

    # the message to people waits for the notifications centre: dead, with the reason
    [dead] = service.events.list_events(SYSTEM_ACTOR, failed_only=True)
    assert dead["topic"] == "rule.notify" and "notifications centre" in dead["last_error"]
    # nothing is sent twice
    assert dispatcher.dispatch_once().delivered == [] and len(receiver.seen) == 2
