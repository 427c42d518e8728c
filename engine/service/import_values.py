"""Cells of an imported file to the values the record API takes, as people typed them.

A spreadsheet cell is whatever python-calamine read (text, float, int, bool, date,
datetime, time, None) or csv text. :func:`converter_for` picks, once per field, the
function that turns such a cell into the value ``service.records.create`` accepts for
that field type, and raises :class:`CellError` (a message in the importer's language)
when the cell cannot mean a value of that type:

* text: trimmed; Excel's whole numbers lose their ``.0`` (a code typed as 1001);
* number, money, percent: ``¥1,200.50``, ``1,200.50``, ``(1,200.50)``, full-width
  ``１６２．００``, ``2.5%`` for a percent; an Excel float is read to the 15 significant
  digits Excel keeps. The result is the exact Decimal: never rounded here, so 103.055 in
  a money field meets the field's own "at most 2 decimal places" error later;
* date, datetime: date cells, Excel serial numbers (45839 is 2025-07-01), ``2026-03-05``,
  ``2026/3/5``, ``2026.3.5``, ``2026年3月5日``, ``20260305``; day-first or month-first
  text such as ``3/5/2026`` is refused as ambiguous;
* boolean: 是/否, true/false, 1/0, Y/N, √/×;
* select, multiselect: an option's value or label in either language (any case, full
  width or not); several options in one cell are split on ``、 , ; ，；``;
* relation, user, department, region, dealer: the :class:`Resolver` finds the record id
  or the organisation's code from what the cell says (a name, a login, a unique field).

Blank cells give ``None``; an Excel error value (``#N/A``, ``#DIV/0!``) is refused in
every field type. The field's own checks (decimal places, min/max, required, length,
pattern, options from a form) run later, when the record is prepared.
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from engine.definitions.model import FieldDefinition
from engine.fields import registry
from engine.fields.base import FieldValueError
from engine.fields.boolean import BOOLEAN_WORDS
from engine.fields.choice import static_choices
from engine.fields.temporal import EXCEL_EPOCH, parse_date_text

#: the error values Excel shows in a cell whose formula failed
EXCEL_ERRORS = frozenset(
    {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#GETTING_DATA"}
)
#: separators of several values in one cell: "a、b", "a, b", "a；b"
_LIST_SPLIT = re.compile(r"\s*[,，;；、\n]\s*")
#: what may separate the digits of a number besides the point: grouping and spaces
_SPACING = re.compile(r"[\s']")
#: thousands grouped by commas, and only so: "1,200.50" but not "1,2" (a decimal comma?)
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
#: a plain decimal after clean-up (no exponent: "1e5" typed in a cell is not money)
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
#: an Excel serial day written as text (a csv of a sheet whose dates lost their format)
_SERIAL_TEXT = re.compile(r"\d{5}(?:\.\d+)?")
#: a date written day or month first (3/5/2026): which one is meant cannot be known
_AMBIGUOUS_DATE = re.compile(r"\d{1,2}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{4}")
#: currency words and signs around an amount ("¥1,200.50", "1200元", "RMB 1200")
_CURRENCY = re.compile(r"^(?:RMB|CNY|USD|EUR|HKD)|(?:RMB|CNY|USD|EUR|HKD|元)$|[¥$€£]", re.I)
#: characters NFKC leaves alone but people type for a minus sign
_MINUS = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-"})
#: the last day Excel can show (9999-12-31)
_MAX_SERIAL = 2958465

Converter = Callable[[Any], Any]


class CellError(Exception):
    """A cell that cannot be a value of its field: ``message`` is for the importer
    (in their language, without the row and column, which the caller adds) and
    ``code`` a stable machine name (``type``, ``not_found``, ``ambiguous``, ``option``...)."""

    def __init__(self, message: str, code: str = "type"):
        super().__init__(message)
        self.message = message
        self.code = code


class Resolver(Protocol):
    """The lookups a cell needs from the database (engine/service/import_lookups.py).

    Both raise :class:`CellError` when the text names nothing the actor may see, or
    more than one thing.
    """

    def relation(self, field: FieldDefinition, text: str) -> int:
        """The id of the record of ``field``'s target form that ``text`` names."""
        ...

    def org(self, field: FieldDefinition, text: str) -> str:
        """The login or organisation code (department, region, dealer) ``text`` names."""
        ...


