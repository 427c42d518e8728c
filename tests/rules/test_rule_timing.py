"""Rules that run outside the triggering write: after commit (from ``rule.fire`` outbox
events run by the dispatcher), on a cron schedule, N days before a date field (the
scheduler's indexed sweep) and by a button (manual)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from engine.definitions.loader import load_app_text
from engine.definitions.rules import Trigger
from engine.errors import DefinitionErrors
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR
from engine.service.rule_timing import field_window
from engine.service.rules import RuleError
from engine.service.scheduler import Scheduler
from tests.conftest import SHANGHAI
from tests.rules.conftest import ADMIN, BOTH_ENGINES, CLERK, ORG

APP = """
app: hr
version: 1.0.0
name: HR
roles:
  staff: 员工
---
form: leave
name: Leave
title: "{{ who }}"
fields:
  who: {type: text, required: true}
  starts: {type: date, index: true}
  days: {type: number, precision: 0}
  reminded: {type: number, precision: 0, default: 0}
  checked: {type: number, precision: 0, default: 0}
permissions:
  staff: {can: all}
---
form: tally
name: Tally
fields:
  name: {type: text}
  count: {type: number, precision: 0}
permissions:
  staff: {can: all}
---
rule: count_after_commit
form: leave
trigger: created
run: after_commit
actions:
  - upsert: {form: tally, match: [name], values: {name: "'created'", count: "1"}}
  - set: {checked: "checked + 1"}
---
rule: remind
form: leave
trigger: {before: {field: starts, days: 1}}
when: "days > 0"
actions:
  - set: {reminded: "reminded + 1"}
---
rule: nightly
form: leave
trigger: {schedule: {cron: "0 9 * * *", misfire: skip}}
when: "days >= 3"
actions:
  - set: {checked: "checked + 10"}
---
rule: recount
form: leave
trigger: {manual: {label: {zh-CN: 重新核对, en: Re-check}, confirm: "Sure?"}}
when: "days > 0"
actions:
  - set: {checked: "checked + 100"}
