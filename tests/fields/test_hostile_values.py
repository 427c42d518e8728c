"""Hostile input at the field level: every registered field type turns numbers too large
for a column, non-finite numbers, NUL characters and lone surrogates into a
FieldValueError with an English and a Chinese message, or into a clean value that both
databases store as given. Never a raw exception (InvalidOperation, OverflowError,
UnicodeEncodeError...) and never a value the store would fail on or change."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from engine.fields import FieldValueError, get
from engine.fields.registry import names

from .conftest import build_field

INT64_MAX = 2**63 - 1

NUMBERS: list[Any] = [
    10**30,
    -(10**30),
    2**63,
    "9" * 29,
    "1" + "0" * 30,
    1e308,
    -1e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    Decimal("1E+30"),
    Decimal("-1E+30"),
    Decimal("1E-30"),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    "1e308",
    "NaN",
    "inf",
]
TEXTS: list[Any] = ["\x00", "a\x00b", "\ud800", "x\udfffy", "1\x00", "#1\x00", "是\ud83d"]
STRUCTURES: list[Any] = [
    [10**30],
    [1e308, float("nan")],
    ["\x00"],
    ["ok", "\ud800"],
    {"province": "\x00"},
    {"province": "浙江", "detail": "文三路\ud800"},
    [{"id": "\x00", "name": "a.pdf", "size": 1}],
    [{"id": "a", "name": "\ud800.pdf", "size": 1}],
    [{"id": "a", "name": "a.pdf", "size": 10**30}],
    [{"id": "a", "name": "a.pdf", "size": 1e308}],
    [{"id": "a", "name": "a.pdf", "size": 1, "content_type": "\x00"}],
    [{"id": "a", "name": "a.pdf", "size": 1, "sha256": "\ud800"}],
    [{"id": "a", "name": "a.pdf", "size": 1, "content_type": {"x": 1}}],
    [{"child": "\x00"}],
    [{"child": 10**30}],
    [{"id": 1e308, "child": "x"}],
    [{"id": "\x00", "child": "x"}],
    [{"id": 10**30, "child": "x"}],
    {"\ud800": "x"},
    {1: "x", "a": "y"},
    [{1: "x", "a": "y"}],
    {"province\x00": "x"},
    [{"\ud800": 1}],
    [{"child\x00": 1}],
    [{"id": "a", "name": "a.pdf", "size": 1, "\ud800": 1}],
]
HOSTILE = NUMBERS + TEXTS + STRUCTURES

#: the options a type needs to be valid (and a child for the sub-table)
REQUIRED: dict[str, dict[str, Any]] = {
    "select": {"options": ["a", "b"]},
    "multiselect": {"options": ["a", "b"]},
    "relation": {"to": "supplier"},
    "serial": {"pattern": "PR-{0000}"},
    "formula": {"expr": "a"},
    "subtable": {"fields": [build_field("text", key="child")]},
}
#: more option sets worth their own cases
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("number", {"precision": 8}),
    ("percent", {"precision": 8}),
    ("relation", {"to": "supplier", "many": True}),
    ("user", {"many": True}),
    ("department", {"many": True}),
    ("select", {"options": {"from": "supplier"}}),
    *[
        ("formula", {"expr": "a", "result": result})
        for result in ("money", "percent", "text", "date", "datetime", "boolean")
    ],
    ("subtable", {"fields": [build_field("money", key="child")]}),
]
CASES = [(name, REQUIRED.get(name, {})) for name in names()] + VARIANTS


def _is_clean(value: Any) -> bool:
    """A value both databases store exactly as given."""
    if value is None or isinstance(value, (bool, date, datetime)):
        return True
    if isinstance(value, str):
        return "\x00" not in value and not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, int):
        return -INT64_MAX <= value <= INT64_MAX
    if isinstance(value, Decimal):
        return value.is_finite() and len(value.as_tuple().digits) <= 18
    if isinstance(value, dict):
        return all(_is_clean(k) and _is_clean(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_clean(v) for v in value)
    return False  # floats and anything else have no place in a coerced value


def _case_id(case: tuple[str, dict[str, Any]]) -> str:
    name, options = case
    extra = {k: v for k, v in options.items() if k not in ("fields", "expr")}
    return f"{name}-{'-'.join(f'{k}={v}' for k, v in extra.items())}" if extra else name


@pytest.mark.parametrize("source", ["json", "web", "excel"])
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_hostile_input_gives_a_field_error_or_a_clean_value(case, source):
    type_name, options = case
    field_type = get(type_name)
    field = build_field(type_name, **options)
    coercer = field_type.coercer(field)
    for raw in HOSTILE:
        for coerce in (lambda r: field_type.coerce(field, r, source), lambda r: coercer(r, source)):
            try:
                value = coerce(raw)
            except FieldValueError as error:
                assert set(error.translations) >= {"en", "zh-CN"}, (raw, error.message)
                assert error.in_locale("en") != error.in_locale("zh-CN"), (raw, error.message)
                assert error.code, raw
                for text in (error.message, *error.translations.values()):
                    assert _is_clean(text), (raw, text)  # the message itself can be sent
                continue
            assert _is_clean(value), (raw, value)


@pytest.mark.parametrize(
    ("type_name", "options", "raw", "code"),
    [
        ("text", {}, "a\x00b", "invalid_text"),
        ("textarea", {}, "\ud800", "invalid_text"),
        ("select", {"options": ["a"]}, "a\x00", "invalid_text"),
        ("multiselect", {"options": ["a"]}, ["a", "\x00"], "invalid_text"),
        ("address", {}, {"city": "杭州\x00"}, "invalid_text"),
        ("attachment", {}, [{"id": "1", "name": "\ud800.pdf", "size": 1}], "invalid_text"),
        ("user", {"many": True}, ["\x00"], "invalid_text"),
        ("email", {}, "a\x00@b.cn", "invalid_text"),
        ("money", {}, Decimal("1E+30"), "too_large"),
        ("money", {}, 1e308, "too_large"),
        ("number", {}, 10**30, "too_large"),
        ("money", {}, float("nan"), "type"),
        ("money", {}, Decimal("NaN"), "type"),
        ("relation", {"to": "s"}, 2**63, "too_large"),
        ("relation", {"to": "s"}, float("inf"), "type"),
        ("formula", {"expr": "a", "result": "money"}, Decimal("1E+30"), "too_large"),
        ("formula", {"expr": "a", "result": "text"}, "x\x00", "invalid_text"),
        ("date", {}, float("nan"), "type"),
    ],
)
def test_hostile_values_have_stable_codes(type_name, options, raw, code):
    source = "excel" if type_name == "date" else "json"
    with pytest.raises(FieldValueError) as caught:
        get(type_name).coerce(build_field(type_name, **options), raw, source)
    assert caught.value.code == code


def test_the_messages_say_what_is_wrong():
    with pytest.raises(FieldValueError) as nul:
        get("text").coerce(build_field("text"), "a\x00b")
    assert nul.value.translations == {
        "en": "the text contains a NUL character (\\x00); remove it",
        "zh-CN": "文本包含空字符（\\x00），请删除",
    }
    with pytest.raises(FieldValueError) as surrogate:
        get("text").coerce(build_field("text"), "a\ud800")
    assert "U+D800" in surrogate.value.in_locale("en")
    assert "U+D800" in surrogate.value.in_locale("zh-CN")
    with pytest.raises(FieldValueError) as huge:
        get("formula").coerce(build_field("formula", expr="a", result="money"), Decimal("1E+30"))
    assert huge.value.in_locale("en") == (
        "the number is too large: at most 16 digits before the point (largest 9999999999999999.99)"
    )


def test_formula_results_round_into_the_limit_or_fail_clearly():
    field = build_field("formula", expr="a", result="money")
    convert = get("formula").coerce
    assert convert(field, Decimal("9999999999999999.994")) == Decimal("9999999999999999.99")
    with pytest.raises(FieldValueError) as caught:
        convert(field, Decimal("9999999999999999.995"))  # rounds up to 17 digits
    assert caught.value.code == "too_large"
    assert str(convert(field, Decimal("-0.004"))) == "0.00"


def test_compiled_formula_results_fail_the_same_way():
    from engine.fields.formula import result_converter

    convert = result_converter(build_field("formula", expr="a", result="money"))
    with pytest.raises(FieldValueError) as caught:
        convert(Decimal("1E+30"))
    assert caught.value.code == "too_large"
    with pytest.raises(FieldValueError) as nan:
        convert(Decimal("NaN"))
    assert nan.value.code == "type"
    assert str(convert(Decimal("-0.001"))) == "0.00"


def test_a_number_too_long_for_text_is_refused_not_raised():
    from engine.fields.base import FieldValueError
    from engine.fields.common import plain_text

    with pytest.raises(FieldValueError, match="this long"):
        plain_text(10**5000, "json")
