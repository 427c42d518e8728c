"""A dashboard run written as an xlsx workbook: an overview sheet, then one sheet per widget.

``service.reports.export_xlsx`` runs the dashboard in the actor's scope and calls
:func:`write_dashboard_xlsx`; the web and the CLI hand it a file or a response stream.

Layout (what a person opening the file in Excel or WPS sees):

- 概览 / Overview: the dashboard's name, the filters applied, the time of export, and
  which sheet holds which widget (a sheet name is cut to Excel's 31 characters).
- a chart widget (bar, line, pie, funnel, ranking): a bold, frozen header row of the
  column labels, a row per group (dimension labels as text, measures as numbers with
  their format), then the totals row 合计 / Total.
- a pivot: the grid, with its row and column headers frozen, a total column per
  measure, the subtotal rows and the column totals with the grand total.
- a KPI: label / value rows (value, compared value and change, target and rate), and
  its sparkline's points below.
- a detail table: its rows as shown (display text), with a note when only the first
  page is in the file.
- a widget that showed a message instead of figures: that message in one cell.

Pure formatting: the figures come from the result as computed; nothing is recomputed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, BinaryIO

import xlsxwriter

from engine.runtime.reports.results import ResultColumn, WidgetResult
from engine.store.types import DEFAULT_TZ

if TYPE_CHECKING:  # reports.py imports this module: no import cycle at run time
    from engine.service.reports import DashboardResult

#: Excel's limit on a sheet name, and the characters it refuses in one
SHEET_NAME_LENGTH = 31
SHEET_NAME_REFUSED = "[]:*?/\\"
#: widest column set (in characters of the default font); longer text wraps or overflows
MAX_COLUMN_WIDTH = 60
MIN_COLUMN_WIDTH = 8

#: number formats of a measure's ``format`` (ResultColumn.format)
NUMBER_FORMATS = {
    "money": "¥#,##0.00",
    "integer": "#,##0",
    "number": "#,##0.00",
    "percent": "0.00%",
}

WORDS = {
    "overview": ("概览", "Overview"),
    "dashboard": ("仪表盘", "Dashboard"),
    "exported": ("导出时间", "Exported"),
    "filters": ("筛选条件", "Filters"),
    "none": ("（无）", "(none)"),
    "widgets": ("组件", "Widgets"),
    "sheet": ("工作表", "Sheet"),
    "total": ("合计", "Total"),
    "subtotal": ("小计", "Subtotal"),
    "item": ("项目", "Item"),
    "value": ("数值", "Value"),
    "period": ("期间", "Period"),
    "compared": ("对比值", "Compared"),
    "compare_period": ("对比期间", "Compared period"),
    "change": ("变化", "Change"),
    "target": ("目标", "Target"),
    "rate": ("达成率", "Achievement"),
    "trend": ("趋势", "Trend"),
    "date": ("日期", "Date"),
    "previous_period": ("上期", "previous period"),
    "last_year": ("去年同期", "same period last year"),
    "no_data": ("无数据", "No data"),
}


def _word(key: str, locale: str) -> str:
    zh, en = WORDS[key]
    return en if locale.startswith("en") else zh


def write_dashboard_xlsx(
    result: DashboardResult,
    out: BinaryIO,
    locale: str,
    *,
    now: datetime | None = None,
) -> None:
    """Write ``result`` (a dashboard run) to ``out`` as an xlsx workbook.

    ``locale`` chooses the words this module adds (合计 or Total...); the labels and
    titles are already in the result's locale. ``now`` is the time of export shown on
    the overview sheet (default: the current time).
    """
    # in_memory: XlsxWriter builds the parts in memory rather than in temporary files, so
    # the export works where the temporary folder is read-only; dashboards are small
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    styles = _Styles(book)
    names = _SheetNames()
    overview_name = names.take(_word("overview", locale))
    overview = book.add_worksheet(overview_name)
    sheets = [(w, names.take(w.title or w.key)) for w in result.widgets]
    _write_overview(overview, styles, result, sheets, locale, now)
    for widget, name in sheets:
        sheet = book.add_worksheet(name)
        _write_widget(sheet, styles, widget, locale)
    book.close()


class _Styles:
    """The workbook's cell formats, made once."""

    def __init__(self, book: Any):
        self.book = book
        self.header = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
        self.bold = book.add_format({"bold": True})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.text = book.add_format({"num_format": "@"})
        self.bold_text = book.add_format({"bold": True, "num_format": "@"})
        self.note = book.add_format({"italic": True, "font_color": "#595959", "text_wrap": True})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self._numbers: dict[tuple[str, bool], Any] = {}

    def number(self, column: ResultColumn | None, bold: bool = False) -> Any:
        """The format of a measure's numbers (bold in totals rows)."""
        code = number_format(column)
        key = (code, bold)
        if key not in self._numbers:
            self._numbers[key] = self.book.add_format({"num_format": code, "bold": bold})
        return self._numbers[key]


