"""CHANNEL_DOMAIN C19's reminder: lot L1 (posted 2025-04-08, usable through 2026-04-30)
is reminded of on 2026-03-31 by a ledger's ``lots.remind: {before: 30 days}``, once,
through the scheduler's expiry sweep, and the message reaches the recipient's
notification centre; a spent lot is not reminded, a sweep after downtime catches up,
an expired lot is not reminded. On SQLite and PostgreSQL.

The app is tests/scenarios/ledger_app.yaml with a reminder added to its ledger.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from engine.definitions import check_app_text, load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from engine.service.scheduler import Scheduler

APP = Path(__file__).with_name("ledger_app.yaml")
SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
ACCOUNT = ("D002", "rebate")
D = Decimal

REMIND = """  order: nearest_expiry
  remind:
    before: 30 days
    notify:
      to: [{role: finance}]
      title: "{{ record.ledger_name }} {{ record.dealer }}：{{ record.remaining }} 将于 {{ record.expires_on }} 到期"
      message: "还剩 {{ record.days_left }} 天，{{ recipient.name }}请提醒经销商使用"
"""

ORG = """
departments:
  - {code: fin, name: 财务部}
roles:
  - {code: finance, name: 财务, members: [zhao]}
users:
  - {login: zhao, name: 赵会计, department: fin}
  - {login: qian, name: 钱出纳, department: fin}
"""


def _app_text() -> str:
    text = APP.read_text(encoding="utf-8")
    assert text.count("  order: nearest_expiry\n") == 1
    return text.replace("  order: nearest_expiry\n", REMIND)


@pytest.fixture
def service(make_service):
    """A Service with the rebate demo app installed, its ledger reminding 30 days ahead."""
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(_app_text()))
    return service


def _book(service, clock, amount: str, *day: int) -> None:
    """A statement confirmed and booked on ``day``: the rule posts it as a lot."""
    clerk = Actor("li.na")
    clock.set(*day)
    record = service.create_record(
        clerk, "rebate_demo", "rebate_statement", {"dealer": "D002", "amount": amount}
    )
    for stage in ("已确认", "已入账"):
        service.update_record(clerk, "rebate_demo", "rebate_statement", record.id, {"stage": stage})


def _c5(service, clock) -> None:
    """C5: L1 7,250.00 posted 2025-04-08, L2 32,750.00 posted 2025-07-10; then the
    organisation with the finance clerk the reminder goes to."""
    _book(service, clock, "7250.00", 2025, 4, 8, 10, 0)
    _book(service, clock, "32750.00", 2025, 7, 10, 15, 0)
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))


def _c7(service, clock) -> None:
    """C7 on 2025-08-05: an order using 13,048.63 of rebate, approved (L1 spent)."""
    clerk = Actor("li.na")
    clock.set(2025, 8, 5, 11, 0)
    lines = [
        {"sku": "P-1001", "qty": 400, "price": "204.00"},
        {"sku": "P-2001", "qty": 150, "price": "244.80"},
        {"sku": "P-3001", "qty": 125, "price": "97.33"},
        {"sku": "P-1002", "qty": 160, "price": "125.00", "eligible": False},
    ]
    order = service.create_record(
        clerk, "rebate_demo", "order", {"dealer": "D002", "lines": lines, "rebate_used": "13048.63"}
    )
    service.update_record(clerk, "rebate_demo", "order", order.id, {"stage": "已审核"})


def _lots(service) -> list[tuple[Decimal, bool]]:
    """(remaining, reminded) of each lot, L1 first."""
    view = service.ledgers.account(SYSTEM_ACTOR, "rebate_demo", "credit_points", ACCOUNT, lots=True)
    return [(lot["remaining"], lot["reminded_at"] is not None) for lot in view.lots]


def _inbox(service, login: str = "zhao") -> list[tuple[str, str, str, str | None, bool]]:
    """(title, body, sender, form, read) of a person's messages, read through the service."""
    page = service.notifications.list(Actor(login))
    return [(n.title, n.body, n.sender, n.form, n.read) for n in page.items]


def _sweep(service, clock, when: datetime):
    """The expiry sweep at ``when`` (the clock set there), then the dispatcher's delivery."""
    clock.now = when
    run = service.ledgers.expire()
    Scheduler(service, clock=clock, sweep_files=False).dispatcher.dispatch_all()
    return run


L1_TITLE = "返利账户 D002：7,250.00 将于 2026-04-30 到期"


