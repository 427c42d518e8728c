"""``lowcode scheduler`` and ``lowcode outbox``: background work from the command line.

``lowcode scheduler`` runs the scheduler (docs/scheduler.md) in the foreground until
Ctrl+C or SIGTERM, printing when this process starts or stops leading. ``lowcode outbox``
lists undelivered events (``--failed``: those that failed at least once, with the last
error) and replays failed or dead ones (``--replay ID...``).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed
from engine.service import ServiceError


def add_parsers(sub: Any) -> None:
    """Add the ``scheduler`` and ``outbox`` commands to the ``lowcode`` sub-parsers."""
    scheduler = sub.add_parser(
        "scheduler",
        help="run timers, cron rules, outbox delivery and jobs (one leader per database)",
    )
    scheduler.add_argument(
        "--sweep-seconds",
        type=float,
        default=30.0,
        help="seconds between sweeps over due timers, events and jobs (%(default)s)",
    )
    scheduler.add_argument(
        "--once", action="store_true", help="one leadership check and one sweep, then exit"
    )
    scheduler.set_defaults(handler=run_scheduler)

    outbox = sub.add_parser("outbox", help="list undelivered events; replay failed ones")
    outbox.add_argument(
        "--failed", action="store_true", help="only events that failed (retrying or dead)"
    )
    outbox.add_argument(
        "--replay", type=int, nargs="+", metavar="ID", help="make these failed events due again"
    )
    outbox.add_argument("--limit", type=int, default=100, help="most events listed (%(default)s)")
    outbox.add_argument("--output", choices=("text", "json"), default="text")
    outbox.set_defaults(handler=outbox_command)


def start_scheduler(service: Any, sweep_seconds: float = 30.0) -> Any:
    """Start a background scheduler on ``service`` that prints leadership changes."""
    from engine.service.scheduler import Scheduler

    def say(holder: str, leading: bool) -> None:
        state = "leads" if leading else "no longer leads"
        # one write: the line must not interleave with the main thread's output
        sys.stdout.write(f"scheduler {holder} {state} on {service.database_url}\n")
        sys.stdout.flush()

    scheduler = Scheduler(service, sweep_seconds=sweep_seconds, on_leadership=say)
    scheduler.start()
    return scheduler


def run_scheduler(args: argparse.Namespace) -> int:
    """``lowcode scheduler``: until Ctrl+C / SIGTERM (``--once``: one sweep)."""
    from engine.service.scheduler import Scheduler

    service = open_service(args)
    try:
        if args.once:
            scheduler = Scheduler(service, sweep_seconds=max(args.sweep_seconds, 0.1))
            run = scheduler.tick()
            scheduler.stop()
            if not run.leading:
                leader = scheduler.leader()
                print(f"another scheduler leads ({leader.holder if leader else '?'}); nothing done")
                return 0
            print(
                f"timers fired: {run.timers_fired}, events delivered: {len(run.outbox.delivered)}, "
                f"failed: {len(run.outbox.retrying) + len(run.outbox.dead)}, "
                f"jobs finished: {len(run.jobs_finished)}, cron runs: {len(run.cron_ran)}"
            )
            return 0
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            scheduler = start_scheduler(service, args.sweep_seconds)
        except ServiceError as exc:
            raise CommandFailed(str(exc)) from exc
        sys.stdout.write(
            f"scheduler {scheduler.holder} started (sweep every {args.sweep_seconds:g} s; "
            "Ctrl+C stops)\n"
        )
        sys.stdout.flush()
        try:
            while not stopped.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        scheduler.stop()
        print("scheduler stopped", flush=True)
        return 0
    finally:
        service.close()


def outbox_command(args: argparse.Namespace) -> int:
    """``lowcode outbox [--failed] [--replay ID...]``."""
    service = open_service(args)
    try:
        actor = actor_of(args)
        if args.replay:
            replayed = service.events.replay(actor, args.replay)
            print(f"replayed: {', '.join(str(i) for i in replayed)}")
            return 0
        events = service.events.list_events(actor, failed_only=args.failed, limit=args.limit)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        service.close()
    if args.output == "json":
        print(json.dumps(events, ensure_ascii=False, default=str, indent=2))
        return 0
    if not events:
        print("no failed events" if args.failed else "no undelivered events")
        return 0
    for event in events:
        state = "dead" if event["dead_at"] else ("retrying" if event["attempts"] else "pending")
        print(
            f"{event['id']}\t{event['topic']}\t{state}\tattempts={event['attempts']}\t"
            f"next={event['available_at'].isoformat() if not event['dead_at'] else '-'}"
        )
        if event["last_error"]:
            print(f"\tlast error: {event['last_error']}")
        if args.failed:
            print(f"\tpayload: {json.dumps(event['payload'], ensure_ascii=False, default=str)}")
    return 0
