"""Flow timers on the working calendar, and instances stored by another engine version.

Time is the Service's clock (settable) and the ``now`` given to ``service.flows``'s
timer calls (``due_timers``, ``fire_timers``, ``fire_timer``); the scheduler that will
call them belongs to the rules issue. Deadlines count working hours on the calendar
seeded from chinese-calendar: 2026-09-30 (Wednesday) is the last working day before
National Day (10-01..10-07 off), and Saturday 10-10 is a make-up working day (调休).
Every test runs on a SQLite file and on PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from engine.errors import DefinitionFormatError, FlowActionError, ServiceError
from engine.runtime.flows import STATE_FORMAT_VERSION
from engine.service import SYSTEM_ACTOR, CalendarYearMissing, NotFoundError
from engine.store.flow_tables import flow_instances, flow_timers
from tests.flows import _timers_support as support

at = support.at
flow_database = support.flow_database

#: the last working afternoon before National Day 2026
SUBMITTED = at(2026, 9, 30, 16)

LEAVE_LIKE = """
- approval: first
  approvers: {user: alice}
  timeout:
    after: 24 working hours
    remind_every: 8 working hours
    then: escalate
- approval: second
  approvers: {user: bob}
  send_back: {to: [previous, start]}
"""


@pytest.fixture
def world_of(flow_database: str, tmp_path: Path):
    """``world_of(nodes, now=...)``: a Service on this test's database with the flow."""
    made: list[Any] = []

    def make(nodes: str, now=SUBMITTED, **options: Any) -> Any:
        world = support.make_world(
            flow_database, tmp_path / str(len(made)), nodes, now=now, **options
        )
        made.append(world)
        return world

    yield make
    for world in made:
        world.service.close()


def pending_timers(world: Any, instance_id: int) -> list[tuple[str, int, Any]]:
    """(kind, entry, due) of the pending timers, by due time."""
    rows = world.timers(instance_id, state="pending")
    return sorted(((t["kind"], t["entry"], t["due_at"]) for t in rows), key=lambda t: t[2])


# -- deadlines on working hours -----------------------------------------------------------------


def test_the_calendar_around_national_day_2026(world_of):
    world = world_of(LEAVE_LIKE)
    days = {d.day: d.workday for d in world.service.calendar.year(SYSTEM_ACTOR, 2026)}
    assert days[date(2026, 9, 30)] is True  # Wednesday, the last working day
    assert [days[date(2026, 10, d)] for d in range(1, 8)] == [False] * 7  # 国庆节
    assert days[date(2026, 10, 8)] and days[date(2026, 10, 9)]
    assert days[date(2026, 10, 10)] is True  # Saturday, 国庆节调休
    assert days[date(2026, 10, 11)] is False


def test_timeout_and_first_reminder_count_working_hours_across_the_holiday(world_of):
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()

    # 24 working hours from Wed 09-30 16:00: 2 h that day, none 10-01..07, 8 h on
    # Thu 10-08, 8 h on Fri 10-09, and 6 h on the make-up Saturday 10-10 -> 16:00.
    # The first reminder after 8 working hours: 2 h + 6 h on 10-08 -> 10-08 16:00.
    assert pending_timers(world, instance_id) == [
        ("remind", 1, at(2026, 10, 8, 16)),
        ("timeout", 1, at(2026, 10, 10, 16)),
    ]
    deadline = world.row(instance_id)["state"]["deadlines"]["first"]
    assert deadline == at(2026, 10, 10, 16).isoformat()
    assert world.service.flows.due_timers(at(2026, 10, 8, 15, 59)) == []
    (due,) = world.service.flows.due_timers(at(2026, 10, 8, 16))
    assert (due["kind"], due["instance_id"], due["node"]) == ("remind", instance_id, "first")
    kinds = [t["kind"] for t in world.service.flows.due_timers(at(2026, 10, 10, 16))]
    assert kinds == ["remind", "timeout"]  # earliest first


