"""A valid app loads into the expected immutable values; hashes are stable."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.definitions import check_app, load_app, load_app_text
from engine.definitions.model import I18nText, LayoutSection, SourceSpan, UniqueConstraint
from engine.errors import DefinitionErrors

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PURCHASE = """\
app: purchase
version: 1.3.0
name: {zh-CN: 采购管理, en: Purchasing}
requires: {engine: ">=1.0"}
roles:
  finance: {zh-CN: 财务, en: Finance}
---
form: supplier
name: 供应商
fields:
  name: {type: text, required: true, unique: true}
  phone: text
---
form: purchase_request
name: {zh-CN: 采购申请, en: Purchase request}
title: "{{ serial }} {{ supplier }}"
fields:
  serial: {type: serial, pattern: "PR-{YYYYMMDD}-{0000}", reset: day}
  supplier: {type: relation, to: supplier, display: name, fill_from: {contact: phone}}
  contact: text
  priority: {type: radio, options: [normal, urgent], default: normal}
  lines:
    type: subtable
    min_rows: 1
    fields:
      qty: {type: number, precision: 0, min: 1}
      price: {type: money, min: 0.01}
      amount: {type: formula, expr: "qty * price", result: money}
  total: {type: formula, expr: "SUM(lines.amount)", result: money}
layout:
  - section: {zh-CN: 基本信息, en: Basics}
    columns: 2
    fields: [serial, supplier, contact, priority]
  - {fields: [lines, total]}
list: {columns: [serial, supplier, total, status]}
unique:
  - {fields: [supplier, serial], message: once}
validations:
  - {expr: "total > 0", message: {zh-CN: 金额须大于零, en: The total must be positive}, field: total}
