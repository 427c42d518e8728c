"""CHANNEL_DOMAIN C12, C13 and C14 through a real app: normalized unique rules with a
status list and a protection window, on SQLite and PostgreSQL (docs/uniqueness.md).

The app is tests/scenarios/registration_app.yaml. D001's registration of
"杭州绿源(Green)环保科技有限责任公司" is approved 2025-03-15, so it is protected until
2025-06-12 (+89 days); other dealers' registrations of the same customer, spelled
differently, are refused with the author's message, which names the date and not the
dealer.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.definitions.normalizers import normalize
from engine.errors import DefinitionErrors, MigrationError, RecordValidationError
from engine.service import Actor

APP = Path(__file__).with_name("registration_app.yaml")
ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("register_once.py")
SHANGHAI = ZoneInfo("Asia/Shanghai")
CLERK = Actor("li.na")
FORM = ("registration_demo", "registration")

C12_NAME = "杭州绿源(Green)环保科技有限责任公司"
C12_KEY = "杭州绿源GREEN环保科技有限公司"
C12_FULLWIDTH = "杭州绿源（ＧＲＥＥＮ）环保科技\u3000有限公司 "
C12_OTHER = "杭州绿源环保科技有限公司"
USCC = "91330106MA2B3C4D5D"
BLOCKED = "该客户已被报备, 保护期至 2025-06-12"


@pytest.fixture
def service(make_service, clock):
    """The registration app, with D001's C12 registration approved 2025-03-15."""
    clock.set(2025, 3, 15, 10, 0)
    service = make_service()
    service.install_app(CLERK, load_app_text(APP.read_text(encoding="utf-8")))
    first = _register(service, "D001", C12_NAME, uscc=USCC)
    service.update_record(
        CLERK,
        *FORM,
        first.id,
        {"state": "保护中", "approved_on": "2025-03-15"},
        expected_version=first.version,
    )
    return service


def _register(service, dealer: str, name: str, **extra):
    data = {"dealer": dealer, "customer_name": name}
    if "uscc" in extra:
        data["customer_uscc"] = extra.pop("uscc")
    return service.create_record(CLERK, *FORM, {**data, **extra})


def _refusal(service, dealer: str, name: str, **extra) -> list[str]:
    with pytest.raises(RecordValidationError) as caught:
        _register(service, dealer, name, **extra)
    return [error.message for error in caught.value.errors]


def test_c12_company_name_key():
    steps = ["company_name"]
    assert normalize(C12_NAME, steps) == C12_KEY
    assert normalize(C12_FULLWIDTH, steps) == C12_KEY
    assert normalize(C12_OTHER, steps) == "杭州绿源环保科技有限公司"
    assert normalize("某某科技股份有限公司", steps) == "某某科技股份公司"
    # place names and 分公司 stay: a branch is another customer
    assert normalize("某某有限责任公司杭州分公司", steps) == "某某有限责任公司杭州分公司"


def test_c12_full_width_spelling_is_blocked_with_the_date_not_the_dealer(service, clock):
    clock.set(2025, 4, 2, 9, 30)
    [message] = _refusal(service, "D002", C12_FULLWIDTH)
    assert message == BLOCKED
    assert "D001" not in message and "绿源" not in message


def test_c12_a_different_key_is_accepted(service, clock):
    clock.set(2025, 4, 2, 9, 30)
    record = _register(service, "D002", C12_OTHER)
    assert record.values["customer_name"] == C12_OTHER


def test_c12_english_message(service, clock):
    clock.set(2025, 4, 2, 9, 30)
    with pytest.raises(RecordValidationError) as caught:
        service.create_record(
            Actor("tom", locale="en"), *FORM, {"dealer": "D002", "customer_name": C12_FULLWIDTH}
        )
    [error] = caught.value.errors
    assert error.message == "This customer is already registered, protected until 2025-06-12"
    assert error.code == "unique" and error.field == "customer_name"


