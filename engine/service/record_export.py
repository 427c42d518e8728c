"""A form's records as a spreadsheet: the layout (columns, labels, cell values) and the
csv and xlsx writers, streamed row by row.

The rows come from ``RecordUseCases.export_pages`` (the actor's export scope, hidden
fields left out, relation titles read in each page's transaction); this module only
shapes them. Values are written as a person reads them in the list: options by label,
related records by title, people and organisation codes by name, multiselect joined by
、. Numbers, money, percentages, dates and moments stay typed in xlsx (money
``¥#,##0.00``, dates ``yyyy-mm-dd``, moments in Asia/Shanghai); the csv carries the
exact text (money as its Decimal, never a float).

Sub-tables (xlsx only) are one more sheet each, keyed by the record's number: its
serial field when the form has one, else its title, else its id.
"""

from __future__ import annotations

import csv
import html
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import xlsxwriter

from engine.definitions.model import FieldDefinition, FormDefinition, I18nText
from engine.fields.formula import result_field
from engine.runtime.reports.results import STATUS_NAMES
from engine.service.results import Record
from engine.store.types import DEFAULT_TZ

#: field types that are not a column of an export (a picture of a signature, a grid)
NOT_EXPORTED = ("subtable", "signature")
#: the system columns a list may show, and their headings
SYSTEM_COLUMNS = {
    "id": ("编号", "ID"),
    "title": ("标题", "Title"),
    "status": ("状态", "Status"),
    "created_at": ("创建时间", "Created"),
    "created_by": ("创建人", "Created by"),
    "updated_at": ("更新时间", "Updated"),
    "updated_by": ("更新人", "Updated by"),
}
#: the heading of a sub-table sheet's first column
NUMBER_HEADING = ("单号", "Record no.")
MONEY_FORMAT = "¥#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
#: characters that make a spreadsheet read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: joins the labels of a multiselect, the names of a ``many`` people field...
JOIN = "、"
#: Excel's limits: a sheet name's length and the characters refused in one
SHEET_NAME_LENGTH = 31
SHEET_NAME_REFUSED = "[]:*?/\\"
MAX_COLUMN_WIDTH = 50

#: what a cell kind is written as: number kinds become numbers, date kinds dates
NUMBER_KINDS = ("number", "money", "percent")
DATE_KINDS = ("date", "datetime")


def _say(pair: tuple[str, str], locale: str) -> str:
    return pair[1] if locale.startswith("en") else pair[0]


@dataclass(frozen=True)
class ExportColumn:
    """One column: its key (a field, a sub-table column, or a system column), its
    heading in the actor's locale, how its cells are written (``kind``: text, number,
    money, percent, date, datetime) and, for numbers, the Excel number format."""

    key: str
    label: str
    kind: str
    number_format: str | None
    #: value (as the service returns it), the record's names, relation titles -> cell
    convert: Callable[[Any, Mapping[str, Any], Mapping[int, Any] | None], Any] = field(
        repr=False, compare=False
    )
    #: the relation field path whose titles this column needs (None: none)
    relation: str | None = None


@dataclass(frozen=True)
class SubtableSheet:
    """A sub-table written as its own sheet: the sheet name and its columns."""

    key: str
    name: str
    columns: list[ExportColumn]


@dataclass(frozen=True)
class ExportLayout:
    """What an export writes: the main sheet's columns and the sub-table sheets."""

    form: FormDefinition
    locale: str
    sheet: str
    columns: list[ExportColumn]
    subtables: list[SubtableSheet]
    #: the field that numbers a record on the sub-table sheets (None: title, then id)
    number_field: str | None

    @property
    def relations(self) -> list[str]:
        """Every relation field path whose titles the export needs."""
        paths = [c.relation for c in self.columns if c.relation]
        for sheet in self.subtables:
            paths += [c.relation for c in sheet.columns if c.relation]
        return list(dict.fromkeys(paths))

    def number(self, record: Record) -> Any:
        """The record's number on the sub-table sheets."""
        if self.number_field is not None:
            value = record.values.get(self.number_field)
            if value not in (None, ""):
                return str(value)
        return record.title or record.id


