"""CHANNEL_DOMAIN C5 (lots L1/L2, balance 40,000.00), C7 (rebate capped at 10% of an
order, consumed nearest expiry first), C8 (a return gives back its share to the lot it
came from) and C19 (a lot expires at 00:00 Asia/Shanghai after its last day, by the
sweep) through a real app on SQLite and PostgreSQL, plus the ledger's guarantees:
idempotent retries (D3), the floor, holds, restoring into an expired lot (D10), and
entries that cannot be edited or deleted.

The app is tests/scenarios/ledger_app.yaml: its rules post, hold, consume, release and
reverse through the ledger ``credit_points`` keyed by (dealer, kind).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.definitions import check_app_text, load_app_text
from engine.errors import RecordValidationError
from engine.service import SYSTEM_ACTOR, Actor
from engine.service.rule_values import RuleError
from engine.service.scheduler import Scheduler

APP = Path(__file__).with_name("ledger_app.yaml")
CLERK = Actor("li.na")
ACCOUNT = ("D002", "rebate")
D = Decimal

#: C7: three eligible lines and a promotion line that is not eligible
C7_LINES = [
    {"sku": "P-1001", "qty": 400, "price": "204.00"},
    {"sku": "P-2001", "qty": 150, "price": "244.80"},
    {"sku": "P-3001", "qty": 125, "price": "97.33"},
    {"sku": "P-1002", "qty": 160, "price": "125.00", "eligible": False},
]


@pytest.fixture
def service(make_service):
    """A Service with the rebate demo app installed."""
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP.read_text(encoding="utf-8")))
    return service


def _book(service, clock, amount: str, *day: int, dealer: str = "D002") -> int:
    """A statement confirmed and booked on ``day``: the rule posts it as a lot."""
    clock.set(*day)
    record = service.create_record(
        CLERK, "rebate_demo", "rebate_statement", {"dealer": dealer, "amount": amount}
    )
    service.update_record(CLERK, "rebate_demo", "rebate_statement", record.id, {"stage": "已确认"})
    service.update_record(CLERK, "rebate_demo", "rebate_statement", record.id, {"stage": "已入账"})
    return record.id


def _c5(service, clock) -> None:
    """C5: L1 7,250.00 posted 2025-04-08, L2 32,750.00 posted 2025-07-10."""
    _book(service, clock, "7250.00", 2025, 4, 8, 10, 0)
    _book(service, clock, "32750.00", 2025, 7, 10, 15, 0)


def _account(service, **parts):
    return service.ledgers.account(SYSTEM_ACTOR, "rebate_demo", "credit_points", ACCOUNT, **parts)


def _lots(service) -> list[tuple[Decimal, Decimal, date]]:
    return [
        (lot["original"], lot["remaining"], lot["expires_on"])
        for lot in _account(service, lots=True).lots
    ]


def _order(service, rebate_used: str):
    return service.create_record(
        CLERK,
        "rebate_demo",
        "order",
        {"dealer": "D002", "lines": C7_LINES, "rebate_used": rebate_used},
    )


def _c7(service, clock):
    """C7 on 2025-08-05: an order using 13,048.63 of rebate, approved."""
    clock.set(2025, 8, 5, 11, 0)
    order = _order(service, "13048.63")
    service.update_record(CLERK, "rebate_demo", "order", order.id, {"stage": "已审核"})
    return order


def test_c5_two_lots_expiring_at_month_ends_and_a_balance_of_40000(service, clock):
    _c5(service, clock)
    assert _lots(service) == [
        (D("7250.00"), D("7250.00"), date(2026, 4, 30)),
        (D("32750.00"), D("32750.00"), date(2026, 7, 31)),
    ]
    account = _account(service)
    assert (account.balance, account.held, account.available) == (D("40000.00"), 0, D("40000"))


def test_c7_the_cap_refuses_20000_with_the_capped_figure(service, clock):
    _c5(service, clock)
    clock.set(2025, 8, 5, 11, 0)
    with pytest.raises(RecordValidationError) as caught:
        _order(service, "20000.00")
    assert [e.message for e in caught.value.errors] == ["返利抵扣最多 13,048.63"]
    assert _account(service).balance == D("40000.00")  # nothing held or written


def test_c7_consumes_nearest_expiry_first(service, clock):
    _c5(service, clock)
    clock.set(2025, 8, 5, 11, 0)
    order = _order(service, "13048.63")
    assert order.values["rebate_available"] == D("40000.00")  # read before the hold
    assert order.values["goods"] == D("150486.25")
    assert order.values["eligible_amount"] == D("130486.25")
    assert order.values["rebate_cap"] == D("13048.63")
    assert order.values["credit_amount"] == D("137437.62")
    held = _account(service)
    assert (held.balance, held.held, held.available) == (
        D("40000.00"),
        D("13048.63"),
        D("26951.37"),
    )
    service.update_record(CLERK, "rebate_demo", "order", order.id, {"stage": "已审核"})
    assert [remaining for _o, remaining, _e in _lots(service)] == [D("0.00"), D("26951.37")]
    account = _account(service, entries=True, holds=True)
    assert (account.balance, account.held) == (D("26951.37"), D("0.00"))
    consumed = [(e["amount"], e["held"]) for e in account.entries if e["kind"] == "consume"]
    assert consumed == [(D("-7250.00"), D("-7250.00")), (D("-5798.63"), D("-5798.63"))]
    assert [h["status"] for h in account.holds] == ["consumed"]


def test_c8_a_return_gives_its_share_back_to_the_last_lot_consumed(service, clock):
    _c5(service, clock)
    order = _c7(service, clock)
    clock.set(2025, 8, 20, 9, 0)
    returned = service.create_record(
        CLERK,
        "rebate_demo",
        "order_return",
        {"order": order.id, "dealer": "D002", "amount": "2433.25"},
    )
    assert returned.values["rebate_refund"] == D("243.33")
    assert returned.values["receivable_reduction"] == D("2189.92")
    assert _lots(service) == [
        (D("7250.00"), D("0.00"), date(2026, 4, 30)),
        (D("32750.00"), D("27194.70"), date(2026, 7, 31)),  # expiry kept
    ]
    assert _account(service).balance == D("27194.70")


def test_c19_l1_is_usable_through_april_30_and_expired_by_the_may_1_sweep(service, clock):
    _c5(service, clock)
    scheduler = Scheduler(service, clock=clock, sweep_files=False)
    clock.set(2026, 4, 30, 23, 59)
    scheduler.tick()
    assert _lots(service)[0][1] == D("7250.00")  # still usable on its last day
    # D19: the server clock is UTC; 2026-04-30T16:05Z is 2026-05-01 00:05 in Shanghai
    clock.now = datetime(2026, 4, 30, 16, 5, tzinfo=ZoneInfo("UTC"))
    assert scheduler.tick().ledger_lots_expired == 1
    assert _lots(service)[0][1] == D("0.00")
    account = _account(service, entries=True)
    assert account.balance == D("32750.00")
    assert [(e["kind"], e["amount"]) for e in account.entries][-1] == ("expire", D("-7250.00"))
    assert scheduler.tick().ledger_lots_expired == 0  # idempotent


def test_c19_after_c7_the_spent_lot_expires_with_no_entry(service, clock):
    _c5(service, clock)
    _c7(service, clock)
    before = len(_account(service, entries=True).entries)
    # the scheduler was down for a week: the sweep catches up
    assert (
        service.ledgers.expire(datetime(2026, 5, 8, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))).lots
        == 0
    )
    assert len(_account(service, entries=True).entries) == before
    assert _account(service).balance == D("26951.37")


def test_d3_a_retried_action_writes_nothing(service, clock):
    _c5(service, clock)
    statement = _book(service, clock, "100.00", 2025, 7, 11, 9, 0)
    # booked again (stage moved away and back): the same rule, record and action
    service.update_record(CLERK, "rebate_demo", "rebate_statement", statement, {"stage": "已确认"})
    service.update_record(CLERK, "rebate_demo", "rebate_statement", statement, {"stage": "已入账"})
    assert _account(service).balance == D("40100.00")
    assert len(_lots(service)) == 3


def test_the_floor_refuses_a_hold_past_the_available_balance(service, clock):
    _book(service, clock, "100.00", 2025, 4, 8, 10, 0)
    clock.set(2025, 4, 9, 10, 0)
    with pytest.raises(RuleError) as caught:
        _order(service, "150.00")
    assert str(caught.value).startswith(
        "规则 hold_rebate：返利账户（dealer=D002, kind=rebate）可用余额 100.00，不足 150.00"
        "（余额不能低于 0.00）"
    )
    assert _account(service).held == 0  # the order was not saved, nothing held


def test_a_cancelled_order_releases_its_hold(service, clock):
    _c5(service, clock)
    clock.set(2025, 8, 5, 11, 0)
    order = _order(service, "1000.00")
    assert _account(service).available == D("39000.00")
    service.update_record(CLERK, "rebate_demo", "order", order.id, {"stage": "已取消"})
    account = _account(service, holds=True)
    assert (account.balance, account.held, account.available) == (D("40000"), 0, D("40000"))
    assert [h["status"] for h in account.holds] == ["released"]


def test_d10_a_refund_into_an_expired_lot_is_restored_and_expired_at_once(service, clock):
    _book(service, clock, "100.00", 2025, 4, 8, 10, 0)
    clock.set(2025, 4, 9, 10, 0)
    order = service.create_record(
        CLERK,
        "rebate_demo",
        "order",
        {
            "dealer": "D002",
            "lines": [{"sku": "A", "qty": 1, "price": "1000.00"}],
            "rebate_used": "100.00",
        },
    )
    service.update_record(CLERK, "rebate_demo", "order", order.id, {"stage": "已审核"})
    clock.set(2026, 5, 2, 10, 0)  # the lot's last day was 2026-04-30
    service.create_record(
        CLERK,
        "rebate_demo",
        "order_return",
        {"order": order.id, "dealer": "D002", "amount": "500.00"},
    )
    account = _account(service, entries=True, lots=True)
    assert [(e["kind"], e["amount"]) for e in account.entries][-2:] == [
        ("reverse", D("50.00")),
        ("expire", D("-50.00")),
    ]
    assert (account.balance, account.lots[0]["remaining"]) == (D("0.00"), D("0.00"))


def test_a_refund_larger_than_the_consumption_is_refused(service, clock):
    _c5(service, clock)
    order = _c7(service, clock)
    with pytest.raises(RuleError) as caught:
        service.create_record(
            CLERK,
            "rebate_demo",
            "order_return",
            # more than was bought: its share is more than the 13,048.63 used
            {"order": order.id, "dealer": "D002", "amount": "140000.00"},
        )
    # 13,048.63 × 140,000.00 / 130,486.25 = 14,000.0107 -> 14,000.01
    assert "最多可冲回/扣用 13,048.63，请求 14,000.01" in str(caught.value)
    assert "refund_rebate" in str(caught.value)
    assert _account(service).balance == D("26951.37")  # the return was rolled back


def test_entries_cannot_be_edited_or_deleted_even_in_sql(service, clock):
    _c5(service, clock)
    engine = service._database.engine  # the database itself, below the service
    for sql in ("UPDATE ledger_entries SET amount = 0", "DELETE FROM ledger_entries"):
        with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as conn:
            conn.exec_driver_sql(sql)
        assert "append-only" in str(caught.value)
    assert _account(service).balance == D("40000.00")


def test_balance_reads_in_formulas(service, clock):
    _c5(service, clock)
    clock.set(2025, 8, 5, 11, 0)
    _order(service, "1000.00")
    reader_app = load_app_text(APP.read_text(encoding="utf-8"))
    assert reader_app.ledgers[0].account == ("dealer", "kind")
    run = service.rules.list(SYSTEM_ACTOR, "rebate_demo")
    assert {r.key for r in run} >= {"hold_rebate", "refund_rebate"}


def test_the_cli_reads_balances_entries_and_lots(service, clock, cli, database_url):
    _c5(service, clock)
    _c7(service, clock)
    base = ("--database", database_url, "ledger")
    status, out, _err = cli(*base, "balance", "rebate_demo", "credit_points", *ACCOUNT)
    assert status == 0 and "26951.37" in out and "D002/rebate" in out
    status, out, _err = cli(*base, "lots", "rebate_demo", "credit_points", *ACCOUNT)
    assert status == 0 and "2026-04-30" in out and "2026-07-31" in out
    status, out, _err = cli(*base, "entries", "rebate_demo", "credit_points", *ACCOUNT)
    assert status == 0 and out.count("consume") == 2 and "-5798.63" in out
    status, out, _err = cli(*base, "accounts", "rebate_demo", "credit_points")
    assert status == 0 and "D002/rebate" in out
    status, _out, err = cli(*base, "balance", "rebate_demo", "nope", *ACCOUNT)
    assert (status, err) == (1, "应用 rebate_demo 没有账本 nope（已有：credit_points）\n")
    status, _out, err = cli("--locale", "en", *base, "balance", "rebate_demo", "nope", "D002")
    assert (status, err) == (1, "app rebate_demo has no ledger nope (ledgers: credit_points)\n")


DOCS = Path(__file__).resolve().parents[2] / "docs" / "ledgers.md"


def _docs_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)


def test_the_docs_examples_load():
    blocks = _docs_blocks()
    ledger_block = next(b for b in blocks if b.startswith("ledger:"))
    app_head = "app: docs\nversion: 1.0.0\nname: Docs\n---\n"
    assert [str(e) for e in check_app_text(app_head + ledger_block)] == []
    actions = next(b for b in blocks if b.startswith("actions:"))
    rule = (
        app_head
        + ledger_block
        + "---\nform: order\nfields:\n"
        + "".join(
            f"  {name}: {{type: {kind}}}\n"
            for name, kind in (
                ("dealer", "text"),
                ("final_amount", "money"),
                ("rebate_used", "money"),
                ("rebate_refund", "money"),
                ("order", "number"),
                ("valid_until", "date"),
            )
        )
        + "---\nrule: docs\nform: order\ntrigger: created\n"
        + actions
    )
    assert [str(e) for e in check_app_text(rule)] == []


def test_the_docs_example_app_runs_c5_and_c7(make_service, clock):
    service = make_service()
    example = next(b for b in _docs_blocks() if b.startswith("app:"))
    service.install_app(SYSTEM_ACTOR, load_app_text(example))
    for amount, day in (("7250.00", (2025, 4, 8, 10)), ("32750.00", (2025, 7, 10, 15))):
        clock.set(*day)
        made = service.create_record(
            CLERK, "rebate_docs", "rebate_statement", {"dealer": "D002", "amount": amount}
        )
        service.update_record(
            CLERK, "rebate_docs", "rebate_statement", made.id, {"stage": "已入账"}
        )
    clock.set(2025, 8, 5, 11)
    order = {"dealer": "D002", "eligible_amount": "130486.25"}
    with pytest.raises(RecordValidationError) as caught:
        service.create_record(CLERK, "rebate_docs", "order", {**order, "rebate_used": "20000.00"})
    assert [e.message for e in caught.value.errors] == ["返利抵扣最多 13,048.63"]
    made = service.create_record(
        CLERK, "rebate_docs", "order", {**order, "rebate_used": "13048.63"}
    )
    service.update_record(CLERK, "rebate_docs", "order", made.id, {"stage": "已审核"})
    view = service.ledgers.account(SYSTEM_ACTOR, "rebate_docs", "credit_points", ACCOUNT, lots=True)
    assert view.balance == D("26951.37")
    assert [lot["remaining"] for lot in view.lots] == [D("0.00"), D("26951.37")]


def test_c15_a_machine_transition_posts_a_compensation_lot_with_its_own_expiry(service, clock):
    clock.set(2025, 8, 18, 10, 0)
    incident = service.create_record(
        CLERK,
        "rebate_demo",
        "incident",
        {"harmed_dealer": "D001", "compensation": "4800.00", "compensation_expires": "2026-08-31"},
    )
    service.machines.transition(
        SYSTEM_ACTOR, "rebate_demo", "incident", incident.id, "incident_stage", "decide"
    )
    view = service.ledgers.account(
        SYSTEM_ACTOR, "rebate_demo", "credit_points", ("D001", "rebate"), lots=True, entries=True
    )
    assert view.balance == D("4800.00")
    assert [(lot["original"], lot["expires_on"]) for lot in view.lots] == [
        (D("4800.00"), date(2026, 8, 31))
    ]
    assert view.entries[0]["memo"] == "补偿"


def test_entries_add_up_to_the_balance_and_the_held_amount(service, clock):
    _c5(service, clock)
    order = _c7(service, clock)
    clock.set(2025, 8, 20, 9, 0)
    service.create_record(
        CLERK,
        "rebate_demo",
        "order_return",
        {"order": order.id, "dealer": "D002", "amount": "2433.25"},
    )
    clock.set(2025, 8, 21, 9, 0)
    _order(service, "500.00")  # an open hold
    account = _account(service, entries=True)
    assert sum(e["amount"] for e in account.entries) == account.balance == D("27194.70")
    assert sum(e["held"] for e in account.entries) == account.held == D("500.00")


def test_two_orders_racing_for_the_last_rebate_one_wins(service, clock):
    """Two submits at once holding 30,000.00 each of a 40,000.00 balance: the account row
    lock makes the second see the first's hold, every round."""
    import threading

    _c5(service, clock)
    clock.set(2025, 8, 5, 11, 0)
    lines = [{"sku": "P-1001", "qty": 1500, "price": "204.00"}]  # cap 30,600.00
    for _round in range(3):
        barrier = threading.Barrier(2)
        results: list[object] = []

        def submit(barrier: threading.Barrier = barrier, results: list = results) -> None:
            barrier.wait()
            try:
                made = service.create_record(
                    CLERK,
                    "rebate_demo",
                    "order",
                    {"dealer": "D002", "lines": lines, "rebate_used": "30000.00"},
                )
                results.append(made.id)
            except RuleError as exc:
                results.append(exc)

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        won = [r for r in results if isinstance(r, int)]
        lost = [r for r in results if isinstance(r, RuleError)]
        assert (len(won), len(lost)) == (1, 1), results
        assert "可用余额 10,000.00，不足 30,000.00" in str(lost[0])
        assert _account(service).held == D("30000.00")
        service.update_record(CLERK, "rebate_demo", "order", won[0], {"stage": "已取消"})
    assert _account(service).held == D("0.00")