def test_c13_uscc_trimmed_and_upper_cased_is_blocked(service, clock):
    clock.set(2025, 4, 3, 11, 0)
    [message] = _refusal(service, "D003", "另一个名字有限公司", uscc=" 91330106ma2b3c4d5d ")
    assert message == BLOCKED


def test_c13_bad_check_character_and_illegal_letter(service, clock):
    clock.set(2025, 4, 3, 11, 0)
    [message] = _refusal(service, "D003", "乙公司", uscc="91330106MA2B3C4D5X")
    assert message == "校验位错误：最后一位应为 D，请检查是否输错"
    [message] = _refusal(service, "D003", "丙公司", uscc="91330106MA2B3C4D5I")
    assert message == "含非法字符 I（统一社会信用代码不使用 I、O、S、V、Z）"


def test_c14_protected_through_the_last_day_then_free_before_any_sweep(service, clock):
    [record] = service.query_records(CLERK, *FORM).items
    assert record.values["protect_end"] == date(2025, 6, 12)  # 2025-03-15 + 89 days
    clock.set(2025, 6, 12, 23, 59)
    assert _refusal(service, "D002", C12_FULLWIDTH) == [BLOCKED]
    clock.set(2025, 6, 13, 0, 1)  # the holder is still 保护中: no sweep has run
    accepted = _register(service, "D002", C12_FULLWIDTH)
    assert accepted.values["state"] == "待审核"
    # and now D002 holds the key: a third dealer is refused (pending: no date yet)
    assert _refusal(service, "D004", C12_NAME) == ["该客户已被报备, 保护期至 审核后确定"]


def test_c14_utc_clock_d19(service, clock):
    # 2025-06-12T15:59:59Z is 23:59:59 in Shanghai: still protected
    clock.now = datetime(2025, 6, 12, 15, 59, 59, tzinfo=UTC)
    assert _refusal(service, "D002", C12_FULLWIDTH) == [BLOCKED]
    # 2025-06-12T16:00:00Z is 2025-06-13 00:00 in Shanghai: free
    clock.now = datetime(2025, 6, 12, 16, 0, tzinfo=UTC)
    assert _register(service, "D002", C12_FULLWIDTH).id


def test_c14_extension_once_to_july_12(service, clock):
    [record] = service.query_records(CLERK, *FORM).items
    clock.set(2025, 6, 1, 10, 0)
    extended = service.update_record(
        CLERK,
        *FORM,
        record.id,
        {"state": "已延期", "extension_count": 1},
        expected_version=record.version,
    )
    assert extended.values["protect_end"] == date(2025, 7, 12)
    with pytest.raises(RecordValidationError) as caught:
        service.update_record(CLERK, *FORM, record.id, {"extension_count": 2})
    assert [e.message for e in caught.value.errors] == ["最多延期1次"]
    clock.set(2025, 6, 20, 10, 0)  # past the first end: the extension protects
    assert _refusal(service, "D002", C12_FULLWIDTH) == ["该客户已被报备, 保护期至 2025-07-12"]


def test_a_record_that_stops_counting_releases_its_key(service, clock):
    [record] = service.query_records(CLERK, *FORM).items
    clock.set(2025, 4, 2, 9, 30)
    service.update_record(CLERK, *FORM, record.id, {"state": "已驳回"})
    assert _register(service, "D002", C12_FULLWIDTH).id


def test_the_sweep_releases_expired_keys(service, clock):
    clock.set(2025, 6, 13, 0, 5)
    released = service.records.sweep_unique_keys(CLERK, *FORM)
    assert released == 2  # D001's name key and USCC key
    assert service.records.sweep_unique_keys(CLERK, *FORM) == 0


