"""The organisation through the service: loading, closure tables, users, passwords, tokens."""

from __future__ import annotations

import hashlib
import json

import pytest
import sqlalchemy as sa

from engine.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from engine.org.org_file import read_org_file, read_org_text
from engine.service import SYSTEM_ACTOR, Actor
from engine.store.org import org_generation

ORG = """
departments:
  - {code: hq, name: 总部, managers: [boss]}
  - {code: sales, name: 销售中心, parent: hq, managers: [chen]}
  - {code: east, name: 华东销售部, parent: sales, managers: [li]}
  - {code: south, name: 华南销售部, parent: sales}
roles:
  - {code: admin, name: 管理员, members: [boss]}
  - {code: finance, name: 财务, members: [zhao]}
regions:
  - {code: cn, name: 全国}
  - {code: zj, name: 浙江, parent: cn}
  - {code: hz, name: 杭州, parent: zj, managers: [li]}
dealers:
  - {code: D1, name: 恒泰, region: hz, sales_rep: wu}
  - {code: D1-01, name: 余杭恒泰, parent: D1, region: hz, sales_rep: wu}
users:
  - {login: boss, name: 周总, department: hq}
  - {login: chen, name: 陈晓, department: sales}
  - {login: li, name: 李明, department: east}
  - {login: wu, name: 吴刚, department: east}
  - {login: zhao, name: 赵敏, department: south}
  - {login: d1.boss, name: 王总, kind: external, dealer: D1}
"""
BOSS = Actor("boss")


def _rows(service, sql):
    with service._database.read() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.text(sql)))


def _details(service, action=None):
    """Every audit detail of the organisation as JSON text (PostgreSQL hands back dicts)."""
    where = f" and action = '{action}'" if action else ""
    rows = _rows(service, f"select id, detail from audit_log where form = 'org'{where}")
    return [d if isinstance(d, str) else json.dumps(d, ensure_ascii=False) for _, d in rows]


def _audits(service):
    return _rows(service, "select action from audit_log where form = 'org'")


def _generation(service):
    with service._database.read() as conn:
        return org_generation(conn)


