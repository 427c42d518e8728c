"""Handlers of ``lowcode calendar ...``: the working calendar flow timeouts count on.

``seed`` writes years from chinese-calendar, ``add-year`` adds a year (Monday to Friday
when the library does not know it yet), ``set`` makes one day a working day or a
holiday, ``hours`` shows or sets the working periods, ``show`` lists a year's
exceptions to Monday-to-Friday. See docs/calendar.md.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from engine.cli.commands import actor_of, open_service
from engine.cli.output import CommandFailed, format_table
from engine.service import CalendarSeed, ServiceError

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _call(work: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return work(*args, **kwargs)
    except ServiceError as exc:
        raise CommandFailed(str(exc)) from exc


def _day(text: str) -> date:
    """argparse type of DAY: an ISO date."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"cannot read {text!r} as a day: write YYYY-MM-DD, e.g. 2026-10-08"
        ) from None


def print_seed(report: CalendarSeed) -> None:
    """One line per seeded year; years chinese-calendar does not know go to stderr."""
    for year, days in sorted(report.written.items()):
        if days:
            print(f"{year}: {days} days written from chinese-calendar")
        else:
            print(f"{year}: already as chinese-calendar says, nothing changed")
    for year in report.unknown:
        print(
            f"{year}: chinese-calendar has no data for this year, nothing written: add it with "
            f"`lowcode calendar add-year {year}` (Monday to Friday working) and mark its "
            "holidays and make-up working days with `lowcode calendar set`",
            file=sys.stderr,
        )


def calendar_seed(args: argparse.Namespace) -> int:
    service = open_service(args)
    years = sorted(set(args.year)) if args.year else None
    report = _call(service.calendar.seed, actor_of(args), years)
    if not report.written and not report.unknown:
        print("chinese-calendar knows no year from 2024 on: nothing written")
    print_seed(report)
    return 1 if report.unknown else 0


def calendar_add_year(args: argparse.Namespace) -> int:
    service = open_service(args)
    source = _call(service.calendar.add_year, actor_of(args), args.year)
    if source == "chinese-calendar":
        print(f"added {args.year} from chinese-calendar (public holidays and make-up working days)")
    else:
        print(
            f"added {args.year}: Monday to Friday are working days. chinese-calendar has no "
            f"data for {args.year} yet: mark its public holidays and make-up working days "
            "(调休) with `lowcode calendar set DAY holiday|workday --note TEXT`"
        )
    return 0


def calendar_set(args: argparse.Namespace) -> int:
    service = open_service(args)
    workday = args.kind == "workday"
    changed = _call(service.calendar.set_day, actor_of(args), args.day, workday, args.note)
    kind = "a working day" if workday else "a holiday"
    day = f"{args.day.isoformat()} ({WEEKDAYS[args.day.weekday()]})"
    print(f"{day} is now {kind}" if changed else f"{day} was already {kind}: nothing changed")
    return 0


def calendar_hours(args: argparse.Namespace) -> int:
    service = open_service(args)
    actor = actor_of(args)
    if args.periods:
        changed = _call(service.calendar.set_hours, actor, list(args.periods))
        if not changed:
            print("the working hours were already those: nothing changed")
    hours = _call(service.calendar.hours, actor)
    print("working hours: " + ", ".join(_period(start, end) for start, end in hours))
    return 0


def calendar_show(args: argparse.Namespace) -> int:
    service = open_service(args)
    actor = actor_of(args)
    days = _call(service.calendar.year, actor, args.year)
    hours = _call(service.calendar.hours, actor)
    working = sum(1 for d in days if d.workday)
    print("working hours: " + ", ".join(_period(start, end) for start, end in hours))
    print(f"{args.year}: {working} working days, {len(days) - working} days off")
    exceptions = [d for d in days if d.workday != (d.day.weekday() < 5)]
    if not exceptions:
        print("no holidays on weekdays and no working weekends")
        return 0
    rows = [
        [
            d.day.isoformat(),
            WEEKDAYS[d.day.weekday()],
            "workday" if d.workday else "holiday",
            d.source,
            d.note or "",
        ]
        for d in exceptions
    ]
    print(format_table(["day", "weekday", "kind", "source", "note"], rows))
    return 0


def _period(start: Any, end: Any) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"


def add_parsers(sub: Any) -> None:
    """Register ``lowcode calendar`` on the top-level subparsers."""
    calendar = sub.add_parser(
        "calendar", help="the working calendar (holidays, 调休, hours) flow timeouts count on"
    )
    cal_sub = calendar.add_subparsers(dest="calendar_command", required=True, metavar="ACTION")
    seed = cal_sub.add_parser(
        "seed", help="write years from chinese-calendar (days an admin set are kept)"
    )
    seed.add_argument(
        "--year",
        type=int,
        action="append",
        default=[],
        help="a year to write (repeatable; default: every year the library knows from 2024 on)",
    )
    seed.set_defaults(handler=calendar_seed)
    add_year = cal_sub.add_parser(
        "add-year",
        help="add a year (from chinese-calendar, or Monday to Friday when it has no data yet)",
    )
    add_year.add_argument("year", type=int)
    add_year.set_defaults(handler=calendar_add_year)
    set_day = cal_sub.add_parser("set", help="make one day a working day or a holiday")
    set_day.add_argument("day", type=_day, help="YYYY-MM-DD")
    set_day.add_argument("kind", choices=("workday", "holiday"))
    set_day.add_argument("--note", help="why, e.g. 国庆节 or 调休上班")
    set_day.set_defaults(handler=calendar_set)
    hours = cal_sub.add_parser(
        "hours", help="show the working hours, or set them: 09:00-12:00 13:00-18:00"
    )
    hours.add_argument("periods", nargs="*", metavar="HH:MM-HH:MM")
    hours.set_defaults(handler=calendar_hours)
    show = cal_sub.add_parser(
        "show", help="a year's holidays on weekdays and working weekends, and the hours"
    )
    show.add_argument("year", type=int)
    show.set_defaults(handler=calendar_show)
