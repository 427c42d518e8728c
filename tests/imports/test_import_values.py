"""Cells to record values (engine/service/import_values.py): every conversion with
concrete values, the refusals and their messages in both languages, and the speed of a
100,000-row column."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from engine.definitions import load_app_text
from engine.definitions.model import FieldDefinition
from engine.service.import_values import CellError, convert_cell, converter_for

APP = """
app: v
version: 1.0.0
name: V
---
form: f
fields:
  name: text
  code: {type: text, pattern: "^[A-Z]+$"}
  qty: {type: number, precision: 0}
  weight: {type: number, precision: 3}
  price: money
  rate: percent
  day: date
  moment: datetime
  paid: boolean
  level:
    type: select
    options:
      - {value: urgent, label: {zh-CN: 紧急, en: Urgent}}
      - {value: normal, label: {zh-CN: 普通, en: Normal}}
  tags:
    type: multiselect
    options:
      - {value: red, label: {zh-CN: 红色, en: Red}}
      - {value: blue, label: {zh-CN: 蓝色, en: Blue}}
      - {value: green, label: {zh-CN: 绿色, en: Green}}
  place: address
  file: attachment
  total: {type: formula, expr: "price * 2", result: money}
"""

FORM = load_app_text(APP).forms[0]


class NoLookups:
    """A resolver for fields that never look anything up (relations are tested with the
    real resolver in test_import_lookups.py)."""

    def relation(self, field: FieldDefinition, text: str) -> int:
        raise AssertionError("no relation here")

    def org(self, field: FieldDefinition, text: str) -> str:
        raise AssertionError("no organisation field here")


def convert(key: str, value, locale: str = "zh-CN"):
    return convert_cell(FORM.field(key), value, NoLookups(), locale)


def refusal(key: str, value, locale: str = "zh-CN") -> CellError:
    with pytest.raises(CellError) as caught:
        convert(key, value, locale)
    return caught.value


@pytest.mark.parametrize("key", ["name", "qty", "price", "day", "paid", "level", "tags"])
@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000"])
def test_blank_cells_are_none_in_every_type(key, blank):
    assert convert(key, blank) is None


def test_text_is_trimmed_and_excel_numbers_lose_their_point_zero():
    assert convert("name", "  华东经销商 ") == "华东经销商"
    assert convert("name", 1001.0) == "1001"
    assert convert("name", 1001) == "1001"
    assert convert("name", 12.5) == "12.5"
    assert convert("name", 0.1 + 0.2) == "0.3"
    assert convert("name", date(2026, 3, 5)) == "2026-03-05"
    assert convert("name", datetime(2026, 3, 5, 9, 30)) == "2026-03-05 09:30:00"
    assert convert("name", True) == "TRUE"
    # the field's own pattern is judged when the record is prepared, not here
    assert convert("code", "abc") == "abc"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("１６２．００", Decimal("162.00")),
        ("¥1,200.50", Decimal("1200.50")),
        ("￥1,200.50", Decimal("1200.50")),
        ("1,200.50", Decimal("1200.50")),
        ("1 200.50", Decimal("1200.50")),
        ("1,234,567.8", Decimal("1234567.8")),
        ("１，２００．５０", Decimal("1200.50")),
        ("(1,200.50)", Decimal("-1200.50")),
        ("-¥5.00", Decimal("-5.00")),
        ("¥-5.00", Decimal("-5.00")),
        ("−3", Decimal("-3")),
        ("1200元", Decimal("1200")),
        ("RMB 88", Decimal("88")),
        (210.0, Decimal("210")),
        (259.2, Decimal("259.2")),
        (0.1 + 0.2, Decimal("0.3")),
        (7, Decimal("7")),
        # never rounded: the money field's own "at most 2 decimal places" judges it later
        (103.055, Decimal("103.055")),
        ("103.055", Decimal("103.055")),
    ],
)
def test_money_is_read_as_people_type_it_and_never_rounded(cell, expected):
    value = convert("price", cell)
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected)


def test_numbers_and_percentages():
    assert convert("qty", "1,234") == Decimal("1234")
    assert convert("qty", 12.0) == Decimal("12")
    assert convert("weight", "0.125") == Decimal("0.125")
    assert convert("rate", "2.5%") == Decimal("0.025")
    assert convert("rate", "２．５％") == Decimal("0.025")
    assert convert("rate", 0.025) == Decimal("0.025")  # a cell formatted 2.5% holds 0.025
    assert convert("rate", "0.025") == Decimal("0.025")


@pytest.mark.parametrize(
    "cell", ["abc", "12abc", "1.2.3", "1e5", True, "--5", "¥", "1,2", "1.200,50", "12,00", "(-5)"]
)
def test_text_that_is_no_number_is_refused_with_what_was_given(cell):
    error = refusal("price", cell)
    assert error.code == "type"
    assert error.message.startswith("应为数字，例如 1,200.50，收到 ")
    assert refusal("price", "abc", "en").message == "expected a number such as 1,200.50, got abc"
    assert refusal("qty", "5%").message == "应为数字，例如 1,200.50，收到 5%"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2026-03-05", date(2026, 3, 5)),
        ("2026/3/5", date(2026, 3, 5)),
        ("2025/7/1", date(2025, 7, 1)),
        ("2026年3月5日", date(2026, 3, 5)),
        ("2026.3.5", date(2026, 3, 5)),
        ("20260305", date(2026, 3, 5)),
        ("２０２６－０３－０５", date(2026, 3, 5)),
        ("2026-03-05 00:00:00", date(2026, 3, 5)),
        (45839, date(2025, 7, 1)),
        (45839.0, date(2025, 7, 1)),
        ("45839", date(2025, 7, 1)),
        (1, date(1899, 12, 31)),
        (date(2025, 7, 1), date(2025, 7, 1)),
        (datetime(2025, 7, 1, 0, 0), date(2025, 7, 1)),
    ],
)
def test_dates_from_serials_cells_and_text(cell, expected):
    assert convert("day", cell) == expected


def test_dates_that_cannot_be_known_are_refused():
    ambiguous = refusal("day", "3/5/2026")
    assert ambiguous.code == "ambiguous_date"
    assert ambiguous.message == "3/5/2026 无法确定日和月的顺序，请写成年在前的 2026-03-05"
    assert refusal("day", "2026-02-30").message == (
        "应为日期，例如 2026-03-05 或 2026/3/5，收到 2026-02-30"
    )
    assert refusal("day", "tomorrow", "en").message == (
        "expected a date such as 2026-03-05 or 2026/3/5, got tomorrow"
    )
    assert refusal("day", 3_000_000).message == (
        "3000000 不是日期（Excel 日期序号为 1 到 2958465）"
    )
    assert refusal("day", time(9, 30)).code == "type"


def test_datetimes_from_serials_cells_and_text():
    assert convert("moment", 45839.375) == datetime(2025, 7, 1, 9, 0)
    assert convert("moment", datetime(2025, 7, 1, 9, 30)) == datetime(2025, 7, 1, 9, 30)
    assert convert("moment", date(2025, 7, 1)) == datetime(2025, 7, 1)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert convert("moment", "2026-03-05 09:30") == datetime(2026, 3, 5, 9, 30, tzinfo=shanghai)
    assert convert("moment", "2026/3/5 9:30") == datetime(2026, 3, 5, 9, 30, tzinfo=shanghai)
    assert convert("moment", "2026年3月5日 9:30") == datetime(2026, 3, 5, 9, 30, tzinfo=shanghai)
    assert convert("moment", "2026-03-05T01:30:00Z") == datetime(2026, 3, 5, 1, 30, tzinfo=UTC)
    assert refusal("moment", "3/5/2026 9:30").message == (
        "应为日期时间，例如 2026-03-05 09:30，收到 3/5/2026 9:30"
    )
    assert refusal("moment", time(9, 30), "en").message == (
        "expected a date and time, got only the time 09:30:00"
    )


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("是", True),
        ("否", False),
        ("true", True),
        ("FALSE", False),
        ("Y", True),
        ("n", False),
        ("√", True),
        ("×", False),
        ("1", True),
        (0, False),
        (1.0, True),
        (True, True),
    ],
)
def test_yes_and_no(cell, expected):
    assert convert("paid", cell) is expected


def test_a_word_that_is_neither_yes_nor_no():
    assert refusal("paid", "也许").message == "应为是或否（是/否、Y/N、1/0），收到 也许"
    assert refusal("paid", 2).message == "应为是或否（是/否、Y/N、1/0），收到 2"


def test_options_by_value_or_label_in_either_language():
    assert convert("level", "urgent") == "urgent"
    assert convert("level", "紧急") == "urgent"
    assert convert("level", "URGENT") == "urgent"
    assert convert("level", "Normal") == "normal"
    assert convert("level", " 普通 ") == "normal"
    error = refusal("level", "高")
    assert (error.code, error.message) == ("option", "高 不是可选项（紧急、普通）")
    assert (
        refusal("level", "High", "en").message == "High is not one of the options (Urgent、Normal)"
    )


def test_several_options_in_one_cell():
    assert convert("tags", "红色、蓝色") == ["red", "blue"]
    assert convert("tags", "red, Green；蓝色") == ["red", "green", "blue"]
    assert convert("tags", "红色，红色") == ["red"]
    assert refusal("tags", "红色、紫色").message == "紫色 不是可选项（红色、蓝色、绿色）"


def test_an_address_is_read_by_its_own_type():
    assert convert("place", "浙江省 杭州市 西湖区 文三路 1 号") == {
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
    }


def test_excel_error_values_are_refused_in_every_type():
    for key in ("name", "price", "day", "level"):
        error = refusal(key, "#DIV/0!")
        assert error.code == "excel_error"
        assert error.message == "单元格是 Excel 错误值 #DIV/0!，请修正公式或直接填写数值"


def test_files_and_formulas_cannot_come_from_a_cell():
    assert refusal("file", "quote.pdf").message == "attachment 类型的字段不能从表格导入"
    assert refusal("total", "12", "en").message == (
        "a formula field cannot be filled from a spreadsheet cell"
    )


def test_a_converter_chosen_once_converts_a_whole_column():
    cells = {
        "price": [f"{i % 999 + 1},{i % 1000:03d}.50" for i in range(1_000)],
        "day": [45839.0 + (i % 300) for i in range(1_000)],
        "paid": ["是" if i % 3 else "否" for i in range(1_000)],
    }
    out = {}
    for key, column in cells.items():
        converter = converter_for(FORM.field(key), NoLookups(), "zh-CN")
        out[key] = [converter(cell) for cell in column]
    assert str(out["price"][1001 % 1000]) == "2001.50"
    assert str(out["day"][0]) == "2025-07-01"
    assert out["paid"][:3] == [False, True, True]
