"""API token use on the request path: one read, the moment of use written at most once a
minute, and the same refusals as before (revoked token, disabled user, changed roles)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

ORG = """
departments:
  - {code: hq, name: HQ}
roles:
  - {code: admin, name: Admin, members: [boss]}
  - {code: finance, name: Finance, members: [li]}
users:
  - {login: boss, name: Boss, department: hq}
  - {login: li, name: Li, department: hq}
"""
BOSS = Actor("boss")


@pytest.fixture
def org(make_service):
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    return service


def _writes_during(service, action) -> list[str]:
    """The UPDATE/INSERT statements sent while ``action`` runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            seen.append(statement)

    engine = service._database.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def test_the_moment_of_use_is_written_at_most_once_a_minute(org, clock):
    token = org.org.create_token(BOSS, "li", "erp")
    first = clock.now
    actor = org.org.actor_for_token(token)
    assert (actor.user_id, actor.roles, actor.department) == ("li", frozenset({"finance"}), "hq")
    assert org.org.list_tokens(BOSS, "li")[0].last_used_at == first
    clock.now = first + timedelta(seconds=59)
    assert _writes_during(org, lambda: org.org.actor_for_token(token)) == []
    assert org.org.list_tokens(BOSS, "li")[0].last_used_at == first
    clock.now = first + timedelta(minutes=1)
    writes = _writes_during(org, lambda: org.org.actor_for_token(token))
    assert len(writes) == 1 and "org_api_tokens" in writes[0]
    assert org.org.list_tokens(BOSS, "li")[0].last_used_at == first + timedelta(minutes=1)
    # a clock set back (another process's clock) writes the moment it sees
    clock.now = first - timedelta(hours=1)
    org.org.actor_for_token(token)
    assert org.org.list_tokens(BOSS, "li")[0].last_used_at == first - timedelta(hours=1)


def test_refusals_and_role_changes_count_at_once(org, clock):
    token = org.org.create_token(BOSS, "li", "erp")
    assert org.org.actor_for_token(token).roles == frozenset({"finance"})
    # another role, within the minute (the cached principal follows the organisation)
    org.org.add_role(BOSS, "li", "admin")
    assert org.org.actor_for_token(token).roles == frozenset({"admin", "finance"})
    org.org.set_active(BOSS, "li", False)
    assert org.org.actor_for_token(token) is None  # disabled, within the minute
    org.org.set_active(BOSS, "li", True)
    assert org.org.actor_for_token(token) is not None
    [listed] = org.org.list_tokens(BOSS, "li")
    assert org.org.revoke_token(BOSS, "li", listed.id) is True
    assert org.org.actor_for_token(token) is None  # revoked, within the minute
    assert org.org.actor_for_token(token[:-1] + "x") is None
    assert org.org.actor_for_token("lc_" + "A" * 300) is None
