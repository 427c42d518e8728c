"""``lowcode records import`` and ``records import-template`` on a fresh SQLite database
(the service behind them is tested on both databases in tests/imports)."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from tests.imports.conftest import APP, C17_HEADERS, C17_ROWS, read_xlsx, xlsx

ORG = """
departments:
  - {code: hq, name: HQ}
roles:
  - {code: staff, name: Staff}
  - {code: viewer, name: Viewer}
  - {code: dealer_user, name: Dealer user}
  - {code: admin, name: Admin}
users:
  - {login: admin, name: Admin, department: hq, roles: [admin]}
  - {login: clerk, name: Clerk, department: hq, roles: [staff]}
"""


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name in ("LOWCODE_DATABASE_URL", "LOWCODE_FILES_DIR", "LOWCODE_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOWCODE_LOCALE", "en")
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    (tmp_path / "org.yaml").write_text(ORG, encoding="utf-8")
    assert main(["org", "load", "org.yaml"]) == 0
    (tmp_path / "chan.yaml").write_text(APP, encoding="utf-8")
    roles = ["admin=admin", "staff=staff", "viewer=viewer", "dealer_user=dealer_user"]
    assert main(["app", "install", "chan.yaml", *[f"--map-role={r}" for r in roles]]) == 0
    for sku in ("P-1001", "P-1002", "P-2001", "P-3001"):
        data = json.dumps({"sku": sku})
        assert (
            main(["--user", "clerk", "records", "create", "chan", "product", "--json", data]) == 0
        )
    (tmp_path / "prices.xlsx").write_bytes(xlsx(C17_HEADERS, C17_ROWS))
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(["--user", "clerk", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_a_dry_run_then_valid_rows_with_the_error_workbook(workdir, capsys):
    status, out, _err = run(capsys, "records", "import", "chan", "price", "prices.xlsx")
    assert status == 1
    assert out.splitlines()[0] == (
        "dry run, nothing written: 7 rows; created 3, updated 0, unchanged 0, failed rows 4"
    )
    assert "row 4 SKU: repeats row 2's SKU" in out
    status, out, _err = run(
        capsys,
        "records",
        "import",
        "chan",
        "price",
        "prices.xlsx",
        "--commit",
        "--mode",
        "valid",
        "--errors",
        "bad.xlsx",
        "--output",
        "json",
    )
    assert status == 1
    report = json.loads(out)
    assert (report["created"], report["failed"]) == (3, 4)
    rows = read_xlsx((workdir / "bad.xlsx").read_bytes())
    assert [int(r[0]) for r in rows[1:]] == [4, 5, 6, 7]
    status, out, _err = run(capsys, "records", "list", "chan", "price", "--json")
    assert status == 0 and len(json.loads(out)) == 3


def test_all_or_nothing_and_mapping_errors(workdir, capsys):
    status, out, _err = run(capsys, "records", "import", "chan", "price", "prices.xlsx", "--commit")
    assert status == 1 and out.startswith("nothing imported (all or nothing): 7 rows")
    status, _out, err = run(
        capsys, "records", "import", "chan", "price", "prices.xlsx", "--map", "SKU=nope"
    )
    assert status == 1 and "nope" in err and "Traceback" not in err
    status, _out, err = run(capsys, "records", "import", "chan", "price", "missing.xlsx")
    assert status == 1 and "no such file: missing.xlsx" in err


def test_the_template_is_written(workdir, capsys):
    status, out, _err = run(
        capsys, "records", "import-template", "chan", "product", "--out", "t.xlsx"
    )
    assert status == 0 and out.strip() == "template written to t.xlsx"
    assert read_xlsx((workdir / "t.xlsx").read_bytes())[0] == ["SKU", "Name", "Grade"]
