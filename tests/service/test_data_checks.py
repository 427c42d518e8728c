"""The data check: existing records against a new or stricter rule, at publish and later."""

from __future__ import annotations

import pytest

from engine.definitions import load_app_text
from engine.service import Actor, DataCheckError, MigrationError

ADMIN = Actor("admin", locale="en")
WANG = Actor("wang.fang")  # zh-CN

LEAVE_V1 = """
app: leave
version: 1.0.0
name: Leave
---
form: leave_request
name: Leave request
title: "{{ who }}"
fields:
  who:        {type: text, required: true}
  leave_type: {type: select, options: [annual, sick]}
  start_date: {type: date, required: true}
  end_date:   {type: date, required: true}
  days:       {type: formula, expr: "DATEDIF(start_date, end_date, 'day') + 1", result: number, precision: 0}
  reason:     {type: text}
  note:       {type: text, default: "none"}
"""
END_AFTER_START = """validations:
  - expr: "end_date >= start_date"
    field: end_date
    message: {zh-CN: 结束日期不能早于开始日期, en: The last day cannot be before the first day}
"""
AT_MOST_30 = """  - expr: "days <= 30"
    field: end_date
    message: {zh-CN: 单次请假不超过 30 天, en: One request covers at most 30 days}
"""
#: who, type, start, end, reason: #2 and #4 end before they start, #3 lasts 60 days,
#: #5 has no reason
REQUESTS = [
    ("li", "annual", "2026-01-01", "2026-01-02", "rest"),
    ("wu", "annual", "2026-01-05", "2026-01-03", "trip"),
    ("he", "sick", "2026-01-01", "2026-03-01", "flu"),
    ("xu", "annual", "2026-02-05", "2026-02-01", "home"),
    ("ma", "sick", "2026-01-01", "2026-01-01", None),
]


def _app(text: str, version: str = "1.1.0"):
    return load_app_text(text.replace("version: 1.0.0", f"version: {version}"))


def _form(text: str):
    return _app(text).form("leave_request")


@pytest.fixture
def leave(make_service):
    """The leave app, v1 without rules, and the five requests of REQUESTS (#1..#5)."""
    service = make_service()
    service.install_app(ADMIN, load_app_text(LEAVE_V1))
    for who, kind, start, end, reason in REQUESTS:
        service.create_record(
            ADMIN,
            "leave",
            "leave_request",
            {
                "who": who,
                "leave_type": kind,
                "start_date": start,
                "end_date": end,
                "reason": reason,
            },
        )
    return service


def _lines(failures, would=False):
    return [f.describe(would=would) for f in failures]


def test_the_dry_run_lists_the_records_a_new_validation_would_fail(leave):
    failures = leave.check_form_change(ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START))
    assert _lines(failures, would=True) == [
        "2 records would fail end_date >= start_date: #2, #4 "
        "(The last day cannot be before the first day)"
    ]
    (failure,) = failures
    assert (failure.kind, failure.record_ids, failure.blocking) == ("validation", (2, 4), False)
    # a dry run changes nothing
    assert leave.get_form(ADMIN, "leave", "leave_request").validations == ()


def test_publishing_reports_them_and_publishes_anyway(leave):
    result = leave.publish_form(ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START))
    assert result.changed and result.version_no == 2
    assert _lines(result.data_check) == [
        "2 records fail end_date >= start_date: #2, #4 "
        "(The last day cannot be before the first day)"
    ]
    assert len(leave.get_form(ADMIN, "leave", "leave_request").validations) == 1


def test_a_strict_publish_refuses_and_changes_nothing(leave):
    with pytest.raises(DataCheckError) as caught:
        leave.publish_form(ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START), strict=True)
    assert str(caught.value) == (
        "not published: existing records break new rules:\n"
        "  - leave.leave_request: 2 records would fail end_date >= start_date: #2, #4 "
        "(The last day cannot be before the first day)\n"
        "Fix those records first, or publish without strict to accept them."
    )
    assert [f.record_ids for f in caught.value.failures] == [(2, 4)]
    assert isinstance(caught.value, MigrationError)
    assert leave.get_form(ADMIN, "leave", "leave_request").validations == ()


def test_a_strict_install_refuses_and_keeps_the_installed_version(leave):
    with pytest.raises(DataCheckError, match="#2, #4"):
        leave.install_app(ADMIN, _app(LEAVE_V1 + END_AFTER_START), strict=True)
    assert leave.get_app(ADMIN, "leave").version == "1.0.0"
    assert leave.get_form(ADMIN, "leave", "leave_request").validations == ()


