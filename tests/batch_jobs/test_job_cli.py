"""``lowcode job list``, ``lowcode job run ... --period [--dry-run]`` and ``lowcode job runs``
on a SQLite database made by ``lowcode init``."""

from __future__ import annotations

import json

import pytest

from tests.batch_jobs.conftest import APP, ORDERS, ORG


@pytest.fixture
def sales_cli(workdir, cli):
    (workdir / "org.yaml").write_text(ORG, encoding="utf-8")
    (workdir / "sales.yaml").write_text(APP, encoding="utf-8")
    assert cli("init")[0] == 0
    assert cli("org", "load", "org.yaml")[0] == 0
    status, _, err = cli("app", "install", "sales.yaml")
    assert status == 0, err
    for dealer, amount, day, state in ORDERS:
        data = {"dealer": dealer, "amount": amount, "order_date": day, "state": state}
        status, _, err = cli(
            "--user", "admin", "records", "create", "sales", "order", "--json", json.dumps(data)
        )
        assert status == 0, err
    return workdir


def test_job_list(sales_cli, cli):
    status, out, err = cli("--user", "admin", "--locale", "en", "job", "list", "sales")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["job", "name", "period", "reads", "group", "by", "writes"]
    assert lines[2].split() == [
        "quarterly_statement",
        "Quarterly",
        "statement",
        "quarter",
        "order",
        "dealer",
        "statement",
    ]


def test_job_run_dry_then_for_real_then_again(sales_cli, cli):
    args = ("--user", "admin", "job", "run", "sales", "quarterly_statement", "--period")
    status, out, err = cli(*args, "2026-Q3", "--dry-run")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith('{"dealer": "D1"}: would create {"dealer": "D1"')
    assert '"basis": "3001.00"' in lines[1]
    assert lines[3] == (
        "run 1 quarterly_statement 2026-Q3: 9 rows, 3/3 groups; created 3, updated 0, "
        "unchanged 0, failed 0"
    )
    assert lines[4] == "dry run: nothing was written"
    status, out, err = cli(*args, "2026-Q3")
    assert status == 0, err
    assert out.splitlines()[0].startswith('{"dealer": "D1"}: created #1 ')
    status, out, err = cli(*args, "2026-Q3", "--output", "json")
    assert status == 0, err
    run = json.loads(out)
    assert (run["id"], run["created"], run["unchanged"], run["dry_run"]) == (3, 0, 3, False)
    assert [i["action"] for i in run["items"]] == ["unchanged"] * 3
    status, out, err = cli("--user", "admin", "job", "runs", "sales")
    assert status == 0, err
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [row[:2] for row in rows] == [
        ["3", "quarterly_statement"],
        ["2", "quarterly_statement"],
        ["1", "quarterly_statement"],
    ]
    assert rows[2][3:5] == ["dry", "done"]


def test_a_bad_period_fails_with_a_clear_message(sales_cli, cli):
    status, out, err = cli(
        "--user", "admin", "job", "run", "sales", "quarterly_statement", "--period", "2026-Q5"
    )
    assert status == 1
    assert "period：'2026-Q5' 不是有效的季度" in err
    assert "2026-Q3" in err
    assert "Traceback" not in err