DEPOSIT_APP = """
app: deposits
version: 1.0.0
name: Deposits
---
ledger: deposit
account: holder
floor: -1000
---
form: movement
fields:
  holder: {type: text, required: true}
  amount: {type: money, required: true}
  direction: {type: select, options: [in, out, third]}
"""
DEPOSIT_RULES = """---
rule: deposit_in
form: movement
trigger: created
when: "direction == 'in'"
actions:
  - post: {ledger: deposit, account: {holder: holder}, amount: amount}
---
rule: deposit_out
form: movement
trigger: created
when: "direction == 'out'"
actions:
  - consume: {ledger: deposit, account: {holder: holder}, amount: amount}
---
rule: deposit_third
form: movement
trigger: created
when: "direction == 'third'"
actions:
  - post: {ledger: deposit, account: {holder: holder}, amount: "amount / 3"}
"""


def test_a_ledger_without_lots_may_go_down_to_a_negative_floor(make_service):
    service = make_service()
    text = DEPOSIT_APP + DEPOSIT_RULES
    service.install_app(SYSTEM_ACTOR, load_app_text(text))

    def move(direction: str, amount: str) -> None:
        service.create_record(
            CLERK,
            "deposits",
            "movement",
            {"holder": "D003", "amount": amount, "direction": direction},
        )

    def balance() -> Decimal:
        return service.ledgers.account(SYSTEM_ACTOR, "deposits", "deposit", ["D003"]).balance

    move("in", "500.00")
    move("out", "1200.00")
    assert balance() == D("-700.00")
    with pytest.raises(RuleError) as caught:
        move("out", "400.00")
    assert "可用余额 300.00，不足 400.00（余额不能低于 -1,000.00）" in str(caught.value)
    with pytest.raises(RuleError) as caught:
        move("third", "100.00")
    assert "post.amount = 33.33333333" in str(caught.value)
    assert "超过 2 位小数（用 ROUND(…, 2)）" in str(caught.value)
    assert balance() == D("-700.00")


