"""The CLI acts as a login of the organisation, maps roles at install and explains permissions."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ORG = str(ROOT / "examples" / "org.yaml")
ORDERS = str(ROOT / "examples" / "dealer_orders")


@pytest.fixture
def organised(workdir, cli):
    assert cli("init")[0] == 0
    assert cli("org", "load", ORG)[0] == 0
    assert cli("app", "install", ORDERS)[0] == 0
    status, _, err = cli(
        "records",
        "create",
        "orders",
        "product",
        "--json",
        '{"sku": "TEA", "name": "龙井", "price": "10.00", "base_price": "6.00"}',
    )
    assert status == 0, err
    return workdir


def test_user_must_be_a_login_of_the_organisation(organised, cli):
    status, _, err = cli("--user", "nobody", "records", "list", "orders", "order")
    assert status == 1
    assert "组织中没有用户 nobody" in err and "lowcode user create nobody" in err


def test_a_dealer_lists_its_orders_by_dealer_name(organised, cli):
    line = '{"lines": [{"product": 1, "qty": 3}]}'
    for login in ("hz.boss", "gz.boss"):
        assert cli("--user", login, "records", "create", "orders", "order", "--json", line)[0] == 0
    status, out, _ = cli("--user", "hz.boss", "records", "list", "orders", "order")
    assert status == 0
    assert "杭州恒泰商贸有限公司" in out and "广州粤华" not in out
    assert "(1 of 1 records, page 1)" in out
    status, _, err = cli("--user", "hz.boss", "records", "show", "orders", "order", "2")
    assert status == 1 and "has no record 2" in err


def test_install_maps_roles_or_says_which_are_missing(organised, cli):
    app = organised / "shop.yaml"
    app.write_text(
        "app: shop\nversion: 1.0.0\nname: Shop\nroles:\n  buyer: 采购\n---\nform: item\n"
        "fields:\n  name: text\npermissions:\n  buyer: {can: all}\n",
        encoding="utf-8",
    )
    status, _, err = cli("app", "install", str(app))
    assert status == 1
    assert "应用角色 'buyer' 没有对应的组织角色" in err and "nothing installed" in err
    status, _, err = cli("app", "install", str(app), "--map-role", "buyer")
    assert status == 2 and "APP_ROLE=ORG_ROLE" in err
    assert cli("app", "install", str(app), "--map-role", "buyer=财务")[0] == 0
    status, _, err = cli(
        "--user", "zhao.min", "records", "create", "shop", "item", "--json", '{"name": "x"}'
    )
    assert status == 0, err


def test_permissions_explain(organised, cli):
    status, out, _ = cli("permissions", "explain", "orders", "product", "--as", "hz.sales")
    assert status == 0
    assert "read    yes  rows: all via dealer_sales" in out
    assert "create  no" in out
    assert "hidden fields: base_price" in out


def test_export_writes_the_export_scope_without_hidden_fields(organised, cli):
    line = '{"lines": [{"product": 1, "qty": 3}]}'
    for login in ("hz.boss", "yh.boss", "gz.boss"):
        assert cli("--user", login, "records", "create", "orders", "order", "--json", line)[0] == 0
    status, out, _ = cli("--user", "qian.hao", "records", "export", "orders", "order")
    assert status == 0
    rows = out.strip().splitlines()
    assert (
        rows[0]
        == "id,order_no,dealer,order_date,total,remark,internal_note,review,stage,tracking_no"
    )
    assert sorted(r.split(",")[2] for r in rows[1:]) == ["余杭恒泰分销部", "杭州恒泰商贸有限公司"]
    status, _, err = cli("--user", "hz.boss", "records", "export", "orders", "order")
    assert status == 1 and "没有导出「订单」数据的权限" in err
    status, out, _ = cli("records", "export", "orders", "product", "--format", "jsonl")
    assert status == 0 and '"base_price": "6.00"' in out