def test_a_reminder_emits_task_reminded_and_arms_the_next_until_the_deadline(world_of):
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()
    (task_id,) = world.pending(instance_id, "alice")

    run = world.service.flows.fire_timers(at(2026, 10, 8, 16))

    assert (run.fired, run.skipped, run.failed) == (1, 0, [])
    (reminded,) = world.events(instance_id, "task.reminded")
    assert (reminded["task"], reminded["assignee"], reminded["actor"]) == (
        task_id,
        "alice",
        "system",
    )
    entry = world.timeline(instance_id)[-1]
    assert (entry["action"], entry["actor"], entry["node"], entry["detail"]) == (
        "remind",
        "system",
        "first",
        {"to": ["alice"]},
    )
    # the next reminder is 8 working hours after the one that fired: 2 h + 6 h -> 10-09 16:00
    assert pending_timers(world, instance_id) == [
        ("remind", 1, at(2026, 10, 9, 16)),
        ("timeout", 1, at(2026, 10, 10, 16)),
    ]
    assert world.service.flows.fire_timers(at(2026, 10, 9, 16)).fired == 1
    # the one after would fall on the deadline itself: the timeout is all that is left
    assert pending_timers(world, instance_id) == [("timeout", 1, at(2026, 10, 10, 16))]
    assert len(world.events(instance_id, "task.reminded")) == 2
    assert [t["status"] for t in world.tasks(instance_id)] == ["pending"]


def test_the_timeout_escalates_the_task_to_the_approvers_manager(world_of):
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()
    (task_id,) = world.pending(instance_id, "alice")
    (timeout,) = world.timers(instance_id, kind="timeout")

    assert world.service.flows.fire_timer(int(timeout["id"]), now=at(2026, 10, 10, 16)) is True

    old, new = world.tasks(instance_id)
    assert (old["id"], old["status"], old["acted_by"], old["comment"], old["live"]) == (
        task_id,
        "transferred",
        "system",
        "timeout",
        True,
    )
    assert (new["assignee"], new["node"], new["status"]) == ("lead", "first", "pending")
    assert "timeout" in new["reason"]
    assert new["reason"]["timeout"] == "escalate from alice"
    (timed_out,) = world.events(instance_id, "node.timeout")
    assert (timed_out["node"], timed_out["then"]) == ("first", "escalate")
    assert [(e["task"], e["outcome"]) for e in world.events(instance_id, "task.completed")] == [
        (task_id, "transferred")
    ]
    assert world.events(instance_id, "task.created")[-1]["assignee"] == "lead"
    actions = [(e["action"], e["actor"]) for e in world.timeline(instance_id)]
    assert actions[-2:] == [("timeout", "system"), ("transfer", "system")]
    assert world.timers(instance_id, id=timeout["id"])[0]["state"] == "fired"
    # the manager decides; the node goes on as usual and its reminder is cancelled
    world.service.flows.approve(world.actor("lead"), int(new["id"]))
    assert world.pending(instance_id) == world.pending(instance_id, "bob")
    assert world.timers(instance_id, kind="remind")[0]["state"] == "cancelled"


def test_a_timer_fired_twice_acts_once(world_of):
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()
    (timeout,) = world.timers(instance_id, kind="timeout")
    (remind,) = world.timers(instance_id, kind="remind")
    moment = at(2026, 10, 10, 16)

    assert world.service.flows.fire_timer(int(remind["id"]), now=moment) is True
    assert world.service.flows.fire_timer(int(timeout["id"]), now=moment) is True
    after_once = (world.tasks(instance_id), world.timeline(instance_id), world.events(instance_id))

    assert world.service.flows.fire_timer(int(remind["id"]), now=moment) is False
    assert world.service.flows.fire_timer(int(timeout["id"]), now=moment) is False
    assert (
        world.tasks(instance_id),
        world.timeline(instance_id),
        world.events(instance_id),
    ) == after_once
    assert len(world.events(instance_id, "node.timeout")) == 1
    assert world.service.flows.fire_timer(10**9, now=moment) is False  # no such timer


# -- re-entering a node -------------------------------------------------------------------------