def number_format(column: ResultColumn | None) -> str:
    """The Excel number format of a measure column: money ¥#,##0.00, integer #,##0,
    number #,##0.00, percent 0.00%; a measure's ``decimals`` sets the places."""
    kind = (column.format if column else None) or "number"
    decimals = column.decimals if column else None
    if kind not in NUMBER_FORMATS:
        kind = "number"
    if decimals is None:
        return NUMBER_FORMATS[kind]
    if kind == "percent":
        # 0.1234 has 4 decimals as a value and 2 as a percentage (12.34%)
        places = max(decimals - 2, 0)
        return "0" + ("." + "0" * places if places else "") + "%"
    if kind == "integer":
        return "#,##0"
    head = "¥#,##0" if kind == "money" else "#,##0"
    return head + ("." + "0" * decimals if decimals > 0 else "")


class _SheetNames:
    """Sheet names Excel accepts: at most 31 characters, none of []:*?/\\, not starting
    or ending with an apostrophe, unique without regard to case."""

    def __init__(self) -> None:
        # "History" is reserved by Excel (it refuses to open a workbook using it)
        self._taken: set[str] = {"history"}

    def take(self, wanted: str) -> str:
        cleaned = "".join("_" if ch in SHEET_NAME_REFUSED else ch for ch in wanted)
        cleaned = " ".join(cleaned.split()).strip("'") or "Sheet"
        base = cleaned[:SHEET_NAME_LENGTH].strip("'") or "Sheet"
        name, number = base, 1
        while name.lower() in self._taken:
            number += 1
            tail = f" ({number})"
            name = base[: SHEET_NAME_LENGTH - len(tail)].rstrip("'") + tail
        self._taken.add(name.lower())
        return name


