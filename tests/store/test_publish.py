"""Publishing form versions: tables follow the definition and no data is ever lost."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from engine.definitions import load_app_text
from engine.errors import MigrationError
from engine.service import SYSTEM_ACTOR, Actor
from engine.store import migration
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
    with service._database.read() as conn:
        cols = sa.inspect(conn).get_columns(table)
    return {c["name"]: type(c["type"]).__name__ for c in cols}


def _states(service) -> dict[str, str]:
    with service._database.read() as conn:
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
    with crm._database.read() as conn:
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
    with crm._database.read() as conn:
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
    """Records with a number ``ref`` (one a live lead's id, one not an id), then removed."""
    crm.publish_form(SYSTEM_ACTOR, "crm", _form(REF_NUMBER))
    bad = crm.create_record(ZHANG, "crm", "lead", {"company": "B", "ref": -5})
    good = crm.create_record(ZHANG, "crm", "lead", {"company": "A", "ref": bad.id})
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
    assert crm.get_record(ZHANG, "crm", "lead", good.id).values["ref"] == bad.id
    assert crm.get_record(ZHANG, "crm", "lead", bad.id).values["ref"] is None
    with crm._database.read() as conn:
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


def _purchase_with(purchase_app_text, request_fields: str, line_fields: str = ""):
    """The purchase app with extra purchase_request fields (and sub-table line fields)."""
    text = purchase_app_text.replace("  note:      {type: text}\n", request_fields)
    text = text.replace("      item:   {type: text, required: true}\n", line_fields)
    return load_app_text(text)


BACKUP_NUMBER = "  note: {type: text}\n  backup: {type: text}\n"
BACKUP_RELATION = "  note: {type: text}\n  backup: {type: relation, to: supplier}\n"


def test_a_text_changed_to_a_relation_must_name_live_target_records(
    make_service, purchase_app_text
):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, _purchase_with(purchase_app_text, BACKUP_NUMBER))
    acme = service.create_record(ZHANG, "purchase", "supplier", {"name": "Acme"})
    gone = service.create_record(ZHANG, "purchase", "supplier", {"name": "Gone"})
    service.delete_record(ZHANG, "purchase", "supplier", gone.id)

    def request(day: int, backup):
        data = {"supplier": acme.id, "needed_by": f"2026-02-{day:02d}", "backup": backup}
        return service.create_record(ZHANG, "purchase", "purchase_request", data)

    good, missing, deleted, blank = (
        request(1, str(acme.id)),
        request(2, "424242"),
        request(3, f"#{gone.id}"),
        request(4, None),
    )
    relation = _purchase_with(purchase_app_text, BACKUP_RELATION).form("purchase_request")
    plan = service.plan_form_change(SYSTEM_ACTOR, "purchase", relation)
    assert [(p.record_id, p.field, p.value, p.reason) for p in plan.problems] == [
        (missing.id, "backup", "424242", "no supplier record #424242"),
        (deleted.id, "backup", f"#{gone.id}", f"no supplier record #{gone.id}"),
    ]
    assert plan.changed[0].rows_checked == 4
    with pytest.raises(
        MigrationError, match=rf"record {missing.id} backup = '424242': no supplier"
    ):
        service.publish_form(SYSTEM_ACTOR, "purchase", relation)
    form = service.get_form(SYSTEM_ACTOR, "purchase", "purchase_request")
    assert form.field("backup").type == "text"

    result = service.publish_form(SYSTEM_ACTOR, "purchase", relation, allow_blank=True)
    values = {
        r.id: service.get_record(ZHANG, "purchase", "purchase_request", r.id).values["backup"]
        for r in (good, missing, deleted, blank)
    }
    assert values == {good.id: acme.id, missing.id: None, deleted.id: None, blank.id: None}
    retired = f"backup__v{result.version_no}"
    with service._database.read() as conn:
        kept = conn.exec_driver_sql(
            f"select {retired} from f_purchase_purchase_request where id = {missing.id}"
        ).scalar()
    assert kept == "424242"