def test_a_send_back_re_arms_the_nodes_timers_and_a_stale_timer_does_nothing(world_of):
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()
    (first,) = world.pending(instance_id, "alice")
    world.service.flows.approve(world.actor("alice"), first)
    old = world.timers(instance_id)
    assert {t["state"] for t in old} == {"cancelled"}  # the node was left

    world.clock.now = at(2026, 10, 9, 10)
    (second,) = world.pending(instance_id, "bob")
    world.service.flows.send_back(world.actor("bob"), second, to="previous", comment="again")

    # entry 2 of "first", timed from the send-back: Fri 10-09 10:00 + 8 working hours
    # -> 2 h + 5 h that day, 1 h on Sat 10-10 -> 10:00; + 24 -> 7 + 8 (10-10) + 8
    # (Mon 10-12) + 1 (Tue 10-13) -> Tue 10-13 10:00
    assert pending_timers(world, instance_id) == [
        ("remind", 2, at(2026, 10, 10, 10)),
        ("timeout", 2, at(2026, 10, 13, 10)),
    ]
    assert all(world.timers(instance_id, id=t["id"])[0]["state"] == "cancelled" for t in old)
    (again,) = world.pending(instance_id, "alice")
    assert world.tasks(instance_id, id=again)[0]["entry"] == 2

    # a timer of entry 1 that somehow stayed pending is stale: it changes nothing
    stale = next(t for t in old if t["kind"] == "timeout")
    world.execute(
        flow_timers.update().where(flow_timers.c.id == stale["id"]).values(state="pending")
    )
    before = (world.tasks(instance_id), world.timeline(instance_id), world.events(instance_id))
    assert world.service.flows.fire_timer(int(stale["id"]), now=at(2026, 10, 13, 10)) is False
    after = (world.tasks(instance_id), world.timeline(instance_id), world.events(instance_id))
    assert after == before
    assert world.row(instance_id)["state"]["active"] == {"first": 2}

    # the timer of entry 2 does act
    (current,) = world.timers(instance_id, kind="timeout", state="pending")
    assert world.service.flows.fire_timer(int(current["id"]), now=at(2026, 10, 13, 10)) is True
    assert world.pending(instance_id) == world.pending(instance_id, "lead")


def test_a_resubmission_re_arms_the_timers_of_the_first_node(world_of):
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()
    (first,) = world.pending(instance_id, "alice")
    world.service.flows.send_back(world.actor("alice"), first, to="start", comment="fix it")
    assert world.row(instance_id)["status"] == "sent_back"
    assert pending_timers(world, instance_id) == []

    world.clock.now = at(2026, 10, 12, 9)
    world.service.flows.resubmit(world.actor("sub"), "reqs", instance_id)

    # Mon 10-12 09:00: + 8 working hours -> 18:00; + 24 -> Wed 10-14 18:00
    assert pending_timers(world, instance_id) == [
        ("remind", 2, at(2026, 10, 12, 18)),
        ("timeout", 2, at(2026, 10, 14, 18)),
    ]


# -- what a timeout does ------------------------------------------------------------------------

TIMEOUT_THEN = """
- approval: zero
  approvers: {user: carol}
- approval: first
  approvers: {user: alice}
  timeout: {after: 2 working hours, then: THEN}
- approval: second
  approvers: {user: bob}
"""


