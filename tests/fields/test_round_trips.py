"""Property tests: for values from each type's domain, storage and JSON give them back
(and the JSON fits the type's value schema), and so does display text where people are
meant to type it back (dates, numbers, money...)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc as stdnum_uscc

from engine.fields import get
from engine.fields.uscc import USCC_ALPHABET

from .conftest import build_field

SHANGHAI = ZoneInfo("Asia/Shanghai")
PRIORITY = [
    {"value": "normal", "label": {"zh-CN": "普通", "en": "Normal"}},
    {"value": "urgent", "label": {"zh-CN": "紧急", "en": "Urgent"}},
    {"value": "low", "label": "低"},
]
_WORD = st.text(
    alphabet=st.characters(categories=("L", "N"), exclude_characters="、，,;；"),
    min_size=1,
    max_size=12,
)
_LINE = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "Zs"), exclude_characters="\u3000\xa0"),
    min_size=1,
    max_size=60,
).filter(lambda s: s == s.strip() and s)


def _decimals(places: int, limit: int = 10**15) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=-limit, max_value=limit, places=places, allow_nan=False, allow_infinity=False
    )


def _uscc() -> st.SearchStrategy[str]:
    alphabet = "".join(sorted(USCC_ALPHABET))
    head = st.tuples(
        st.text(alphabet=alphabet, min_size=2, max_size=2),
        st.text(alphabet="0123456789", min_size=6, max_size=6),
        st.text(alphabet=alphabet, min_size=9, max_size=9),
    ).map("".join)
    return head.map(lambda body: body + stdnum_uscc.calc_check_digit(body))


_FILE = st.builds(
    lambda stem, ext, size: {
        "id": stem,
        "name": f"{stem}.{ext}",
        "size": size,
        "content_type": None,
        "sha256": "0" * 64,
    },
    st.text(alphabet="abcdefgh0123", min_size=1, max_size=8),
    st.sampled_from(["pdf", "png", "jpg"]),
    st.integers(min_value=0, max_value=10 * 1024**2),
)

#: (type, options, strategy of values, does display text read back through web input?)
CASES = [
    ("text", {}, _LINE, True),
    ("textarea", {}, st.lists(_LINE, min_size=1, max_size=3).map("\n".join), True),
    ("number", {}, st.integers(min_value=-(10**17), max_value=10**17), True),
    ("number", {"precision": 3}, _decimals(3, 10**15 - 1), True),
    ("money", {}, _decimals(2), True),
    ("percent", {}, _decimals(4, 10**6), True),
    ("date", {}, st.dates(), True),
    (
        "datetime",
        {},
        st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2100, 1, 1)).map(
            lambda d: d.replace(microsecond=0, tzinfo=SHANGHAI)
        ),
        True,
    ),
    ("boolean", {}, st.booleans(), True),
    ("select", {"options": PRIORITY}, st.sampled_from(["normal", "urgent", "low"]), True),
    (
        "multiselect",
        {"options": PRIORITY},
        st.lists(st.sampled_from(["normal", "urgent", "low"]), min_size=1, unique=True),
        True,
    ),
    ("user", {}, _WORD, True),
    ("department", {"many": True}, st.lists(_WORD, min_size=1, max_size=4, unique=True), True),
    ("relation", {"to": "supplier"}, st.integers(min_value=1, max_value=2**62), True),
    (
        "relation",
        {"to": "product", "many": True},
        st.lists(st.integers(1, 10**9), min_size=1, unique=True),
        True,
    ),
    (
        "attachment",
        {"accept": ["pdf", "png", "jpg"]},
        st.lists(_FILE, min_size=1, max_size=9),
        False,
    ),
    ("serial", {"pattern": "PR-{0000}"}, _WORD, True),
    ("formula", {"expr": "a", "result": "money"}, _decimals(2), True),
    (
        "address",
        {},
        st.fixed_dictionaries(
            {
                "province": _WORD,
                "city": _WORD,
                "district": _WORD,
                "detail": st.lists(_WORD, min_size=1, max_size=4).map(" ".join),
            }
        ),
        True,
    ),
    ("phone", {}, st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), True),
    (
        "email",
        {},
        st.from_regex(r"[A-Za-z0-9._+\-]{1,20}@[a-z0-9]{1,10}\.[a-z]{2,6}", fullmatch=True),
        True,
    ),
    ("uscc", {}, _uscc(), True),
]
IDS = [f"{name}-{'-'.join(map(str, options))}" if options else name for name, options, *_ in CASES]


@pytest.mark.parametrize("type_name,options,values,display_reads_back", CASES, ids=IDS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_values_survive_storage_json_and_display(
    type_name, options, values, display_reads_back, data
):
    field_type = get(type_name)
    field = build_field(type_name, **options)
    value = data.draw(values)
    assert field_type.from_storage(field, field_type.to_storage(field, value)) == value
    assert field_type.coerce(field, field_type.to_json(field, value), "json") == value
    jsonschema.validate(field_type.to_json(field, value), field_type.value_schema(field))
    if display_reads_back:
        assert field_type.coerce(field, field_type.display(field, value), "web") == value


@settings(max_examples=100, deadline=None)
@given(
    html=st.text(  # NULs and lone surrogates are refused (tests/fields/test_hostile_values.py)
        alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
        max_size=200,
    )
)
def test_sanitising_richtext_twice_changes_nothing(html):
    field = build_field("richtext")
    once = get("richtext").coerce(field, html)
    assert once is None or get("richtext").coerce(field, once) == once


@settings(max_examples=60, deadline=None)
@given(value=_decimals(2))
def test_money_survives_an_excel_float_cell(value):
    # A spreadsheet keeps 15 significant digits; amounts up to 10^12 fit.
    if abs(value) < 10**12:
        assert get("money").coerce(build_field("money"), float(value), "excel") == value