"""


def test_purchase_request_app_loads_with_expected_values():
    app = load_app_text(PURCHASE)
    assert (app.key, app.version, app.name) == (
        "purchase",
        "1.3.0",
        I18nText("采购管理", "Purchasing"),
    )
    assert dict(app.requires) == {"engine": ">=1.0"}
    assert dict(app.roles) == {"finance": I18nText("财务", "Finance")}
    assert [f.key for f in app.forms] == ["supplier", "purchase_request"]

    supplier = app.form("supplier")
    assert supplier.name == I18nText("供应商", "供应商")
    assert supplier.unique == (UniqueConstraint(("name",)),)
    assert supplier.field("phone").type == "text"
    assert supplier.field("phone").label == I18nText("phone", "phone")

    form = app.form("purchase_request")
    assert form.title == "{{ serial }} {{ supplier }}"
    assert [f.key for f in form.fields] == [
        "serial", "supplier", "contact", "priority", "lines", "total",
    ]  # fmt: skip
    assert dict(form.field("serial").options) == {"pattern": "PR-{YYYYMMDD}-{0000}", "reset": "day"}
    relation = form.field("supplier")
    assert relation.options["to"] == "supplier"
    assert dict(relation.options["fill_from"]) == {"contact": "phone"}
    assert form.field("priority").type == "select"
    assert form.field("priority").options["options"] == ("normal", "urgent")
    assert form.field("priority").default == "normal"

    lines = form.field("lines")
    assert lines.options["min_rows"] == 1
    assert [c.key for c in lines.fields] == ["qty", "price", "amount"]
    assert lines.field("price").options["min"] == Decimal("0.01")
    assert lines.field("amount").options["expr"] == "qty * price"
    assert form.field("total").options == {"expr": "SUM(lines.amount)", "result": "money"}

    assert form.layout == (
        LayoutSection(
            I18nText("基本信息", "Basics"), ("serial", "supplier", "contact", "priority"), 2
        ),
        LayoutSection(None, ("lines", "total"), 1),
    )
    assert form.list_columns == ("serial", "supplier", "total", "status")
    assert form.list_sort == ("-created_at",)
    assert form.unique == (UniqueConstraint(("supplier", "serial"), I18nText("once", "once")),)
    (validation,) = form.validations
    assert (validation.expr, validation.field) == ("total > 0", "total")
    assert validation.message.en == "The total must be positive"


def test_values_carry_their_source_location():
    form = load_app_text(PURCHASE).form("purchase_request")
    assert form.location == SourceSpan("app.yaml", 14, 1)
    assert form.field("lines").field("qty").location == SourceSpan("app.yaml", 26, 7)
    assert form.source_file == "app.yaml"


def test_content_hash_is_stable_across_loads_and_changes_with_a_label():
    first, second = load_app_text(PURCHASE), load_app_text(PURCHASE)
    assert first.content_hash == second.content_hash
    assert (
        first.form("purchase_request").content_hash == second.form("purchase_request").content_hash
    )
    relabelled = load_app_text(
        PURCHASE.replace("contact: text", "contact: {type: text, label: Who}")
    )
    assert relabelled.content_hash != first.content_hash
    assert relabelled.form("supplier").content_hash == first.form("supplier").content_hash


def test_load_raises_every_error_sorted():
    broken = PURCHASE.replace("display: name", "display: nam").replace("qty * price", "qty * prize")
    with pytest.raises(DefinitionErrors) as raised:
        load_app_text(broken)
    assert [(e.line, e.path) for e in raised.value.errors] == [
        (19, "fields.supplier.display"),
        (28, "fields.lines.fields.amount.expr"),
    ]


def test_app_folder_loads_forms_in_file_name_order(tmp_path):
    header, supplier, request = PURCHASE.split("---\n")
    (tmp_path / "app.yaml").write_text(header, encoding="utf-8")
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "b_supplier.yaml").write_text(supplier, encoding="utf-8")
    (tmp_path / "forms" / "a_request.yaml").write_text(request, encoding="utf-8")
    app = load_app(tmp_path)
    assert [f.key for f in app.forms] == ["purchase_request", "supplier"]
    assert app.form("supplier").source_file == "forms/b_supplier.yaml"
    assert app.content_hash != load_app_text(PURCHASE).content_hash  # form order is content


def test_errors_in_a_folder_name_the_file_relative_to_the_app(tmp_path):
    (tmp_path / "app.yaml").write_text("app: shop\nversion: 1.0.0\nname: Shop\n")
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "order.yaml").write_text(
        "form: order\nfields:\n  qty: {type: number, min: x}\n"
    )
    assert [str(e) for e in check_app(tmp_path)] == [
        "forms/order.yaml:3:28 fields.qty.min: expected a number, got 'x'"
    ]


def test_an_app_folder_with_too_many_files_is_refused(tmp_path, monkeypatch):
    from engine.definitions import files

    monkeypatch.setattr(files, "MAX_FILES", 2)
    (tmp_path / "app.yaml").write_text("app: shop\nversion: 1.0.0\nname: Shop\n")
    (tmp_path / "forms").mkdir()
    for name in ("a", "b"):
        (tmp_path / "forms" / f"{name}.yaml").write_text(f"form: {name}\nfields: {{x: text}}\n")
    assert [str(e) for e in check_app(tmp_path)] == [
        "app.yaml:1:1 the app has 3 definition files; at most 2 are allowed "
        "(split it into several apps)"
    ]


@pytest.mark.parametrize("example", ["purchase_request", "leave_request"])
def test_examples_load_without_errors(example):
    assert check_app(EXAMPLES / example) == []


def test_a_single_multi_document_file_loads_as_an_app(tmp_path):
    path = tmp_path / "purchase.yaml"
    path.write_text(PURCHASE, encoding="utf-8")
    app = load_app(path)
    assert [f.key for f in app.forms] == ["supplier", "purchase_request"]
    assert app.form("supplier").source_file == "purchase.yaml"
    assert app.source_path == str(path)


def test_check_app_reports_a_missing_path_instead_of_raising(tmp_path):
    missing = tmp_path / "nowhere"
    assert [str(e) for e in check_app(missing)] == [
        f"{missing}:1:1 no such app folder or file (check the path)"
    ]