@pytest.fixture
def org(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    return service


def test_loading_twice_changes_nothing_the_second_time(make_service):
    service = make_service()
    first = service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    assert first.changed and first.users.created == 6 and first.departments.created == 4
    generation, audits = _generation(service), _audits(service)
    assert audits == [("org.load",)]
    second = service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    assert not second.changed
    assert second.users.unchanged == 6 and second.dealers.unchanged == 2
    assert (_generation(service), _audits(service)) == (generation, audits)


def test_the_example_organisation_loads_twice(make_service):
    service = make_service()
    snapshot = read_org_file("examples/org.yaml")
    assert service.org.load(SYSTEM_ACTOR, snapshot).changed
    assert not service.org.load(SYSTEM_ACTOR, snapshot).changed


def test_closure_tables_follow_re_parenting(org):
    paths = "select ancestor, descendant, depth from org_department_paths"
    assert ("hq", "east", 2) in _rows(org, paths)
    moved = ORG.replace(
        "{code: east, name: 华东销售部, parent: sales", "{code: east, name: 华东销售部, parent: hq"
    )
    summary = org.org.load(BOSS, read_org_text(moved))
    assert (summary.departments.updated, summary.departments.unchanged) == (1, 3)
    assert _rows(org, paths) == sorted(
        [
            ("hq", "hq", 0),
            ("sales", "sales", 0),
            ("east", "east", 0),
            ("south", "south", 0),
            ("hq", "sales", 1),
            ("hq", "east", 1),
            ("sales", "south", 1),
            ("hq", "south", 2),
        ]
    )
    assert ("D1", "D1-01", 1) in _rows(org, "select * from org_dealer_paths")
    assert ("cn", "hz", 2) in _rows(org, "select * from org_region_paths")


def test_links_are_replaced_and_absent_entities_left_alone(org):
    changed = """
roles:
  - {code: finance, name: 财务, members: [li]}
users:
  - {login: li, name: 李明, email: li@example.com}
"""
    summary = org.org.load(BOSS, read_org_text(changed))
    assert (summary.roles.updated, summary.users.updated) == (1, 1)
    assert _rows(org, "select role, login from org_role_members where role = 'finance'") == [
        ("finance", "li")
    ]
    # an entity of the file is described completely: li's department is cleared
    li = org.org.user(BOSS, "li")
    assert (li.department, li.departments, li.email) == (None, (), "li@example.com")
    # zhao is not in the file: still there, still in south
    assert org.org.user(BOSS, "zhao").department == "south"


def test_only_admins_load_and_change_users(org):
    with pytest.raises(PermissionDeniedError):
        org.org.load(Actor("li"), read_org_text(ORG))
    with pytest.raises(PermissionDeniedError):
        org.org.set_active(Actor("zhao"), "li", False)
    with pytest.raises(PermissionDeniedError):
        org.org.user(Actor("li"), "zhao")
    assert org.org.user(Actor("li"), "li").name == "李明"  # one's own record
    # an actor the organisation does not know acts with the roles it claims
    assert org.org.set_active(Actor("script", frozenset({"admin"})), "li", False)
    with pytest.raises(PermissionDeniedError):
        org.org.set_active(Actor("script"), "li", True)
    org.org.set_active(BOSS, "boss", False)
    with pytest.raises(PermissionDeniedError):  # a disabled admin is no admin
        org.org.set_active(BOSS, "boss", True)


def test_create_and_update_users_with_audit(org):
    user = org.org.create_user(
        BOSS, "qian", "钱浩", department="east", email="q@example.com", roles=["finance"]
    )
    assert (user.kind, user.departments, user.roles, user.has_password) == (
        "internal",
        ("east",),
        ("finance",),
        False,
    )
    external = org.org.create_user(BOSS, "d1.sales", "小张", kind="external", dealer="D1")
    assert external.dealer == "D1"
    changed = org.org.update_user(BOSS, "qian", department="south", leader="boss")
    assert (changed.department, changed.leader) == ("south", "boss")
    with pytest.raises(NotFoundError):
        org.org.create_user(BOSS, "x", "X", department="nowhere")
    with pytest.raises(InvalidArgumentError):
        org.org.create_user(BOSS, "y", "Y", kind="external")  # no dealer
    with pytest.raises(InvalidArgumentError):
        org.org.create_user(BOSS, "bad login", "Z")
    actions = _audits(org)
    assert actions.count(("user.create",)) == 2 and ("user.update",) in actions
    assert "south" in _details(org, "user.update")[0]


def test_passwords(org):
    generation = _generation(org)
    org.org.set_password(BOSS, "li", "correct horse")
    assert _generation(org) == generation + 1
    stored = _rows(org, "select password_hash from org_users where login = 'li'")[0][0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    actor = org.org.authenticate("li", "correct horse")
    assert actor is not None and actor.user_id == "li" and actor.department == "east"
    assert org.org.authenticate("li", "wrong horse") is None
    assert org.org.authenticate("nobody", "correct horse") is None
    assert org.org.authenticate("chen", "correct horse") is None  # no password set
    org.org.set_active(BOSS, "li", False)
    assert org.org.authenticate("li", "correct horse") is None
    with pytest.raises(InvalidArgumentError) as refused:
        org.org.set_password(BOSS, "li", "short")
    assert "short" not in str(refused.value)
    details = " ".join(_details(org))
    assert "correct horse" not in details and "$argon2" not in details


def test_a_weak_hash_is_replaced_on_sign_in(org):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("correct horse")
    with org._database.write() as conn:
        conn.execute(
            sa.text("update org_users set password_hash = :h where login = 'li'"), {"h": weak}
        )
    assert org.org.authenticate("li", "correct horse") is not None
    stored = _rows(org, "select password_hash from org_users where login = 'li'")[0][0]
    assert stored != weak and org.org.authenticate("li", "correct horse") is not None


def test_tokens(org, clock):
    token = org.org.create_token(BOSS, "li", "erp")
    assert token.startswith("lc_") and len(token) > 40
    stored = _rows(org, "select token_hash, prefix from org_api_tokens")
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), token[:10])]
    [listed] = org.org.list_tokens(BOSS, "li")
    assert (listed.name, listed.prefix, listed.last_used_at, listed.active) == (
        "erp",
        token[:10],
        None,
        True,
    )
    clock.set(2026, 1, 6, 9, 0)
    actor = org.org.actor_for_token(token)
    assert actor is not None and actor.user_id == "li"
    assert org.org.list_tokens(BOSS, "li")[0].last_used_at == clock.now
    assert org.org.actor_for_token(token[:-1] + "x") is None
    assert org.org.actor_for_token("not a token") is None
    org.org.set_active(BOSS, "li", False)
    assert org.org.actor_for_token(token) is None  # disabled user
    org.org.set_active(BOSS, "li", True)
    assert org.org.actor_for_token(token) is not None
    assert org.org.revoke_token(BOSS, "li", listed.id) is True
    assert org.org.revoke_token(BOSS, "li", listed.id) is False
    assert org.org.actor_for_token(token) is None
    with pytest.raises(NotFoundError):
        org.org.revoke_token(BOSS, "chen", listed.id)
    actions = _audits(org)
    assert ("token.create",) in actions and actions.count(("token.revoke",)) == 1
    details = " ".join(_details(org))
    assert token not in details and stored[0][0] not in details


def test_no_change_writes_no_audit(org):
    before = (_audits(org), _generation(org))
    assert org.org.set_active(BOSS, "li", True) is False
    org.org.update_user(BOSS, "li", name="李明")
    assert (_audits(org), _generation(org)) == before


def test_ensure_admin_only_in_an_empty_organisation(make_service):
    empty = make_service()
    assert empty.org.ensure_admin(SYSTEM_ACTOR) is True
    admin = empty.org.user(SYSTEM_ACTOR, "admin")
    assert admin.roles == ("admin",) and not admin.has_password
    assert empty.org.ensure_admin(SYSTEM_ACTOR) is False
    assert _audits(empty) == [("user.create",)]
