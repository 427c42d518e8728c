"""`lowcode demo` serves the web front on a real WSGI server (gunicorn, two workers):
the sign-in page answers, a demo login signs in and sees its inbox."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_the_demo_serves_and_a_demo_login_signs_in(workdir):
    port = _free_port()
    # The server's output goes to a file, not a pipe: a pipe nobody reads can fill
    # and stall the server, and the file is what a failure shows.
    output = (workdir / "demo-output.log").open("w+")
    server = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "demo", "--port", str(port)],
        cwd=workdir,
        stdout=output,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        page = None
        # A quiet machine serves in about 5 s; a loaded CI machine may take far
        # longer, so the wait is generous and a failure shows what the demo printed.
        deadline = time.monotonic() + 240
        while page is None and time.monotonic() < deadline:
            try:
                page = opener.open(f"{base}/signin", timeout=5).read().decode()
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.5)
        if page is None:
            output.seek(0)
            pytest.fail(f"the demo did not serve; it printed:\n{output.read()}")
        assert "登录" in page
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"csrf_token": token, "login": "sun.li", "password": "demo-pass-2026"}
        ).encode()
        opener.open(f"{base}/signin", data=form, timeout=5)
        inbox = opener.open(f"{base}/tasks/", timeout=5).read().decode()
        assert "待处理" in inbox
        css = opener.open(f"{base}/static/app.css", timeout=5)
        assert css.status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        output.close()
