"""A whole approval run and seen from the command line: check, simulate, submit, the
inbox, approve and its refusals, the timeline with the routing explanation, timers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORG = str(ROOT / "examples" / "org.yaml")
LEAVE = str(ROOT / "examples" / "leave_request")
FIVE_DAYS = (
    '{"leave_type": "annual", "start_date": "2027-03-01", "end_date": "2027-03-05",'
    ' "reason": "trip"}'
)
TWO_DAYS = (
    '{"leave_type": "annual", "start_date": "2027-03-08", "end_date": "2027-03-09",'
    ' "reason": "trip"}'
)


@pytest.fixture
def leave(workdir, cli):
    assert cli("init")[0] == 0
    assert cli("org", "load", ORG)[0] == 0
    # deadlines of a request made late in a year may reach into the next one
    cli("calendar", "add-year", str(date.today().year + 1))
    status, out, err = cli("app", "install", LEAVE)
    assert status == 0, err
    return workdir


def test_flow_check_lists_the_flows(cli):
    status, out, _ = cli("flow", "check", LEAVE)
    assert status == 0
    assert out.startswith("leave.leave_approval: form leave_request, 4 nodes, hash ")


def test_simulate_prints_the_route_with_people_and_reasons(leave, cli):
    status, out, err = cli(
        "flow", "simulate", "leave", "leave_request", "--as", "wu.gang", "--json", FIVE_DAYS
    )
    assert status == 0, err
    assert out.splitlines() == [
        "flow leave_approval: outcome approved",
        "1. 直属主管审批 [approval]: sun.li (source: manager level 1 of the submitter)",
        "2. branches_1: days > 3 with {'days': 5} -> True",
        "2. branches_1: otherwise -> False",
        "3. 部门负责人与人事会签 [approval]: chen.xiao (source: manager level 2 of the"
        " submitter), song.jia (source: role hr)",
        "4. 抄送人事 [cc]: song.jia (source: cc)",
    ]
    # nothing was written
    assert cli("tasks", "list", "--as", "sun.li")[1].endswith("0 task(s)\n")


def test_an_approval_from_submit_to_the_timeline(leave, cli):
    status, _, err = cli(
        "--user", "wu.gang", "records", "create", "leave", "leave_request", "--json", FIVE_DAYS
    )
    assert status == 0, err
    status, out, _ = cli("tasks", "list", "--as", "sun.li")
    assert "直属主管审批" in out and out.endswith("1 task(s)\n")

    assert cli("task", "approve", "1", "--as", "sun.li", "--comment", "同意")[1] == (
        "task 1 (直属主管审批): approved\n"
    )
    status, _, err = cli("task", "approve", "1", "--as", "sun.li")
    assert status == 1 and err.startswith("该任务已由 sun.li 于 ") and "（已同意）" in err
    status, _, err = cli("--locale", "en", "task", "reject", "2", "--as", "chen.xiao")
    assert (status, err) == (1, "node Department head and HR requires a comment\n")
    status, _, err = cli("task", "approve", "2", "--as", "song.jia")
    assert status == 1 and "chen.xiao" in err  # task 2 is chen.xiao's

    status, out, _ = cli("flow", "show", "leave", "leave_request", "1")
    assert status == 0
    assert "status running (record in_approval), submitted by wu.gang, cycle 1" in out
    assert "waiting at: head_and_hr" in out
    assert "  branches_1: days > 3 with {'days': 5} -> True" in out
    status, out, _ = cli("flow", "show", "leave", "leave_request", "1", "--output", "json")
    shown = json.loads(out)
    assert (shown["status"], shown["routes"][0]["chosen"]) == ("running", [0])
    assert [t["assignee"] for t in shown["tasks"]] == ["sun.li", "chen.xiao", "song.jia"]


def test_timers_fire_from_the_command_line(leave, cli):
    assert (
        cli("--user", "wu.gang", "records", "create", "leave", "leave_request", "--json", TWO_DAYS)[
            0
        ]
        == 0
    )
    status, out, _ = cli("flow", "timers", "--now", "2099-01-01T00:00+08:00")
    assert status == 0 and out.count(" manager ") == 2  # the first reminder and the timeout
    status, out, _ = cli("flow", "fire-timers", "--now", "2099-01-01T00:00+08:00")
    assert (status, out) == (0, "fired 2, skipped 0, failed 0\n")
    # escalated: sun.li's own manager li.ming holds the task now
    assert cli("tasks", "list", "--as", "li.ming")[1].endswith("1 task(s)\n")
    assert cli("tasks", "list", "--as", "sun.li")[1].endswith("0 task(s)\n")
    status, _, err = cli("flow", "timers", "--now", "tomorrow")
    assert status == 1 and "ISO" in err
