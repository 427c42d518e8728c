"""Handlers of ``lowcode flow ...``, ``lowcode tasks ...`` and ``lowcode task ...``.

A whole approval can be run and seen without the web: simulate the route, submit, list
one's tasks, approve/reject/send back/transfer/add signers, show the timeline with the
routing explanation, fire due timers.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, format_table, to_json_text
from engine.service import (
    SYSTEM_ACTOR,
    RecordValidationError,
    ServiceError,
    check_app,
    load_app,
)

#: times are shown in the business time zone
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _when(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    return format_table(headers, [[str(cell) for cell in row] for row in rows])


def _call(work: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return work(*args, **kwargs)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc
    except RecordValidationError as exc:
        raise CommandFailed("\n".join(str(e) for e in exc.errors)) from exc


def _acting(args: argparse.Namespace) -> Any:
    """The actor: ``--as LOGIN`` on the command, else the global ``--user``."""
    service = open_service(args)
    args.opened_service = service
    if getattr(args, "as_user", None):
        args.user = args.as_user
    return service, actor_of(args)


def _json_object(text: str | None, what: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandFailed(f"{what} is not valid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise CommandFailed(f"{what} must be a JSON object, like '{{\"days\": 3}}'")
    return data


def _choices(items: list[str]) -> dict[str, list[str]]:
    """``--choose node=a,b`` (repeatable) -> {node: [a, b]}."""
    out: dict[str, list[str]] = {}
    for item in items:
        node, sep, people = item.partition("=")
        if not sep or not node or not people:
            raise CommandFailed(f"--choose {item!r}: write NODE=login1,login2")
        out[node] = [p for p in people.split(",") if p]
    return out


def _people(people: list[dict[str, Any]]) -> str:
    parts = []
    for person in people:
        reason = person.get("reason") or {}
        why = "; ".join(f"{k}: {v}" for k, v in reason.items())
        parts.append(f"{person['login']} ({why})" if why else person["login"])
    return ", ".join(parts) or "-"


# -- flow -------------------------------------------------------------------------------
def flow_check(args: argparse.Namespace) -> int:
    """``lowcode flow check PATH``: every definition error, flows included; then the flows."""
    errors = check_app(args.path)
    if errors:
        for error in errors:
            print(error)
        raise CommandFailed(f"{len(errors)} error(s) in {args.path}")
    app = load_app(args.path)
    if not app.flows:
        print(f"{app.key}: no flows")
    for flow in app.flows:
        nodes = list(flow.walk())
        print(
            f"{app.key}.{flow.key}: form {flow.form}, {len(nodes)} nodes, hash {flow.content_hash[:12]}"
        )
    return 0


def flow_simulate(args: argparse.Namespace) -> int:
    service, actor = _acting(args)
    data = _json_object(args.json, "--json")
    simulation = _call(
        service.flows.simulate,
        actor,
        args.app,
        args.form,
        data,
        submitter=actor.user_id,
        choices=_choices(args.choose),
    )
    if args.output == "json":
        print(to_json_text(simulation.to_json()))
        return 0
    print(f"flow {simulation.flow}: outcome {simulation.outcome}")
    for number, step in enumerate(simulation.path, start=1):
        if step.kind in ("branches", "inclusive"):
            for seen in step.detail.get("evaluated", []):
                if seen.get("otherwise"):
                    print(f"{number}. {step.name}: otherwise -> {seen['result']}")
                else:
                    print(
                        f"{number}. {step.name}: {seen['when']} with {seen.get('values')} -> {seen['result']}"
                    )
        elif step.people:
            print(f"{number}. {step.name} [{step.kind}]: {_people(step.people)}")
        else:
            print(f"{number}. {step.name} [{step.kind}]: {step.detail}")
    return 0


def flow_show(args: argparse.Namespace) -> int:
    service, actor = _acting(args)
    if args.instance:
        view = _call(service.flows.instance, actor, args.app, args.instance)
    else:
        if not args.form or not args.record:
            raise CommandFailed(
                "name the record: lowcode flow show APP FORM RECORD_ID (or --instance ID)"
            )
        view = _call(service.flows.instance_of, actor, args.app, args.form, args.record)
    if args.output == "json":
        print(to_json_text(view.to_json()))
        return 0
    print(f"instance {view.id}: {view.flow} on {view.form} #{view.record_id} {view.title or ''}")
    print(
        f"status {view.status} (record {view.record_status}), submitted by {view.submitter}, cycle {view.cycle}"
    )
    if view.active_nodes:
        print("waiting at: " + ", ".join(view.active_nodes))
    rows = [
        [
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.actor,
            e.action,
            e.node_name or "",
            e.comment or "",
            _detail(e.detail),
        ]
        for e in view.timeline
    ]
    print(_table(["at", "who", "what", "node", "comment", "detail"], rows))
    if view.routes:
        print("routing:")
        for route in view.routes:
            for seen in route.get("evaluated", []):
                condition = "otherwise" if seen.get("otherwise") else seen.get("when")
                print(
                    f"  {route['name']}: {condition} with {seen.get('values', {})} -> {seen['result']}"
                )
    return 0


def _detail(detail: dict[str, Any]) -> str:
    if "people" in detail:
        return _people(detail["people"])
    if "evaluated" in detail:
        return f"chosen branches {detail.get('chosen')}"
    return ", ".join(f"{k}={v}" for k, v in detail.items() if v not in (None, [], {}))


def flow_timers(args: argparse.Namespace) -> int:
    service = open_service(args)
    now = _moment(args.now)
    rows = [
        [t["id"], t["instance_id"], t["node"], t["kind"], _when(t["due_at"])]
        for t in service.flows.due_timers(now)
    ]
    print(_table(["timer", "instance", "node", "kind", "due"], rows) if rows else "no timer is due")
    return 0


def flow_fire_timers(args: argparse.Namespace) -> int:
    service = open_service(args)
    result = _call(service.flows.fire_timers, _moment(args.now), args.limit)
    print(f"fired {result.fired}, skipped {result.skipped}, failed {len(result.failed)}")
    for timer_id, error in result.failed:
        print(f"  timer {timer_id}: {error}")
    return 1 if result.failed else 0


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandFailed(
            f"--now {text!r}: write an ISO moment, e.g. 2026-12-07T09:00+08:00"
        ) from exc
    if moment.tzinfo is None:
        raise CommandFailed("--now needs a time zone, e.g. 2026-12-07T09:00+08:00")
    return moment


def flow_instance_action(args: argparse.Namespace) -> int:
    service, actor = _acting(args)
    action = args.flow_command.replace("-", "_")
    kwargs: dict[str, Any] = {}
    if action in ("terminate", "suspend", "reactivate") and args.comment:
        kwargs["comment"] = args.comment
    if action == "resubmit" and args.changes:
        kwargs["changes"] = _json_object(args.changes, "--changes")
    if action == "comment":
        view = _call(service.flows.comment, actor, args.app, args.instance, args.comment or "")
    else:
        view = _call(getattr(service.flows, action), actor, args.app, args.instance, **kwargs)
    print(f"instance {view.id}: {view.status} (record {view.record_status})")
    return 0


def flow_delegate(args: argparse.Namespace) -> int:
    service, actor = _acting(args)
    starts, ends = _moment(args.starts), _moment(args.ends)
    number = _call(service.flows.delegate, actor, args.to, starts, ends)
    print(f"delegation {number}: {actor.user_id} -> {args.to} from {starts} to {ends}")
    return 0


# -- tasks --------------------------------------------------------------------------------
def tasks_list(args: argparse.Namespace) -> int:
    service, actor = _acting(args)
    page = _call(service.flows.tasks, actor, status=args.status, app=args.app, page=args.page)
    rows = [
        [
            t.id,
            t.app,
            t.form,
            t.record_id,
            t.title or "",
            t.node_name,
            t.status,
            t.created_at.strftime("%Y-%m-%d %H:%M"),
        ]
        for t in page.items
    ]
    print(
        _table(["task", "app", "form", "record", "title", "node", "status", "since"], rows)
        if rows
        else "no task"
    )
    print(f"{page.total} task(s)")
    return 0


def task_show(args: argparse.Namespace) -> int:
    service, actor = _acting(args)
    detail = _call(service.flows.task, actor, args.task)
    print(
        to_json_text(
            {
                "task": detail.task.to_json(),
                "values": detail.values,
                "editable": detail.editable,
                "readonly": detail.readonly,
                "comment": detail.comment,
                "signature": detail.signature,
            }
        )
    )
    return 0


def task_action(args: argparse.Namespace) -> int:
    service, actor = _acting(args)
    action = args.task_command
    flows = service.flows
    if action == "approve":
        view = _call(
            flows.approve,
            actor,
            args.task,
            comment=args.comment,
            changes=_json_object(args.changes, "--changes") or None,
            signature=args.signature,
        )
    elif action == "reject":
        view = _call(flows.reject, actor, args.task, comment=args.comment)
    elif action == "send-back":
        view = _call(
            flows.send_back, actor, args.task, to=args.to or "previous", comment=args.comment
        )
    elif action == "transfer":
        if not args.to:
            raise CommandFailed("transfer needs --to LOGIN")
        view = _call(flows.transfer, actor, args.task, args.to, comment=args.comment)
    elif action == "add-signer":
        if not args.signer:
            raise CommandFailed("add-signer needs --signer LOGIN (repeatable)")
        view = _call(
            flows.add_signer,
            actor,
            args.task,
            args.signer,
            position=args.position,
            mode=args.mode,
            comment=args.comment,
        )
    else:  # batch approve
        results = _call(flows.batch_approve, actor, args.tasks, comment=args.comment)
        for item in results:
            print(f"task {item.task_id}: {'approved' if item.ok else item.error}")
        return 0 if all(i.ok for i in results) else 1
    print(f"task {view.id} ({view.node_name}): {view.status}")
    return 0


# -- parsers ------------------------------------------------------------------------------
def _as(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as", dest="as_user", metavar="LOGIN", help="act as this user (default: --user)"
    )


def add_parsers(sub: Any) -> None:
    """Register ``lowcode flow``, ``lowcode tasks`` and ``lowcode task``."""
    flow = sub.add_parser("flow", help="approval flows: check, simulate, show, timers")
    flow_sub = flow.add_subparsers(dest="flow_command", required=True, metavar="ACTION")
    check = flow_sub.add_parser("check", help="check an app's definitions, flows included")
    check.add_argument("path")
    check.set_defaults(handler=flow_check)

    simulate = flow_sub.add_parser(
        "simulate", help="the route and approvers for some data, writing nothing"
    )
    simulate.add_argument("app")
    simulate.add_argument("form", help="the form whose flow runs")
    simulate.add_argument("--json", help="the record data as a JSON object")
    simulate.add_argument(
        "--choose", action="append", default=[], metavar="NODE=a,b", help="the submitter's picks"
    )
    simulate.add_argument("--output", choices=("text", "json"), default="text")
    _as(simulate)
    simulate.set_defaults(handler=flow_simulate)

    show = flow_sub.add_parser("show", help="a record's flow: timeline and routing explanation")
    show.add_argument("app")
    show.add_argument("form", nargs="?")
    show.add_argument("record", nargs="?", type=int)
    show.add_argument("--instance", type=int, help="show this instance instead")
    show.add_argument("--output", choices=("text", "json"), default="text")
    _as(show)
    show.set_defaults(handler=flow_show)

    timers = flow_sub.add_parser("timers", help="list the timers that are due")
    timers.add_argument("--now", help="ISO moment (default: now)")
    timers.set_defaults(handler=flow_timers)
    fire = flow_sub.add_parser("fire-timers", help="fire due timers (reminders, timeouts) once")
    fire.add_argument("--now", help="ISO moment (default: now)")
    fire.add_argument("--limit", type=int, default=100)
    fire.set_defaults(handler=flow_fire_timers)

    for name, text in (
        ("withdraw", "the submitter takes a request back"),
        ("resubmit", "the submitter resubmits a request that was sent back"),
        ("remind", "remind the holders of the pending tasks (催办)"),
        ("comment", "comment on an instance (@login mentions)"),
        ("terminate", "an administrator ends an instance"),
        ("suspend", "an administrator pauses an instance"),
        ("reactivate", "an administrator resumes a suspended instance"),
    ):
        action = flow_sub.add_parser(name, help=text)
        action.add_argument("app")
        action.add_argument("instance", type=int)
        action.add_argument("--comment")
        if name == "resubmit":
            action.add_argument("--changes", help="changes to the record as a JSON object")
        _as(action)
        action.set_defaults(handler=flow_instance_action)

    delegate = flow_sub.add_parser(
        "delegate", help="hand all your new tasks to someone for a while (委托)"
    )
    delegate.add_argument("--to", required=True)
    delegate.add_argument("--from", dest="starts", required=True, help="ISO moment with zone")
    delegate.add_argument("--until", dest="ends", required=True, help="ISO moment with zone")
    _as(delegate)
    delegate.set_defaults(handler=flow_delegate)

    tasks = sub.add_parser("tasks", help="your approval tasks")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", required=True, metavar="ACTION")
    listing = tasks_sub.add_parser("list", help="my open tasks (or --status done / cc)")
    listing.add_argument("--status", choices=("pending", "done", "cc"), default="pending")
    listing.add_argument("--app")
    listing.add_argument("--page", type=int, default=1)
    _as(listing)
    listing.set_defaults(handler=tasks_list)

    task = sub.add_parser("task", help="act on one approval task")
    task_sub = task.add_subparsers(dest="task_command", required=True, metavar="ACTION")
    shown = task_sub.add_parser("show", help="a task with the record as its node shows it")
    shown.add_argument("task", type=int)
    _as(shown)
    shown.set_defaults(handler=task_show)
    for name, text in (
        ("approve", "approve (or complete) a task"),
        ("reject", "reject a task"),
        ("send-back", "send the request back (--to previous|start|NODE)"),
        ("transfer", "hand the task to someone else (--to LOGIN)"),
        ("add-signer", "add people before, after or alongside you (--signer LOGIN)"),
    ):
        action = task_sub.add_parser(name, help=text)
        action.add_argument("task", type=int)
        action.add_argument("--comment")
        _as(action)
        if name == "approve":
            action.add_argument("--changes", help="edits of the node's editable fields (JSON)")
            action.add_argument("--signature", help="the signature (an uploaded file id or text)")
        if name in ("send-back", "transfer"):
            action.add_argument("--to")
        if name == "add-signer":
            action.add_argument("--signer", action="append", default=[])
            action.add_argument(
                "--position", choices=("before", "after", "parallel"), default="after"
            )
            action.add_argument("--mode", choices=("all", "any", "sequential"), default="all")
        action.set_defaults(handler=task_action)
    batch = task_sub.add_parser("batch-approve", help="approve several tasks, each on its own")
    batch.add_argument("tasks", type=int, nargs="+")
    batch.add_argument("--comment")
    _as(batch)
    batch.set_defaults(handler=task_action, task_command="batch-approve")


__all__ = ["SYSTEM_ACTOR", "add_parsers"]
