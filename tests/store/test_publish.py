"""Publishing form versions: tables follow the definition and no data is ever lost."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.errors import MigrationError
from engine.service import SYSTEM_ACTOR, Actor
from engine.store.engine_tables import form_columns, form_versions

ZHANG = Actor("zhang.wei")
HEAD = "app: crm\nversion: 1.0.0\nname: CRM\n---\nform: lead\nname: Lead\nfields:\n"


def _form(fields: str, extra: str = ""):
    return load_app_text(HEAD + fields + extra).form("lead")


V1 = "  company: {type: text}\n  budget: {type: text}\n  phone: {type: phone}\n"


@pytest.fixture
def crm(make_service):
    service = make_service()
    service.publish_form(SYSTEM_ACTOR, "crm", _form(V1))
    return service


def _columns(service, table="f_crm_lead") -> dict[str, str]:
    with service.database.read() as conn:
        cols = sa.inspect(conn).get_columns(table)
    return {c["name"]: type(c["type"]).__name__ for c in cols}


def _states(service) -> dict[str, str]:
    with service.database.read() as conn:
        rows = conn.execute(sa.select(form_columns.c.column, form_columns.c.state)).all()
    return dict(rows)


def test_first_publish_creates_the_table_with_system_and_field_columns(crm):
    columns = _columns(crm)
    assert list(columns)[:9] == [
        "id",
        "status",
        "version",
        "title",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "deleted_at",
    ]
    assert {"company", "budget", "phone"} <= set(columns)
    assert _states(crm) == {"company": "active", "budget": "active", "phone": "active"}


def test_publishing_the_same_content_again_is_a_no_op(crm):
    result = crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1))
    assert not result.changed and result.version_no == 1
    with crm.database.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(form_versions)).scalar() == 1


def test_a_label_change_publishes_a_version_without_touching_the_table(crm):
    before = _columns(crm)
    result = crm.publish_form(
        SYSTEM_ACTOR,
        "crm",
        _form(V1.replace("company: {type: text}", "company: {type: text, label: Firm}")),
    )
    assert result.changed and result.version_no == 2
    assert result.plan.added == [] and result.plan.changed == []
    assert _columns(crm) == before


def test_a_new_field_adds_a_column_and_old_records_read_it_as_blank(crm):
    record = crm.create_record(ZHANG, "crm", "lead", {"company": "Acme"})
    crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1 + "  visits: {type: number}\n"))
    assert "visits" in _columns(crm)
    assert crm.get_record(ZHANG, "crm", "lead", record.id).values["visits"] is None


def test_a_removed_field_is_hidden_and_comes_back_with_its_data(crm):
    record = crm.create_record(ZHANG, "crm", "lead", {"company": "Acme", "phone": "13800138000"})
    crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1.replace("  phone: {type: phone}\n", "")))
    assert _states(crm)["phone"] == "hidden"
    assert "phone" in _columns(crm)
    assert "phone" not in crm.get_record(ZHANG, "crm", "lead", record.id).values
    result = crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1))
    assert result.version_no == 3 and result.plan.restored == ["phone"]
    assert crm.get_record(ZHANG, "crm", "lead", record.id).values["phone"] == "13800138000"


def test_dry_run_lists_the_rows_that_would_not_convert_and_changes_nothing(crm):
    good = crm.create_record(ZHANG, "crm", "lead", {"budget": "1200.50"})
    bad = crm.create_record(ZHANG, "crm", "lead", {"budget": "about 5k"})
    plan = crm.plan_form_change(
        SYSTEM_ACTOR, "crm", _form(V1.replace("budget: {type: text}", "budget: {type: money}"))
    )
    assert not plan.ok
    assert [(p.record_id, p.field, p.value) for p in plan.problems] == [
        (bad.id, "budget", "about 5k")
    ]
    assert plan.changed[0].old_type == "text" and plan.changed[0].new_type == "money"
    assert plan.changed[0].rows_checked == 2
    assert _states(crm) == {"company": "active", "budget": "active", "phone": "active"}
    assert crm.get_record(ZHANG, "crm", "lead", good.id).values["budget"] == "1200.50"


def test_applying_a_type_change_with_unconvertible_rows_is_refused_listing_them(crm):
    bad = crm.create_record(ZHANG, "crm", "lead", {"budget": "about 5k"})
    money = _form(V1.replace("budget: {type: text}", "budget: {type: money}"))
    with pytest.raises(MigrationError, match=rf"record {bad.id} budget = 'about 5k'"):
        crm.publish_form(SYSTEM_ACTOR, "crm", money)
    assert crm.get_form(SYSTEM_ACTOR, "crm", "lead").field("budget").type == "text"
    assert _states(crm)["budget"] == "active"


def test_a_type_change_converts_values_and_keeps_the_old_column_retired(crm):
    good = crm.create_record(ZHANG, "crm", "lead", {"budget": "1200.5"})
    bad = crm.create_record(ZHANG, "crm", "lead", {"budget": "about 5k"})
    money = _form(V1.replace("budget: {type: text}", "budget: {type: money}"))
    result = crm.publish_form(SYSTEM_ACTOR, "crm", money, allow_blank=True)
    assert result.version_no == 2
    assert _states(crm)["budget__v2"] == "retired"
    assert crm.get_record(ZHANG, "crm", "lead", good.id).values["budget"] == Decimal("1200.50")
    assert crm.get_record(ZHANG, "crm", "lead", bad.id).values["budget"] is None
    with crm.database.read() as conn:
        kept = conn.exec_driver_sql(
            f"select budget__v2 from f_crm_lead where id = {bad.id}"
        ).scalar()
    assert kept == "about 5k"


def test_a_new_sub_table_creates_its_child_table(crm):
    crm.publish_form(
        SYSTEM_ACTOR,
        "crm",
        _form(V1 + "  visits:\n    type: subtable\n    fields:\n      day: {type: date}\n"),
    )
    assert set(_columns(crm, "f_crm_lead__visits")) == {"id", "parent_id", "row_index", "day"}


def test_a_new_unique_rule_over_repeated_values_is_refused(crm):
    crm.create_record(ZHANG, "crm", "lead", {"company": "Acme"})
    crm.create_record(ZHANG, "crm", "lead", {"company": "Acme"})
    with pytest.raises(MigrationError, match="repeat the values of company"):
        crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1, "unique:\n  - fields: [company]\n"))
    assert crm.get_form(SYSTEM_ACTOR, "crm", "lead").unique == ()


REF_NUMBER = V1 + "  ref: {type: number}\n"
REF_RELATION = V1 + "  ref: {type: relation, to: lead}\n"


def _ref_removed(crm):
    """Records with a number ``ref`` (one a valid id, one not), then the field removed."""
    crm.publish_form(SYSTEM_ACTOR, "crm", _form(REF_NUMBER))
    good = crm.create_record(ZHANG, "crm", "lead", {"company": "A", "ref": 424242})
    bad = crm.create_record(ZHANG, "crm", "lead", {"company": "B", "ref": -5})
    crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1))
    assert _states(crm)["ref"] == "hidden"
    return good, bad


def test_a_field_added_back_as_another_type_is_checked_like_a_type_change(crm):
    good, bad = _ref_removed(crm)
    plan = crm.plan_form_change(SYSTEM_ACTOR, "crm", _form(REF_RELATION))
    assert plan.restored == [] and plan.added == []
    assert [(c.field, c.old_type, c.new_type, c.rows_checked) for c in plan.changed] == [
        ("ref", "number", "relation", 2)
    ]
    assert [(p.record_id, p.field, p.value) for p in plan.problems] == [(bad.id, "ref", -5)]
    with pytest.raises(MigrationError, match=rf"record {bad.id} ref = -5"):
        crm.publish_form(SYSTEM_ACTOR, "crm", _form(REF_RELATION))
    assert _states(crm)["ref"] == "hidden"
    assert not crm.get_form(SYSTEM_ACTOR, "crm", "lead").has_field("ref")


def test_a_field_added_back_as_another_type_with_allow_blank_retires_the_old_column(crm):
    good, bad = _ref_removed(crm)
    result = crm.publish_form(SYSTEM_ACTOR, "crm", _form(REF_RELATION), allow_blank=True)
    assert result.version_no == 4
    assert _states(crm)["ref"] == "active" and _states(crm)["ref__v4"] == "retired"
    assert crm.get_record(ZHANG, "crm", "lead", good.id).values["ref"] == 424242
    assert crm.get_record(ZHANG, "crm", "lead", bad.id).values["ref"] is None
    with crm.database.read() as conn:
        kept = conn.exec_driver_sql(f"select ref__v4 from f_crm_lead where id = {bad.id}").scalar()
    assert kept == -5


def test_a_field_added_back_with_other_value_options_is_checked(crm):
    crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1 + "  stage: {type: select, options: [x, y]}\n"))
    record = crm.create_record(ZHANG, "crm", "lead", {"stage": "x"})
    crm.publish_form(SYSTEM_ACTOR, "crm", _form(V1))
    other = _form(V1 + "  stage: {type: select, options: [a, b]}\n")
    plan = crm.plan_form_change(SYSTEM_ACTOR, "crm", other)
    assert [(p.record_id, p.field, p.value) for p in plan.problems] == [(record.id, "stage", "x")]
    with pytest.raises(MigrationError, match=rf"record {record.id} stage = 'x'"):
        crm.publish_form(SYSTEM_ACTOR, "crm", other)
    # the same type and options bring the values back unchecked
    same = crm.publish_form(
        SYSTEM_ACTOR, "crm", _form(V1 + "  stage: {type: select, options: [x, y]}\n")
    )
    assert same.plan.restored == ["stage"] and same.plan.changed == []
    assert crm.get_record(ZHANG, "crm", "lead", record.id).values["stage"] == "x"
