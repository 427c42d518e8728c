"""``lowcode user ...`` and ``lowcode org ...`` end to end, in a scratch folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "org.yaml")


@pytest.fixture
def loaded(workdir, cli):
    status, out, _ = cli("init")
    assert status == 0 and "created the user admin" in out
    assert cli("org", "load", EXAMPLE)[0] == 0
    return workdir


def test_init_creates_admin_once(workdir, cli):
    assert "created the user admin" in cli("init")[1]
    status, out, _ = cli("init")
    assert status == 0 and "created the user admin" not in out


def test_org_load_prints_the_summary_and_is_idempotent(workdir, cli):
    cli("init")
    status, out, _ = cli("org", "load", EXAMPLE)
    assert status == 0
    assert "departments: 10 created, 0 updated, 0 unchanged" in out
    assert "users: 25 created, 1 updated, 0 unchanged" in out  # admin: department set
    status, out, _ = cli("org", "load", EXAMPLE)
    assert status == 0 and out.splitlines()[-1] == "nothing changed"


def test_org_load_lists_every_problem_and_exits_1(loaded, cli):
    bad = loaded / "bad.yaml"
    bad.write_text(
        "users:\n  - {login: a, name: A, dealer: D9}\n  - {login: b, nmae: B}\n", encoding="utf-8"
    )
    status, out, err = cli("org", "load", str(bad))
    assert status == 1 and out == ""
    assert err.splitlines() == [
        f"{bad}:2:33 users[0].dealer: dealer 'D9' is not defined in this file "
        "(the file has no dealers)",
        f"{bad}:2:33 users[0].dealer: an internal user belongs to no dealer "
        "(remove dealer, or set kind: external for a dealer's person)",
        f"{bad}:3:5 users[1]: 'name' is required",
        f"{bad}:3:16 users[1].nmae: unknown key 'nmae' (did you mean 'name'?)",
        f"4 problems in {bad}: nothing loaded",
    ]


def test_org_load_refuses_a_non_admin(loaded, cli):
    status, _, err = cli("--user", "li.ming", "--locale", "en", "org", "load", EXAMPLE)
    assert status == 1 and "only an administrator" in err


def test_managers(loaded, cli):
    status, out, _ = cli("org", "managers", "wu.gang", "--level", "3")
    assert status == 0
    assert [line.split() for line in out.splitlines()[2:]] == [
        ["1", "sun.li"],
        ["2", "chen.xiao"],
        ["3", "zhou.zong"],
    ]
    status, out, _ = cli("org", "managers", "wu.gang", "--level", "2", "--exact")
    assert [line.split() for line in out.splitlines()[2:]] == [["2", "chen.xiao"]]


def test_users_passwords_and_tokens(loaded, cli):
    status, out, _ = cli(
        "user", "create", "new.rep", "--name", "新销售", "--department", "sales_east",
        "--role", "sales_ops", "--password-stdin",
        stdin="s3cret-pass\n",
    )  # fmt: skip
    assert status == 0 and "password: set" in out
    status, _, err = cli("user", "create", "new.rep", "--name", "again")
    assert status == 1 and "已存在" in err
    assert cli("user", "password", "li.ming", stdin="another-pass\n")[0] == 0
    status, token, err = cli("user", "token", "li.ming", "--name", "erp")
    token = token.strip()
    assert status == 0 and token.startswith("lc_") and "shown once" in err
    status, out, _ = cli("user", "tokens", "li.ming")
    assert token not in out and token[:10] + "..." in out and "active" in out
    assert cli("user", "revoke", "li.ming", "1")[1].strip() == "token 1 of li.ming revoked"
    assert "already revoked" in cli("user", "revoke", "li.ming", "1")[1]
    assert cli("user", "disable", "li.ming")[1].strip() == "li.ming disabled"
    assert cli("user", "disable", "li.ming")[1].strip() == "li.ming was already disabled"
    assert cli("user", "enable", "li.ming")[1].strip() == "li.ming enabled"
    status, _, err = cli("user", "password", "li.ming", stdin="")
    assert (status, err.strip()) == (1, "no password given: nothing changed")


def test_the_password_is_not_an_argument(loaded, cli):
    with pytest.raises(SystemExit):
        main(["user", "create", "x", "--name", "X", "--password", "secret"])
