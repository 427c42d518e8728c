"""Benchmark: the web front under load on gunicorn (2 workers), against a bare Flask
endpoint that inserts one row under the same server.

Twenty concurrent clients on loopback (a bounded script of threads with keep-alive
connections, no extra tool) for ``--seconds`` each:

- bare: ``POST /bare`` of a tiny Flask app that inserts one row (the baseline);
- API submit: ``POST /api/v1/apps/benchweb/forms/request/records`` (a record with two
  lines, formulas computed, journal written), target >= 0.5x the bare rate;
- list: ``GET /api/v1/apps/bench/forms/purchase_request/records`` over the 1,000,000
  purchase requests bench_query.py loads (filtered by total, sorted by -total, page 3
  of 50, with the total count), target p95 < 50 ms. The form declares ``list: {sort:
  [-total], filters: [status, total]}`` (tests/bench/_common.py), so the store's own
  indexes serve it;
- hand-written list: ``GET /bare/list`` of the bare app, the same page and total in
  hand-written SQL on the same indexed tables (the limit to compare the list with), and
  ``GET /bare/list?count=0``, the page alone (what the list costs when its total is
  kept: engine/store/totals.py).

    python tests/bench/bench_web.py [--rows 1000000] [--seconds 10] [--clients 20]
                                    [--postgres SERVER_URL]

Prints requests/s, p50 and p95 of each, and the ratios. Never asserted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_query  # noqa: E402
from _common import machine  # noqa: E402

from engine.definitions import load_app_text  # noqa: E402
from engine.service import SYSTEM_ACTOR, NotFoundError, Service  # noqa: E402

WEB_APP = """
app: benchweb
version: 1.0.0
name: Bench web
---
form: request
title: "{{ subject }}"
fields:
  subject: {type: text, required: true}
  lines:
    type: subtable
    min_rows: 1
    fields:
      item:   {type: text, required: true}
      qty:    {type: number, precision: 0, min: 1}
      price:  {type: money, min: 0}
      amount: {type: formula, expr: "qty * price", result: money}
  total: {type: formula, expr: "SUM(lines.amount)", result: money}
"""
LOGIN = "bench.web"
SUBMIT = json.dumps(
    {
        "subject": "load",
        "lines": [
            {"item": "box", "qty": 3, "price": "19.99"},
            {"item": "tape", "qty": 10, "price": "3.50"},
        ],
    }
).encode()
LIST = "/api/v1/apps/bench/forms/purchase_request/records?where=total>=5000&sort=-total&page=3&page_size=50"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(database_url: str, rows: int) -> str:
    """The 1,000,000 requests (kept between runs), the submit app, a user and its token."""
    service = Service(database_url)
    bench_query.prepare(service, rows)
    service.install_app(SYSTEM_ACTOR, load_app_text(WEB_APP))
    try:
        service.org.user(SYSTEM_ACTOR, LOGIN)
    except NotFoundError:
        service.org.create_user(SYSTEM_ACTOR, LOGIN, "Bench web", roles=("admin",))
    token = service.org.create_token(SYSTEM_ACTOR, LOGIN, f"bench {time.time():.0f}")
    service.close()
    return token


def serve(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server on port {port} did not start")


def gunicorn(
    app: str, port: int, env: dict[str, str], chdir: Path | None = None
) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    if chdir is not None:
        command += ["--chdir", str(chdir)]
    return serve([*command, app], env, port)


def load(
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    seconds: float,
    clients: int,
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p95 ms, failures) of ``clients`` threads for ``seconds``."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[float] = []
        bad = 0
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
            except OSError:  # a timeout: counted as a failure, on a new connection
                bad += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                continue
            mine.append(time.perf_counter() - start)
            if answer.status >= 400:
                bad += 1
        connection.close()
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if ordered else 0.0
    return len(latencies) / elapsed, statistics.median(ordered) * 1000, p95 * 1000, failures[0]


def run(label: str, database_url: str, args: argparse.Namespace) -> None:
    token = prepare(database_url, args.rows)
    env = {**os.environ, "LOWCODE_DATABASE_URL": database_url, "PYTHONPATH": str(ROOT)}
    web_port, bare_port = _free_port(), _free_port()
    web = gunicorn("web:create_app()", web_port, env)
    bare = gunicorn("bare_web:app", bare_port, env, chdir=Path(__file__).resolve().parent)
    try:
        json_headers = {"Content-Type": "application/json"}
        api_headers = {**json_headers, "Authorization": f"Bearer {token}"}
        # warm both servers
        load(bare_port, "POST", "/bare", b"{}", json_headers, 1, args.clients)
        load(
            web_port,
            "POST",
            "/api/v1/apps/benchweb/forms/request/records",
            SUBMIT,
            api_headers,
            1,
            args.clients,
        )
        bare_rate = load(
            bare_port, "POST", "/bare", b"{}", json_headers, args.seconds, args.clients
        )
        submit = load(
            web_port,
            "POST",
            "/api/v1/apps/benchweb/forms/request/records",
            SUBMIT,
            api_headers,
            args.seconds,
            args.clients,
        )
        load(web_port, "GET", LIST, None, api_headers, 1, args.clients)
        load(bare_port, "GET", "/bare/list", None, {}, 1, args.clients)
        listing = load(web_port, "GET", LIST, None, api_headers, args.seconds, args.clients)
        hand = load(bare_port, "GET", "/bare/list", None, {}, args.seconds, args.clients)
        page_only = load(
            bare_port, "GET", "/bare/list?count=0", None, {}, args.seconds, args.clients
        )
    finally:
        for process in (web, bare):
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    print(f"\n{label} ({args.clients} clients, {args.seconds:g} s each, gunicorn 2 workers)")
    print(f"  load average: {os.getloadavg()[0]:.2f} (1 min) at the end")
    for name, (rate, p50, p95, failed) in (
        ("bare insert", bare_rate),
        ("API submit", submit),
        (f"list over {args.rows:,} rows", listing),
        ("hand-written SQL list", hand),
        ("hand-written, page only", page_only),
    ):
        print(
            f"  {name:<28} {rate:8.1f} req/s   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   failed {failed}"
        )
    print(f"  API submit / bare insert: {submit[0] / bare_rate[0]:.2f}x (target >= 0.5x)")
    print(f"  list p95: {listing[2]:.1f} ms (target < 50 ms)")
    print(
        f"  list / hand-written SQL on the same indexed tables: {listing[0] / hand[0]:.2f}x "
        f"the requests/s, p95 {listing[2] / hand[2]:.2f}x; against its page alone (no "
        f"count): {listing[0] / page_only[0]:.2f}x the requests/s, p95 "
        f"{listing[2] / page_only[2]:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--postgres", help="server URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    print(machine({}))
    sqlite_path = Path(tempfile.gettempdir()) / "lowcode_bench_query.db"
    run("SQLite (file, WAL)", f"sqlite:///{sqlite_path}", args)
    if args.postgres:
        run("PostgreSQL", bench_query.bench_database(args.postgres), args)


if __name__ == "__main__":
    main()