def test_a_field_added_back_as_a_relation_to_an_unpublished_form_blocks_every_value(
    make_service,
):
    two_forms = "---\nform: account\nname: Account\nfields:\n  name: {type: text}\n"
    service = make_service()
    service.publish_form(SYSTEM_ACTOR, "crm", _form(REF_NUMBER))
    record = service.create_record(ZHANG, "crm", "lead", {"ref": 1})
    empty = service.create_record(ZHANG, "crm", "lead", {"company": "none"})
    service.publish_form(SYSTEM_ACTOR, "crm", _form(V1))
    to_account = load_app_text(
        HEAD + V1 + "  ref: {type: relation, to: account}\n" + two_forms
    ).form("lead")
    plan = service.plan_form_change(SYSTEM_ACTOR, "crm", to_account)
    assert [(p.record_id, p.value, p.reason) for p in plan.problems] == [
        (record.id, 1, "no account record #1")
    ]
    service.publish_form(SYSTEM_ACTOR, "crm", to_account, allow_blank=True)
    assert service.get_record(ZHANG, "crm", "lead", record.id).values["ref"] is None
    assert service.get_record(ZHANG, "crm", "lead", empty.id).values["ref"] is None


def test_a_sub_table_column_changed_to_a_many_relation_is_checked_in_batches(
    make_service, purchase_app_text, monkeypatch
):
    monkeypatch.setattr(migration, "ID_BATCH", 2)
    number = "      item:   {type: text, required: true}\n      vendor: {type: number}\n"
    many = (
        "      item:   {type: text, required: true}\n"
        "      vendor: {type: relation, to: supplier, many: true}\n"
    )
    service = make_service()
    service.install_app(SYSTEM_ACTOR, _purchase_with(purchase_app_text, "", number))
    suppliers = [
        service.create_record(ZHANG, "purchase", "supplier", {"name": f"S{i}"}).id for i in range(3)
    ]
    lines = [{"item": f"i{n}", "vendor": v} for n, v in enumerate([*suppliers, 99999, None])]
    request = service.create_record(
        ZHANG,
        "purchase",
        "purchase_request",
        {"supplier": suppliers[0], "needed_by": "2026-02-01", "lines": lines},
    )
    target = _purchase_with(purchase_app_text, "", many).form("purchase_request")
    plan = service.plan_form_change(SYSTEM_ACTOR, "purchase", target)
    assert [str(p) for p in plan.problems] == [
        f"record {request.id} lines.vendor (row 4) = 99999: no supplier record #99999"
    ]
    with pytest.raises(MigrationError, match="no supplier record #99999"):
        service.publish_form(SYSTEM_ACTOR, "purchase", target)
    service.publish_form(SYSTEM_ACTOR, "purchase", target, allow_blank=True)
    rows = service.get_record(ZHANG, "purchase", "purchase_request", request.id).values["lines"]
    assert [row["vendor"] for row in rows] == [[s] for s in suppliers] + [None, None]


def test_a_new_form_whose_table_name_belongs_to_another_apps_form_is_refused(make_service):
    from engine.definitions import load_app_text
    from engine.errors import MigrationError
    from engine.service import SYSTEM_ACTOR

    service = make_service()
    first = "app: a_b\nversion: 1.0.0\nname: A\n---\nform: c\nfields:\n  x: text\n"
    second = "app: a\nversion: 1.0.0\nname: B\n---\nform: b_c\nfields:\n  y: number\n"
    service.install_app(SYSTEM_ACTOR, load_app_text(first))
    with pytest.raises(MigrationError) as caught:
        service.install_app(SYSTEM_ACTOR, load_app_text(second))
    assert str(caught.value) == (
        "form a.b_c would use the table f_a_b_c, which belongs to a_b.c: "
        "choose another app or form key"
    )
    assert [a.key for a in service.list_apps(SYSTEM_ACTOR)] == ["a_b"]