def test_the_index_refuses_a_duplicate_key_written_past_the_check(service, database_url):
    """The backstop: the database itself refuses a second holder of a key."""
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            table = sa.Table("f_registration_demo_registration", sa.MetaData(), autoload_with=conn)
            [column] = [c.name for c in table.c if c.name.startswith("uk__")][:1]
            row = conn.execute(sa.select(table)).mappings().one()
            copy = {k: v for k, v in row.items() if k != "id"}
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(table.insert().values(copy))
        assert copy[column] == C12_KEY
    finally:
        engine.dispose()


def test_two_processes_register_the_same_customer_one_wins(service, database_url, tmp_path):
    """CHANNEL_DOMAIN D2: first committed wins; the other gets the message (5 rounds)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for round_no in range(5):
        name = f"并发测试{round_no}有限责任公司"
        go = tmp_path / f"go{round_no}"
        processes = [
            subprocess.Popen(
                [sys.executable, str(WORKER), database_url, dealer, name, str(go)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for dealer in ("D005", "D006")
        ]
        for process in processes:
            assert process.stdout.readline().strip() == "ready"
        go.write_text("go")
        results = []
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        outcomes = sorted(r["outcome"] for r in results)
        assert outcomes == ["blocked", "created"], results
        [blocked] = [r for r in results if r["outcome"] == "blocked"]
        assert blocked["messages"] == ["该客户已被报备, 保护期至 审核后确定"]
    names = [r.values["customer_name"] for r in service.query_records(CLERK, *FORM).items]
    assert sorted(n for n in names if n.startswith("并发")) == [
        f"并发测试{n}有限责任公司" for n in range(5)
    ]


def test_publishing_a_rule_over_existing_records_backfills_keys(make_service, clock):
    """An existing form gains a normalized rule: keys are computed for its records, and
    records that already share a key refuse the publish, listed."""
    clock.set(2025, 4, 1, 9, 0)
    text = APP.read_text(encoding="utf-8")
    head, _, tail = text.partition("unique:")
    plain = head + "validations:" + tail.partition("validations:")[2]
    service = make_service()
    service.install_app(CLERK, load_app_text(plain))
    _register(service, "D001", C12_NAME)
    _register(service, "D002", C12_OTHER)
    service.install_app(CLERK, load_app_text(text.replace("1.0.0", "1.0.1")))
    assert _refusal(service, "D003", C12_FULLWIDTH) == ["该客户已被报备, 保护期至 审核后确定"]


def test_the_docs_example_loads():
    text = (ROOT / "docs" / "uniqueness.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- example app -->\n```yaml\n(.*?)```", text, re.S)
    assert block is not None
    [form] = load_app_text(block.group(1)).forms
    name_rule, uscc_rule = form.unique
    assert name_rule.normalize == ("company_name",)
    assert name_rule.where == (("state", ("待审核", "保护中", "已延期", "冲突待裁决")),)
    assert name_rule.until == "protect_end"
    assert uscc_rule.normalize == ("uscc",) and uscc_rule.keyed


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"normalize": ["nfkc"]}, "unique[0].normalize[0]"),
        ({"where": {"until": "dealer"}}, "must be a date or datetime field"),
        ({"where": {"stat": ["x"]}}, "unknown field 'stat'"),
        ({"message": "{{ protect_end"}, "template syntax error"),
    ],
)
def test_definition_errors_say_where(rule, expected):
    text = APP.read_text(encoding="utf-8")
    head, _, tail = text.partition("unique:")
    broken = "unique:\n  - " + json.dumps({"fields": ["customer_name"], **rule}, ensure_ascii=False)
    source = head + broken + "\nvalidations:" + tail.partition("validations:")[2]
    with pytest.raises(DefinitionErrors) as caught:
        load_app_text(source, filename="registration_app.yaml")
    text = str(caught.value)
    assert expected in text and "registration_app.yaml:" in text, text


def test_publishing_a_rule_over_records_that_share_a_key_lists_them(make_service, clock):
    clock.set(2025, 4, 1, 9, 0)
    text = APP.read_text(encoding="utf-8")
    head, _, tail = text.partition("unique:")
    service = make_service()
    service.install_app(
        CLERK, load_app_text(head + "validations:" + tail.partition("validations:")[2])
    )
    first = _register(service, "D001", C12_NAME)
    second = _register(service, "D002", C12_FULLWIDTH)
    with pytest.raises(MigrationError) as caught:
        service.install_app(CLERK, load_app_text(text.replace("1.0.0", "1.0.1")))
    message = str(caught.value)
    assert "the normalized key of customer_name" in message, message
    assert C12_KEY in message and f"#{first.id}, #{second.id}" in message, message


def test_a_race_past_the_check_gets_the_same_message_from_the_index(service, clock, monkeypatch):
    """The check misses once (as if the other writer committed just after it): the
    insert meets the partial unique index, and the re-check names the same date."""
    from engine.service import writer

    clock.set(2025, 4, 2, 9, 30)
    real_check = writer.check_unique
    calls = []

    def check_that_misses_once(ctx, values, record_id, *status):
        calls.append(record_id)
        if len(calls) > 1:
            real_check(ctx, values, record_id, *status)

    monkeypatch.setattr(writer, "check_unique", check_that_misses_once)
    assert _refusal(service, "D002", C12_FULLWIDTH) == [BLOCKED]
    assert len(calls) == 2  # the check, then the re-check after the index refused
    monkeypatch.setattr(writer, "check_unique", real_check)
    assert service.query_records(CLERK, *FORM).total == 1


def test_an_edit_into_a_held_key_is_refused_too(service, clock):
    clock.set(2025, 4, 2, 9, 30)
    other = _register(service, "D002", C12_OTHER)
    with pytest.raises(RecordValidationError) as caught:
        service.update_record(CLERK, *FORM, other.id, {"customer_name": C12_FULLWIDTH})
    assert [e.message for e in caught.value.errors] == [BLOCKED]
    renamed = service.update_record(
        CLERK, *FORM, other.id, {"customer_name": "杭州绿源环保有限公司"}
    )
    assert renamed.version == 2


FLOWED_APP = """app: flowed_registrations
version: 1.0.0
name: {zh-CN: 报备, en: Registrations}
---
form: registration
fields:
  customer_name: {type: text, required: true}
