"""Managers N levels up and up to N, over the department closure table (DingTalk rules)."""

from __future__ import annotations

import pytest

from engine.errors import InvalidArgumentError
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR
from engine.store.org_managers import managers_at_level_of, managers_up_to_of

ORG = """
departments:
  - {code: hq, name: 总部, managers: [ceo]}
  - {code: sales, name: 销售中心, parent: hq, managers: [vp, vp2]}
  - {code: east, name: 华东销售部, parent: sales, managers: [east.head]}
  - {code: east_a, name: 华东一组, parent: east}
users:
  - {login: ceo, name: 总裁, department: hq}
  - {login: vp, name: 副总裁, department: sales}
  - {login: vp2, name: 副总裁二, department: sales}
  - {login: east.head, name: 华东负责人, department: east}
  - {login: rep, name: 销售, department: east}
  - {login: rep.led, name: 有直属上级的销售, department: east, leader: ceo}
  - {login: team, name: 一组成员, department: east_a}
  - {login: loner, name: 无部门}
"""


@pytest.fixture
def org(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    return service


def test_levels_up_from_the_main_department(org):
    up = org.org.managers_up_to
    assert up(SYSTEM_ACTOR, "rep", 5) == [(1, "east.head"), (2, "vp"), (2, "vp2"), (3, "ceo")]
    assert org.org.managers(SYSTEM_ACTOR, "rep", 2) == [(2, "vp"), (2, "vp2")]
    assert org.org.managers(SYSTEM_ACTOR, "rep", 4) == []


def test_a_department_without_managers_gives_an_empty_level(org):
    assert org.org.managers(SYSTEM_ACTOR, "team", 1) == []
    assert org.org.managers_up_to(SYSTEM_ACTOR, "team", 3) == [
        (2, "east.head"),
        (3, "vp"),
        (3, "vp2"),
    ]


def test_a_manager_of_their_own_department_starts_at_its_parent(org):
    assert org.org.managers_up_to(SYSTEM_ACTOR, "east.head", 3) == [
        (1, "vp"),
        (1, "vp2"),
        (2, "ceo"),
    ]
    assert org.org.managers_up_to(SYSTEM_ACTOR, "ceo", 3) == []


def test_a_direct_leader_replaces_level_one_only(org):
    assert org.org.managers_up_to(SYSTEM_ACTOR, "rep.led", 3) == [
        (1, "ceo"),
        (2, "vp"),
        (2, "vp2"),
        (3, "ceo"),
    ]
    assert org.org.managers(SYSTEM_ACTOR, "rep.led", 1) == [(1, "ceo")]


def test_inactive_managers_are_left_out(org):
    org.org.set_active(SYSTEM_ACTOR, "vp2", False)
    assert org.org.managers(SYSTEM_ACTOR, "rep", 2) == [(2, "vp")]
    org.org.set_active(SYSTEM_ACTOR, "ceo", False)
    assert org.org.managers(SYSTEM_ACTOR, "rep.led", 1) == []  # the leader is inactive


def test_a_user_without_department(org):
    assert org.org.managers_up_to(SYSTEM_ACTOR, "loner", 3) == []


def test_many_logins_in_one_query(org):
    with org._database.read() as conn:
        assert managers_at_level_of(conn, ["rep", "team", "east.head", "nobody"], 2) == [
            ("east.head", 2, "ceo"),
            ("rep", 2, "vp"),
            ("rep", 2, "vp2"),
            ("team", 2, "east.head"),
        ]
        assert managers_up_to_of(conn, ["rep.led", "vp"], 1) == [
            ("rep.led", 1, "ceo"),
            ("vp", 1, "ceo"),
        ]
        assert managers_up_to_of(conn, [], 3) == []


def test_the_level_is_checked(org):
    for level in (0, -1, 1.5, "2", True, 101):
        with pytest.raises(InvalidArgumentError):
            org.org.managers(SYSTEM_ACTOR, "rep", level)
