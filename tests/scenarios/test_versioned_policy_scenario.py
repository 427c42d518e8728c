"""CHANNEL_DOMAIN C9 (mid-period policy change) through a real app, on SQLite and
PostgreSQL: ``lock_when``, ``new_version`` and a lookup that picks the version in force
on each segment's date (tests/scenarios/versioned_policy_app.yaml, docs/lookups.md).

Q3 2025, whole-amount tiers [0, 1M) 0%, [1M, 2M) 2%, [2M, ∞) 3%; v2 raises the top band to
3.5%. Basis 07-01..08-15 1,100,000.00 and 08-16..09-30 1,300,000.00 (2,400,000.00 reaches
the top band): with v2 from 2025-08-16 (override) 33,000.00 + 45,500.00 = 78,500.00;
without the override v2 starts 2025-10-01 and Q3 is 72,000.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.definitions import load_app_text
from engine.errors import RecordValidationError
from engine.service import SYSTEM_ACTOR, Actor

APP = Path(__file__).with_name("versioned_policy_app.yaml")
CLERK = Actor("li.na")
TIERS = [
    {"lower": "0.00", "upper": "1000000.00", "rate": "0"},
    {"lower": "1000000.00", "upper": "2000000.00", "rate": "0.02"},
    {"lower": "2000000.00", "upper": None, "rate": "0.03"},
]
V2_TIERS = [*TIERS[:2], {"lower": "2000000.00", "upper": None, "rate": "0.035"}]


@pytest.fixture
def service(make_service):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP.read_text(encoding="utf-8")))
    return service


def _update(service, record_id, changes):
    return service.update_record(CLERK, "policy_demo", "rebate_policy", record_id, changes)


def _v1(service):
    data = {"code": "VOL-Q", "valid_from": "2025-07-01", "tiers": TIERS}
    v1 = service.create_record(CLERK, "policy_demo", "rebate_policy", data)
    return _update(service, v1.id, {"state": "active"})


def _v2(service, v1, starts: str, *, override: bool):
    draft = service.lookups.new_version(CLERK, "policy_demo", "rebate_policy", v1.id, starts)
    assert (draft.values["version_no"], draft.values["state"]) == (Decimal(2), "draft")
    assert draft.values["valid_from"] == date.fromisoformat(starts)
    _update(service, draft.id, {"tiers": V2_TIERS, "mid_period_override": override})
    return _update(service, draft.id, {"state": "active"})


def _q3(service):
    data = {
        "policy_code": "VOL-Q",
        "segments": [
            {"from_date": "2025-07-01", "basis": "1100000.00"},
            {"from_date": "2025-08-16", "basis": "1300000.00"},
        ],
    }
    return service.create_record(CLERK, "policy_demo", "rebate_statement", data)


def test_c9_with_the_override_each_segment_takes_the_version_in_force(service):
    v1 = _v1(service)
    _v2(service, v1, "2025-08-16", override=True)
    closed = service.get_record(CLERK, "policy_demo", "rebate_policy", v1.id)
    assert closed.values["valid_to"] == date(2025, 8, 15)  # closed the day before v2
    statement = _q3(service)
    segments = statement.values["segments"]
    assert [s["policy_version"] for s in segments] == [Decimal(1), Decimal(2)]
    assert [s["amount"] for s in segments] == [Decimal("33000.00"), Decimal("45500.00")]
    assert statement.values["rebate"] == Decimal("78500.00")


def test_c9_without_the_override_v2_starts_next_quarter_and_q3_is_72000(service):
    v1 = _v1(service)
    draft = service.lookups.new_version(CLERK, "policy_demo", "rebate_policy", v1.id, "2025-08-16")
    _update(service, draft.id, {"tiers": V2_TIERS})
    with pytest.raises(RecordValidationError) as caught:
        _update(service, draft.id, {"state": "active"})
    [error] = caught.value.errors
    assert (error.field, error.code) == ("valid_from", "validation")
    assert error.message.startswith("新版本须从季度首日开始")
    _update(service, draft.id, {"valid_from": "2025-10-01"})
    _update(service, draft.id, {"state": "active"})
    statement = _q3(service)
    assert [s["policy_version"] for s in statement.values["segments"]] == [Decimal(1)] * 2
    assert statement.values["rebate"] == Decimal("72000.00")
    closed = service.get_record(CLERK, "policy_demo", "rebate_policy", v1.id)
    assert closed.values["valid_to"] == date(2025, 9, 30)


def test_an_active_version_is_locked_and_a_draft_is_not(service):
    v1 = _v1(service)
    with pytest.raises(RecordValidationError) as caught:
        _update(service, v1.id, {"tiers": V2_TIERS})
    [error] = caught.value.errors
    assert error.code == "locked"
    assert "请用“新版本”复制出一个草稿" in error.message
    draft = service.lookups.new_version(CLERK, "policy_demo", "rebate_policy", v1.id, "2025-10-01")
    assert draft.values["tiers"][2]["rate"] == Decimal("0.03")  # the copy keeps the tiers
    assert _update(service, draft.id, {"tiers": V2_TIERS}).values["tiers"][2]["rate"] == Decimal(
        "0.035"
    )


def test_a_date_before_any_version_is_the_lookups_error(service):
    _v1(service)
    data = {"policy_code": "VOL-Q", "segments": [{"from_date": "2025-06-30", "basis": "1.00"}]}
    with pytest.raises(RecordValidationError) as caught:
        service.create_record(CLERK, "policy_demo", "rebate_statement", data)
    messages = {(e.field, e.row, e.message) for e in caught.value.errors}
    assert ("segments.policy_version", 1, "第 1 行：该日期没有生效的政策版本") in messages


MACHINE = """
---
machine: policy_state
form: rebate_policy
field: state
transitions:
  - key: activate
    label: {zh-CN: 生效, en: Activate}
    from: draft
    to: active
  - key: end
    label: {zh-CN: 结束, en: End}
    from: active
    to: ended
"""


def test_a_status_machine_activates_and_ends_a_locked_version(make_service):
    """lock_when refuses edits, not the machine's transitions: activating closes v1, and
    an active version can still be ended by its button."""
    text = APP.read_text(encoding="utf-8").replace(
        "options: [draft, active], default: draft",
        "options: [draft, active, ended], default: draft",
    )
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(text + MACHINE))
    data = {"code": "VOL-Q", "valid_from": "2025-07-01", "tiers": TIERS}
    v1 = service.create_record(CLERK, "policy_demo", "rebate_policy", data)
    service.machines.transition(
        CLERK, "policy_demo", "rebate_policy", v1.id, "policy_state", "activate"
    )
    draft = service.lookups.new_version(CLERK, "policy_demo", "rebate_policy", v1.id, "2025-10-01")
    assert draft.values["state"] == "draft"
    service.machines.transition(
        CLERK, "policy_demo", "rebate_policy", draft.id, "policy_state", "activate"
    )
    closed = service.get_record(CLERK, "policy_demo", "rebate_policy", v1.id)
    assert (closed.values["state"], closed.values["valid_to"]) == ("active", date(2025, 9, 30))
    with pytest.raises(RecordValidationError):
        _update(service, v1.id, {"valid_to": "2025-12-31"})
    service.machines.transition(CLERK, "policy_demo", "rebate_policy", v1.id, "policy_state", "end")
    ended = service.get_record(CLERK, "policy_demo", "rebate_policy", v1.id)
    assert ended.values["state"] == "ended"