@pytest.mark.parametrize("then", ["approve", "reject", "send_back", "transfer"])
def test_each_timeout_action(world_of, then):
    action = "{transfer: {user: zed}}" if then == "transfer" else then
    world = world_of(TIMEOUT_THEN.replace("THEN", action), now=at(2026, 9, 30, 9))
    instance_id = world.submit()
    (zero,) = world.pending(instance_id, "carol")
    world.service.flows.approve(world.actor("carol"), zero)
    (task_id,) = world.pending(instance_id, "alice")
    (timer,) = world.timers(instance_id, kind="timeout", state="pending")
    assert timer["due_at"] == at(2026, 9, 30, 11)

    run = world.service.flows.fire_timers(at(2026, 9, 30, 11))

    assert (run.fired, run.failed) == (1, [])
    (timed_out,) = world.events(instance_id, "node.timeout")
    assert timed_out["then"] == then
    task = world.tasks(instance_id, id=task_id)[0]
    assert task["acted_by"] == "system"
    status = world.row(instance_id)["status"]
    record = world.service.get_record(
        SYSTEM_ACTOR, "reqs", "req", world.row(instance_id)["record_id"]
    )
    if then == "approve":
        assert (task["status"], task["auto"], status) == ("approved", True, "running")
        assert world.pending(instance_id) == world.pending(instance_id, "bob")
    elif then == "reject":
        assert (task["status"], status, record.status) == ("rejected", "rejected", "rejected")
        assert world.pending(instance_id) == []
        assert world.timers(instance_id, state="pending") == []
    elif then == "send_back":
        # back to the previous approval node, entered again
        assert (task["status"], status) == ("sent_back", "running")
        (again,) = world.pending(instance_id)
        assert world.tasks(instance_id, id=again)[0]["assignee"] == "carol"
        assert world.tasks(instance_id, id=again)[0]["entry"] == 2
        (sent,) = world.events(instance_id, "flow.sent_back")
        assert (sent["node"], sent["to"]) == ("first", "zero")
    else:
        assert (task["status"], status) == ("transferred", "running")
        (moved,) = world.pending(instance_id)
        new = world.tasks(instance_id, id=moved)[0]
        assert (new["assignee"], new["node"]) == ("zed", "first")
        assert new["reason"]["timeout"] == "transfer from alice"


def test_a_send_back_timeout_without_an_earlier_node_returns_to_the_submitter(world_of):
    world = world_of(
        """
        - approval: first
          approvers: {user: alice}
          timeout: {after: 1 hours, then: send_back}
        """
    )
    instance_id = world.submit()
    assert world.service.flows.fire_timers(at(2026, 9, 30, 17)).fired == 1
    assert world.row(instance_id)["status"] == "sent_back"
    assert world.tasks(instance_id)[0]["status"] == "sent_back"


def test_a_deadline_from_a_date_field(world_of):
    world = world_of(
        """
        - approval: first
          approvers: {user: alice}
          timeout: {field: due_date, then: reject}
        """
    )
    instance_id = world.submit(due_date="2026-10-09")
    # the end of that day in Shanghai: the next midnight
    assert pending_timers(world, instance_id) == [("timeout", 1, at(2026, 10, 10))]
    assert world.service.flows.due_timers(at(2026, 10, 9, 23, 59)) == []

    assert world.service.flows.fire_timers(at(2026, 10, 10)).fired == 1
    assert world.row(instance_id)["status"] == "rejected"
    assert world.tasks(instance_id)[0]["status"] == "rejected"

    no_date = world.submit("no date")
    assert world.timers(no_date) == []  # no date, no deadline


# -- a year the calendar does not cover ------------------------------------------------------


def test_a_deadline_in_a_year_the_calendar_lacks_is_refused_naming_the_year(world_of):
    world = world_of(LEAVE_LIKE, now=at(2026, 12, 31, 17))
    counted = world.select(flow_instances)

    with pytest.raises(CalendarYearMissing) as missing:
        world.submit()
    assert missing.value.year == 2027
    assert isinstance(missing.value, NotFoundError)
    assert "2027" in str(missing.value) and "lowcode calendar add-year 2027" in str(missing.value)
    # nothing was written: no instance, no record
    assert world.select(flow_instances) == counted
    assert world.service.query_records(SYSTEM_ACTOR, "reqs", "req").total == 0

    # in the submitter's language
    with pytest.raises(CalendarYearMissing, match="the working calendar has no year 2027"):
        world.service.flows.submit(
            world.actor("sub", "en"), "reqs", "req", {"subject": "in English"}
        )

    # once an administrator adds the year, the same submission goes through
    world.service.calendar.add_year(SYSTEM_ACTOR, 2027)
    instance_id = world.submit()
    assert [t[0] for t in pending_timers(world, instance_id)] == ["remind", "timeout"]


