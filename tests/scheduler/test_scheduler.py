"""The scheduler: leadership, cron jobs with misfire policies, sweeps, embedded jobs."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.errors import InvalidArgumentError
from engine.service import SYSTEM_ACTOR
from engine.service.scheduler import Scheduler
from engine.store.jobs import MAX_JOB_ATTEMPTS
from tests.scheduler._receiver import Receiver, webhook

SHANGHAI = ZoneInfo("Asia/Shanghai")
JOB = "tests.scheduler.jobs_targets:append_line"


def test_one_leader_at_a_time_and_takeover_when_released(make_service, clock):
    first = Scheduler(make_service(), holder="one", sweep_files=False)
    second = Scheduler(make_service(), holder="two", sweep_files=False)
    assert first.tick().leading is True
    assert second.tick().leading is False
    assert first.tick().leading is True  # renewed, still the one
    leader = first.leader()
    assert leader.holder == "one" and leader.expires_at > clock.now
    first.stop()  # gives up the lead (an exit or crash does too: see test_two_processes)
    assert second.tick().leading is True
    assert first.tick().leading is False
    assert second.leader().holder == "two"
    second.stop()


def test_sqlite_lease_is_taken_over_once_expired(tmp_path, clock):
    from engine.service import Service

    url = f"sqlite:///{tmp_path / 'lease.db'}"
    services = [Service(url, clock=clock) for _ in range(2)]
    services[0].init_database()
    first = Scheduler(
        services[0], holder="one", lease=timedelta(seconds=60), sweep_seconds=10, sweep_files=False
    )
    second = Scheduler(
        services[1], holder="two", lease=timedelta(seconds=60), sweep_seconds=10, sweep_files=False
    )
    assert first.tick().leading and not second.tick().leading
    clock.now += timedelta(seconds=59)
    assert not second.tick().leading  # the lease still runs
    clock.now += timedelta(seconds=2)  # first hung: its lease ran out
    assert second.tick().leading
    assert not first.tick().leading  # and the former leader knows it
    for service in services:
        service.close()


def _cron_file_scheduler(service, tmp_path, misfire, holder="one"):
    out = tmp_path / f"digest-{misfire}.txt"
    scheduler = Scheduler(service, holder=holder, sweep_files=False)
    scheduler.add_cron(
        "digest",
        "0 9 * * *",
        "Asia/Shanghai",
        lambda: out.open("a").write(f"{service.clock().isoformat()}\n"),
        misfire,
    )
    return scheduler, out


def _lines(path):
    return path.read_text().splitlines() if path.exists() else []


def test_cron_runs_on_time_once_and_runs_once_after_downtime(make_service, clock, tmp_path):
    service = make_service()  # clock: 2026-01-05 10:00, after today's 09:00
    scheduler, out = _cron_file_scheduler(service, tmp_path, "run_once")
    assert scheduler.tick().cron_ran == []  # no run owed from before it was added
    clock.set(2026, 1, 6, 9, 0, 30)
    assert scheduler.tick().cron_ran == ["digest"]
    assert scheduler.tick().cron_ran == []  # that fire time is taken
    assert _lines(out) == ["2026-01-06T09:00:30+08:00"]

    # down from the 6th to the 9th at noon: the 7th, 8th and 9th were missed; a new
    # process (the state is in the database) runs the job once for all of them
    scheduler.stop()
    clock.set(2026, 1, 9, 12, 0)
    restarted, out = _cron_file_scheduler(service, tmp_path, "run_once", holder="two")
    assert restarted.tick().cron_ran == ["digest"]
    assert restarted.tick().cron_ran == []
    assert _lines(out) == ["2026-01-06T09:00:30+08:00", "2026-01-09T12:00:00+08:00"]
    restarted.stop()


def test_cron_skip_policy_drops_missed_runs(make_service, clock, tmp_path):
    service = make_service()
    scheduler, out = _cron_file_scheduler(service, tmp_path, "skip")
    clock.set(2026, 1, 8, 15, 0)  # the 6th, 7th and 8th missed
    run = scheduler.tick()
    assert run.cron_ran == [] and run.cron_skipped == ["digest"]
    assert _lines(out) == []
    clock.set(2026, 1, 9, 9, 1)  # on time (within the grace)
    assert scheduler.tick().cron_ran == ["digest"]
    assert _lines(out) == ["2026-01-09T09:01:00+08:00"]
    scheduler.stop()


def test_only_the_leader_runs_cron(make_service, clock, tmp_path):
    clock.set(2026, 1, 5, 8, 59, 30)
    one, out = _cron_file_scheduler(make_service(), tmp_path, "run_once", holder="one")
    two, _ = _cron_file_scheduler(make_service(), tmp_path, "run_once", holder="two")
    one.tick()
    clock.set(2026, 1, 5, 9, 0)  # within one's lease
    assert two.tick().leading is False and two.run_cron("digest") is None
    assert one.tick().cron_ran == ["digest"]
    assert len(_lines(out)) == 1
    one.stop()
    assert two.tick().cron_ran == []  # the new leader does not run it again
    assert len(_lines(out)) == 1
    two.stop()


def test_add_cron_checks_its_arguments(make_service):
    scheduler = Scheduler(make_service(), sweep_files=False)
    with pytest.raises(InvalidArgumentError, match="5 cron fields"):
        scheduler.add_cron("x", "every day", "Asia/Shanghai", print)
    with pytest.raises(InvalidArgumentError, match="IANA time zone"):
        scheduler.add_cron("x", "0 9 * * *", "Mars/Olympus", print)
    with pytest.raises(InvalidArgumentError, match="'run_once' or 'skip'"):
        scheduler.add_cron("x", "0 9 * * *", "Asia/Shanghai", print, "twice")
    with pytest.raises(InvalidArgumentError, match="callable"):
        scheduler.add_cron("x", "0 9 * * *", "Asia/Shanghai", "print")
    with pytest.raises(InvalidArgumentError, match="sweep_seconds"):
        Scheduler(make_service(), sweep_seconds=0)


def test_cron_in_another_timezone(make_service, clock, tmp_path):
    service = make_service()
    out = tmp_path / "utc.txt"
    scheduler = Scheduler(service, sweep_files=False)
    scheduler.add_cron("utc9", "0 9 * * *", "UTC", lambda: out.write_text("ran"))
    clock.set(2026, 1, 5, 16, 59)  # 08:59 UTC
    assert scheduler.tick().cron_ran == []
    clock.set(2026, 1, 5, 17, 0)  # 09:00 UTC
    assert scheduler.tick().cron_ran == ["utc9"]
    scheduler.stop()


def test_daily_file_sweep_removes_uploads_no_record_took(make_service, clock, tmp_path):
    import os

    service = make_service()
    files_dir = service.files_dir
    orphan = files_dir / "purchase" / "supplier" / str(uuid.uuid4())  # never recorded
    young = files_dir / "purchase" / "supplier" / str(uuid.uuid4())
    stale = files_dir / ".incoming" / "abc.part"
    stale.parent.mkdir(parents=True)
    orphan.parent.mkdir(parents=True)
    stale.write_bytes(b"half an upload")
    orphan.write_bytes(b"moved into place, row never committed")
    young.write_bytes(b"being recorded right now")
    two_days_ago = time.time() - 2 * 86400
    for path in (stale, orphan):
        os.utime(path, (two_days_ago, two_days_ago))
    fresh = files_dir / ".incoming" / "new.part"
    fresh.write_bytes(b"uploading now")
    scheduler = Scheduler(service)
    assert "engine.files_sweep" in scheduler.cron_jobs
    clock.set(2026, 1, 6, 3, 30)
    assert scheduler.tick().cron_ran == ["engine.files_sweep"]
    assert not stale.exists() and not orphan.exists()
    assert fresh.exists() and young.exists()  # younger than a day: kept
    scheduler.stop()


def test_embedded_jobs_run_in_the_sweep_and_survive_a_crash(make_service, clock, tmp_path):
    service = make_service()
    out = tmp_path / "jobs.txt"
    first = service.jobs.submit(JOB, {"path": str(out), "line": "one"})
    # a runner that crashed mid-job: it claimed the job and never finished it
    from engine.store import jobs as stored

    with service._context.transactions.database.write() as conn:
        [claimed] = stored.claim_jobs(conn, "crashed", now=clock.now, lease=timedelta(minutes=10))
    assert str(claimed.id) == first
    scheduler = Scheduler(service, sweep_files=False)
    assert scheduler.tick().jobs_finished == []  # the lease still runs
    clock.now += timedelta(minutes=11)
    assert scheduler.tick().jobs_finished == [int(first)]
    assert out.read_text() == "one\n"
    assert scheduler.tick().jobs_finished == []  # finished: never again
    [row] = service.jobs.list_jobs(SYSTEM_ACTOR)
    assert row["finished_at"] == clock.now and row["attempts"] == 0
    scheduler.stop()


def test_failing_job_is_retried_then_dead(make_service, clock, tmp_path):
    service = make_service()
    flag = tmp_path / "flag.txt"
    job_id = int(
        service.jobs.submit(
            "tests.scheduler.jobs_targets:fail_until_file", {"path": str(flag), "line": "x"}
        )
    )
    run = service.jobs.run_due("runner")
    assert run.failed == {job_id: f"RuntimeError: {flag} is missing"}
    clock.now += timedelta(seconds=31)
    flag.write_text("")
    assert service.jobs.run_due("runner").finished == [job_id]
    assert flag.read_text() == "x\n"

    doomed = int(service.jobs.submit("tests.scheduler.jobs_targets:no_such_job", {}))
    for _ in range(MAX_JOB_ATTEMPTS):
        service.jobs.run_due("runner")
        clock.now += timedelta(hours=2)
    row = next(r for r in service.jobs.list_jobs(SYSTEM_ACTOR) if r["id"] == doomed)
    assert row["dead_at"] is not None and row["attempts"] == MAX_JOB_ATTEMPTS
    assert "no_such_job" in row["last_error"]


def test_submit_checks_its_arguments(make_service):
    service = make_service()
    with pytest.raises(InvalidArgumentError, match="import path"):
        service.jobs.submit("not a path", {})
    with pytest.raises(InvalidArgumentError, match="JSON object"):
        service.jobs.submit(JOB, ["x"])
    with pytest.raises(InvalidArgumentError, match="JSON"):
        service.jobs.submit(JOB, {"when": datetime(2026, 1, 1)})


def test_background_scheduler_delivers_outbox_in_real_time(purchase):
    with Receiver() as receiver:
        scheduler = Scheduler(purchase, sweep_seconds=0.2, sweep_files=False)
        scheduler.dispatcher.register("record.created", webhook(receiver.url))
        scheduler.start()
        try:
            purchase.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": "Live"})
            receiver.wait_for(1, timeout=10)
        finally:
            scheduler.stop()
    assert len(receiver.requests) == 1
    assert receiver.accepted[0]["body"]["topic"] == "record.created"