unique:
  - fields: [customer_name]
    normalize: [company_name]
    where: {status: [in_approval, approved]}
    message: {zh-CN: "该客户已被报备（{{ status }}）", en: "Already registered ({{ status }})"}
---
flow: registration_flow
form: registration
nodes:
  - end: accepted
"""


def test_a_flow_moving_a_draft_into_a_counting_status_gets_the_rule_message(make_service):
    """A draft does not count; submitting it moves the system status into a counting
    one, which is where the duplicate shows: the rule's message, never the index's
    error, and nothing of the submit is written."""
    service = make_service()
    service.install_app(CLERK, load_app_text(FLOWED_APP))
    form = ("flowed_registrations", "registration")
    first = service.flows.save_draft(CLERK, *form, {"customer_name": C12_NAME})
    service.flows.submit_draft(CLERK, *form, first.id)
    assert service.get_record(CLERK, *form, first.id).status == "approved"
    second = service.flows.save_draft(CLERK, *form, {"customer_name": C12_FULLWIDTH})
    with pytest.raises(RecordValidationError) as caught:
        service.flows.submit_draft(CLERK, *form, second.id)
    assert [e.message for e in caught.value.errors] == ["该客户已被报备（approved）"]
    assert service.get_record(CLERK, *form, second.id).status == "draft"
    # a differently keyed draft goes through
    third = service.flows.save_draft(CLERK, *form, {"customer_name": C12_OTHER})
    service.flows.submit_draft(CLERK, *form, third.id)
    assert service.get_record(CLERK, *form, third.id).status == "approved"
