"""The outbox dispatcher against a real HTTP receiver on 127.0.0.1, on both databases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest

from engine.errors import InvalidArgumentError, PermissionDeniedError
from engine.service import SYSTEM_ACTOR, Actor
from engine.service.dispatcher import Dispatcher
from engine.store.outbox import MAX_ATTEMPTS
from tests.scheduler._receiver import Receiver, webhook

ROOT = Path(__file__).resolve().parents[2]


def _supplier(service, name: str):
    return service.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": name})


def _events(service, **options):
    return service.events.list_events(SYSTEM_ACTOR, **options)


def test_fails_twice_then_delivered_once_with_attempts_recorded(purchase, clock):
    record = _supplier(purchase, "Acme")
    with Receiver(fail_first=2) as receiver:
        dispatcher = Dispatcher(purchase, consumer="test-dispatcher")
        dispatcher.register("record.created", webhook(receiver.url))

        first = dispatcher.dispatch_once()
        assert first.delivered == [] and len(first.retrying) == 1
        assert "HTTP Error 500" in next(iter(first.errors.values()))
        [pending] = _events(purchase, failed_only=True)
        assert pending["attempts"] == 1 and "500" in pending["last_error"]
        assert pending["available_at"] == clock.now + timedelta(seconds=30)

        assert dispatcher.dispatch_once().claimed == 0  # not due before the back-off
        clock.now += timedelta(seconds=31)
        assert len(dispatcher.dispatch_once().retrying) == 1  # second failure
        assert _events(purchase)[0]["attempts"] == 2
        clock.now += timedelta(seconds=61)  # back-off doubled
        third = dispatcher.dispatch_once()
        assert len(third.delivered) == 1

    assert len(receiver.requests) == 3
    assert len(receiver.accepted) == 1
    key = f"record.created:purchase.supplier:{record.id}:v1"
    assert {r["key"] for r in receiver.requests} == {key}  # the same key every try
    assert receiver.accepted[0]["body"]["topic"] == "record.created"
    assert _events(purchase) == []  # delivered: nothing pending
    assert dispatcher.dispatch_once().claimed == 0  # never again


def test_receiver_that_never_answers_times_out_retries_then_dead_and_replayable(purchase, clock):
    _supplier(purchase, "Slow Ltd")
    with Receiver(hang=True) as receiver:
        dispatcher = Dispatcher(purchase, consumer="test-dispatcher")
        dispatcher.register("record.created", webhook(receiver.url, timeout=0.3))
        for attempt in range(1, MAX_ATTEMPTS + 1):
            run = dispatcher.dispatch_once()
            assert run.claimed == 1, attempt
            assert "timed out" in next(iter(run.errors.values()))
            clock.now += timedelta(hours=1, seconds=1)
        assert run.dead == [run.dead[0]] and run.retrying == []
        assert dispatcher.dispatch_once().claimed == 0  # dead: never claimed again
        assert len(receiver.requests) == MAX_ATTEMPTS

    [dead] = _events(purchase, failed_only=True)
    assert dead["attempts"] == MAX_ATTEMPTS and dead["dead_at"] is not None
    assert "timed out" in dead["last_error"]

    # replay: due again with attempts reset, and delivered to a receiver that answers
    assert purchase.events.replay(SYSTEM_ACTOR, [dead["id"]]) == [dead["id"]]
    [revived] = _events(purchase)
    assert revived["attempts"] == 0 and revived["dead_at"] is None
    with Receiver() as healthy:
        dispatcher = Dispatcher(purchase, consumer="test-dispatcher")
        dispatcher.register("record.created", webhook(healthy.url))
        assert dispatcher.dispatch_once().delivered == [dead["id"]]
    assert len(healthy.accepted) == 1
    with pytest.raises(InvalidArgumentError, match="事件 .* 已投递"):
        purchase.events.replay(SYSTEM_ACTOR, [dead["id"]])


def test_permanent_failure_is_dead_at_once(purchase):
    class Refused(Exception):
        retryable = False

    def refuse(event):
        raise Refused("HTTP 400: bad body")

    _supplier(purchase, "Nope")
    dispatcher = Dispatcher(purchase, consumer="test-dispatcher")
    dispatcher.register("record.created", refuse)
    run = dispatcher.dispatch_once()
    assert len(run.dead) == 1
    [dead] = _events(purchase, failed_only=True)
    assert dead["attempts"] == 1 and dead["last_error"] == "Refused: HTTP 400: bad body"


def test_channel_in_payload_wins_over_topic_and_unrouted_events_are_acknowledged(purchase):
    _supplier(purchase, "Routed")
    seen: list[str] = []
    dispatcher = Dispatcher(purchase, consumer="test-dispatcher")
    dispatcher.register("record.updated", lambda event: seen.append("updated"))
    run = dispatcher.dispatch_once()
    assert seen == [] and len(run.unrouted) == 1  # record.created: nothing subscribes
    assert _events(purchase) == []


def test_a_rule_message_with_no_deliverer_is_kept_failed_never_dropped(
    purchase, database_url, clock
):
    """``rule.*`` events are messages someone asked for: with no deliverer registered
    they fail visibly (and stay replayable) instead of being acknowledged unrouted."""
    import sqlalchemy as sa

    from engine.store.journal import Journal, Subject

    journal = Journal("rule:notify_requester", clock())
    journal.event(
        "rule.notify", Subject("purchase", "supplier", 1), {"rule": "notify_requester"}, "k-1"
    )
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        journal.flush(conn)
    engine.dispose()
    run = Dispatcher(purchase, consumer="test-dispatcher").dispatch_once()
    assert run.unrouted == [] and len(run.retrying) == 1
    [kept] = _events(purchase, failed_only=False)
    assert kept["topic"] == "rule.notify" and kept["attempts"] == 1
    assert kept["last_error"] == "LookupError: no deliverer is registered for rule.notify"


def test_replay_and_listing_are_for_administrators(purchase):
    from engine.service.org import OrgUseCases  # noqa: F401  (the organisation exists)

    purchase.org.create_user(SYSTEM_ACTOR, "boss", "Boss", password="a-long-password-1")
    purchase.org.create_user(SYSTEM_ACTOR, "clerk", "Clerk", password="a-long-password-2")
    clerk = Actor("clerk", locale="en")
    with pytest.raises(PermissionDeniedError, match="only an administrator"):
        purchase.events.list_events(clerk)
    with pytest.raises(PermissionDeniedError, match="only an administrator"):
        purchase.events.replay(clerk, [1])
    with pytest.raises(InvalidArgumentError, match="事件 999 不存在"):
        purchase.events.replay(SYSTEM_ACTOR, [999])
    with pytest.raises(InvalidArgumentError):
        purchase.events.replay(SYSTEM_ACTOR, "1")
    with pytest.raises(InvalidArgumentError):
        Dispatcher(purchase).register("", print)
    with pytest.raises(InvalidArgumentError):
        Dispatcher(purchase).register("x", "not callable")


CHILD_COMMIT = """
import sys, time
from engine.service import Service, SYSTEM_ACTOR
service = Service(sys.argv[1])
record = service.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": "Killed Co"})
print(record.id, flush=True)   # committed; the dispatcher has not run
time.sleep(60)                 # SIGKILLed here, before any delivery
"""

CHILD_DISPATCH = """
import sys
from engine.service import Service
from engine.service.dispatcher import Dispatcher
from tests.scheduler._receiver import webhook
service = Service(sys.argv[1])
dispatcher = Dispatcher(service)
dispatcher.register("record.created", webhook(sys.argv[2]))
run = dispatcher.dispatch_all()
print(len(run.delivered), flush=True)
"""


def test_killed_between_commit_and_delivery_then_restarted_delivers_once(purchase, database_url):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHILD_COMMIT), database_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    record_id = int(child.stdout.readline())
    child.send_signal(signal.SIGKILL)
    assert child.wait(10) == -signal.SIGKILL
    [pending] = _events(purchase)
    assert pending["attempts"] == 0

    with Receiver() as receiver:
        for _ in range(2):  # restarted twice: the second finds nothing to do
            out = subprocess.run(
                [sys.executable, "-c", textwrap.dedent(CHILD_DISPATCH), database_url, receiver.url],
                capture_output=True,
                text=True,
                cwd=ROOT,
                env=env,
                timeout=60,
            )
            assert out.returncode == 0, out.stderr
        assert len(receiver.requests) == 1
    key = f"record.created:purchase.supplier:{record_id}:v1"
    assert receiver.accepted[0]["key"] == key == pending["idempotency_key"]
    assert _events(purchase) == []
