"""Two real scheduler processes on one database: one leads at a time, nothing fires twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from engine.service import SYSTEM_ACTOR
from tests.scheduler._receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("run_scheduler.py")


def _wait(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _log(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_two_processes_one_leader_each_event_delivered_once(purchase, database_url, tmp_path):
    log = tmp_path / "leaders.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with Receiver() as receiver:
        processes = {
            holder: subprocess.Popen(
                [sys.executable, str(SCRIPT), database_url, receiver.url, str(log), holder],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for holder in ("alpha", "beta")
        }
        try:
            for process in processes.values():
                assert process.stdout.readline().strip() == "started"
            _wait(lambda: _log(log), what="a leader")
            first = _log(log)[0]["holder"]
            other = "beta" if first == "alpha" else "alpha"

            for n in range(5):
                purchase.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": f"A{n}"})
            receiver.wait_for(5)
            _wait(lambda: not purchase.events.list_events(SYSTEM_ACTOR), what="acknowledgements")

            processes[first].send_signal(signal.SIGKILL)  # the leader crashes
            processes[first].wait(10)
            killed_at = time.time()
            for n in range(5):
                purchase.create_record(SYSTEM_ACTOR, "purchase", "supplier", {"name": f"B{n}"})
            receiver.wait_for(10)
            _wait(lambda: not purchase.events.list_events(SYSTEM_ACTOR), what="acknowledgements")
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(20)

    keys = [item["key"] for item in receiver.requests]
    assert len(keys) == 10 and len(set(keys)) == 10  # every event exactly once
    assert {item["body"]["payload"]["version"] for item in receiver.accepted} == {1}

    terms = _log(log)
    # before the crash only the first process ever led; the other took over after it
    assert [t for t in terms if t["holder"] == first] == [
        {"holder": first, "leading": True, "at": terms[0]["at"]}
    ]
    took_over = [t for t in terms if t["holder"] == other and t["leading"]]
    assert len(took_over) == 1 and took_over[0]["at"] >= killed_at - 0.5
    assert terms[-1] == {"holder": other, "leading": False, "at": terms[-1]["at"]}  # SIGTERM