def test_a_dry_run_of_a_ledger_rule_shows_the_entry_and_writes_nothing(service, clock, cli):
    _c5(service, clock)
    clock.set(2025, 7, 11, 9, 0)
    made = service.create_record(
        CLERK, "rebate_demo", "rebate_statement", {"dealer": "D002", "amount": "100.00"}
    )
    service.update_record(CLERK, "rebate_demo", "rebate_statement", made.id, {"stage": "已入账"})
    # the rule already posted for this record: a run (dry or not) writes nothing again
    run = service.rules.run(SYSTEM_ACTOR, "rebate_demo", "book_statement", made.id, dry_run=True)
    assert run.matched and run.changes[0]["action"] == "post"
    assert run.changes[0]["values"]["written"] is False
    other = service.create_record(
        CLERK, "rebate_demo", "rebate_statement", {"dealer": "D002", "amount": "5.00"}
    )
    run = service.rules.run(SYSTEM_ACTOR, "rebate_demo", "book_statement", other.id, dry_run=True)
    assert run.matched is False  # its stage is not 已入账
    assert _account(service).balance == D("40100.00")


def test_a_voided_statement_takes_back_what_its_lot_still_holds(service, clock):
    l1 = _book(service, clock, "7250.00", 2025, 4, 8, 10, 0)
    l2 = _book(service, clock, "32750.00", 2025, 7, 10, 15, 0)
    _c7(service, clock)
    clock.set(2025, 8, 6, 9, 0)
    service.update_record(CLERK, "rebate_demo", "rebate_statement", l1, {"stage": "已作废"})
    assert _account(service).balance == D("26951.37")  # L1 was spent: nothing to take back
    service.update_record(CLERK, "rebate_demo", "rebate_statement", l2, {"stage": "已作废"})
    account = _account(service, entries=True, lots=True)
    assert account.balance == D("0.00")
    assert [lot["remaining"] for lot in account.lots] == [D("0.00"), D("0.00")]
    last = account.entries[-1]
    assert (last["kind"], last["amount"], last["memo"]) == ("reverse", D("-26951.37"), "对账单作废")
