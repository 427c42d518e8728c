"""Permissions around the reads: loading grants, mapping roles at install, explaining a
decision, organisation values on records, file downloads, and the CLI's --user."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from engine.definitions import check_app_text, load_app_text
from engine.service import (
    SYSTEM_ACTOR,
    Actor,
    NotFoundError,
    PermissionDeniedError,
    RecordValidationError,
    load_app,
    read_org_file,
)
from engine.service.role_maps import RoleMappingError

ROOT = Path(__file__).resolve().parents[2]
ORG = ROOT / "examples" / "org.yaml"
ORDERS = ROOT / "examples" / "dealer_orders"


@pytest.fixture
def orders(make_service):
    """The example organisation with the dealer orders app and two products."""
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(ORG))
    service.install_app(SYSTEM_ACTOR, load_app(ORDERS))
    for sku, price, cost in (("TEA-250", "128.00", "71.50"), ("TEA-500", "238.00", "133.00")):
        service.create_record(
            Actor("admin"),
            "orders",
            "product",
            {"sku": sku, "name": sku, "price": price, "base_price": cost},
        )
    return service


def order(service, login, qty=2, **values):
    data = {"lines": [{"product": 1, "qty": qty}], **values}
    return service.create_record(Actor(login), "orders", "order", data)


# -- definitions -------------------------------------------------------------------------
APP = """
app: t
version: 1.0.0
name: T
roles:
  finance: 财务
  boss: {name: 老板, admin: true}
---
form: f
fields:
  label: text
  amount: money
  dept: {type: department}
  dept2: {type: department}
  owner: {type: user}
