"""The workbooks of imports: the per-form template and the failing rows with their reasons.

- :func:`template_workbook`: the header row (field labels, frozen, bold; a required
  field's label marked), one example row, and each option field's choices as an Excel
  list validation (a hidden sheet of options when the list is too long for Excel's
  255-character inline list), so a person fills the file with what the form accepts.
- :func:`errors_workbook`: the failing rows exactly as they were read (same headers, same
  cells), the spreadsheet row number, and an 错误原因 / Errors column with every reason of
  the row: fix the cells and import the file again.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import xlsxwriter

#: Excel's limit on an inline list validation's text
INLINE_LIST_LIMIT = 255
#: rows a list validation covers below the header
VALIDATION_ROWS = 10_000
OPTIONS_SHEET = "options"


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


def template_workbook(
    headers: Sequence[str],
    example: Sequence[Any],
    choices: Sequence[Sequence[str] | None],
    required: Sequence[bool],
    locale: str,
) -> bytes:
    """An import template: ``headers`` (one per column), an ``example`` row, and for each
    column its allowed texts (``choices``; None: free input) as a list validation."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet(_say(locale, "导入", "Import"))
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    marked = book.add_format({"bold": True, "bg_color": "#FDE9D9", "border": 1})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    options_sheet = None
    for column, header in enumerate(headers):
        sheet.write_string(0, column, header, marked if required[column] else bold)
        sheet.set_column(column, column, max(10, min(40, len(header) * 2 + 2)))
        value = example[column] if column < len(example) else None
        _write_example(sheet, column, value, day, moment)
        allowed = choices[column]
        if not allowed:
            continue
        inline = ",".join(allowed)
        if len(inline) <= INLINE_LIST_LIMIT and "," not in "".join(allowed):
            source: Any = list(allowed)
        else:  # too long (or a comma inside): a range on the options sheet
            if options_sheet is None:
                options_sheet = book.add_worksheet(OPTIONS_SHEET)
                options_sheet.hide()
            for row, text in enumerate(allowed):
                options_sheet.write_string(row, column, text)
            letter = xlsxwriter.utility.xl_col_to_name(column)
            source = f"='{OPTIONS_SHEET}'!${letter}$1:${letter}${len(allowed)}"
        sheet.data_validation(
            1,
            column,
            VALIDATION_ROWS,
            column,
            {
                "validate": "list",
                "source": source,
                "error_title": _say(locale, "不是可选项", "Not an option"),
                "error_message": _say(locale, "请从列表中选择", "Pick a value from the list"),
            },
        )
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def _write_example(sheet: Any, column: int, value: Any, day: Any, moment: Any) -> None:
    if value is None:
        return
    if isinstance(value, datetime):
        sheet.write_datetime(1, column, value.replace(tzinfo=None), moment)
    elif isinstance(value, date):
        sheet.write_datetime(1, column, datetime.combine(value, time()), day)
    elif isinstance(value, bool):
        sheet.write_string(1, column, "是" if value else "否")
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(1, column, float(value))
    else:
        sheet.write_string(1, column, str(value))


def errors_workbook(
    headers: Sequence[str],
    rows: Sequence[tuple[int, Sequence[Any]]],
    reasons: dict[int, list[str]],
    locale: str,
) -> bytes:
    """The failing ``rows`` (row number, cells as read) under ``headers``, with the row
    number first and every reason of the row in a last column."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet(_say(locale, "错误行", "Failed rows"))
    bold = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    red = book.add_format({"font_color": "#C00000", "text_wrap": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    clock = book.add_format({"num_format": "hh:mm:ss"})
    sheet.write_string(0, 0, _say(locale, "原行号", "Row"), bold)
    for column, header in enumerate(headers, start=1):
        sheet.write_string(0, column, header, bold)
        sheet.set_column(column, column, max(10, min(40, len(header) * 2 + 2)))
    reason_column = len(headers) + 1
    sheet.write_string(0, reason_column, _say(locale, "错误原因", "Errors"), bold)
    sheet.set_column(reason_column, reason_column, 60)
    for line, (number, cells) in enumerate(rows, start=1):
        sheet.write_number(line, 0, number)
        for column, value in enumerate(cells, start=1):
            _write_cell(sheet, line, column, value, day, moment, clock)
        text = (
            "；".join(reasons.get(number, []))
            if not locale.startswith("en")
            else "; ".join(reasons.get(number, []))
        )
        sheet.write_string(line, reason_column, text, red)
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def _write_cell(
    sheet: Any, row: int, column: int, value: Any, day: Any, moment: Any, clock: Any
) -> None:
    """A cell as it was read: numbers as numbers, dates as dates, the rest as text."""
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, column, value.replace(tzinfo=None), moment)
    elif isinstance(value, date):
        sheet.write_datetime(row, column, datetime.combine(value, time()), day)
    elif isinstance(value, time):
        sheet.write_datetime(row, column, datetime.combine(date(1899, 12, 31), value), clock)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, column, float(value))
    else:
        sheet.write_string(row, column, str(value))
