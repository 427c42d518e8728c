"""The ``lowcode`` command: exit codes, messages and output, run in a scratch folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.cli.output import CommandFailed, format_table
from engine.cli.record_commands import parse_filter

ROOT = Path(__file__).resolve().parents[2]
PURCHASE = str(ROOT / "examples" / "purchase_request")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def installed(workdir, capsys):
    assert run(capsys, "init")[0] == 0
    assert run(capsys, "app", "install", PURCHASE)[0] == 0
    return workdir


def test_check_accepts_a_valid_app(workdir, capsys):
    status, out, _ = run(capsys, "check", PURCHASE)
    assert status == 0
    assert out.strip() == "ok: app purchase 1.0.0, 5 forms, 30 fields, 1 flow"


def test_check_lists_every_error_with_its_place_and_exits_1(workdir, capsys):
    broken = workdir / "broken"
    shutil.copytree(PURCHASE, broken)
    form = broken / "forms" / "purchase_request.yaml"
    text = form.read_text(encoding="utf-8")
    text = text.replace('expr: "qty * price"', 'expr: "qty * prise"').replace(
        "min_rows: 1", "min_rows: one"
    )
    form.write_text(text, encoding="utf-8")
    status, out, err = run(capsys, "check", str(broken))
    assert status == 1
    assert out.splitlines() == [
        "forms/purchase_request.yaml:29:15 fields.lines.min_rows: expected a whole number",
        "forms/purchase_request.yaml:57:22 fields.lines.fields.amount.expr: "
        "unknown field 'prise' (did you mean 'price'?)",
    ]
    assert err.strip() == f"2 errors in {broken}"


def test_check_of_a_missing_path_says_so(workdir, capsys):
    status, _, err = run(capsys, "check", "nowhere")
    assert (status, err.strip()) == (1, "no such file or folder: nowhere")


def test_commands_refuse_a_missing_database_and_name_the_fix(workdir, capsys):
    status, _, err = run(capsys, "app", "list")
    assert status == 1
    assert "no database at instance/lowcode.db: run `lowcode init` first" in err


def test_install_then_list_apps(installed, capsys):
    status, out, _ = run(capsys, "app", "list")
    assert status == 0
    assert (
        "purchase  1.0.0    采购管理  monthly_spend, product, purchase_order, purchase_request, supplier"
        in out
    )


def test_install_refuses_a_broken_app_and_installs_nothing(installed, capsys):
    broken = installed / "broken.yaml"
    broken.write_text(
        "app: shop\nversion: 1.0.0\nname: Shop\n---\nform: item\nfields:\n  qty: {type: numbr}\n"
    )
    status, _, err = run(capsys, "app", "install", str(broken))
    assert status == 1
    assert (
        "broken.yaml:7:15 fields.qty.type: unknown field type 'numbr' (did you mean 'number'?)"
        in err
    )
    assert "nothing installed" in err
    assert "shop" not in run(capsys, "app", "list")[1]


def test_records_create_list_and_show(installed, capsys):
    status, out, _ = run(
        capsys,
        "records",
        "create",
        "purchase",
        "product",
        "--json",
        '[{"sku": "BOX-A4", "name": "A4 纸箱", "price": 19.99}, {"sku": "TAPE", "name": "胶带", "price": "3.5"}]',
    )
    assert status == 0
    assert out.splitlines() == [
        "created purchase/product #1: BOX-A4 A4 纸箱",
        "created purchase/product #2: TAPE 胶带",
    ]
    status, out, _ = run(
        capsys, "records", "list", "purchase", "product", "--where", "price>=10", "--sort", "-price"
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["id", "sku", "name", "unit", "price"]
    assert lines[2].split() == ["1", "BOX-A4", "A4", "纸箱", "箱", "¥19.99"]
    assert lines[-1] == "(1 of 1 records, page 1)"
    status, out, _ = run(capsys, "records", "show", "purchase", "product", "2")
    shown = json.loads(out)
    assert shown["values"]["price"] == "3.50"
    assert shown["created_by"] == "admin"


def test_records_create_reports_invalid_data_and_bad_json(installed, capsys):
    status, _, err = run(
        capsys,
        "records",
        "create",
        "purchase",
        "supplier",
        "--json",
        '{"name": "A", "mobile": "123"}',
    )
    assert status == 1
    assert err.startswith("record not saved:\n  mobile: ")
    status, _, err = run(capsys, "records", "create", "purchase", "supplier", "--json", '{"name": ')
    assert (status, err.strip()) == (1, "bad JSON in --json at line 1 column 10: Expecting value")


def test_records_list_explains_an_unknown_field_or_form(installed, capsys):
    where = ("records", "list", "purchase", "supplier", "--where", "nme=3")
    assert run(capsys, "--locale", "en", *where)[2].strip() == (
        "form supplier has no field 'nme' (did you mean 'name'?)"
    )
    assert run(capsys, *where)[2].strip() == "表单 supplier 没有字段 'nme'（是否想输入 'name'？）"
    assert run(capsys, "records", "list", "purchase", "suppliers")[2].strip() == (
        "app 'purchase' has no form 'suppliers' (did you mean 'supplier'?)"
    )


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("total>=100", ("total", "ge", "100")),
        ("supplier.name^=杭州", ("supplier.name", "startswith", "杭州")),
        ("state = active", ("state", "eq", "active")),
        ("name~paper", ("name", "contains", "paper")),
        ("qty!=3", ("qty", "ne", "3")),
        ("qty<3", ("qty", "lt", "3")),
    ],
)
def test_parse_filter(text, parsed):
    assert parse_filter(text) == parsed


def test_parse_filter_rejects_text_without_an_operator():
    with pytest.raises(CommandFailed) as caught:
        parse_filter("total")
    assert caught.value.status == 2


def test_tables_line_up_chinese_text():
    table = format_table(("name", "n"), [("纸箱", "1"), ("box", "22")])
    assert table.splitlines() == ["name  n", "----  --", "纸箱  1", "box   22"]


def test_demo_runs_end_to_end_as_a_console_command(workdir):
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "demo", "--no-serve"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "3 × 19.99 = 59.97 + 10 × 3.50 = 35.00" in result.stdout
    assert "lines[1].qty: 第 1 行：不能小于 1" in result.stdout
    # permissions at work: each dealer and manager sees exactly their rows
    assert "LEAK" not in result.stdout
    assert re.search(r"  yh\.boss   sees 1: SO-\d{4}-000002  \[ok\]", result.stdout)
    assert "hz.boss reads a product without its cost price: ['name', 'price', 'sku', 'unit']" in (
        result.stdout
    )
    assert "  hz.boss    杭州恒泰 (tier-1 dealer)" in result.stdout  # the printed demo logins
    assert (workdir / "instance" / "demo.db").exists()


def test_install_dry_run_lists_table_changes_and_rows_that_would_not_convert(installed, capsys):
    run(
        capsys,
        "records",
        "create",
        "purchase",
        "supplier",
        "--json",
        '{"name": "B", "contact": "12x"}',
    )
    upgraded = installed / "upgraded"
    shutil.copytree(PURCHASE, upgraded)
    form = upgraded / "forms" / "supplier.yaml"
    text = form.read_text(encoding="utf-8").replace(
        "  contact:\n    type: text", "  contact:\n    type: number"
    )
    form.write_text(text, encoding="utf-8")
    status, out, _ = run(capsys, "app", "install", str(upgraded), "--dry-run")
    assert status == 1
    assert "supplier: convert contact: text -> number, 1 rows checked" in out
    assert "  would not convert: record 1 contact = '12x': expected a number" in out
    status, _, err = run(capsys, "app", "install", str(upgraded))
    assert status == 1
    assert err.startswith("nothing installed: form purchase.supplier: 1 existing value(s)")
    status, out, _ = run(capsys, "app", "install", str(upgraded), "--allow-blank")
    assert status == 0
    assert "  supplier: published v2" in out
    shown = json.loads(run(capsys, "records", "show", "purchase", "supplier", "1")[1])
    assert shown["values"]["contact"] is None


def _nested_json(depth: int) -> str:
    return '{"name": ' + "[" * depth + "]" * depth + "}"


def test_deeply_nested_json_is_refused_with_one_message(installed, capsys, tmp_path):
    deep = _nested_json(100_000)
    status, _, err = run(capsys, "records", "create", "purchase", "supplier", "--json", deep)
    assert status == 1
    assert err.strip() == (
        "the JSON in --json is nested too deeply to be a record (arrays or objects inside "
        "each other hundreds of levels deep): give one object per record, with sub-table "
        "rows as a list of objects"
    )
    path = tmp_path / "deep.json"
    path.write_text(deep, encoding="utf-8")
    status, _, err = run(capsys, "records", "create", "purchase", "supplier", "--file", str(path))
    assert status == 1 and err.startswith(f"the JSON in {path} is nested too deeply")
    assert run(capsys, "--locale", "en", "records", "list", "purchase", "supplier")[1].endswith(
        "(0 of 0 records, page 1)\n"
    )


def test_nested_json_within_the_parser_limit_gets_the_fields_message(installed, capsys):
    status, _, err = run(
        capsys, "records", "create", "purchase", "supplier", "--json", _nested_json(500)
    )
    assert status == 1 and err.startswith("record not saved:\n  name: ")


def test_an_invalid_app_key_or_page_is_one_line_not_a_traceback(installed, capsys):
    status, _, err = run(
        capsys, "--locale", "en", "records", "create", "Purchase", "supplier", "--json", "{}"
    )
    assert status == 1
    assert err.strip().startswith("app_key must be a key (str) such as 'purchase'")
    status, _, err = run(
        capsys, "--locale", "en", "records", "list", "purchase", "supplier", "--page", "0"
    )
    assert (status, err.strip()) == (
        1,
        "page must be a whole number (int) from 1 to 1000000000; got 0",
    )


def _cli(*argv: str, block_driver: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m engine.cli ...`` in a subprocess; ``block_driver`` hides psycopg."""
    if block_driver:
        # psycopg set to None in sys.modules: importing it fails exactly as when it is
        # not installed (ModuleNotFoundError naming psycopg)
        code = (
            "import runpy, sys; sys.modules['psycopg'] = None; "
            f"sys.argv = ['lowcode', *{list(argv)!r}]; "
            "runpy.run_module('engine.cli', run_name='__main__')"
        )
        command = [sys.executable, "-c", code]
    else:
        command = [sys.executable, "-m", "engine.cli", *argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def test_a_missing_database_driver_is_one_line_with_the_install_hint(workdir):
    result = _cli(
        "--database", "postgresql://nobody@127.0.0.1:1/x", "app", "list", block_driver=True
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (
        "the driver for postgresql+psycopg://nobody@127.0.0.1:1/x is not installed: psycopg "
        "(pip install -e '.[postgres]')\n"
    )


def test_an_unreachable_database_server_is_one_line(workdir):
    result = _cli("--database", "postgresql://nobody@127.0.0.1:1/x", "app", "list")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(
        "cannot open the database postgresql+psycopg://nobody@127.0.0.1:1/x: "
    )
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
