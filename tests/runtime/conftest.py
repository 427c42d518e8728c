"""Fixtures for record preparation: a purchase-request form, a tiny product catalogue, a clock."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from engine.definitions import load_app_text
from engine.definitions.model import FormDefinition
from engine.runtime.forms import RecordEnvironment

SHANGHAI = ZoneInfo("Asia/Shanghai")

PURCHASE_REQUEST = """
form: purchase_request
name: {zh-CN: 采购申请, en: Purchase request}
title: "{{ serial }} {{ supplier }} {{ total }}"  # money displays with ¥
fields:
  serial:       {type: text}
  applicant:    {type: user, default_expr: "CURRENT_USER()", readonly: true}
  request_date: {type: date, default_expr: "TODAY()"}
  supplier:     {type: relation, to: supplier, display: name, required: true}
  needed_by:    {type: date, required: true}
  lines:
    type: subtable
    min_rows: 1
    max_rows: 5
    fields:
      product: {type: relation, to: product, display: name, fill_from: {price: price, unit: unit}}
      unit:    {type: text, readonly: true}
      qty:     {type: number, precision: 0, min: 1}
      price:   {type: money}
      amount:  {type: formula, expr: "qty * price", result: money}
  total:   {type: formula, expr: "SUM(lines.amount)", result: money}
  urgent:  {type: boolean, default: false}
  reason:  {type: textarea, visible_if: "urgent", required_if: "urgent"}
  quote:   {type: text, required_if: "total > 500"}
validations:
  - expr: "needed_by >= TODAY()"
    field: needed_by
    message: {zh-CN: 需求日期不能早于今天, en: The date needed cannot be in the past}
  - expr: "total <= 2000"
    field: total
    message: {zh-CN: "金额 {{ total }} 超过上限", en: "Total {{ total }} is over the limit"}
"""

CATALOGUE = """
app: purchase
version: 1.0.0
name: {zh-CN: 采购管理, en: Purchasing}
---
form: supplier
name: Supplier
fields:
  name: {type: text}
---
form: product
name: Product
fields:
  name:  {type: text}
  price: {type: money}
  unit:  {type: text}
---
"""


def form_from_yaml(text: str) -> FormDefinition:
    """One form's YAML, loaded by the real loader inside an app with suppliers and products."""
    key = yaml.safe_load(text)["form"]
    return load_app_text(CATALOGUE + textwrap.dedent(text)).form(key)


@pytest.fixture
def make_form() -> Callable[[str], FormDefinition]:
    return form_from_yaml


@pytest.fixture
def purchase_form() -> FormDefinition:
    return form_from_yaml(PURCHASE_REQUEST)


@pytest.fixture
def records() -> dict[str, dict[int, dict[str, Any]]]:
    """The related records fetch_record sees; tests change them to show copies are copies."""
    return {
        "supplier": {1: {"name": "华东五金"}, 2: {"name": "Acme"}},
        "product": {
            7: {"name": "螺丝", "price": Decimal("19.99"), "unit": "box"},
            8: {"name": "扳手", "price": Decimal("5.00"), "unit": "pcs"},
            9: {"name": "钳子", "price": Decimal("10.00"), "unit": "pcs"},
        },
    }


@pytest.fixture
def env(records) -> RecordEnvironment:
    def fetch(form_key: str, record_id: int) -> dict[str, Any] | None:
        found = records.get(form_key, {}).get(record_id)
        return dict(found) if found is not None else None

    return RecordEnvironment(
        now=datetime(2024, 5, 20, 10, 30, tzinfo=SHANGHAI),
        user="zhang.wei",
        department="purchasing",
        fetch_record=fetch,
    )
