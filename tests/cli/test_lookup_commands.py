"""``lowcode lookups ties`` and ``lowcode records new-version`` (docs/lookups.md) over the
scenario apps of tests/scenarios (the service behind them is tested on both databases
by the scenario tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    for name in ("LOWCODE_DATABASE_URL", "LOWCODE_FILES_DIR", "LOWCODE_USER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOWCODE_LOCALE", "en")
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    return tmp_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _create(capsys, app: str, form: str, data: dict) -> None:
    status, out, err = run(capsys, "records", "create", app, form, "--json", json.dumps(data))
    assert status == 0, err


def test_ties_lists_rows_a_lookup_cannot_tell_apart(workdir, capsys):
    text = (SCENARIOS / "price_lookup_app.yaml").read_text(encoding="utf-8")
    head, lookups = text.split("lookups:\n")
    (workdir / "v1.yaml").write_text(head.replace("""'MATCH("line_price")'""", "'0'"))
    (workdir / "v2.yaml").write_text(
        head.replace("version: 1.0.0", "version: 1.1.0") + "lookups:\n" + lookups
    )
    assert main(["app", "install", "v1.yaml"]) == 0
    row = {
        "list_code": "PL-X",
        "sku": "P-1001",
        "grade": "B",
        "state": "active",
        "unit_price": "1.00",
    }
    _create(capsys, "pricing_demo", "price_entry", row)
    _create(capsys, "pricing_demo", "price_entry", {**row, "list_code": "PL-Y"})
    assert main(["app", "install", "v2.yaml"]) == 0
    status, out, _err = run(capsys, "lookups", "ties", "pricing_demo", "price_entry")
    assert status == 1
    assert "sales_order.line_price" in out and "#1 PL-X P-1001" in out and "#2 PL-Y P-1001" in out
    status, out, _err = run(capsys, "lookups", "ties", "pricing_demo", "dealer")
    assert (status, out.strip()) == (
        0,
        "no ties: every lookup into pricing_demo/dealer can tell its rows apart",
    )


def test_new_version_copies_a_locked_record_into_a_draft(workdir, capsys):
    assert main(["app", "install", str(SCENARIOS / "versioned_policy_app.yaml")]) == 0
    policy = {
        "code": "VOL-Q",
        "valid_from": "2025-07-01",
        "state": "active",
        "tiers": [{"lower": "0", "rate": "0.03"}],
    }
    _create(capsys, "policy_demo", "rebate_policy", policy)
    status, out, err = run(
        capsys,
        "records",
        "new-version",
        "policy_demo",
        "rebate_policy",
        "1",
        "--from",
        "2025-10-01",
    )
    assert (status, out.strip()) == (0, "created policy_demo/rebate_policy #2 (a draft): VOL-Q v2")
    status, _out, err = run(
        capsys,
        "records",
        "update",
        "policy_demo",
        "rebate_policy",
        "1",
        "--json",
        '{"valid_from": "2025-07-02"}',
    )
    assert status == 1 and "new version" in err
    with pytest.raises(SystemExit) as usage:
        main(["records", "new-version", "policy_demo", "rebate_policy", "1", "--from", "2025-13"])
    assert usage.value.code == 2
    assert "cannot read '2025-13' as a day" in capsys.readouterr().err
