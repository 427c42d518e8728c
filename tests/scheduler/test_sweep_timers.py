"""The scheduler's sweep fires due flow timers, once, on the leader only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.service.scheduler import Scheduler
from tests.flows import _timers_support as support

at = support.at
flow_database = support.flow_database

NODES = """
- approval: first
  approvers: {user: alice}
  timeout:
    after: 24 working hours
    remind_every: 8 working hours
    then: escalate
"""


@pytest.fixture
def world(flow_database: str, tmp_path: Path) -> Any:
    made = support.make_world(flow_database, tmp_path, NODES, now=at(2026, 9, 30, 16))
    yield made
    made.service.close()


def test_sweep_fires_due_flow_timers_once_on_the_leader(world):
    instance_id = world.submit()
    follower_service = support.Service(world.url, clock=world.clock)
    leader = Scheduler(world.service, holder="leader", sweep_files=False)
    follower = Scheduler(follower_service, holder="follower", sweep_files=False)
    try:
        assert leader.tick().timers_fired == 0  # nothing due yet
        world.clock.now = at(2026, 10, 8, 16)  # the first reminder is due
        # the leader's lease is long gone on SQLite: whoever sweeps first leads
        first = leader.tick()
        second = follower.tick()
        assert first.leading and not second.leading
        assert (first.timers_fired, second.timers_fired) == (1, 0)
        assert leader.tick().timers_fired == 0  # fired: not again
        assert len(world.events(instance_id, "task.reminded")) == 1
    finally:
        leader.stop()
        follower.stop()
        follower_service.close()
