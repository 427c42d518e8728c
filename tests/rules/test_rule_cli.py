"""``lowcode rules list`` and ``lowcode rules run ... --dry-run`` on the shop app."""

from __future__ import annotations

import json

import pytest

from tests.rules.conftest import APP, ORG


@pytest.fixture
def shop_cli(workdir, cli):
    (workdir / "org.yaml").write_text(ORG, encoding="utf-8")
    (workdir / "shop.yaml").write_text(APP, encoding="utf-8")
    assert cli("init")[0] == 0
    assert cli("org", "load", "org.yaml")[0] == 0
    status, _, err = cli("app", "install", "shop.yaml")
    assert status == 0, err
    for name, stock in (("a", 10), ("b", 20)):
        data = json.dumps({"name": name, "stock": stock})
        assert (
            cli("--user", "admin", "records", "create", "shop", "product", "--json", data)[0] == 0
        )
    order = {"note": "o", "lines": [{"product": 1, "qty": 3}, {"product": 2, "qty": 5}]}
    status, _, err = cli(
        "--user", "clerk", "records", "create", "shop", "order", "--json", json.dumps(order)
    )
    assert status == 0, err
    return workdir


def test_rules_list(shop_cli, cli):
    status, out, err = cli("--user", "admin", "rules", "list", "shop")
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["rule", "form", "trigger", "run", "actions", "defined", "at"]
    assert lines[2].split() == [
        "deduct_stock",
        "order",
        "flow",
        "approved",
        "in_transaction",
        "update",
        "shop.yaml:66",
    ]
    assert len(lines) == 10


def test_rules_run_dry_then_for_real(shop_cli, cli):
    args = ("--user", "admin", "rules", "run", "shop", "deduct_stock", "--record", "1")
    status, out, err = cli(*args, "--dry-run")
    assert status == 0, err
    assert out.splitlines() == [
        'deduct_stock would update product #1: {"stock": "7"}',
        'deduct_stock would update product #2: {"stock": "15"}',
        "dry run: nothing was written",
    ]
    shown = cli("--user", "admin", "records", "show", "shop", "product", "1")[1]
    assert json.loads(shown)["values"]["stock"] == 10
    status, out, err = cli(*args)
    assert status == 0, err
    assert out.splitlines()[0] == 'deduct_stock did update product #1: {"stock": "7"}'
    shown = cli("--user", "admin", "records", "show", "shop", "product", "1")[1]
    assert json.loads(shown)["values"]["stock"] == 7
    status, _, err = cli(
        "--user", "admin", "--locale", "en", "rules", "run", "shop", "nope", "--record", "1"
    )
    assert status != 0
    assert "app shop has no rule nope (rules: deduct_stock, mark_low" in err