class _Sheet:
    """A worksheet and the widest text written in each column (to size the columns)."""

    def __init__(self, sheet: Any, styles: _Styles):
        self.sheet = sheet
        self.styles = styles
        self.widths: dict[int, int] = {}

    def _seen(self, col: int, text: str) -> None:
        self.widths[col] = max(self.widths.get(col, 0), display_width(text))

    def text(self, row: int, col: int, value: Any, style: Any = None) -> None:
        text = "" if value is None else str(value)
        if text == "":
            if style is not None:
                self.sheet.write_blank(row, col, None, style)
            return
        self.sheet.write_string(row, col, text, style or self.styles.text)
        self._seen(col, text)

    def value(
        self, row: int, col: int, value: Any, column: ResultColumn | None, bold: bool
    ) -> None:
        """A measure's value: a number with the column's format, a date, or text."""
        if value is None:
            return
        if isinstance(value, str):
            try:
                value = Decimal(value)
            except ArithmeticError:
                self.text(row, col, value)
                return
        if isinstance(value, bool):
            self.text(row, col, str(value))
        elif isinstance(value, Decimal | int | float):
            # Excel stores every number as a binary float, so the exact Decimal becomes
            # the nearest float here (the cell's value only; the figures were summed
            # exactly by the database). A float keeps 15 significant digits, so up to
            # about a trillion yuan the format's cents show the exact Decimal's cents
            self.sheet.write_number(row, col, float(value), self.styles.number(column, bold))
            self._seen(col, _shown_number(value, column))
        elif isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(DEFAULT_TZ).replace(tzinfo=None)
            self.sheet.write_datetime(row, col, value, self.styles.datetime)
            self._seen(col, "2026-01-01 00:00")
        elif isinstance(value, date):
            self.sheet.write_datetime(row, col, value, self.styles.date)
            self._seen(col, "2026-01-01")
        else:
            self.text(row, col, value)

    def merged(self, row: int, first: int, last: int, text: str) -> None:
        """A header over several columns (one per measure of a pivot's column)."""
        if last > first:
            self.sheet.merge_range(row, first, row, last, text, self.styles.header)
            # the text spreads over the merged columns: count its width once among them
            self._seen(first, text[: max(len(text) // (last - first + 1), 1)])
        else:
            self.text(row, first, text, self.styles.header)

    def header(self, row: int, cells: Sequence[str], first_col: int = 0) -> None:
        for i, cell in enumerate(cells):
            self.text(row, first_col + i, cell, self.styles.header)

    def size_columns(self) -> None:
        for col, width in self.widths.items():
            wide = min(max(width + 2, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH)
            self.sheet.set_column(col, col, wide)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a spreadsheet: CJK (wide) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _shown_number(value: Any, column: ResultColumn | None) -> str:
    """About how wide the formatted number is (to size its column)."""
    kind = column.format if column else None
    number = Decimal(str(value))
    if kind == "percent":
        return f"{number * 100:,.2f}%"
    if kind == "integer":
        return f"{number:,.0f}"
    text = f"{number:,.2f}"
    return "¥" + text if kind == "money" else text


# -- sheets -----------------------------------------------------------------------------


def _write_overview(
    raw: Any,
    styles: _Styles,
    result: DashboardResult,
    sheets: Sequence[tuple[WidgetResult, str]],
    locale: str,
    now: datetime | None,
) -> None:
    sheet = _Sheet(raw, styles)
    sheet.text(0, 0, result.name, styles.title)
    moment = (now or datetime.now(DEFAULT_TZ)).astimezone(DEFAULT_TZ)
    sheet.text(2, 0, _word("dashboard", locale), styles.bold)
    sheet.text(2, 1, f"{result.name} ({result.dashboard.key})")
    sheet.text(3, 0, _word("exported", locale), styles.bold)
    sheet.text(3, 1, moment.strftime("%Y-%m-%d %H:%M:%S %z"))
    row = 5
    sheet.text(row, 0, _word("filters", locale), styles.header)
    sheet.text(row, 1, _word("value", locale), styles.header)
    row += 1
    if not result.filters:
        sheet.text(row, 0, _word("none", locale))
        row += 1
    for key, value in result.filters.items():
        flt = result.dashboard.filter(key)
        label = flt.label.get(locale) if flt is not None and flt.label else key
        shown = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else value
        shown = result.filter_labels.get(key, shown)
        sheet.text(row, 0, label)
        sheet.text(row, 1, shown)
        row += 1
    row += 1
    sheet.text(row, 0, _word("widgets", locale), styles.header)
    sheet.text(row, 1, _word("sheet", locale), styles.header)
    row += 1
    for widget, name in sheets:
        sheet.text(row, 0, widget.title)
        sheet.text(row, 1, name)
        row += 1
    sheet.size_columns()


def _write_widget(raw: Any, styles: _Styles, widget: WidgetResult, locale: str) -> None:
    sheet = _Sheet(raw, styles)
    if widget.error:
        sheet.text(0, 0, widget.error, styles.note)
        raw.set_column(0, 0, MAX_COLUMN_WIDTH)
        return
    if widget.kind == "kpi":
        _write_kpi(sheet, widget, locale)
    elif widget.kind == "pivot" and "pivot" in widget.extra:
        _write_pivot(sheet, widget, locale)
    elif widget.kind == "table":
        _write_table(sheet, widget, locale)
    else:
        _write_groups(sheet, widget, locale)
    sheet.size_columns()


def _write_groups(sheet: _Sheet, widget: WidgetResult, locale: str) -> None:
    """Header, a row per group, the totals row."""
    columns = widget.columns
    dims = [c for c in columns if c.role == "dimension"]
    measures = [c for c in columns if c.role == "measure"]
    sheet.header(0, [c.label for c in (*dims, *measures)])
    sheet.sheet.freeze_panes(1, 0)
    row = 1
    for item in widget.rows:
        for i, _dim in enumerate(dims):
            sheet.text(row, i, item.labels[i] if i < len(item.labels) else "")
        for j, measure in enumerate(measures):
            value = item.values[j] if j < len(item.values) else None
            sheet.value(row, len(dims) + j, value, measure, bold=False)
        row += 1
    if widget.totals is not None:
        sheet.text(row, 0, _word("total", locale), sheet.styles.bold_text)
        for j, measure in enumerate(measures):
            value = widget.totals[j] if j < len(widget.totals) else None
            sheet.value(row, len(dims) + j, value, measure, bold=True)
        row += 1
    if not widget.rows:
        sheet.text(row, 0, _word("no_data", locale), sheet.styles.note)
    truncated = widget.extra.get("truncated")
    if truncated:
        sheet.text(
            row + 1,
            0,
            _say(locale, f"仅含前 {truncated} 组", f"the first {truncated} groups only"),
            sheet.styles.note,
        )


def _write_pivot(sheet: _Sheet, widget: WidgetResult, locale: str) -> None:
    """The grid: column headers (one row per column dimension, then the measures when
    there are several), row headers, cells, the total column, subtotals, column totals."""
    grid = widget.extra["pivot"]
    by_key = {c.key: c for c in widget.columns if c.role == "measure"}
    measures = [by_key.get(k) for k in grid["measures"]]
    dims = [c for c in widget.columns if c.role == "dimension"]
    heads = grid["columns"]
    n_cols_dims = max((len(h["labels"]) for h in heads), default=0)
    n_rows = max(len(dims) - n_cols_dims, 1)
    row_dims, col_dims = dims[:n_rows], dims[n_rows:]
    m = len(measures)
    levels = max(len(col_dims), 1)
    header_rows = levels + (1 if m > 1 else 0)
    total_word = _word("total", locale)
    styles = sheet.styles
    # header rows: the column dimensions' labels at the left, their values across
    for level in range(levels):
        r = level
        for i in range(n_rows):
            sheet.text(r, i, "", styles.header)
        if col_dims and (header_rows > 1 or n_rows > 1):
            sheet.text(r, n_rows - 1, col_dims[level].label, styles.header)
        for c, head in enumerate(heads):
            labels = head["labels"]
            text = labels[level] if level < len(labels) else ""
            sheet.merged(r, n_rows + c * m, n_rows + c * m + m - 1, text)
        total_at = n_rows + len(heads) * m
        sheet.merged(r, total_at, total_at + m - 1, total_word)
    last = header_rows - 1
    for i, dim in enumerate(row_dims):
        label = dim.label
        if i == n_rows - 1 and col_dims and header_rows == 1 and n_rows == 1:
            label = f"{dim.label} \\ {col_dims[0].label}"
        sheet.text(last, i, label, styles.header)
    if m > 1:
        for c in range(len(heads) + 1):
            for j, measure in enumerate(measures):
                label = measure.label if measure else grid["measures"][j]
                sheet.text(last, n_rows + c * m + j, label, styles.header)
    sheet.sheet.freeze_panes(header_rows, n_rows)
    row = header_rows
    total_col = n_rows + len(heads) * m
    for grid_row in grid["rows"]:
        subtotal = grid_row["kind"] == "subtotal"
        labels = grid_row["labels"]
        for i in range(n_rows):
            text = labels[i] if i < len(labels) else ""
            if subtotal and i == min(1, n_rows - 1) and n_rows > 1:
                text = _word("subtotal", locale)
            elif subtotal and n_rows == 1:
                text = f"{text} {_word('subtotal', locale)}"
            sheet.text(row, i, text, styles.bold_text if subtotal else None)
        for c, cell in enumerate(grid_row["cells"]):
            for j, measure in enumerate(measures):
                value = cell[j] if cell is not None and j < len(cell) else None
                sheet.value(row, n_rows + c * m + j, value, measure, bold=subtotal)
        for j, measure in enumerate(measures):
            total = grid_row.get("total")
            value = total[j] if total is not None and j < len(total) else None
            sheet.value(row, total_col + j, value, measure, bold=True)
        row += 1
    sheet.text(row, 0, total_word, styles.bold_text)
    for c, cell in enumerate(grid.get("column_totals") or ()):
        for j, measure in enumerate(measures):
            value = cell[j] if cell is not None and j < len(cell) else None
            sheet.value(row, n_rows + c * m + j, value, measure, bold=True)
    grand = grid.get("grand")
    for j, measure in enumerate(measures):
        value = grand[j] if grand is not None and j < len(grand) else None
        sheet.value(row, total_col + j, value, measure, bold=True)


def _write_kpi(sheet: _Sheet, widget: WidgetResult, locale: str) -> None:
    """Label / value rows, then the sparkline's points."""
    kpi = widget.extra.get("kpi") or {}
    column = widget.columns[0] if widget.columns else None
    percent = ResultColumn("change", "", "measure", "percent")
    styles = sheet.styles
    sheet.header(0, [_word("item", locale), _word("value", locale)])
    sheet.sheet.freeze_panes(1, 0)
    label = column.label if column else _word("value", locale)
    rows: list[tuple[str, Any, ResultColumn | None]] = [
        (label, kpi.get("value"), column),
        (_word("period", locale), kpi.get("period"), None),
    ]
    compare = kpi.get("compare")
    if compare in ("previous_period", "last_year"):
        rows.append((_word("compare_period", locale), kpi.get("compare_period"), None))
        compared = f"{_word('compared', locale)}（{_word(compare, locale)}）"
        if locale.startswith("en"):
            compared = f"{_word('compared', locale)} ({_word(compare, locale)})"
        rows.append((compared, kpi.get("compared"), column))
        rows.append((_word("change", locale), kpi.get("change"), percent))
    if compare == "target" or "target" in kpi:
        rows.append((_word("target", locale), kpi.get("target"), column))
        rate = ResultColumn("rate", "", "measure", "percent")
        rows.append((_word("rate", locale), kpi.get("rate"), rate))
    row = 1
    for text, value, fmt in rows:
        sheet.text(row, 0, text, styles.bold_text)
        if fmt is None:
            sheet.text(row, 1, value)
        else:
            sheet.value(row, 1, value, fmt, bold=False)
        row += 1
    points = kpi.get("sparkline") or ()
    if points:
        row += 1
        sheet.text(row, 0, _word("trend", locale), styles.bold)
        row += 1
        sheet.header(row, [_word("date", locale), label])
        row += 1
        for point_label, value in points:
            sheet.text(row, 0, point_label)
            sheet.value(row, 1, value, column, bold=False)
            row += 1


def _write_table(sheet: _Sheet, widget: WidgetResult, locale: str) -> None:
    """The rows as shown (display text: ¥56.00, 审批中), and which part of them this is."""
    sheet.header(0, [c.label for c in widget.columns])
    sheet.sheet.freeze_panes(1, 0)
    row = 1
    for item in widget.rows:
        for i, text in enumerate(item.values):
            sheet.text(row, i, text)
        row += 1
    page = widget.extra.get("page") or {}
    total = page.get("total")
    if not widget.rows:
        sheet.text(row, 0, _word("no_data", locale), sheet.styles.note)
    elif total is not None and total > len(widget.rows):
        shown = len(widget.rows)
        number = page.get("page", 1)
        sheet.text(
            row + 1,
            0,
            _say(
                locale,
                f"仅含第 {number} 页：{shown} 条，共 {total} 条",
                f"page {number} only: {shown} of {total} rows",
            ),
            sheet.styles.note,
        )


def _say(locale: str, zh: str, en: str) -> str:
    return en if locale.startswith("en") else zh
