"""``lowcode serve``: the web front on a real WSGI server.

gunicorn with several workers on Linux and macOS, waitress elsewhere (Windows). The
server runs as a child process on ``web:create_app()``, configured through the
environment (``LOWCODE_DATABASE_URL``, ``LOWCODE_FILES_DIR``), so the command line never
imports the web package itself.

The scheduler (docs/scheduler.md) runs once, in this parent process, not in each
worker: a thread started before the server and stopped after it. Its database lock
would make one per worker safe too, but the parent is one process whatever the worker
count, and a worker restart never interrupts a sweep. ``--no-scheduler`` leaves it to a
separate ``lowcode scheduler`` (several machines); both running is safe (one leads).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys

from engine.cli.output import CommandFailed

#: the WSGI entry point of the web front
APP = "web:create_app()"


def server_command(host: str, port: int, workers: int) -> list[str]:
    """The command line of the WSGI server that serves the app."""
    if importlib.util.find_spec("gunicorn") is not None and os.name != "nt":
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            APP,
        ]
    if importlib.util.find_spec("waitress") is not None:
        return [
            sys.executable,
            "-m",
            "waitress",
            f"--host={host}",
            f"--port={port}",
            "--call",
            APP.removesuffix("()"),
        ]
    raise CommandFailed("no WSGI server installed: pip install gunicorn (or waitress on Windows)")


def serve(args: argparse.Namespace, *, database_url: str | None = None) -> int:
    """Serve until interrupted; the exit status of the server."""
    env = dict(os.environ)
    env["LOWCODE_DATABASE_URL"] = database_url or args.database
    env["LOWCODE_FILES_DIR"] = args.files_dir
    command = server_command(args.host, args.port, args.workers)
    print(f"serving on http://{args.host}:{args.port}/ (Ctrl+C stops)", flush=True)
    scheduler = None
    if not getattr(args, "no_scheduler", False):
        scheduler = _start_scheduler(env["LOWCODE_DATABASE_URL"], args.files_dir)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        if scheduler is not None:
            scheduler.stop()
            scheduler.service.close()


def _start_scheduler(database_url: str, files_dir: str):
    """The in-process scheduler of the single-machine default (see the module doc)."""
    from engine.cli.scheduler_commands import start_scheduler
    from engine.service import Service

    return start_scheduler(Service(database_url, files_dir=files_dir))


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    parser.add_argument("--port", type=int, default=5000, help="port (%(default)s)")
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes (gunicorn; %(default)s)"
    )
    parser.add_argument(
        "--no-scheduler",
        action="store_true",
        help="do not run the scheduler in this process (run `lowcode scheduler` elsewhere)",
    )
