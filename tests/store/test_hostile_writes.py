"""Hostile values sent to a real database through the service: each is a validation error
naming the field, in both languages, and nothing is written (no DataError from
PostgreSQL, no NUL stored by SQLite, no UnicodeEncodeError from the driver)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.definitions import load_app_text
from engine.errors import RecordValidationError
from engine.service import SYSTEM_ACTOR, Actor

ME = Actor("zhang.wei")
APP = """
app: shop
version: 1.0.0
name: Shop
---
form: order
name: Order
fields:
  customer: {type: text}
  qty:      {type: number}
  price:    {type: money}
  total:    {type: formula, expr: "qty * price", result: money}
  city:     {type: address}
  owners:   {type: user, many: true}
"""


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"customer": "A\x00B"}, "customer", "invalid_text"),
        ({"customer": "A\ud800"}, "customer", "invalid_text"),
        ({"city": {"city": "杭州\x00"}}, "city", "invalid_text"),
        ({"owners": ["li.na", "\udfff"]}, "owners", "invalid_text"),
        ({"price": Decimal("1E+30")}, "price", "too_large"),
        ({"price": 1e308}, "price", "too_large"),
        ({"qty": "9" * 29}, "qty", "too_large"),
        ({"price": float("nan")}, "price", "type"),
        # each operand fits, the product does not fit a money result
        ({"qty": 10**17, "price": "9999999999999999.99"}, "total", "too_large"),
    ],
)
def test_hostile_values_are_validation_errors_and_write_nothing(make_service, values, field, code):
    service = make_service()
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    with pytest.raises(RecordValidationError) as caught:
        service.create_record(ME, "shop", "order", values)
    errors = {e.field: e for e in caught.value.errors}
    assert field in errors, caught.value.errors
    assert errors[field].code == code
    assert service.query_records(ME, "shop", "order").total == 0
