"""``lowcode outbox`` and ``lowcode scheduler`` on a SQLite database in a scratch folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from engine.service import SYSTEM_ACTOR, Service, load_app_text
from engine.service.dispatcher import Dispatcher

ROOT = Path(__file__).resolve().parents[2]
APP = """
app: shop
version: 1.0.0
name: Shop
---
form: item
name: Item
title: "{{ name }}"
fields:
  name: {type: text, required: true}
"""


def _failed_event(workdir: Path) -> int:
    service = Service(f"sqlite:///{workdir / 'instance' / 'lowcode.db'}")
    try:
        service.install_app(SYSTEM_ACTOR, load_app_text(APP))
        service.create_record(SYSTEM_ACTOR, "shop", "item", {"name": "pen"})
        dispatcher = Dispatcher(service, consumer="cli-test")

        def refuse(event):
            raise ConnectionRefusedError("receiver down")

        dispatcher.register("record.created", refuse)
        [event_id] = dispatcher.dispatch_once().retrying
        return event_id
    finally:
        service.close()


def test_outbox_lists_failed_events_and_replays_them(workdir, cli):
    assert cli("init")[0] == 0
    event_id = _failed_event(workdir)

    status, out, _ = cli("outbox", "--failed")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"{event_id}\trecord.created\tretrying\tattempts=1\tnext=")
    assert lines[1] == "\tlast error: ConnectionRefusedError: receiver down"
    assert lines[2] == (
        '\tpayload: {"app": "shop", "form": "item", "id": 1, "version": 1, "form_version": 1, '
        '"changes": {"name": {"old": null, "new": "pen"}}, "actor": "system"}'
    )

    assert cli("outbox", "--replay", str(event_id)) == (0, f"replayed: {event_id}\n", "")
    status, out, _ = cli("outbox", "--failed")
    assert out == "no failed events\n"
    status, out, _ = cli("outbox")
    assert f"{event_id}\trecord.created\tpending\tattempts=0" in out

    status, out, err = cli("--locale", "en", "outbox", "--replay", "999")
    assert status == 1 and "999" in err

    # one sweep: leads, and the event (nothing subscribes to it) is acknowledged
    status, out, _ = cli("scheduler", "--once")
    assert status == 0 and "timers fired: 0" in out
    assert cli("outbox") == (0, "no undelivered events\n", "")


def test_scheduler_runs_in_the_foreground_until_sigterm(workdir, cli):
    assert cli("init")[0] == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "scheduler", "--sweep-seconds", "0.5"],
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # the two lines in either order: the first sweep runs in its own thread
        first, second = sorted([process.stdout.readline(), process.stdout.readline()])
        assert first.startswith("scheduler scheduler@") and "leads on sqlite:///" in first
        assert second.startswith("scheduler scheduler@") and "started (sweep every 0.5 s" in second
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "no longer leads" in out and out.rstrip().endswith("scheduler stopped")