def test_a_reminder_that_needs_a_missing_year_fails_loudly_and_stays_due(world_of):
    world = world_of(
        """
        - approval: first
          approvers: {user: alice}
          timeout: {after: 3 days, remind_every: 8 working hours, then: escalate}
        """,
        now=at(2026, 12, 31, 9),
    )
    instance_id = world.submit()
    # 8 working hours from Thu 12-31 09:00 end at 18:00 that day (2026 suffices);
    # arming the next reminder after it needs January 2027
    (remind,) = world.timers(instance_id, kind="remind")
    assert remind["due_at"] == at(2026, 12, 31, 18)
    moment = at(2026, 12, 31, 18)

    run = world.service.flows.fire_timers(moment)

    assert run.fired == 0
    ((failed_id, message),) = run.failed
    assert failed_id == remind["id"] and "2027" in message
    assert world.timers(instance_id, id=remind["id"])[0]["state"] == "pending"
    assert world.events(instance_id, "task.reminded") == []
    with pytest.raises(CalendarYearMissing):
        world.service.flows.fire_timer(int(remind["id"]), now=moment)

    world.service.calendar.add_year(SYSTEM_ACTOR, 2027)
    assert world.service.flows.fire_timers(moment).fired == 1
    assert len(world.events(instance_id, "task.reminded")) == 1


# -- instances stored by another engine version ----------------------------------------------

#: the state an engine of format 1 wrote, without the keys later layouts may add
OLD_STATE = {
    "format": 1,
    "status": "running",
    "cycle": 1,
    "active": {"first": 1},
    "visited": [],
    "entries": {"first": 1},
}


def test_an_instance_stored_in_state_format_1_loads_and_runs(world_of):
    assert STATE_FORMAT_VERSION >= 1
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()
    world.execute(
        flow_instances.update()
        .where(flow_instances.c.id == instance_id)
        .values(state=OLD_STATE, format_version=1)
    )

    view = world.instance(instance_id)
    assert view.active_nodes == ["first"]
    (task_id,) = world.pending(instance_id, "alice")
    world.service.flows.approve(world.actor("alice"), task_id)
    assert world.pending(instance_id) == world.pending(instance_id, "bob")
    state = world.row(instance_id)["state"]
    assert state["format"] == STATE_FORMAT_VERSION
    assert state["visited"] == ["first"] and state["active"] == {"second": 1}
    # its timers still fire (the reminder of the node it left was cancelled)
    assert world.service.flows.fire_timers(at(2026, 10, 10, 16)).fired == 0


@pytest.mark.parametrize("where", ["state", "column"])
def test_an_instance_stored_by_a_newer_engine_is_refused_clearly(world_of, where):
    world = world_of(LEAVE_LIKE)
    instance_id = world.submit()
    (task_id,) = world.pending(instance_id, "alice")
    newer = STATE_FORMAT_VERSION + 1
    state = dict(world.row(instance_id)["state"])
    values: dict[str, Any] = {"format_version": newer}
    if where == "state":
        values = {"state": {**state, "format": newer}}
    world.execute(
        flow_instances.update().where(flow_instances.c.id == instance_id).values(**values)
    )
    before = (world.tasks(instance_id), world.timeline(instance_id))

    for attempt in (
        lambda: world.service.flows.approve(world.actor("alice"), task_id),
        lambda: world.instance(instance_id),
        lambda: world.service.flows.fire_timers(at(2026, 10, 10, 16)),
    ):
        try:
            result = attempt()
        except DefinitionFormatError as error:
            text = str(error)
            assert f"format {newer}" in text and "newer" in text and "upgrade" in text
        else:  # fire_timers reports each timer's failure instead of raising
            assert result.fired == 0 and len(result.failed) == 2
            assert all(f"format {newer}" in message for _, message in result.failed)
    assert (world.tasks(instance_id), world.timeline(instance_id)) == before
    assert not isinstance(DefinitionFormatError("x"), FlowActionError)
    assert issubclass(DefinitionFormatError, ServiceError)


def test_a_date_field_deadline_is_midnight_in_shanghai_whatever_zone_the_clock_uses(world_of):
    from datetime import UTC

    world = world_of(
        """
        - approval: first
          approvers: {user: alice}
          timeout: {field: due_date, then: reject}
        """,
        now=at(2026, 9, 30, 16).astimezone(UTC),
    )
    instance_id = world.submit(due_date="2026-10-09")
    (timer,) = world.timers(instance_id)
    assert timer["due_at"] == at(2026, 10, 10)  # not 2026-10-10 00:00 UTC (08:00 here)
