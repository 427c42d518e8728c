"""Columns to fields (engine/service/import_mapping.py): which fields a file may fill,
the suggested mapping from headers as people write them, and the refused mappings."""

from __future__ import annotations

import pytest

from engine.definitions import load_app_text
from engine.errors import InvalidArgumentError
from engine.service.import_mapping import (
    ImportTarget,
    check_mapping,
    import_targets,
    suggest_mapping,
)

APP = """
app: m
version: 1.0.0
name: M
---
form: product
fields:
  name: text
---
form: order
title: "{{ number }}"
fields:
  number: {type: serial, pattern: "SO-{0000}"}
  legacy_no: {type: serial, pattern: "L-{0000}", keep_imported: true}
  customer: {type: text, label: {zh-CN: 客户, en: Customer}, required: true}
  order_date: {type: date, label: {zh-CN: 下单日期, en: Order date}}
  owner: {type: user, label: {zh-CN: 负责人, en: Owner}}
  cost: {type: money, label: {zh-CN: 成本, en: Cost}}
  locked: {type: text, label: 锁定, readonly: true}
  contract: {type: attachment, label: 合同}
  lines:
    type: subtable
    label: {zh-CN: 明细, en: Lines}
    fields:
      product: {type: relation, to: product, label: {zh-CN: 商品, en: Product}}
      qty: {type: number, label: {zh-CN: 数量, en: Quantity}}
      price: {type: money, label: {zh-CN: 单价, en: Price}}
      amount: {type: formula, expr: "qty * price", result: money, label: 金额}
  total: {type: formula, expr: "SUM(lines.amount)", result: money, label: 合计}
  history:
    type: subtable
    readonly: true
    fields:
      note: text
"""

ORDER = load_app_text(APP).forms[1]


def paths(targets: list[ImportTarget]) -> list[str]:
    return [t.path for t in targets]


def test_targets_are_the_fields_a_person_types():
    targets = import_targets(ORDER, set(), "zh-CN")
    assert paths(targets) == [
        "legacy_no",
        "customer",
        "order_date",
        "owner",
        "cost",
        "lines.product",
        "lines.qty",
        "lines.price",
    ]
    customer = targets[1]
    assert (customer.label, customer.type, customer.required, customer.subtable) == (
        "客户",
        "text",
        True,
        None,
    )
    qty = targets[6]
    assert (qty.label, qty.type, qty.subtable) == ("明细.数量", "number", "lines")
    assert import_targets(ORDER, set(), "en")[6].label == "Lines.Quantity"


def test_hidden_fields_and_hidden_sub_tables_are_no_targets():
    assert paths(import_targets(ORDER, {"cost", "lines"}, "zh-CN")) == [
        "legacy_no",
        "customer",
        "order_date",
        "owner",
    ]


TARGETS = import_targets(ORDER, set(), "zh-CN")


def test_headers_are_matched_by_key_and_by_label_in_either_language():
    headers = [
        "customer",
        "下单日期",
        "OWNER",
        "Ｃｏｓｔ",
        "明细.数量",
        "lines.product",
        "明细-单价",
        "备注",
    ]
    assert suggest_mapping(TARGETS, headers) == {
        "customer": "customer",
        "下单日期": "order_date",
        "OWNER": "owner",
        "Ｃｏｓｔ": "cost",
        "明细.数量": "lines.qty",
        "lines.product": "lines.product",
        "明细-单价": "lines.price",
        "备注": None,
    }


def test_spaces_case_and_separators_do_not_matter():
    headers = [" Order Date ", "Lines / Quantity", "明细．单价", "legacy_no"]
    assert suggest_mapping(TARGETS, headers) == {
        " Order Date ": "order_date",
        "Lines / Quantity": "lines.qty",
        "明细．单价": "lines.price",
        "legacy_no": "legacy_no",
    }


def test_a_sub_table_column_by_its_bare_name_when_nothing_else_has_it():
    assert suggest_mapping(TARGETS, ["客户", "商品", "数量", "单价"]) == {
        "客户": "customer",
        "商品": "lines.product",
        "数量": "lines.qty",
        "单价": "lines.price",
    }


def test_a_target_is_suggested_once_and_computed_fields_never():
    assert suggest_mapping(TARGETS, ["客户", "Customer", "合计", "金额", "编号"]) == {
        "客户": "customer",
        "Customer": None,
        "合计": None,
        "金额": None,
        "编号": None,
    }


HEADERS = ["客户", "数量", "备注"]


def test_a_checked_mapping_covers_every_header():
    assert check_mapping(TARGETS, HEADERS, {"客户": "customer", "数量": "lines.qty"}, "zh-CN") == {
        "客户": "customer",
        "数量": "lines.qty",
        "备注": None,
    }
    assert check_mapping(TARGETS, HEADERS, {"客户": "customer", "备注": ""}, "zh-CN") == {
        "客户": "customer",
        "数量": None,
        "备注": None,
    }


@pytest.mark.parametrize(
    ("mapping", "locale", "argument", "message"),
    [
        (
            {"电话": "customer"},
            "zh-CN",
            "mapping",
            "文件中没有“电话”这一列，现有的列：客户、数量、备注",
        ),
        (
            {"电话": "customer"},
            "en",
            "mapping",
            "the file has no column 电话; its columns: 客户, 数量, 备注",
        ),
        (
            {"客户": "total"},
            "zh-CN",
            "mapping[客户]",
            "“客户”列对应的 total 不是可导入的字段，可导入的字段：legacy_no、customer、"
            "order_date、owner、cost、lines.product、lines.qty、lines.price",
        ),
        (
            {"客户": "customer", "备注": "customer"},
            "zh-CN",
            "mapping[备注]",
            "“客户”列和“备注”列都对应到“客户”，每个字段只能对应一列",
        ),
        (
            {"客户": "customer", "备注": "customer"},
            "en",
            "mapping[备注]",
            "the columns 客户 and 备注 both fill 客户: map one column per field",
        ),
        (["客户"], "zh-CN", "mapping", "列映射应为 {表头: 字段}，收到 ['客户']"),
        ({"客户": 3}, "zh-CN", "mapping[客户]", None),
    ],
)
def test_refused_mappings_name_the_header(mapping, locale, argument, message):
    with pytest.raises(InvalidArgumentError) as caught:
        check_mapping(TARGETS, HEADERS, mapping, locale)
    assert caught.value.argument == argument
    assert caught.value.code == "mapping"
    if message is not None:
        assert str(caught.value) == message


def test_a_hidden_field_cannot_be_mapped():
    hidden = import_targets(ORDER, {"cost"}, "zh-CN")
    with pytest.raises(InvalidArgumentError) as caught:
        check_mapping(hidden, ["成本"], {"成本": "cost"}, "zh-CN")
    assert caught.value.argument == "mapping[成本]"