def test_install_reports_the_failures_as_warnings_in_its_summary(leave):
    report = leave.install_app(ADMIN, _app(LEAVE_V1 + END_AFTER_START))
    assert report.summary().splitlines() == [
        "app leave 1.0.0 -> 1.1.0",
        "  leave_request: published v2",
        "    warning: 2 records fail end_date >= start_date: #2, #4 "
        "(The last day cannot be before the first day)",
    ]


def test_check_data_lists_the_same_records_later_until_they_are_fixed(leave):
    leave.publish_form(ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START))
    assert _lines(leave.check_data(ADMIN, "leave")) == [
        "2 records fail end_date >= start_date: #2, #4 "
        "(The last day cannot be before the first day)"
    ]
    leave.update_record(ADMIN, "leave", "leave_request", 2, {"end_date": "2026-01-06"})
    assert [f.record_ids for f in leave.check_data(ADMIN, "leave", "leave_request")] == [(4,)]
    leave.delete_record(ADMIN, "leave", "leave_request", 4)
    assert leave.check_data(ADMIN, "leave") == []


def test_messages_follow_the_actors_language(leave):
    failures = leave.check_form_change(WANG, "leave", _form(LEAVE_V1 + END_AFTER_START))
    assert [f.message for f in failures] == ["结束日期不能早于开始日期"]


def test_records_that_already_broke_a_rule_do_not_block_a_later_strict_publish(leave):
    leave.publish_form(ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START))
    later = LEAVE_V1.replace("  note:", "  place:      {type: text}\n  note:") + END_AFTER_START
    result = leave.publish_form(ADMIN, "leave", _form(later), strict=True)
    assert (result.version_no, result.data_check) == (3, ())


def test_a_stricter_expression_is_a_new_rule(leave):
    leave.publish_form(ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START))
    stricter = END_AFTER_START.replace("end_date >= start_date", "end_date > start_date")
    failures = leave.check_form_change(ADMIN, "leave", _form(LEAVE_V1 + stricter))
    # #5 starts and ends on one day; #2 and #4 break the new rule as they broke the old one
    assert [(f.rule, f.record_ids) for f in failures] == [("end_date > start_date", (2, 4, 5))]


def test_two_validations_on_one_field_are_told_apart(leave):
    failures = leave.check_form_change(
        ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START + AT_MOST_30)
    )
    # the formula days is recomputed from the stored dates: #3 covers 60 days
    assert [(f.rule, f.record_ids) for f in failures] == [
        ("end_date >= start_date", (2, 4)),
        ("days <= 30", (3,)),
    ]


def test_a_new_required_flag_and_required_if_list_the_blank_records(leave):
    text = LEAVE_V1.replace(
        "  reason:     {type: text}",
        '  reason:     {type: text, required: true, default: "n/a"}\n'
        "  doctor:     {type: text, required_if: \"leave_type == 'sick'\"}",
    )
    failures = leave.check_form_change(ADMIN, "leave", _form(text))
    # reason gains a default, yet #5 keeps its blank: defaults fill new records only, so
    # the stored values are what is judged; #3 and #5 are sick leave without a doctor
    assert _lines(failures, would=True) == [
        "1 record would fail required: reason: #5 ('reason' is required)",
        "2 records would fail required: doctor: #3, #5 ('doctor' is required)",
    ]
    assert [f.kind for f in failures] == ["required", "required"]


def test_a_stricter_field_option_lists_the_values_that_no_longer_fit(make_service):
    text = """
app: shop
version: 1.0.0
name: Shop
---
form: item
name: Item
fields:
  sku: {type: text}
  qty: {type: number, precision: 0}
"""
    service = make_service()
    service.install_app(ADMIN, load_app_text(text))
    for qty in (5, 0, 12, -1):
        service.create_record(ADMIN, "shop", "item", {"sku": "A", "qty": qty})
    new = load_app_text(text.replace("precision: 0}", "precision: 0, min: 1}")).form("item")
    failures = service.check_form_change(ADMIN, "shop", new)
    assert _lines(failures, would=True) == [
        "2 records would fail min: qty: #2, #4 (must be at least 1)"
    ]


SHOP = """
app: shop
version: 1.0.0
name: Shop
---
form: order
name: Order
fields:
  customer: {type: text}
  ref:      {type: text}
  lines:
    type: subtable
    fields:
      item: {type: text}
      qty:  {type: number, precision: 0}
"""