def export_layout(
    form: FormDefinition,
    hidden: frozenset[str],
    locale: str,
    columns: Sequence[str] | None = None,
    *,
    subtables: bool = True,
) -> ExportLayout:
    """The layout of ``form``'s export for an actor who may not see ``hidden``.

    ``columns`` (field keys and system columns, in order) are those of a list; None:
    every field the actor sees. Keys the actor may not see, or that the form lacks, are
    left out, so a list's columns never carry a hidden field into the file.
    """
    if columns is None:
        keys = [f.key for f in form.fields if f.key not in hidden and f.type not in NOT_EXPORTED]
    else:
        keys = list(dict.fromkeys(columns))
    main = []
    for key in keys:
        if key in hidden:
            continue
        if form.has_field(key):
            found = form.field(key)
            if found.type in NOT_EXPORTED:
                continue
            main.append(field_column(found, locale))
        elif key in SYSTEM_COLUMNS:
            main.append(_system_column(key, locale))
    sheets: list[SubtableSheet] = []
    if subtables:
        names = _SheetNames()
        names.take(_label(form.name, locale) or form.key)
        for sub in form.fields:
            if sub.type != "subtable" or sub.key in hidden:
                continue
            inner = [
                field_column(col, locale, f"{sub.key}.{col.key}")
                for col in sub.fields
                if col.type not in NOT_EXPORTED
            ]
            sheets.append(
                SubtableSheet(sub.key, names.take(_label(sub.label, locale) or sub.key), inner)
            )
    serials = [f.key for f in form.fields if f.type == "serial" and f.key not in hidden]
    sheet = _sheet_name(_label(form.name, locale) or form.key)
    return ExportLayout(form, locale, sheet, main, sheets, serials[0] if serials else None)


def _label(text: Any, locale: str) -> str:
    if isinstance(text, I18nText):
        return text.get(locale)
    return "" if text is None else str(text)


def _system_column(key: str, locale: str) -> ExportColumn:
    label = _say(SYSTEM_COLUMNS[key], locale)
    if key in ("created_at", "updated_at"):
        return ExportColumn(key, label, "datetime", DATETIME_FORMAT, _moment)
    if key == "status":

        def status(value: Any, names: Mapping[str, Any], titles: Any) -> Any:
            return _say(STATUS_NAMES[value], locale) if value in STATUS_NAMES else value

        return ExportColumn(key, label, "text", None, status)
    if key == "id":
        return ExportColumn(key, label, "number", "0", _plain)
    return ExportColumn(key, label, "text", None, _plain)


def field_column(found: FieldDefinition, locale: str, path: str | None = None) -> ExportColumn:
    """The column of one field (``path``: ``lines.qty`` for a sub-table column)."""
    key = path or found.key
    label = _label(found.label, locale) or found.key
    kind = found.type
    if kind == "formula":
        found = result_field(found)
        kind = found.type
    if kind in ("number", "money", "percent"):
        # the field types' own defaults when the YAML names no precision
        default = {"number": 0, "money": 2, "percent": 4}[kind]
        places = int(found.option("precision", default) or 0)
        if kind == "money":
            number_format = MONEY_FORMAT if places == 2 else "¥#,##0" + _places(places)
        elif kind == "percent":
            number_format = "0" + _places(max(places - 2, 0)) + "%"
        else:
            number_format = "#,##0" + _places(places)
        return ExportColumn(key, label, kind, number_format, _number)
    if kind == "date":
        return ExportColumn(key, label, "date", DATE_FORMAT, _day)
    if kind == "datetime":
        return ExportColumn(key, label, "datetime", DATETIME_FORMAT, _moment)
    if kind == "boolean":
        yes, no = ("Yes", "No") if locale.startswith("en") else ("是", "否")
        return ExportColumn(
            key, label, "text", None, lambda v, n, t: None if v is None else yes if v else no
        )
    if kind in ("select", "multiselect"):
        return ExportColumn(key, label, "text", None, _options(found, locale))
    if kind == "relation":
        return ExportColumn(key, label, "text", None, _related, relation=key)
    if kind in ("user", "department", "region", "dealer"):
        return ExportColumn(key, label, "text", None, _named(found.key))
    if kind == "richtext":
        return ExportColumn(key, label, "text", None, _rich)
    return ExportColumn(key, label, "text", None, _plain)


def _places(places: int) -> str:
    return "." + "0" * places if places > 0 else ""


# -- cell converters: (value, names, titles) -> a cell ---------------------------------------
def _number(value: Any, names: Any, titles: Any) -> Any:
    return value if isinstance(value, int | Decimal) and not isinstance(value, bool) else None


def _day(value: Any, names: Any, titles: Any) -> Any:
    return value if isinstance(value, date) else None


