"""The named normalizers of normalized unique rules (docs/uniqueness.md), one by one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.definitions.normalizers import KEY_SEPARATOR, NORMALIZERS, normalize, normalized_key


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("trim", "\u3000 abc \t", "abc"),
        ("fullwidth", "（ＧＲＥＥＮ）１２３\u3000", "(GREEN)123 "),
        ("upper", "Green", "GREEN"),
        ("lower", "Green", "green"),
        ("strip_spaces", " a b\u3000c\n", "abc"),
        (
            "strip_punctuation",
            "a(b)【c】《d》·e.f,g，h。i、j-k—l_m'n\"o“p”q/r\\s:t：u;v；w&x+y",
            "abcdefghijklmnopqrstuvwxy",
        ),
        ("company_suffix", "某某有限责任公司", "某某有限公司"),
        ("company_suffix", "某某股份有限公司", "某某股份公司"),
        ("company_suffix", "有限责任公司某某", "有限责任公司某某"),  # only at the end
        ("digits", "+86 138-0013-8000", "8613800138000"),
        ("cn_phone", "+86 138-0013-8000", "13800138000"),
        ("cn_phone", "0086 13800138000", "13800138000"),
        ("cn_phone", "0571-8888-6666", "057188886666"),
        ("uscc", " 91330106ma2b-3c4d5d ", "91330106MA2B3C4D5D"),
        (
            "company_name",
            "杭州绿源（ＧＲＥＥＮ）环保科技\u3000有限公司 ",
            "杭州绿源GREEN环保科技有限公司",
        ),
    ],
)
def test_each_normalizer(name, text, expected):
    assert normalize(text, [name]) == expected


def test_every_normalizer_is_tested():
    tested = {"trim", "fullwidth", "upper", "lower", "strip_spaces", "strip_punctuation"}
    tested |= {"company_suffix", "digits", "cn_phone", "uscc", "company_name"}
    assert set(NORMALIZERS) == tested


def test_the_pipeline_runs_in_the_written_order():
    assert normalize("有限责任公司 ", ["company_suffix", "trim"]) == "有限责任公司"
    assert normalize("有限责任公司 ", ["trim", "company_suffix"]) == "有限公司"


def test_a_key_over_several_fields_and_blanks():
    assert normalized_key(["A ", date(2025, 6, 12)], ["trim"]) == f"A{KEY_SEPARATOR}2025-06-12"
    assert normalized_key([Decimal("1.50")], []) == "1.50"
    assert normalized_key(["x", None], ["trim"]) is None
    assert normalized_key(["()"], ["strip_punctuation"]) is None  # nothing left: blank