def test_c19_l1_is_reminded_by_the_march_31_sweep_once(service, clock):
    _c5(service, clock)
    scheduler = Scheduler(service, clock=clock, sweep_files=False)
    clock.set(2026, 3, 30, 23, 59)
    assert scheduler.tick().ledger_reminders_queued == 0  # 31 days before its last day
    assert _lots(service) == [(D("7250.00"), False), (D("32750.00"), False)]
    assert _inbox(service) == []
    # the server clock is UTC: 2026-03-30T16:00Z is 2026-03-31 00:00 in Shanghai
    clock.now = datetime(2026, 3, 30, 16, 0, tzinfo=UTC)
    run = scheduler.tick()
    assert (run.ledger_reminders_queued, run.ledger_lots_expired) == (1, 0)
    assert len(run.outbox.delivered) == 1  # the same tick's dispatcher delivered it
    assert _lots(service) == [(D("7250.00"), True), (D("32750.00"), False)]
    assert _inbox(service) == [
        (
            L1_TITLE,
            "还剩 30 天，赵会计请提醒经销商使用",
            "rule:rebate_demo.credit_points.remind",
            None,
            False,
        )
    ]
    assert _inbox(service, "qian") == []  # not in the role
    # later sweeps do not remind L1 again (L2's reminder is due 2026-07-01)
    clock.set(2026, 4, 15, 9, 0)
    assert scheduler.tick().ledger_reminders_queued == 0
    assert [title for title, *_rest in _inbox(service)] == [L1_TITLE]


def test_c19_after_c7_the_spent_lot_is_not_reminded(service, clock):
    _c5(service, clock)
    _c7(service, clock)
    assert _lots(service) == [(D("0.00"), False), (D("26951.37"), False)]
    assert _sweep(service, clock, datetime(2026, 3, 31, 0, 5, tzinfo=SHANGHAI)).reminders == 0
    assert _lots(service) == [(D("0.00"), False), (D("26951.37"), False)]
    assert _inbox(service) == []
    # L2, usable through 2026-07-31, is reminded from 2026-07-01 with what it has left
    assert _sweep(service, clock, datetime(2026, 6, 30, 23, 59, tzinfo=SHANGHAI)).reminders == 0
    assert _sweep(service, clock, datetime(2026, 7, 1, 0, 0, tzinfo=SHANGHAI)).reminders == 1
    assert [(t, b) for t, b, *_rest in _inbox(service)] == [
        ("返利账户 D002：26,951.37 将于 2026-07-31 到期", "还剩 30 天，赵会计请提醒经销商使用")
    ]


def test_a_sweep_after_downtime_catches_up_but_not_for_an_expired_lot(service, clock):
    _c5(service, clock)
    # down from 2026-03-25 to 2026-04-10: L1 is reminded late, with the days it has left
    run = _sweep(service, clock, datetime(2026, 4, 10, 8, 0, tzinfo=SHANGHAI))
    assert (run.reminders, run.lots) == (1, 0)
    assert _sweep(service, clock, datetime(2026, 4, 10, 8, 5, tzinfo=SHANGHAI)).reminders == 0
    assert [b for _t, b, *_rest in _inbox(service)] == ["还剩 20 天，赵会计请提醒经销商使用"]


def test_a_lot_that_expired_during_downtime_is_expired_not_reminded(service, clock):
    _c5(service, clock)
    # down through L1's whole reminder window: the 2026-05-08 sweep expires it
    run = _sweep(service, clock, datetime(2026, 5, 8, 0, 5, tzinfo=SHANGHAI))
    assert (run.lots, run.reminders) == (1, 0)
    assert _lots(service) == [(D("0.00"), False), (D("32750.00"), False)]
    assert _inbox(service) == []


HEAD = "app: r\nversion: 1.0.0\nname: R\n---\n"


def _errors(remind: str, account: str = "[dealer, kind]") -> list[str]:
    ledger = f"ledger: points\naccount: {account}\nlots:\n  expires: 12 months\n  remind:\n{remind}"
    return [str(e) for e in check_app_text(HEAD + ledger, "ledgers.yaml")]


def test_load_checks_of_a_reminder_say_where():
    assert _errors("    before: 2 weeks\n    notify: {to: {field: dealer}}\n") == []
    assert _errors("    before: 30 days\n    notify: {channel: wecom, url: 'https://x'}\n") == []
    [before] = _errors("    before: 30 fortnights\n    notify: {to: {role: finance}}\n")
    assert "ledgers.yaml:10" in before and "cannot read before: '30 fortnights'" in before
    [field] = _errors("    before: 30 days\n    notify: {to: {field: dealr}}\n")
    assert "ledgers.yaml:11" in field and "no field 'dealr'" in field and "dealer" in field
    [both] = _errors(
        "    before: 30 days\n    notify: {to: {role: f}, channel: wecom, url: 'https://x'}\n"
    )
    assert "ledgers.yaml:11" in both and "exactly one of to" in both
    [robot] = _errors("    before: 30 days\n    notify: {to: {role: f}, secret: s}\n")
    assert "secret is a setting of a group robot" in robot
    [taken] = _errors("    before: 1 day\n    notify: {to: {role: f}}\n", "[dealer, remaining]")
    assert "ledgers.yaml:6" in taken and "'remaining'" in taken
    [schema] = _errors("    before: 30 days\n")
    assert schema == "ledgers.yaml:10:5 lots.remind: missing required key 'notify'"