def _moment(value: Any, names: Any, titles: Any) -> Any:
    if isinstance(value, datetime):
        # Excel has no time zones: the wall-clock time in Shanghai
        moment = value.astimezone(DEFAULT_TZ) if value.tzinfo else value
        return moment.replace(tzinfo=None)
    return None


def _options(found: FieldDefinition, locale: str) -> Callable[[Any, Any, Any], Any]:
    labels: dict[str, str] = {}
    items = found.option("options")
    if isinstance(items, list | tuple):
        for item in items:
            if isinstance(item, Mapping):
                text = item.get("label") or item.get("value")
                labels[str(item.get("value"))] = _label(I18nText.of(text), locale)
            elif item is not None:
                labels[str(item)] = str(item)

    def convert(value: Any, names: Any, titles: Any) -> Any:
        if value is None or value == "":
            return None
        chosen = value if isinstance(value, list | tuple) else [value]
        return JOIN.join(labels.get(str(v), str(v)) for v in chosen)

    return convert


def _related(value: Any, names: Any, titles: Mapping[int, Any] | None) -> Any:
    if value is None:
        return None
    chosen = value if isinstance(value, list) else [value]
    shown = [(titles or {}).get(v) or f"#{v}" for v in chosen]
    return JOIN.join(str(s) for s in shown) or None


def _named(key: str) -> Callable[[Any, Mapping[str, Any], Any], Any]:
    def convert(value: Any, names: Mapping[str, Any], titles: Any) -> Any:
        name = names.get(key) if names else None
        shown = name if name not in (None, "", []) else value
        if isinstance(shown, list):
            return JOIN.join(str(s) for s in shown) or None
        return None if shown in (None, "") else str(shown)

    return convert


def _rich(value: Any, names: Any, titles: Any) -> Any:
    if not isinstance(value, str):
        return None
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", value))).strip() or None


def _plain(value: Any, names: Any, titles: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | Decimal | str):
        return value if isinstance(value, str) else str(value)
    if isinstance(value, Mapping):
        if "name" in value or "id" in value:  # an uploaded file
            return str(value.get("name") or value.get("id") or "")
        return " ".join(str(v) for v in value.values() if v)  # an address
    if isinstance(value, list | tuple):
        return JOIN.join(str(_plain(v, names, titles) or "") for v in value) or None
    return str(value)


# -- rows ---------------------------------------------------------------------------------
def record_cells(
    layout: ExportLayout, record: Record, titles: Mapping[str, Mapping[int, Any]]
) -> list[Any]:
    """The main sheet's cells of one record."""
    out = []
    values, names = record.values, record.names
    for column in layout.columns:
        key = column.key
        if key in SYSTEM_COLUMNS and not layout.form.has_field(key):
            value = getattr(record, key, None)
        else:
            value = values.get(key)
        out.append(column.convert(value, names, titles.get(column.relation or "")))
    return out


def subtable_cells(
    layout: ExportLayout,
    sheet: SubtableSheet,
    record: Record,
    titles: Mapping[str, Mapping[int, Any]],
) -> list[list[Any]]:
    """The rows of one sub-table of one record, each starting with the record's number."""
    rows = record.values.get(sheet.key)
    if not isinstance(rows, list) or not rows:
        return []
    number = layout.number(record)
    out = []
    for row in rows:
        cells = [number]
        for column in sheet.columns:
            inner = column.key.partition(".")[2]
            cells.append(column.convert(row.get(inner), {}, titles.get(column.relation or "")))
        out.append(cells)
    return out


# -- writers ------------------------------------------------------------------------------
def csv_safe(text: str) -> str:
    """Text a spreadsheet shows as text, not runs as a formula (a leading ``'``)."""
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def _csv_text(column: ExportColumn, value: Any) -> str:
    if value is None:
        return ""
    if column.kind in NUMBER_KINDS:
        return str(value)  # the exact Decimal text: 1200.50, never 1200.5000000001
    if column.kind == "date":
        return value.isoformat()
    if column.kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return csv_safe(str(value))