@pytest.fixture
def shop(make_service):
    """Six orders: ref A x3 (customer c1, c1, c2), B, and two without a ref."""
    service = make_service()
    service.install_app(ADMIN, load_app_text(SHOP))
    for customer, ref in [
        ("c1", "A"),
        ("c1", "A"),
        ("c2", "B"),
        ("c2", "A"),
        ("c3", None),
        ("c3", None),
    ]:
        lines = [{"item": "box", "qty": 1}, {"item": None, "qty": 2}] if customer == "c2" else []
        service.create_record(
            ADMIN, "shop", "order", {"customer": customer, "ref": ref, "lines": lines}
        )
    return service


def _shop_form(extra: str):
    return load_app_text(SHOP.replace("1.0.0", "2.0.0") + extra).form("order")


def test_a_new_unique_rule_over_repeated_values_is_listed_and_refused_first(shop):
    form = _shop_form("unique:\n  - fields: [ref]\n  - fields: [customer, ref]\n")
    failures = shop.check_form_change(ADMIN, "shop", form)
    # blanks never repeat: #5 and #6 share no value
    assert _lines(failures, would=True) == [
        "3 records would fail unique: ref: #1, #2, #4 (these records repeat the values of ref)",
        "2 records would fail unique: customer + ref: #1, #2 "
        "(these records repeat the values of customer, ref)",
    ]
    assert all(f.blocking for f in failures)
    # even without strict: the database could not enforce the rule, and the check says why
    with pytest.raises(DataCheckError) as caught:
        shop.publish_form(ADMIN, "shop", form)
    assert str(caught.value).endswith(
        "Existing records repeat the values of customer + ref; ref, so the new unique rule "
        "cannot be enforced: make those records unique first."
    )
    assert shop.get_form(ADMIN, "shop", "order").unique == ()


def test_a_unique_rule_over_distinct_values_publishes_cleanly(shop):
    shop.delete_record(ADMIN, "shop", "order", 2)
    shop.delete_record(ADMIN, "shop", "order", 4)
    result = shop.publish_form(
        ADMIN, "shop", _shop_form("unique:\n  - fields: [ref]\n"), strict=True
    )
    assert result.changed and result.data_check == ()
    assert shop.check_data(ADMIN, "shop") == []


def test_a_required_sub_table_column_names_each_record_once(shop):
    form = load_app_text(
        SHOP.replace("1.0.0", "2.0.0").replace(
            "item: {type: text}", "item: {type: text, required: true}"
        )
    ).form("order")
    (failure,) = shop.check_form_change(ADMIN, "shop", form)
    # #3 and #4 each have one row without an item
    assert (failure.rule, failure.record_ids) == ("required: lines.item", (3, 4))


def test_more_than_ten_records_are_shown_as_the_first_ten_then_an_ellipsis(make_service):
    service = make_service()
    service.install_app(ADMIN, load_app_text(SHOP))
    for _ in range(12):
        service.create_record(ADMIN, "shop", "order", {"customer": "c"})
    rule = "validations:\n  - {expr: \"customer == 'x'\", message: must be x}\n"
    (failure,) = service.check_form_change(ADMIN, "shop", _shop_form(rule))
    assert failure.count == 12
    assert failure.describe(would=True) == (
        "12 records would fail customer == 'x': #1, #2, #3, #4, #5, #6, #7, #8, #9, #10, … "
        "(must be x)"
    )


def test_a_new_form_and_an_unchanged_form_have_nothing_to_check(leave):
    assert leave.check_form_change(ADMIN, "leave", _form(LEAVE_V1)) == []
    new_app = load_app_text(SHOP)
    assert leave.check_form_change(ADMIN, "shop", new_app.form("order")) == []


def test_check_data_of_an_unknown_app_or_form_says_so(leave):
    from engine.service import NotFoundError

    with pytest.raises(NotFoundError, match="app 'sales' is not installed"):
        leave.check_data(ADMIN, "sales")
    with pytest.raises(NotFoundError, match="has no form 'leave'"):
        leave.check_data(ADMIN, "leave", "leave")


def test_the_audit_entry_of_a_publish_over_failing_records_names_them(leave):
    import sqlalchemy as sa

    from engine.store.engine_tables import audit_log

    leave.publish_form(ADMIN, "leave", _form(LEAVE_V1 + END_AFTER_START))
    with leave._database.read() as conn:
        detail = conn.execute(
            sa.select(audit_log.c.detail).where(audit_log.c.action == "form.published")
        ).scalar_one()
    assert detail["data_check"] == [
        {
            "form": "leave_request",
            "rule": "end_date >= start_date",
            "count": 2,
            "record_ids": [2, 4],
        }
    ]
