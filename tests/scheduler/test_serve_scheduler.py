"""``lowcode serve`` runs the scheduler once, in its own (parent) process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(os.name == "nt", reason="gunicorn and process groups: POSIX only")
def test_serve_runs_one_scheduler_in_the_parent_process(workdir, cli):
    pytest.importorskip("gunicorn")
    assert cli("init")[0] == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "serve",
            "--port",
            str(_free_port()),
            "--workers",
            "2",
        ],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("Booting worker" in x for x in lines):
            lines.append(server.stdout.readline())
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl+C reaches the whole group
        rest, _ = server.communicate(timeout=30)
    output = "".join(lines) + rest
    mine = f"scheduler scheduler@{socket.gethostname()}:{server.pid}"
    said = [x for x in output.splitlines() if x.startswith("scheduler ")]
    # one scheduler, in the parent process (not one per worker), stopped with it
    assert said == [
        f"{mine} leads on sqlite:///instance/lowcode.db",
        f"{mine} no longer leads on sqlite:///instance/lowcode.db",
    ]
