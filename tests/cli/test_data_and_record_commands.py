"""``lowcode app install --strict``, ``app check-data``, ``records update/delete``,
``records create --file`` (all or nothing, ``--each``) and ``files upload``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from engine.cli import main

LEAVE = """
app: leave
version: {version}
name: Leave
---
form: leave_request
name: Leave request
title: "{{{{ who }}}}"
fields:
  who:        {{type: text, required: true}}
  start_date: {{type: date, required: true}}
  end_date:   {{type: date, required: true}}
  proof:      {{type: attachment, accept: [pdf, txt], max_size: 1KB}}
"""
RULE = """validations:
  - expr: "end_date >= start_date"
    field: end_date
    message: {zh-CN: 结束日期不能早于开始日期, en: The last day cannot be before the first day}
"""
#: five requests; #2 and #4 end before they start
REQUESTS = [
    {"who": "li", "start_date": "2026-01-01", "end_date": "2026-01-02"},
    {"who": "wu", "start_date": "2026-01-05", "end_date": "2026-01-03"},
    {"who": "he", "start_date": "2026-01-01", "end_date": "2026-01-01"},
    {"who": "xu", "start_date": "2026-02-05", "end_date": "2026-02-01"},
    {"who": "ma", "start_date": "2026-03-01", "end_date": "2026-03-04"},
]
FAILURE = "end_date >= start_date: #2, #4 (The last day cannot be before the first day)"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A scratch folder with an initialised database and the leave app v1 installed."""
    for name in ("LOWCODE_DATABASE_URL", "LOWCODE_FILES_DIR", "LOWCODE_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOWCODE_LOCALE", "en")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v1.yaml").write_text(LEAVE.format(version="1.0.0"), encoding="utf-8")
    (tmp_path / "v2.yaml").write_text(LEAVE.format(version="1.1.0") + RULE, encoding="utf-8")
    assert main(["init"]) == 0
    assert main(["app", "install", "v1.yaml"]) == 0
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def requests(workdir, capsys):
    """The five REQUESTS saved as #1..#5."""
    (workdir / "requests.json").write_text(json.dumps(REQUESTS), encoding="utf-8")
    status, _, err = run(
        capsys, "records", "create", "leave", "leave_request", "--file", "requests.json"
    )
    assert status == 0, err
    return workdir


def test_the_dry_run_lists_records_a_new_rule_would_fail_and_exits_0(requests, capsys):
    status, out, _ = run(capsys, "app", "install", "v2.yaml", "--dry-run")
    assert status == 0
    assert out.splitlines() == [
        "leave_request: no table change",
        f"  2 records would fail {FAILURE}",
        "existing records break new rules: the install publishes anyway (--strict refuses)",
    ]
    status, out, _ = run(capsys, "app", "install", "v2.yaml", "--dry-run", "--strict")
    assert status == 1
    assert out.splitlines()[-1] == "existing records break new rules: --strict refuses the install"
    assert "1.0.0" in run(capsys, "app", "list")[1]


def test_a_strict_install_refuses_and_changes_nothing(requests, capsys):
    status, out, err = run(capsys, "app", "install", "v2.yaml", "--strict")
    assert (status, out) == (1, "")
    assert err.splitlines() == [
        "nothing installed: not published: existing records break new rules:",
        f"  - leave.leave_request: 2 records would fail {FAILURE}",
        "Fix those records first, or publish without strict to accept them.",
    ]
    assert "1.0.0" in run(capsys, "app", "list")[1]
    assert run(capsys, "app", "check-data", "leave")[0] == 0


def test_install_publishes_with_warnings_and_check_data_lists_them_later(requests, capsys):
    status, out, _ = run(capsys, "app", "install", "v2.yaml")
    assert status == 0
    assert out.splitlines() == [
        "app leave 1.0.0 -> 1.1.0",
        "  leave_request: published v2",
        f"    warning: 2 records fail {FAILURE}",
    ]
    status, out, _ = run(capsys, "app", "check-data", "leave")
    assert (status, out.splitlines()) == (1, [f"leave_request: 2 records fail {FAILURE}"])
    status, out, _ = run(capsys, "app", "check-data", "leave", "--form", "leave_request")
    assert status == 1 and "#2, #4" in out
    # fixing both records makes the check clean
    for record_id in ("2", "4"):
        status, _, err = run(
            capsys, "records", "update", "leave", "leave_request", record_id,
            "--json", '{"end_date": "2026-02-28"}',
        )  # fmt: skip
        assert status == 0, err
    status, out, _ = run(capsys, "app", "check-data", "leave")
    assert (status, out.strip()) == (0, "ok: every live record of leave passes its rules")


def test_check_data_of_an_unknown_app_says_so(workdir, capsys):
    status, _, err = run(capsys, "app", "check-data", "sales")
    assert status == 1
    assert err.strip() == "app 'sales' is not installed; installed: leave"


