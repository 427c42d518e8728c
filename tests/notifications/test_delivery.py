"""A rule's ``notify`` to people delivered by the dispatcher into the notifications
table and by e-mail through a real SMTP server (aiosmtpd on 127.0.0.1): exact rows and
mails, each once across retries and replays, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.service import SYSTEM_ACTOR, Actor
from engine.service.dispatcher import Dispatcher
from engine.service.rule_delivery import RuleDeliverers, register_rule_deliverers
from engine.store.outbox import OutboxEvent
from tests.notifications.conftest import BOTH_ENGINES, STAFF, mails

pytestmark = BOTH_ENGINES

PAPER = {"item": "打印纸", "total": "1200.50", "applicant": "wang"}
TITLE = "采购申请 打印纸 已提交"


def _dispatcher(service) -> Dispatcher:
    dispatcher = Dispatcher(service, consumer="test")
    register_rule_deliverers(dispatcher, service)
    return dispatcher


def _rows(service) -> list[tuple[str, str, str, bool, bool]]:
    """(user, title, body, read, emailed) of every notification, by recipient."""
    with sa.create_engine(service.database_url.replace("***", "")).connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT user_id, title, body, read_at, emailed_at, sender, source_key "
                "FROM notifications ORDER BY user_id"
            )
        ).all()
    return [(r[0], r[1], r[2], r[3] is not None, r[4] is not None) for r in found]


def _event(service, topic: str) -> OutboxEvent:
    """The (delivered) outbox event of ``topic`` as the dispatcher hands it over."""
    engine = sa.create_engine(service.database_url.replace("***", ""))
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT id, topic, payload, idempotency_key, created_at FROM outbox "
                "WHERE topic = :topic ORDER BY id DESC"
            ),
            {"topic": topic},
        ).first()
    engine.dispose()
    payload = row[2] if isinstance(row[2], dict) else __import__("json").loads(row[2])
    return OutboxEvent(row[0], row[1], payload, row[3], 0, row[4])


def test_people_get_one_row_each_and_one_mail_each_across_a_retry(
    buy,
    smtp_server,
    clock,
):
    box = smtp_server
    buy.mail_url = f"smtp://127.0.0.1:{box.port}"
    buy.mail_from = "采购系统 <lowcode@example.cn>"
    box.rcpt_answers["wang@example.cn"] = "451 4.3.0 mailbox busy, try later"
    record = buy.create_record(STAFF, "buy", "request", PAPER)
    dispatcher = _dispatcher(buy)

    run = dispatcher.dispatch_once()
    # wang's mail was refused for now: the event is retried, the rows are all there
    assert run.delivered == [] and len(run.retrying) == 1 and run.dead == []
    assert "wang: " in run.errors[run.retrying[0]] and "451" in run.errors[run.retrying[0]]
    assert _rows(buy) == [
        ("buyer", TITLE, "金额 ¥1200.50，采购员请查看", False, True),
        ("clerk", TITLE, "金额 ¥1200.50，文员请查看", False, False),
        ("wang", TITLE, "金额 ¥1200.50，王申请请查看", False, False),
    ]
    assert mails(box) == [
        (["buyer@example.cn"], "采购员 <buyer@example.cn>", TITLE, "金额 ¥1200.50，采购员请查看\n")
    ]
    [note] = buy.notifications.list(Actor("buyer")).items
    assert (note.app, note.form, note.record_id, note.sender) == (
        "buy",
        "request",
        record.id,
        "rule:buy.tell_buyers",
    )
    # gone is inactive, boss is not addressed: nothing for them
    assert buy.notifications.unread_count(Actor("gone")) == 0
    assert buy.notifications.unread_count(Actor("boss")) == 0

    # the retry (after the back-off) mails only wang; no row is written twice
    box.rcpt_answers.clear()
    clock.now += timedelta(minutes=2)
    run = dispatcher.dispatch_once()
    assert len(run.delivered) == 1 and run.retrying == []
    assert [m[0] for m in mails(box)] == [["buyer@example.cn"], ["wang@example.cn"]]
    assert mails(box)[1][1:] == ("王申请 <wang@example.cn>", TITLE, "金额 ¥1200.50，王申请请查看\n")
    assert [(r[0], r[4]) for r in _rows(buy)] == [("buyer", True), ("clerk", False), ("wang", True)]

    # delivered again (a process killed before the acknowledgement): nothing new
    result = RuleDeliverers(buy).notify(_event(buy, "rule.notify"))
    assert result.details == {"recipients": 3, "written": 0, "mailed": 0}
    assert len(_rows(buy)) == 3 and len(mails(box)) == 2
    assert dispatcher.dispatch_once().claimed == 0


def test_without_mail_settings_the_inbox_rows_are_written_and_the_event_fails_clearly(
    buy,
    smtp_server,
):
    box = smtp_server
    buy.create_record(STAFF, "buy", "request", PAPER)
    dispatcher = _dispatcher(buy)
    run = dispatcher.dispatch_once()
    assert len(run.dead) == 1
    reason = run.errors[run.dead[0]]
    assert "2 recipients are due an e-mail but no mail server is configured" in reason
    assert "LOWCODE_MAIL_URL" in reason and "请设置 LOWCODE_MAIL_URL" in reason
    assert [(r[0], r[4]) for r in _rows(buy)] == [
        ("buyer", False),
        ("clerk", False),
        ("wang", False),
    ]
    # configured, then replayed: the two mails go out, the rows stay three
    buy.mail_url = f"smtp://127.0.0.1:{box.port}"
    assert buy.events.replay(SYSTEM_ACTOR, run.dead) == run.dead
    assert len(dispatcher.dispatch_once().delivered) == 1
    assert sorted(m[0][0] for m in mails(box)) == ["buyer@example.cn", "wang@example.cn"]
    assert [(r[0], r[4]) for r in _rows(buy)] == [("buyer", True), ("clerk", False), ("wang", True)]


def test_an_unknown_role_is_a_dead_event_naming_it(buy):
    event = _event_after_create(buy)
    payload = {**event.payload, "action": {"to": [{"role": "nobody"}, {"user": "ghost"}]}}
    broken = OutboxEvent(event.id, event.topic, payload, "k-unknown", 0, event.created_at)
    try:
        RuleDeliverers(buy).notify(broken)
    except Exception as error:  # noqa: BLE001
        assert getattr(error, "retryable", None) is False
        assert "the organisation has no role nobody, user ghost" in str(error)
        assert "组织中没有：role nobody, user ghost" in str(error)
    else:
        raise AssertionError("an unknown role was accepted")
    assert len(_rows(buy)) == 3  # only the rule's own delivery wrote rows


def _event_after_create(service) -> OutboxEvent:
    service.create_record(STAFF, "buy", "request", PAPER)
    _dispatcher(service).dispatch_once()  # no mail settings: rows, then dead
    return _event(service, "rule.notify")


def test_a_department_and_a_user_in_the_inbox_only_by_default(
    buy,
    smtp_server,
):
    event = _event_after_create(buy)
    buy.mail_url = f"smtp://127.0.0.1:{smtp_server.port}"
    payload = {
        **event.payload,
        "action": {
            "to": [{"department": "sales"}, {"user": "boss"}],
            "title": "{{ recipient.login }}",
        },
    }
    result = RuleDeliverers(buy).notify(
        OutboxEvent(event.id, event.topic, payload, "k-department", 0, event.created_at)
    )
    # sales: lead, buyer, wang (gone is inactive); boss by name; no via: no mail
    assert result.details == {"recipients": 4, "written": 4, "mailed": 0}
    titles = sorted(
        n.title
        for login in ("boss", "lead", "buyer", "wang", "gone")
        for n in buy.notifications.list(Actor(login)).items
        if n.title == login
    )
    assert titles == ["boss", "buyer", "lead", "wang"]
    assert smtp_server.messages == []


def test_the_records_author_through_created_by(buy):
    event = _event_after_create(buy)
    payload = {
        **event.payload,
        "action": {"to": {"field": "created_by"}, "title": "作者 {{ record.item }}"},
    }
    result = RuleDeliverers(buy).notify(
        OutboxEvent(event.id, event.topic, payload, "k-author", 0, event.created_at)
    )
    assert result.details == {"recipients": 1, "written": 1, "mailed": 0}
    assert [n.title for n in buy.notifications.list(Actor("wang")).items] == [
        "作者 打印纸",
        TITLE,
    ]
