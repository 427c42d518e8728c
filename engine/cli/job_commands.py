"""Handlers of ``lowcode job ...``: an app's declared batch jobs, run one, list runs.

The jobs are the ones the installed app published (``jobs/*.yaml``, stored at install).

    lowcode job list sales
    lowcode job run sales quarterly_statement --period 2026-Q3 --dry-run
    lowcode job runs sales [--job quarterly_statement]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, format_table, to_json_text
from engine.service import ServiceError


def _service(args: argparse.Namespace) -> tuple[Any, Any]:
    service = open_service(args)
    args.opened_service = service
    return service, actor_of(args)


def job_list(args: argparse.Namespace) -> int:
    """``lowcode job list APP``: every batch job of the app, what it reads and writes."""
    service, actor = _service(args)
    try:
        jobs = service.batch_jobs.list(actor, args.app)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.output == "json":
        print(to_json_text([j.to_json() for j in jobs]))
        return 0
    if not jobs:
        print(f"{args.app}: no batch jobs")
        return 0
    rows = [
        [j.key, j.name, j.period, j.source_form, ", ".join(j.group_by), j.output_form] for j in jobs
    ]
    print(format_table(["job", "name", "period", "reads", "group by", "writes"], rows))
    return 0


def job_run(args: argparse.Namespace) -> int:
    """``lowcode job run APP JOB --period P [--dry-run]``: run a job now, print the plan
    (dry) or what it did, then the counts."""
    service, actor = _service(args)
    try:
        run = service.batch_jobs.run(
            actor, args.app, args.job, args.period, dry_run=bool(args.dry_run)
        )
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.output == "json":
        print(to_json_text(run.to_json()))
        return 0
    verbs = {
        "created": ("would create", "created"),
        "updated": ("would update", "updated"),
        "unchanged": ("unchanged", "unchanged"),
        "failed": ("would fail", "failed"),
    }
    for item in run.items:
        group = json.dumps(item["group"], ensure_ascii=False, default=str)
        verb = verbs[item["action"]][0 if run.dry_run else 1]
        target = f" #{item['record_id']}" if item.get("record_id") else ""
        if item["action"] == "failed":
            print(f"{group}: {verb}: {item['error']}")
            continue
        values = json.dumps(item.get("values", {}), ensure_ascii=False, default=str)
        print(f"{group}: {verb}{target} {values}")
    print(_summary(run))
    if run.dry_run:
        print("dry run: nothing was written")
    return 1 if run.failed and not run.dry_run else 0


def _summary(run: Any) -> str:
    return (
        f"run {run.id} {run.job} {run.period}: {run.rows_read} rows, "
        f"{run.groups_done}/{run.groups_total} groups; created {run.created}, "
        f"updated {run.updated}, unchanged {run.unchanged}, failed {run.failed}"
    )


def job_runs(args: argparse.Namespace) -> int:
    """``lowcode job runs APP [--job JOB]``: the newest runs, their progress and failures."""
    service, actor = _service(args)
    try:
        runs = service.batch_jobs.runs(actor, args.app, args.job)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    if args.output == "json":
        print(to_json_text([r.to_json() for r in runs]))
        return 0
    if not runs:
        print(f"{args.app}: no job runs")
        return 0
    rows = [
        [
            str(r.id),
            r.job,
            r.period,
            "dry" if r.dry_run else "",
            r.status,
            f"{r.groups_done}/{r.groups_total}",
            str(r.created),
            str(r.updated),
            str(r.unchanged),
            str(r.failed),
            r.started_by,
        ]
        for r in runs
    ]
    headers = ["run", "job", "period", "dry", "status", "groups", "created", "updated"]
    print(format_table([*headers, "unchanged", "failed", "by"], rows))
    for r in runs:
        for failure in r.failures:
            group = json.dumps(failure["group"], ensure_ascii=False, default=str)
            print(f"run {r.id} {group}: {failure['error']}")
    return 0


def add_parsers(sub: Any) -> None:
    """``lowcode job list``, ``lowcode job run`` and ``lowcode job runs``."""
    job = sub.add_parser("job", help="batch jobs: list them, run one for a period, see runs")
    job_sub = job.add_subparsers(dest="job_command", required=True, metavar="ACTION")
    listing = job_sub.add_parser("list", help="the batch jobs an installed app published")
    listing.add_argument("app", help="the app's key")
    listing.add_argument("--output", choices=("table", "json"), default="table")
    listing.set_defaults(handler=job_list)
    run = job_sub.add_parser("run", help="run a job for a period (--dry-run: show only)")
    run.add_argument("app", help="the app's key")
    run.add_argument("job", help="the job's key")
    run.add_argument(
        "--period", required=True, help="2026-09 (month), 2026-Q3 (quarter) or 2026 (year)"
    )
    run.add_argument("--dry-run", action="store_true", help="show what would change, write nothing")
    run.add_argument("--output", choices=("table", "json"), default="table")
    run.set_defaults(handler=job_run)
    runs = job_sub.add_parser("runs", help="the newest runs of an app's jobs")
    runs.add_argument("app", help="the app's key")
    runs.add_argument("--job", help="only this job's runs")
    runs.add_argument("--output", choices=("table", "json"), default="table")
    runs.set_defaults(handler=job_runs)


__all__ = ["add_parsers"]