permissions:
"""


def errors(grants: str) -> list[str]:
    return [str(e) for e in check_app_text(APP + grants)]


def test_grants_load_with_defaults_resolved():
    app = load_app_text(APP + "  finance: {can: [read, export], rows: [own, {assigned: owner}]}\n")
    [grant] = app.forms[0].permissions
    assert grant.actions == ("read", "export")
    assert [(r.kind, r.fields) for r in grant.rows] == [("own", ()), ("assigned", ("owner",))]
    assert app.admin_roles == ("boss",)
    everything = load_app_text(APP + "  finance: {can: all}\n").forms[0].permissions[0]
    assert everything.actions == ("create", "read", "update", "delete", "export", "import")
    assert everything.all_rows


def test_a_rule_with_two_candidate_fields_asks_for_one():
    assert errors("  finance: {can: [read], rows: department_tree}\n") == [
        "app.yaml:17:32 permissions.finance.rows: row rule 'department_tree' reads a department "
        "field of the record and several fit (dept, dept2) (write {department_tree: FIELD})"
    ]


def test_unknown_roles_fields_and_wrong_field_types_are_located():
    found = errors(
        "  financ: {can: [read], fields: {amout: hidden}}\n"
        "  finance: {can: [read], rows: {dealer_tree: owner}}\n"
    )
    assert found == [
        "app.yaml:17:11 permissions.financ: role 'financ' is not declared in the app's roles "
        "(did you mean 'finance'?)",
        "app.yaml:17:34 permissions.financ.fields.amout: the form has no field 'amout' "
        "(did you mean 'amount'?)",
        "app.yaml:18:46 permissions.finance.rows.dealer_tree: row rule 'dealer_tree' reads a "
        "dealer field; 'owner' is a user field",
    ]


def test_an_expression_rule_must_have_a_sql_form():
    [problem] = errors('  finance: {can: [read], rows: {expr: "LEN(label) > 3"}}\n')
    assert "permissions.finance.rows.expr: the left side of a comparison" in problem
    assert (
        errors(
            '  finance: {can: [read], rows: {expr: "amount >= 100 and owner == CURRENT_USER()"}}\n'
        )
        == []
    )


def test_an_app_is_either_open_or_guarded_throughout():
    text = APP + "  finance: {can: [read]}\n---\nform: g\nfields:\n  a: text\n"
    assert [str(e) for e in check_app_text(text)] == [
        "app.yaml:19:7 form: form 'g' declares no permissions while 'f' does, so nobody but "
        "the app's admins could use it (add a permissions: section (permissions: {} keeps it "
        "to admins))"
    ]


def test_grants_survive_the_stored_definition(orders):
    stored = orders.get_form(SYSTEM_ACTOR, "orders", "order")
    assert stored.permissions == load_app(ORDERS).form("order").permissions


# -- role mapping ----------------------------------------------------------------------------
def test_a_granted_role_without_an_organisation_role_refuses_the_install(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(ORG))
    app = load_app_text(
        "app: shop\nversion: 1.0.0\nname: Shop\nroles:\n  buyer: 采购\n  unused: 无\n"
        "---\nform: item\nfields:\n  name: text\npermissions:\n  buyer: {can: all}\n"
    )
    with pytest.raises(RoleMappingError) as refused:
        service.install_app(Actor("admin", locale="en"), app)
    assert refused.value.problems == [
        "the app role 'buyer' maps to no organisation role: give --map-role buyer=ROLE "
        "(roles: admin, area_director, channel_manager, dealer_admin, dealer_sales, finance, "
        "gm, hr, legal, payables, region_manager, sales_ops)"
    ]
    assert service.list_apps(SYSTEM_ACTOR) == []
    with pytest.raises(RoleMappingError, match="no role 'nobody'"):
        service.install_app(Actor("admin", locale="en"), app, role_map={"buyer": "nobody"})
    # by name (销售运营 is sales_ops); the unused role stays unmapped
    service.install_app(Actor("admin"), app, role_map={"buyer": "销售运营"})
    ma_lan = service.create_record(Actor("ma.lan"), "shop", "item", {"name": "box"})
    assert ma_lan.values == {"name": "box"}
    with pytest.raises(PermissionDeniedError):
        service.create_record(Actor("zhao.min"), "shop", "item", {"name": "box"})
    # a later install keeps the mapping without being told again
    service.install_app(Actor("admin"), app)
    assert service.get_record(Actor("ma.lan"), "shop", "item", ma_lan.id).id == ma_lan.id


def test_only_organisation_admins_install_once_there_is_an_organisation(orders):
    with pytest.raises(PermissionDeniedError, match="admin"):
        orders.install_app(Actor("zhao.min", locale="en"), load_app(ORDERS))


def test_an_admin_app_role_sees_everything(orders):
    order(orders, "admin", dealer="DL-HZ-001", internal_note="x")
    assert orders.query_records(Actor("ma.lan"), "orders", "order").total == 1  # sales_ops
    assert orders.get_record(Actor("ma.lan"), "orders", "order", 1).values["internal_note"] == "x"


# -- organisation values ---------------------------------------------------------------------
def test_dealer_defaults_to_the_actor_and_records_carry_names(orders):
    placed = order(orders, "yh.boss")
    assert placed.values["dealer"] == "DL-HZ-001-01"
    assert placed.names == {"dealer": "余杭恒泰分销部"}
    listed = orders.query_records(Actor("zhao.min"), "orders", "order").items[0]
    assert listed.names == {"dealer": "余杭恒泰分销部"}


def test_an_unknown_dealer_code_is_refused_with_the_field(orders):
    with pytest.raises(RecordValidationError) as refused:
        order(orders, "admin", dealer="DL-XX-999")
    assert [(e.field, e.code, e.message) for e in refused.value.errors] == [
        ("dealer", "unknown", "组织中没有经销商 'DL-XX-999'")
    ]


# -- writes ------------------------------------------------------------------------------------
def test_hidden_and_readonly_fields_cannot_be_written(orders):
    placed = order(orders, "hz.boss")
    assert "internal_note" not in placed.values  # not even in what the write returns
    with pytest.raises(RecordValidationError) as refused:
        order(orders, "hz.boss", internal_note="cheap", review="approved")
    assert sorted(e.field for e in refused.value.errors) == ["internal_note", "review"]
    # a read-only value sent back unchanged is fine
    same = orders.update_record(
        Actor("hz.boss"), "orders", "order", placed.id, {"review": "pending", "remark": "ok"}
    )
    assert same.values["remark"] == "ok"


def test_a_record_outside_the_create_scope_is_refused_and_nothing_written(orders):
    with pytest.raises(PermissionDeniedError, match="超出"):
        order(orders, "hz.boss", dealer="DL-GD-001")
    assert orders.query_records(SYSTEM_ACTOR, "orders", "order").total == 0


def test_moving_a_record_out_of_ones_scope_is_refused(orders):
    placed = order(orders, "hz.boss")
    with pytest.raises(PermissionDeniedError):
        orders.update_record(
            Actor("hz.boss"), "orders", "order", placed.id, {"dealer": "DL-GD-001"}
        )
    assert orders.get_record(SYSTEM_ACTOR, "orders", "order", placed.id).values["dealer"] == (
        "DL-HZ-001"
    )


def test_a_disabled_user_cannot_act(orders):
    order(orders, "hz.boss")
    orders.org.set_active(SYSTEM_ACTOR, "hz.boss", False)
    with pytest.raises(PermissionDeniedError, match="已停用"):
        orders.query_records(Actor("hz.boss"), "orders", "order")
    with pytest.raises(PermissionDeniedError):
        order(orders, "hz.boss")


def test_export_needs_its_grant_and_keeps_the_scope(orders):
    for login in ("hz.boss", "gz.boss", "yh.boss"):
        order(orders, login)
    with pytest.raises(PermissionDeniedError):
        list(orders.records.export(Actor("hz.boss"), "orders", "order"))
    exported = list(orders.records.export(Actor("qian.hao"), "orders", "order", batch=1))
    assert sorted(r.values["dealer"] for r in exported) == ["DL-HZ-001", "DL-HZ-001-01"]


# -- explain -----------------------------------------------------------------------------------
def test_explain_says_what_and_why(orders):
    order(orders, "hz.boss")
    found = orders.explain_permissions(Actor("admin"), "orders", "order", "yh.boss", record_id=1)
    read = {v.action: v for v in found.actions}["read"]
    assert (read.allowed, read.rows, read.roles) == (
        True,
        "dealer_tree (dealer)",
        ("dealer_admin",),
    )
    assert read.record_in_scope is False
    assert found.hidden == ("internal_note",) and found.readonly == ("review",)
    text = orders.explain_permissions(
        Actor("admin"), "orders", "order", "qian.hao", record_id=1
    ).text()
    assert "read    yes  rows: region_tree (dealer) via region_manager; record #1 in scope" in text
    with pytest.raises(PermissionDeniedError):
        orders.explain_permissions(Actor("hz.boss"), "orders", "order", "gz.boss")


# -- files ---------------------------------------------------------------------------------------
FILES_APP = """
app: docs
version: 1.0.0
name: Docs
roles:
  dealer_admin: 经销商