def test_records_update_with_a_version_and_a_conflict(requests, capsys):
    status, out, _ = run(
        capsys, "records", "update", "leave", "leave_request", "1", "--json", '{"who": "li na"}',
        "--version", "1",
    )  # fmt: skip
    assert (status, out.strip()) == (0, "updated leave/leave_request #1 (version 2): li na")
    status, _, err = run(
        capsys, "records", "update", "leave", "leave_request", "1", "--json", '{"who": "x"}',
        "--version", "1",
    )  # fmt: skip
    assert status == 1
    assert "leave.leave_request record 1 was changed by admin" in err
    assert "(now version 2); reload it and apply your change again" in err
    status, _, err = run(
        capsys, "records", "update", "leave", "leave_request", "1", "--json", '{"who": null}'
    )
    assert status == 1
    assert err.splitlines() == ["record not saved:", "  who: 'who' is required"]
    status, _, err = run(
        capsys, "records", "update", "leave", "leave_request", "1", "--json", "[1]"
    )
    assert (status, err.strip()) == (1, "the JSON must be an object of the fields to change")


def test_records_delete_with_a_version_then_the_record_is_gone(requests, capsys):
    status, _, err = run(
        capsys, "records", "delete", "leave", "leave_request", "3", "--version", "7"
    )
    assert status == 1 and "(now version 1)" in err
    status, out, _ = run(
        capsys, "records", "delete", "leave", "leave_request", "3", "--version", "1"
    )
    assert (status, out.strip()) == (0, "deleted leave/leave_request #3 (version 2): he")
    status, _, err = run(capsys, "records", "show", "leave", "leave_request", "3")
    assert status == 1
    assert "has no record 3" in err
    status, _, err = run(capsys, "records", "delete", "leave", "leave_request", "3")
    assert status == 1 and "has no record 3" in err


BATCH = [
    {"who": "a", "start_date": "2026-04-01", "end_date": "2026-04-02"},
    {"who": "b", "start_date": "April", "end_date": "2026-04-02"},
    {"who": "c", "start_date": "2026-04-01", "end_date": "2026-04-02"},
    {"start_date": "2026-04-01", "end_date": "2026-04-02"},
]


def _count(capsys) -> int:
    status, out, _ = run(capsys, "records", "list", "leave", "leave_request", "--json")
    assert status == 0
    return len(json.loads(out))


def test_a_list_file_is_all_or_nothing_and_names_every_bad_item(workdir, capsys):
    (workdir / "batch.json").write_text(json.dumps(BATCH), encoding="utf-8")
    status, out, err = run(
        capsys, "records", "create", "leave", "leave_request", "--file", "batch.json"
    )
    assert (status, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == (
        "nothing saved: 2 of 4 items are invalid (fix them, or pass --each to save the valid ones):"
    )
    assert lines[1] == "  item 2:"
    assert lines[2].startswith("    start_date: ")
    assert lines[3:] == ["  item 4:", "    who: 'who' is required"]
    assert _count(capsys) == 0


def test_each_saves_the_valid_items_and_reports_the_others(workdir, capsys):
    (workdir / "batch.json").write_text(json.dumps(BATCH), encoding="utf-8")
    status, out, err = run(
        capsys, "records", "create", "leave", "leave_request", "--file", "batch.json", "--each"
    )
    assert status == 1
    assert out.splitlines() == [
        "created leave/leave_request #1: a",
        "created leave/leave_request #2: c",
    ]
    lines = err.splitlines()
    assert lines[0] == "item 2 not saved:" and lines[1].startswith("  start_date: ")
    assert lines[2:] == [
        "item 4 not saved:",
        "  who: 'who' is required",
        "saved 2 of 4 items; not saved: item(s) 2, 4",
    ]
    assert _count(capsys) == 2


def test_files_upload_prints_the_metadata_an_attachment_value_takes(requests, capsys):
    (requests / "note.txt").write_text("signed by the doctor", encoding="utf-8")
    status, out, err = run(capsys, "files", "upload", "leave", "leave_request", "proof", "note.txt")
    assert status == 0, err
    meta = json.loads(out)
    assert (meta["name"], meta["size"]) == ("note.txt", 20)
    assert (requests / "instance" / "files" / "leave" / "leave_request" / meta["id"]).exists()
    status, _, err = run(
        capsys, "records", "update", "leave", "leave_request", "5", "--json",
        json.dumps({"proof": [meta]}),
    )  # fmt: skip
    assert status == 0, err
    shown = json.loads(run(capsys, "records", "show", "leave", "leave_request", "5")[1])
    assert shown["values"]["proof"][0]["id"] == meta["id"]


def test_files_upload_refuses_a_wrong_field_a_too_big_file_and_a_missing_path(requests, capsys):
    (requests / "big.txt").write_text("x" * 2048, encoding="utf-8")
    status, _, err = run(capsys, "files", "upload", "leave", "leave_request", "who", "big.txt")
    assert status == 1 and "who is a text field, not a file field" in err
    status, _, err = run(capsys, "files", "upload", "leave", "leave_request", "proof", "big.txt")
    assert status == 1 and err.startswith("file not saved:")
    status, _, err = run(capsys, "files", "upload", "leave", "leave_request", "proof", "nope.txt")
    assert (status, err.strip()) == (1, "no such file or folder: nope.txt")


def test_the_new_commands_run_as_a_console_command(requests):
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "app", "check-data", "leave"],
        capture_output=True,
        text=True,
        cwd=requests,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (
        0,
        "ok: every live record of leave passes its rules",
    )
