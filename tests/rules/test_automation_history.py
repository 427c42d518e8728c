"""Automation history per record: the changes rules and batch jobs made, the messages a
rule queued about the record with their delivery state (after a real dispatcher tick
to a real HTTP receiver), and the batch-job outputs that wrote it; only for someone
who may read the record, payloads and errors for administrators only. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor, InvalidArgumentError, NotFoundError
from engine.service.dispatcher import Dispatcher
from engine.service.rule_delivery import register_rule_deliverers
from engine.store.batch_job_tables import batch_job_outputs
from tests.delivery.conftest import http_receiver  # noqa: F401  (the fixture)
from tests.rules.conftest import BOTH_ENGINES

pytestmark = BOTH_ENGINES

ORG = """
departments:
  - {code: hq, name: 总部}
  - {code: branch, name: 分部}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: staff, name: 员工, members: [clerk, other]}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: clerk, name: 文员, department: hq}
  - {login: other, name: 外人, department: branch}
"""

APP = """
app: desk
version: 1.0.0
name: Desk
roles:
  staff: 员工
---
form: ticket
name: Ticket
fields:
  subject: {type: text, required: true}
  amount: money
  priority: text
  cost_code: text
permissions:
  staff: {can: all, rows: own, fields: {cost_code: hidden}}
---
rule: triage
form: ticket
trigger: created
when: "amount > 1000"
actions:
  - set: {priority: "'high'", cost_code: "'CC-9'"}
  - webhook: {url: "URL/erp", secret: "s3cret"}
"""

ADMIN = Actor("admin", locale="en")
CLERK = Actor("clerk", locale="en")
OTHER = Actor("other", locale="en")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def desk(make_service, http_receiver):  # noqa: F811
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(ADMIN, load_app_text(APP.replace("URL", http_receiver.url)))
    return service, http_receiver


def test_the_rules_change_and_its_message_then_delivered(desk):
    service, receiver = desk
    big = service.create_record(
        CLERK, "desk", "ticket", {"subject": "服务器宕机", "amount": "5000"}
    )
    small = service.create_record(CLERK, "desk", "ticket", {"subject": "换鼠标", "amount": "20"})

    history = service.automation.history(ADMIN, "desk", "ticket", big.id)
    [change] = history.changes
    assert (change.source, change.key, change.action, change.revision_no) == (
        "rule",
        "triage",
        "updated",
        2,
    )
    assert sorted(change.fields) == ["cost_code", "priority"]
    [message] = history.messages
    assert (message.topic, message.rule, message.status, message.attempts) == (
        "rule.webhook",
        "triage",
        "pending",
        0,
    )
    assert message.payload["id"] == big.id and message.payload["record"]["subject"] == "服务器宕机"
    assert history.payloads_shown and history.outputs == []
    # the small ticket: no rule fired, nothing to show
    assert service.automation.history(ADMIN, "desk", "ticket", small.id).empty

    # a real dispatcher tick delivers it to the receiver: the state follows
    dispatcher = Dispatcher(service, consumer="test")
    register_rule_deliverers(dispatcher)
    assert len(dispatcher.dispatch_once().delivered) == 1
    assert [r.json()["record_id"] for r in receiver.requests] == [big.id]
    [message] = service.automation.history(ADMIN, "desk", "ticket", big.id).messages
    assert (message.status, message.attempts, message.next_try) == ("delivered", 0, None)
    assert message.delivered_at is not None


def test_a_failed_message_shows_its_error_to_admins_only(desk):
    service, receiver = desk
    receiver.script = [(500, {"error": "erp down"})]
    big = service.create_record(CLERK, "desk", "ticket", {"subject": "断网", "amount": "3000"})
    dispatcher = Dispatcher(service, consumer="test")
    register_rule_deliverers(dispatcher)
    assert dispatcher.dispatch_once().delivered == []
    [message] = service.automation.history(ADMIN, "desk", "ticket", big.id).messages
    assert (message.status, message.attempts) == ("pending", 1)
    assert "500" in message.last_error and message.next_try is not None

    # the clerk may read the record: topic and state, no payload, no error, no hidden field
    seen = service.automation.history(CLERK, "desk", "ticket", big.id)
    [message] = seen.messages
    assert (message.topic, message.status, message.payload, message.last_error) == (
        "rule.webhook",
        "pending",
        None,
        None,
    )
    assert not seen.payloads_shown
    assert [c.fields for c in seen.changes] == [("priority",)]


def test_only_someone_who_may_read_the_record_sees_its_history(desk):
    service, _receiver = desk
    big = service.create_record(CLERK, "desk", "ticket", {"subject": "漏水", "amount": "2000"})
    # 'other' is staff too, but sees only their own tickets: the row rule hides it
    with pytest.raises(NotFoundError):
        service.automation.history(OTHER, "desk", "ticket", big.id)
    with pytest.raises(NotFoundError):
        service.automation.history(ADMIN, "desk", "ticket", big.id + 100)
    with pytest.raises(InvalidArgumentError) as refused:
        service.automation.history(ADMIN, "desk", "ticket", "1; drop")
    assert refused.value.argument == "record_id"


def test_batch_job_outputs_and_job_changes_are_listed(desk):
    service, _receiver = desk
    record = service.create_record(CLERK, "desk", "ticket", {"subject": "月结", "amount": "10"})
    # a batch job acts as job:<key> and notes what it wrote (as the batch-job runner does)
    job = Actor("job:monthly_close", frozenset({"admin"}))
    service.update_record(job, "desk", "ticket", record.id, {"priority": "low"})
    written = datetime(2027, 1, 31, 23, 0, tzinfo=SHANGHAI)
    database = service._context.transactions.database
    with database.write() as conn:
        for period, run_id in (("2026-12", 7), ("2027-01", 9)):
            conn.execute(
                batch_job_outputs.insert().values(
                    app="desk",
                    job="monthly_close",
                    period=period,
                    group_key='{"dept": "hq"}',
                    form="ticket",
                    record_id=record.id,
                    run_id=run_id,
                    written_at=written if run_id == 9 else written.replace(year=2026, month=12),
                )
            )
    history = service.automation.history(ADMIN, "desk", "ticket", record.id)
    assert [(o.job, o.period, o.run_id) for o in history.outputs] == [
        ("monthly_close", "2027-01", 9),
        ("monthly_close", "2026-12", 7),
    ]
    [change] = history.changes
    assert (change.source, change.key, change.fields) == ("job", "monthly_close", ("priority",))