"""


@pytest.fixture
def hr(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(ADMIN, load_app_text(APP), role_map={"staff": "staff"})
    return service


@pytest.fixture
def schedulers(hr):
    """Schedulers on ``hr``, stopped at the end (on PostgreSQL a leader holds a lock)."""
    made: list[Scheduler] = []

    def make(holder: str) -> Scheduler:
        made.append(Scheduler(hr, holder=holder, sweep_files=False))
        return made[-1]

    yield make
    for scheduler in made:
        scheduler.stop()


def _leave(service, who: str, starts: str, days: int) -> int:
    return service.create_record(
        ADMIN, "hr", "leave", {"who": who, "starts": starts, "days": days}
    ).id


def _field(service, record_id: int, key: str):
    return service.get_record(ADMIN, "hr", "leave", record_id).values[key]


@BOTH_ENGINES
def test_an_after_commit_rule_runs_once_from_the_outbox(hr, clock, schedulers):
    scheduler = schedulers("one")
    first = _leave(hr, "张三", "2026-02-01", 2)
    # committed, not yet run: the record is there, the rule's change is not
    assert _field(hr, first, "checked") == 0
    [event] = [e for e in hr.events.list_events(SYSTEM_ACTOR) if e["topic"] == "rule.fire"]
    # a dispatcher that "dies" after claiming leaves the event to the next one
    hr.events.claim(SYSTEM_ACTOR, "dead-process", limit=10)
    clock.set(2026, 1, 5, 10, 30)  # the dead process's lease ran out
    run = scheduler.tick()
    assert event["id"] in run.outbox.delivered
    assert _field(hr, first, "checked") == 1
    # delivered once: further sweeps change nothing
    scheduler.tick()
    assert _field(hr, first, "checked") == 1
    tally = hr.query_records(ADMIN, "hr", "tally").items
    assert [(t.values["name"], t.values["count"]) for t in tally] == [("created", 1)]


@BOTH_ENGINES
def test_a_failing_after_commit_rule_is_dead_with_its_error_and_replayable(hr, clock, schedulers):
    scheduler = schedulers("one")
    hr.create_record(ADMIN, "hr", "tally", {"name": "created", "count": 5})
    extra = hr.create_record(ADMIN, "hr", "tally", {"name": "created", "count": 6}).id
    record = _leave(hr, "李四", "2026-02-01", 1)
    run = scheduler.tick()
    assert len(run.outbox.dead) == 1
    assert _field(hr, record, "checked") == 0  # the whole run rolled back
    [dead] = hr.events.list_events(SYSTEM_ACTOR, failed_only=True)
    assert dead["topic"] == "rule.fire" and "count_after_commit" in dead["last_error"]
    assert "more than one tally record" in dead["last_error"] or "多条" in dead["last_error"]
    hr.delete_record(ADMIN, "hr", "tally", extra)
    assert hr.events.replay(SYSTEM_ACTOR, [dead["id"]]) == [dead["id"]]
    run = scheduler.tick()
    assert dead["id"] in run.outbox.delivered
    assert _field(hr, record, "checked") == 1


@BOTH_ENGINES
def test_the_date_sweep_fires_each_due_record_once_through_the_index(hr, clock, schedulers):
    scheduler = schedulers("one")
    clock.set(2026, 1, 5, 8, 0)
    scheduler.tick()  # first sight of the rule: the watermark starts at 08:00
    tomorrow = _leave(hr, "王五", "2026-01-06", 2)  # due 2026-01-05 09:00
    zero_days = _leave(hr, "赵六", "2026-01-06", 0)  # due, but `when` says no
    later = _leave(hr, "钱七", "2026-01-08", 1)  # due 2026-01-07 09:00
    past = _leave(hr, "孙八", "2026-01-05", 1)  # due 2026-01-04 09:00: before the rule ran
    clock.set(2026, 1, 5, 9, 0)
    run = scheduler.tick()
    assert run.date_rules_queued == 1
    assert _field(hr, tomorrow, "reminded") == 1
    assert [_field(hr, r, "reminded") for r in (zero_days, later, past)] == [0, 0, 0]
    clock.set(2026, 1, 6, 12, 0)
    assert scheduler.tick().date_rules_queued == 0
    clock.set(2026, 1, 7, 9, 30)
    assert scheduler.tick().date_rules_queued == 1
    assert [_field(hr, r, "reminded") for r in (tomorrow, later)] == [1, 1]
    # a second scheduler process (another worker) finds nothing left to fire
    other = schedulers("two")
    scheduler.stop()
    clock.set(2026, 1, 7, 9, 31)
    run = other.tick()
    assert run.leading and run.date_rules_queued == 0


@BOTH_ENGINES
def test_a_schedule_rule_runs_on_each_matching_record_at_its_fire_time(hr, clock, schedulers):
    clock.set(2026, 1, 5, 8, 59)
    long_leave = _leave(hr, "周九", "2026-03-01", 5)
    short_leave = _leave(hr, "吴十", "2026-03-01", 1)
    scheduler = schedulers("one")
    scheduler.tick()
    assert "rule:hr.nightly" in scheduler.cron_jobs
    clock.set(2026, 1, 5, 9, 0)
    run = scheduler.tick()
    assert run.cron_ran == ["rule:hr.nightly"]
    scheduler.tick()
    # +1 from count_after_commit, +10 from the nightly run, once
    assert _field(hr, long_leave, "checked") == 11
    assert _field(hr, short_leave, "checked") == 1
    # misfire: skip: two days down, the missed 09:00 runs are skipped
    clock.set(2026, 1, 7, 18, 0)
    run = scheduler.tick()
    assert run.cron_skipped == ["rule:hr.nightly"] and run.cron_ran == []
    assert _field(hr, long_leave, "checked") == 11


@BOTH_ENGINES
def test_a_manual_rule_is_a_button_for_those_who_may_update(hr):
    record = _leave(hr, "郑一", "2026-03-01", 2)
    [button] = hr.rules.buttons(CLERK, "hr", "leave", record)
    assert (button.rule, button.label, button.confirm) == ("recount", "Re-check", "Sure?")
    run = hr.rules.press(CLERK, "hr", "recount", record)
    assert run.matched and run.changes[0]["values"] == {"checked": 100}
    assert _field(hr, record, "checked") == 100
    none = _leave(hr, "王二", "2026-03-01", 0)
    assert hr.rules.buttons(CLERK, "hr", "leave", none) == []  # its condition does not hold
    with pytest.raises(RuleError) as refused:
        hr.rules.press(CLERK, "hr", "recount", none)
    assert refused.value.code == "condition"
    assert _field(hr, none, "checked") == 0


def test_a_date_trigger_needs_an_indexed_date_field():
    text = APP.replace("starts: {type: date, index: true}", "starts: {type: date}")
    with pytest.raises(DefinitionErrors) as errors:
        load_app_text(text)
    assert "needs an index for a date trigger" in str(errors.value)
    assert "index: true" in str(errors.value)


def test_the_field_window_of_a_date_trigger():
    trigger = Trigger("before", field="starts", days=1)
    window = field_window(
        trigger,
        "date",
        datetime(2026, 1, 5, 8, 0, tzinfo=SHANGHAI),
        datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI),
    )
    assert (window.low, window.high) == (date(2026, 1, 6), date(2026, 1, 6))
    after = Trigger("after", field="due", hours=4)
    window = field_window(
        after,
        "datetime",
        datetime(2026, 1, 5, 8, 0, tzinfo=SHANGHAI),
        datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI),
    )
    assert window.low == datetime(2026, 1, 5, 4, 0, tzinfo=SHANGHAI) and window.low_open