def write_csv(
    layout: ExportLayout,
    pages: Iterable[Any],
    out: IO[str],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the main sheet as csv (UTF-8 with a BOM, so Excel reads the Chinese
    headings) to the text stream ``out``; the number of records written."""
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow([c.label for c in layout.columns])
    count = 0
    columns = layout.columns
    for page in pages:
        for record in page.records:
            cells = record_cells(layout, record, page.titles)
            writer.writerow([_csv_text(c, v) for c, v in zip(columns, cells, strict=True)])
        count += len(page.records)
        if progress is not None:
            progress(count)
    return count


class _SheetNames:
    """Unique Excel sheet names (31 characters, none of ``[]:*?/\\``)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, wanted: str) -> str:
        base = _sheet_name(wanted)
        name, n = base, 2
        while name.lower() in self.taken:
            suffix = f" ({n})"
            name = base[: SHEET_NAME_LENGTH - len(suffix)] + suffix
            n += 1
        self.taken.add(name.lower())
        return name


def _sheet_name(wanted: str) -> str:
    text = "".join("_" if ch in SHEET_NAME_REFUSED else ch for ch in wanted).strip("'")
    return (text or "Sheet")[:SHEET_NAME_LENGTH]


def _width(label: str) -> float:
    wide = sum(2 if ord(ch) > 0x2E7F else 1 for ch in label)
    return float(min(MAX_COLUMN_WIDTH, max(10, wide + 2)))


class _Sheet:
    """One worksheet written row by row (constant memory: rows in order only)."""

    def __init__(self, book: Any, name: str, columns: list[ExportColumn], styles: dict) -> None:
        self.sheet = book.add_worksheet(name)
        self.row = 0
        self.writers: list[Callable[[int, int, Any], None]] = []
        sheet = self.sheet
        for index, column in enumerate(columns):
            width = _width(column.label)
            if column.kind in DATE_KINDS:
                width = max(width, 20 if column.kind == "datetime" else 12)
            sheet.set_column(index, index, width)
            self.writers.append(_cell_writer(sheet, column, styles))
        sheet.freeze_panes(1, 0)
        header = styles["header"]
        for index, column in enumerate(columns):
            sheet.write_string(0, index, column.label, header)

    def write(self, cells: list[Any]) -> None:
        self.row += 1
        row = self.row
        for index, (write, value) in enumerate(zip(self.writers, cells, strict=True)):
            if value is not None:
                write(row, index, value)


def _cell_writer(sheet: Any, column: ExportColumn, styles: dict) -> Callable[[int, int, Any], None]:
    """How a cell of ``column`` is written: typed, and text always as text (a value
    such as ``=HYPERLINK(...)`` stays a string: no formula is ever made from data)."""
    if column.kind in NUMBER_KINDS:
        style = sheet_format(styles, column.number_format)
        write_number, write_string = sheet.write_number, sheet.write_string

        def number(row: int, col: int, value: Any) -> None:
            if isinstance(value, int | Decimal | float):
                write_number(row, col, float(value), style)
            else:
                write_string(row, col, str(value))

        return number
    if column.kind in DATE_KINDS:
        style = sheet_format(styles, column.number_format)
        write_datetime = sheet.write_datetime
        return lambda row, col, value: write_datetime(row, col, value, style)
    write_string = sheet.write_string
    return lambda row, col, value: write_string(row, col, str(value))


def sheet_format(styles: dict, number_format: str | None) -> Any:
    """The workbook's cell format of ``number_format`` (made once per workbook)."""
    if not number_format:
        return None
    if number_format not in styles:
        styles[number_format] = styles["book"].add_format({"num_format": number_format})
    return styles[number_format]


def write_xlsx(
    layout: ExportLayout,
    pages: Iterable[Any],
    path: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export to the file ``path`` as xlsx in constant memory (XlsxWriter
    flushes each row to a temporary file as the next one starts); the records written."""
    book = xlsxwriter.Workbook(
        path,
        {
            "constant_memory": True,
            "in_memory": False,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    styles: dict[Any, Any] = {"book": book}
    styles["header"] = book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
    main = _Sheet(book, layout.sheet, layout.columns, styles)
    number_column = ExportColumn(
        "_number", _say(NUMBER_HEADING, layout.locale), "text", None, _plain
    )
    subs = [
        (sheet, _Sheet(book, sheet.name, [number_column, *sheet.columns], styles))
        for sheet in layout.subtables
    ]
    count = 0
    try:
        for page in pages:
            titles = page.titles
            for record in page.records:
                main.write(record_cells(layout, record, titles))
                for sheet, target in subs:
                    for cells in subtable_cells(layout, sheet, record, titles):
                        target.write(cells)
            count += len(page.records)
            if progress is not None:
                progress(count)
    finally:
        book.close()
    return count
