"""The digest of open approvals (a scheduled rule: one message per approver, listing
their tasks) and ``create_user`` (an account from a record, its temporary password
mailed, the login signs in; idempotent), on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from engine.service import SYSTEM_ACTOR, Actor
from engine.service.delivery import DeliveryError
from engine.service.rule_delivery import RuleDeliverers
from engine.service.scheduler import Scheduler
from engine.store.outbox import OutboxEvent
from tests.notifications.conftest import BOTH_ENGINES, STAFF, mails
from tests.notifications.test_delivery import _dispatcher, _event

pytestmark = BOTH_ENGINES

SIGNUP = {"code": "hz01", "contact": "杭州张三", "mail": "zhang@hz.example.cn"}


def _submit(service, item: str, total: str) -> int:
    return service.flows.submit(STAFF, "buy", "request", {"item": item, "total": total}).id


def test_the_morning_digest_lists_each_approvers_open_tasks(
    buy,
    smtp_server,
    clock,
):
    box = smtp_server
    buy.mail_url = f"smtp://127.0.0.1:{box.port}"
    clock.set(2026, 1, 5, 8, 30)
    big = [_submit(buy, "服务器", "25000"), _submit(buy, "交换机", "3000")]
    _submit(buy, "鼠标", "80")
    # approved already: no longer open, not listed
    done = _submit(buy, "显示器", "1500")
    [task] = [t for t in buy.flows.tasks(Actor("boss")).items if t.record_id == done]
    buy.flows.approve(Actor("boss"), task.id)
    _dispatcher(buy).dispatch_once()  # the requests' own messages
    box.messages.clear()

    scheduler = Scheduler(buy, holder="test", sweep_files=False)
    clock.set(2026, 1, 5, 8, 59)
    scheduler.tick()
    clock.set(2026, 1, 5, 9, 0)
    scheduler.tick()
    scheduler.tick()  # the rule's run, then its message
    scheduler.stop()

    boss, lead = buy.notifications.list(Actor("boss")), buy.notifications.list(Actor("lead"))
    digest = [n for n in boss.items if n.title.startswith("待审批")]
    assert [n.title for n in digest] == ["待审批 2 项"]
    assert digest[0].body == (
        "- 采购申请：服务器（2026-01-05 08:30 起）\n- 采购申请：交换机（2026-01-05 08:30 起）\n"
    )
    assert (digest[0].app, digest[0].form, digest[0].record_id) == ("buy", None, None)
    assert [(n.title, n.body) for n in lead.items if n.title.startswith("待审批")] == [
        ("待审批 1 项", "- 采购申请：鼠标（2026-01-05 08:30 起）\n")
    ]
    # people without open tasks get no digest
    assert buy.notifications.list(Actor("wang")).total == 4  # the four requests' messages
    assert sorted((m[0][0], m[2]) for m in mails(box)) == [
        ("boss@example.cn", "待审批 2 项"),
        ("lead@example.cn", "待审批 1 项"),
    ]
    assert len(big) == 2


def test_create_user_makes_an_account_that_signs_in_with_the_mailed_password(
    buy,
    smtp_server,
):
    box = smtp_server
    buy.mail_url = f"smtp://127.0.0.1:{box.port}"
    buy.create_record(STAFF, "buy", "dealer_signup", SIGNUP)
    run = _dispatcher(buy).dispatch_once()
    assert len(run.delivered) == 1 and run.dead == [] and run.retrying == []

    [(to, header, subject, body)] = mails(box)
    assert (to, header, subject) == (
        ["zhang@hz.example.cn"],
        "杭州张三 <zhang@hz.example.cn>",
        "您的账号已创建",
    )
    assert "登录名：dealer_hz01\n" in body and "首次登录时须设置您自己的密码" in body
    password = re.search(r"临时密码：(\S+)\n", body).group(1)
    assert len(password) == 16
    signed_in = buy.org.authenticate("dealer_hz01", password)
    assert signed_in is not None and signed_in.user_id == "dealer_hz01"
    user = buy.org.user(SYSTEM_ACTOR, "dealer_hz01")
    assert (user.name, user.kind, user.dealer, user.roles, user.email) == (
        "杭州张三",
        "external",
        "d01",
        ("dealer",),
        "zhang@hz.example.cn",
    )
    assert buy.accounts.session_state("dealer_hz01").password_must_change is True
    # the password is in no table: neither the outbox nor the audit
    with sa.create_engine(buy.database_url.replace("***", "")).connect() as conn:
        for table in ("outbox", "audit_log"):
            text = " ".join(str(r) for r in conn.execute(sa.text(f"SELECT * FROM {table}")))
            assert password not in text
        audit = conn.execute(sa.text("SELECT actor, action FROM audit_log WHERE form = 'org'"))
        assert ("rule:open_account", "user.create") in [tuple(r) for r in audit]

    # the same event again (a redelivery): a success that creates and mails nothing
    event = _event(buy, "rule.create_user")
    deliverers = RuleDeliverers(buy)
    assert (
        deliverers.create_user(event).body_excerpt == "dealer_hz01 exists (created by open_account)"
    )
    assert len(mails(box)) == 1 and buy.org.authenticate("dealer_hz01", password) is not None
    # a retry after a failed mail: a new password, mailed; the old one no longer works
    retried = OutboxEvent(
        event.id, event.topic, event.payload, event.idempotency_key, 1, event.created_at
    )
    assert (
        deliverers.create_user(retried).body_excerpt
        == "dealer_hz01 password reset; mailed to the user"
    )
    second = re.search(r"临时密码：(\S+)\n", mails(box)[1][3]).group(1)
    assert second != password and buy.org.authenticate("dealer_hz01", second) is not None
    assert buy.org.authenticate("dealer_hz01", password) is None


def test_create_user_refuses_a_login_someone_else_created(buy):
    buy.org.create_user(SYSTEM_ACTOR, "dealer_gz02", "别人", kind="external", dealer="d01")
    buy.create_record(STAFF, "buy", "dealer_signup", {**SIGNUP, "code": "gz02"})
    # no mail configured: the account of another record is made all the same
    buy.create_record(STAFF, "buy", "dealer_signup", {**SIGNUP, "code": "gz03", "mail": None})
    run = _dispatcher(buy).dispatch_once()
    assert len(run.dead) == 1 and len(run.delivered) == 1
    assert (
        "the login dealer_gz02 is taken (not created by rule open_account)"
        in (run.errors[run.dead[0]])
    )
    assert buy.org.user(SYSTEM_ACTOR, "dealer_gz02").name == "别人"
    made = buy.org.user(SYSTEM_ACTOR, "dealer_gz03")
    assert (made.name, made.has_password, made.email) == ("杭州张三", True, None)


def test_a_blank_login_is_a_dead_event_with_the_reason(buy):
    event = _event_for(buy)
    payload = {**event.payload, "record": {**event.payload["record"], "code": None}}
    with pytest.raises(DeliveryError) as refused:
        RuleDeliverers(buy).create_user(
            OutboxEvent(event.id, event.topic, payload, "k-blank", 0, event.created_at)
        )
    assert refused.value.retryable is False
    assert "create_user.login = \"'dealer_' + record.code\" is blank" in str(refused.value)


def _event_for(service) -> OutboxEvent:
    service.create_record(STAFF, "buy", "dealer_signup", {**SIGNUP, "code": "zz09"})
    _dispatcher(service).dispatch_once()
    return _event(service, "rule.create_user")