---
form: contract
fields:
  dealer: {type: dealer, default_expr: "CURRENT_DEALER()"}
  scan: {type: attachment, accept: [pdf]}
  secret: {type: attachment, accept: [pdf]}
permissions:
  dealer_admin: {can: [create, read], rows: dealer_tree, fields: {secret: hidden}}
"""
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def test_a_file_is_readable_exactly_when_its_record_is(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(FILES_APP))
    scan = service.save_file(Actor("hz.boss"), "docs", "contract", "scan", "a.pdf", io.BytesIO(PDF))
    # unattached: only the uploader
    assert service.open_file(Actor("hz.boss"), "docs", "contract", scan["id"])[0]["name"] == "a.pdf"
    with pytest.raises(NotFoundError):
        service.open_file(Actor("yh.boss"), "docs", "contract", scan["id"])
    secret = service.save_file(SYSTEM_ACTOR, "docs", "contract", "secret", "s.pdf", io.BytesIO(PDF))
    record = service.create_record(
        SYSTEM_ACTOR,
        "docs",
        "contract",
        {"dealer": "DL-HZ-001-01", "scan": [scan], "secret": [secret]},
    )
    meta, path = service.open_file(Actor("hz.boss"), "docs", "contract", scan["id"])
    assert meta["record_id"] == record.id and path.read_bytes() == PDF
    assert (
        service.open_file(Actor("yh.boss"), "docs", "contract", scan["id"])[0]["id"] == scan["id"]
    )
    for who, file_id in (("gz.boss", scan["id"]), ("yh.boss", secret["id"]), ("yh.boss", "nope")):
        with pytest.raises(NotFoundError) as missing:
            service.open_file(Actor(who), "docs", "contract", file_id)
        assert str(missing.value) == f"docs.contract has no file {file_id!r}"


EXPR_APP = """
app: tickets
version: 1.0.0
name: Tickets
roles:
  finance: 财务
---
form: ticket
fields:
  kind: {type: select, options: [a, b, c]}
  amount: money
  owner: {type: user}
  helpers: {type: user, many: true}
permissions:
  finance:
    can: [read, update]
    rows:
      - {expr: "kind in ['a', 'b'] and amount >= 100"}
      - {expr: "kind not in ['a', 'b'] and owner == CURRENT_USER()"}
      - {assigned: helpers}
"""


def test_expression_and_list_rules_on_every_read_path(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_file(ORG))
    service.install_app(SYSTEM_ACTOR, load_app_text(EXPR_APP))
    rows = [
        {"kind": "a", "amount": "150.00"},  # 1: in, big enough
        {"kind": "b", "amount": "99.99"},  # 2: too small
        {"kind": "c", "amount": "1.00", "owner": "zhao.min"},  # 3: not in, mine
        {"kind": "c", "amount": "1.00", "owner": "qian.li"},  # 4: someone else's
        {"kind": "b", "amount": "5.00", "helpers": ["qian.li", "zhao.min"]},  # 5: assigned
        {"amount": "500.00"},  # 6: blank kind is "not in", owner blank
    ]
    for data in rows:
        service.create_record(SYSTEM_ACTOR, "tickets", "ticket", data)
    me = Actor("zhao.min")
    listed = service.query_records(me, "tickets", "ticket", sort="id").items
    assert [r.id for r in listed] == [1, 3, 5]
    for record_id in range(1, 7):
        if record_id in (1, 3, 5):
            assert service.get_record(me, "tickets", "ticket", record_id).id == record_id
            service.update_record(me, "tickets", "ticket", record_id, {"amount": "150.00"})
        else:
            with pytest.raises(NotFoundError):
                service.get_record(me, "tickets", "ticket", record_id)
            with pytest.raises(NotFoundError):
                service.update_record(me, "tickets", "ticket", record_id, {"amount": "1.00"})