def convert_cell(field: FieldDefinition, value: Any, resolver: Resolver, locale: str) -> Any:
    """``value`` (a cell) as the record API's value for ``field``; CellError when it
    cannot be one. For many cells of one column use :func:`converter_for` once."""
    key = (id(field), id(resolver), locale)
    kept = _CONVERTERS.get(key)
    # the field and resolver are kept with their converter so their ids stay theirs
    if kept is None or kept[0] is not field or kept[1] is not resolver:
        if len(_CONVERTERS) >= 256:
            _CONVERTERS.clear()
        kept = (field, resolver, converter_for(field, resolver, locale))
        _CONVERTERS[key] = kept
    return kept[2](value)


#: converters of recent convert_cell calls: (field, resolver, locale) -> converter
_CONVERTERS: dict[tuple[int, int, str], tuple[FieldDefinition, Resolver, Converter]] = {}


def converter_for(field: FieldDefinition, resolver: Resolver, locale: str) -> Converter:
    """The function that converts one cell of ``field`` (chosen once per column: the
    options, labels and messages are worked out here, not per cell)."""
    english = isinstance(locale, str) and locale.startswith("en")
    kind = registry.canonical(field.type)
    make = _MAKERS.get(kind, _not_importable)
    inner = make(field, resolver, english)

    def convert(value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            if not value.strip():
                return None
            if value in EXCEL_ERRORS:
                raise _excel_error(value, english)
        return inner(value)

    return convert


# -- messages -------------------------------------------------------------------------
def _say(english: bool, en: str, zh: str, code: str = "type") -> CellError:
    return CellError(en if english else zh, code)


def shown_cell(value: Any) -> str:
    """A cell as a message shows it: short, printable, without float noise."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value.isoformat() if isinstance(value, (date, time)) else str(value)
    if not text.isprintable():  # control characters and lone surrogates escaped, CJK kept
        text = "".join(
            ascii(c)[1:-1] if unicodedata.category(c) in ("Cc", "Cs") else c for c in text
        )
    return text if len(text) <= 40 else text[:37] + "..."


def _excel_error(value: str, english: bool) -> CellError:
    return _say(
        english,
        f"the cell holds Excel's error {value}: fix the formula or type the value",
        f"单元格是 Excel 错误值 {value}，请修正公式或直接填写数值",
        "excel_error",
    )


def _field_error(exc: FieldValueError, english: bool) -> CellError:
    return CellError(exc.in_locale("en" if english else "zh-CN"), exc.code)


def _not_importable(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    def refuse(value: Any) -> Any:
        raise _say(
            english,
            f"a {field.type} field cannot be filled from a spreadsheet cell",
            f"{field.type} 类型的字段不能从表格导入",
            "not_importable",
        )

    return refuse


# -- text -------------------------------------------------------------------------------
def cell_text(value: Any) -> str:
    """A cell as trimmed text: 1001.0 -> "1001", 1.5 -> "1.5", a date -> ISO text."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return format(value, ".15g") if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


def _text(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    return cell_text


# -- numbers ----------------------------------------------------------------------------
def cell_decimal(value: Any, *, percent: bool = False) -> Decimal | None:
    """A cell as an exact Decimal, or None when it is not a number.

    Floats are read to 15 significant digits (what Excel keeps and shows, so a cell
    showing 0.3 that holds 0.30000000000000004 is 0.3); text may carry grouping, a
    currency sign, full-width digits and accounting brackets; ``percent`` reads
    "2.5%" as 0.025.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value.is_integer():  # the common case, without formatting: 210.0 -> 210
            return Decimal(int(value))
        return Decimal(format(value, ".15g")) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if not isinstance(value, str):
        return None
    if _DECIMAL.fullmatch(value):  # plain "210.00", the common csv cell: nothing to clean
        return Decimal(value)
    text = unicodedata.normalize("NFKC", value).translate(_MINUS).strip()
    negative = text.startswith("(") and text.endswith(")")
    if negative:
        text = text[1:-1]
    text = _CURRENCY.sub("", _SPACING.sub("", text))
    scale = 0
    if percent and text.endswith("%"):
        text, scale = text[:-1], -2
    if "," in text:
        if not _GROUPED.fullmatch(text):
            return None  # "1,2" or "1.200,50": which is the decimal mark is not known
        text = text.replace(",", "")
    if not _DECIMAL.fullmatch(text) or (negative and text[:1] in "+-"):
        return None
    try:
        number = Decimal(text).scaleb(scale)
    except InvalidOperation:
        return None
    return -number if negative else number


def _number(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    percent = registry.canonical(field.type) == "percent"
    example = "2.5%" if percent else "1,200.50"

    def convert(value: Any) -> Decimal:
        number = cell_decimal(value, percent=percent)
        if number is None:
            raise _say(
                english,
                f"expected a number such as {example}, got {shown_cell(value)}",
                f"应为数字，例如 {example}，收到 {shown_cell(value)}",
            )
        return number

    return convert


# -- dates ------------------------------------------------------------------------------
def _serial_moment(days: float, english: bool) -> datetime:
    if not 0 < days <= _MAX_SERIAL:
        raise _say(
            english,
            f"{shown_cell(days)} is not a date (Excel dates are 1 to {_MAX_SERIAL})",
            f"{shown_cell(days)} 不是日期（Excel 日期序号为 1 到 {_MAX_SERIAL}）",
        )
    # round to the second Excel displays (a day fraction is rarely an exact second)
    return datetime.combine(EXCEL_EPOCH, time()) + timedelta(seconds=round(days * 86400))


def _date_refusal(value: Any, english: bool) -> CellError:
    if isinstance(value, str) and _AMBIGUOUS_DATE.fullmatch(value.strip()):
        return _say(
            english,
            f"{shown_cell(value)} could be day or month first: write the year first, 2026-03-05",
            f"{shown_cell(value)} 无法确定日和月的顺序，请写成年在前的 2026-03-05",
            "ambiguous_date",
        )
    return _say(
        english,
        f"expected a date such as 2026-03-05 or 2026/3/5, got {shown_cell(value)}",
        f"应为日期，例如 2026-03-05 或 2026/3/5，收到 {shown_cell(value)}",
    )


def cell_date(value: Any, english: bool = False) -> date:
    """A date cell, an Excel serial day or a date written year first; CellError else."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial_moment(value, english).date()
    if isinstance(value, str):
        text = value.strip()
        found = parse_date_text(text)
        if found is not None:
            return found
        if _SERIAL_TEXT.fullmatch(text):
            return _serial_moment(float(text), english).date()
        moment = _datetime_text(text)
        if moment is not None and moment.time() == time():
            return moment.date()
    raise _date_refusal(value, english)


def _datetime_text(text: str) -> datetime | None:
    """ISO or Chinese-style date-time text, naive unless it says its offset."""
    try:
        return datetime.fromisoformat(unicodedata.normalize("NFKC", text).strip())
    except ValueError:
        return None


def _date(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    # a column of dates repeats a few hundred days: each is worked out once
    known: dict[Any, date] = {}

    def convert(value: Any) -> date:
        found = known.get(value) if isinstance(value, (float, str)) else None
        if found is None:
            found = cell_date(value, english)
            if isinstance(value, (float, str)) and len(known) < 10_000:
                known[value] = found
        return found

    return convert


def _datetime(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    coerce = registry.get("datetime").coercer(field)

    def convert(value: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime.combine(value, time())
        if isinstance(value, time):
            raise _say(
                english,
                f"expected a date and time, got only the time {shown_cell(value)}",
                f"应为日期和时间，只收到时间 {shown_cell(value)}",
            )
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return _serial_moment(value, english)
        if isinstance(value, str):
            text = value.strip()
            if _SERIAL_TEXT.fullmatch(text):
                return _serial_moment(float(text), english)
            if not _AMBIGUOUS_DATE.match(text):
                # ISO and 2026年3月5日 9:30; anything else gets the message below
                with contextlib.suppress(FieldValueError):
                    found: datetime = coerce(text, "excel")
                    return found
        raise _say(
            english,
            f"expected a date and time such as 2026-03-05 09:30, got {shown_cell(value)}",
            f"应为日期时间，例如 2026-03-05 09:30，收到 {shown_cell(value)}",
        )

    return convert


# -- yes/no -----------------------------------------------------------------------------
def _boolean(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    words = {**BOOLEAN_WORDS, "yes": True, "no": False, "有": True, "无": False}

    def convert(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            found = words.get(unicodedata.normalize("NFKC", value).strip().lower())
            if found is not None:
                return found
        raise _say(
            english,
            f"expected yes or no (是/否, Y/N, 1/0), got {shown_cell(value)}",
            f"应为是或否（是/否、Y/N、1/0），收到 {shown_cell(value)}",
        )

    return convert


# -- options ----------------------------------------------------------------------------
def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _option_reader(field: FieldDefinition, english: bool) -> Callable[[str], str]:
    """One option's value from its value or label (either language); options taken
    from another form at run time are passed on as typed (the form checks them)."""
    choices = static_choices(field)
    if choices is None:
        return lambda text: text
    exact = {choice.value: choice.value for choice in choices}
    folded: dict[str, str] = {}
    for choice in choices:
        for name in (choice.text("zh-CN"), choice.text("en"), choice.value):
            folded.setdefault(_folded(name), choice.value)
    allowed = "、".join(choice.text("en" if english else "zh-CN") for choice in choices)
    if len(allowed) > 200:
        allowed = allowed[:197] + "..."

    def read(text: str) -> str:
        found = exact.get(text) or folded.get(_folded(text))
        if found is None:
            raise _say(
                english,
                f"{shown_cell(text)} is not one of the options ({allowed})",
                f"{shown_cell(text)} 不是可选项（{allowed}）",
                "option",
            )
        return found

    return read


def split_cell(text: str) -> list[str]:
    """The items of a cell listing several, blanks and repeats left out, in order."""
    items: list[str] = []
    for item in _LIST_SPLIT.split(text.strip()):
        if item and item not in items:
            items.append(item)
    return items


def _select(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    read = _option_reader(field, english)
    return lambda value: read(cell_text(value))


def _multiselect(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    read = _option_reader(field, english)

    def convert(value: Any) -> list[str] | None:
        values: list[str] = []
        for item in split_cell(cell_text(value)):
            found = read(item)
            if found not in values:
                values.append(found)
        return values or None

    return convert


# -- lookups ----------------------------------------------------------------------------
def _looked_up(
    lookup: Callable[[Resolver, FieldDefinition, str], Any],
) -> Callable[[FieldDefinition, Resolver, bool], Converter]:
    """A converter maker for a field whose value the resolver finds (one or ``many``)."""

    def make(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
        if field.option("many"):

            def convert_many(value: Any) -> list[Any] | None:
                found: list[Any] = []
                for item in split_cell(cell_text(value)):
                    one = lookup(resolver, field, item)
                    if one not in found:
                        found.append(one)
                return found or None

            return convert_many
        return lambda value: lookup(resolver, field, cell_text(value))

    return make


def _relation_lookup(resolver: Resolver, field: FieldDefinition, text: str) -> int:
    return resolver.relation(field, text)


def _org_lookup(resolver: Resolver, field: FieldDefinition, text: str) -> str:
    return resolver.org(field, text)


def _field_type(field: FieldDefinition, resolver: Resolver, english: bool) -> Converter:
    """Types whose own reading of text is what an import needs (an address)."""
    coerce = registry.get(field.type).coercer(field)

    def convert(value: Any) -> Any:
        try:
            return coerce(cell_text(value), "excel")
        except FieldValueError as exc:
            raise _field_error(exc, english) from None

    return convert


#: canonical field type -> converter maker; types absent here cannot come from a cell
#: (formula, subtable, attachment, image, signature)
_MAKERS: dict[str, Callable[[FieldDefinition, Resolver, bool], Converter]] = {
    **dict.fromkeys(("text", "textarea", "richtext", "phone", "email", "uscc", "serial"), _text),
    **dict.fromkeys(("number", "money", "percent"), _number),
    "date": _date,
    "datetime": _datetime,
    "boolean": _boolean,
    "select": _select,
    "multiselect": _multiselect,
    "relation": _looked_up(_relation_lookup),
    **dict.fromkeys(("user", "department", "region", "dealer"), _looked_up(_org_lookup)),
    "address": _field_type,
}

#: field types a spreadsheet cell can fill (engine/service/import_mapping.py offers these)
IMPORTABLE_TYPES = frozenset(_MAKERS)
