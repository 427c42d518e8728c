"""``FieldType.coercer`` and ``formula.result_converter`` (built once per compiled field)
give the same values and the same errors as ``coerce`` / ``result_value``."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.fields import registry
from engine.fields.base import FieldValueError
from engine.fields.formula import result_converter, result_value
from tests.fields.conftest import build_field

INPUTS = [
    None,
    "",
    "  ",
    0,
    1,
    -3,
    7,
    10**20,
    "12.50",
    "1.005",
    "abc",
    True,
    1.5,
    Decimal("2.000"),
    Decimal("NaN"),
    "¥1,234.50",
    "2.5%",
    "0.025",
    [],
    "１２",
]

FIELDS = [
    ("number", {}),
    ("number", {"precision": 2, "min": 1, "max": "100"}),
    ("money", {"min": 0}),
    ("money", {"max": 10}),
    ("percent", {"precision": 4, "max": 1}),
    ("text", {"max_length": 3}),
    ("date", {}),
    ("boolean", {}),
]


def outcome(action):
    try:
        value = action()
    except FieldValueError as error:
        return ("error", error.code, error.message, dict(error.translations))
    return ("value", type(value), value)


@pytest.mark.parametrize(("type_name", "options"), FIELDS)
@pytest.mark.parametrize("source", ["json", "web", "excel"])
def test_coercer_matches_coerce(type_name, options, source):
    field = build_field(type_name, **options)
    kind = registry.get(type_name)
    bound = kind.coercer(field)
    for raw in INPUTS:
        assert outcome(lambda r=raw: bound(r, source)) == outcome(
            lambda r=raw: kind.coerce(field, r, source)
        ), raw


RESULTS = [
    None,
    Decimal("1.005"),
    Decimal("-1.005"),
    Decimal("2.5"),
    3,
    True,
    Decimal("1E+30"),
    Decimal("0.123456"),
    "12.345",
    "x",
]


@pytest.mark.parametrize(
    "options",
    [
        {"expr": "a", "result": "money"},
        {"expr": "a", "result": "number"},
        {"expr": "a", "result": "number", "precision": 0},
        {"expr": "a", "result": "percent"},
        {"expr": "a", "result": "text"},
        {"expr": "a", "result": "boolean"},
    ],
)
def test_result_converter_matches_result_value(options):
    field = build_field("formula", **options)
    convert = result_converter(field)
    for value in RESULTS:
        try:
            expected = outcome(lambda v=value: result_value(field, v))
        except Exception as error:  # noqa: BLE001 - compared below
            expected = ("raised", type(error))
        try:
            got = outcome(lambda v=value: convert(v))
        except Exception as error:  # noqa: BLE001
            got = ("raised", type(error))
        assert got == expected, value
