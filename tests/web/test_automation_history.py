"""The record page's "Automation" card: the rule's change and its webhook message (state
after a real dispatcher tick to a real HTTP receiver), batch-job outputs; payloads and
errors for administrators only; nothing for a record no automation touched; 404 for
someone who may not read the record. SQLite (the store's queries run on both engines in
tests/rules/test_automation_history.py)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine.store.batch_job_tables import batch_job_outputs
from tests.delivery.conftest import http_receiver  # noqa: F401  (the fixture)
from tests.web.conftest import Browser
from tests.web.test_admin_outbox import _ticket, admin, desk, dispatch  # noqa: F401

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
CARD = re.compile(r'<details class="card mb-3" id="automation">(.*?)</details>\s*</div>', re.S)


def _card(browser: Browser, path: str) -> str:
    answer = browser.get(path)
    assert answer.status_code == 200
    found = CARD.search(answer.get_data(as_text=True))
    assert found, "no Automation card"
    return found.group(1)


def test_the_card_lists_the_rules_change_its_message_and_batch_outputs(desk, admin):  # noqa: F811
    app, service, receiver = desk
    big = _ticket(service, "服务器宕机")
    small = _ticket(service, "换鼠标", amount="20")
    with service._context.transactions.database.write() as conn:
        conn.execute(
            batch_job_outputs.insert().values(
                app="desk",
                job="monthly_close",
                period="2026-01",
                group_key="{}",
                form="ticket",
                record_id=big,
                run_id=12,
                written_at=datetime(2026, 1, 31, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
            )
        )
    run = dispatch(service)
    assert len(run.delivered) == 1 and len(run.unrouted) == 3  # the webhook; record events
    assert [r.json()["record_id"] for r in receiver.requests] == [big]

    owner = Browser(app.test_client())
    owner.sign_in("wu.gang")
    card = _card(owner, f"/r/desk/ticket/{big}")
    changes = re.search(r'<ul[^>]*id="automation-changes">(.*?)</ul>', card, re.S).group(1)
    assert "<code>triage</code> 修改" in changes and 'href="#revision-2">#2</a>' in changes
    assert "优先级" in changes and "主题" not in changes  # only the field the rule set
    [message] = re.findall(r'<li class="list-group-item" id="message-\d+">(.*?)</li>', card, re.S)
    assert "<code>rule.webhook</code>" in message and "<code>triage</code>" in message
    assert re.search(r'<span class="badge message-status bg-success">已投递</span>', message)
    assert "尝试次数: 0" in message
    assert "内容" not in message and "&#34;record&#34;" not in message  # no payload for them
    outputs = re.search(r'<ul[^>]*id="automation-outputs">(.*?)</ul>', card, re.S).group(1)
    assert "<code>monthly_close</code> · 期间 2026-01 · 运行 #12" in outputs

    # the administrator sees the payload as well
    card = _card(admin, f"/r/desk/ticket/{big}")
    assert "&#34;subject&#34;: &#34;服务器宕机&#34;" in card

    # no rule fired on the small ticket: no card at all
    assert 'id="automation"' not in owner.get(f"/r/desk/ticket/{small}").get_data(as_text=True)
    # someone without a read grant: the page (and its card) is not there
    stranger = Browser(app.test_client())
    stranger.sign_in("sun.li")
    assert stranger.get(f"/r/desk/ticket/{big}").status_code == 404


def test_a_failed_message_shows_its_error_to_the_administrator_only(desk, admin):  # noqa: F811
    app, service, receiver = desk
    receiver.script = [(400, {"error": "unknown customer"})]
    big = _ticket(service, "断网")
    assert len(dispatch(service).dead) == 1

    card = _card(admin, f"/r/desk/ticket/{big}")
    assert '<span class="badge message-status bg-danger">失败</span>' in card
    assert "接收方返回 HTTP 400" in card and "尝试次数: 1" in card

    owner = Browser(app.test_client())
    owner.sign_in("wu.gang")
    card = _card(owner, f"/r/desk/ticket/{big}")
    assert '<span class="badge message-status bg-danger">失败</span>' in card
    assert "HTTP 400" not in card
