"""An uploaded spreadsheet as a table of raw cells: the first step of an import.

Workbooks (.xlsx, .xlsm, .xlsb, .xls, .ods) are read with python-calamine, which gives
each cell's cached value (a formula's last result) as text, float, int, bool, date,
datetime or time. A csv (.csv, .txt) is decoded with its encoding *detected*: a BOM
says it (UTF-8, UTF-16), else the bytes are tried as strict UTF-8 first, then as
GB18030 (what Excel and WPS write on a Chinese Windows), and the delimiter (tab,
semicolon or comma) is the one the header line uses most. Strict UTF-8 first is what
keeps this right: GB18030 decodes almost any byte string, UTF-8 almost never decodes
GB18030 text, so the order cannot mistake one for the other.

The header is the sheet's first non-blank row; rows keep the number the spreadsheet
shows (the header of a sheet starting at A1 is row 1). Blank rows are left out, and
with them the empty rows and columns a workbook often carries after its data.
Whatever cannot be read is an :class:`ImportFileError` saying what to do, in the
importer's language.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidArgumentError
from engine.store.messages import shorten


def _short(value: object) -> str:
    """A name as a message shows it: printable, at most 60 characters, unquoted."""
    text = value if isinstance(value, str) else shorten(value)
    if not text.isprintable():
        text = ascii(text)[1:-1]
    return text if len(text) <= 60 else text[:57] + "..."


MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_IMPORT_ROWS = 200_000
MAX_IMPORT_COLUMNS = 200
#: longest header kept (a header is a label, not a paragraph)
MAX_HEADER = 100

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
#: how a workbook's bytes start: a zip (xlsx, xlsm, xlsb, ods) or an OLE file (xls)
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ImportFileError(InvalidArgumentError):
    """An uploaded file that cannot be imported; the message says why and what to do."""


@dataclass(frozen=True)
class ImportTable:
    """The cells of one sheet: ``headers`` and ``rows`` of (spreadsheet row number,
    cells), one cell per header (None where blank)."""

    sheets: tuple[str, ...]
    sheet: str
    headers: tuple[str, ...]
    rows: list[tuple[int, tuple[Any, ...]]]


def read_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    locale: str = "zh-CN",
    max_rows: int = MAX_IMPORT_ROWS,
) -> ImportTable:
    """The header and data rows of ``data`` (an uploaded file named ``filename``).

    ``sheet`` picks a workbook's sheet (the first when None). Raises ImportFileError
    for a file that is not a spreadsheet, an unknown sheet (listing the sheets), no
    data, more than ``max_rows`` rows or MAX_IMPORT_COLUMNS columns, or two columns
    with the same header.
    """
    en = isinstance(locale, str) and locale.startswith("en")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _error(
            en, "data", data, "type", "the file must be bytes", "文件内容应为字节（bytes）"
        )
    data = bytes(data)
    if not isinstance(filename, str):
        raise _error(
            en, "filename", filename, "type", "the file name must be text", "文件名应为文本"
        )
    if len(data) > MAX_IMPORT_BYTES:
        raise _error(
            en,
            "data",
            f"{len(data)} bytes",
            "too_large",
            f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: split it",
            f"文件超过 {MAX_IMPORT_BYTES // (1024 * 1024)} MB，请拆分后再导入",
        )
    if not data.strip():
        raise _error(en, "data", filename, "empty", "the file is empty", "文件是空的")
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if data.startswith((_ZIP, _OLE)) or suffix in WORKBOOK_SUFFIXES:
        sheets, chosen, lines = _workbook_rows(data, filename, sheet, en)
    elif suffix in CSV_SUFFIXES or _looks_like_text(data):
        if sheet not in (None, "", _csv_sheet(filename)):
            raise _unknown_sheet(en, sheet, (_csv_sheet(filename),))
        sheets, chosen = (_csv_sheet(filename),), _csv_sheet(filename)
        lines = _csv_rows(_decode(data, en))
    else:
        raise _not_a_spreadsheet(en, filename)
    headers, rows = _table(lines, max_rows, en)
    return ImportTable(sheets, chosen, headers, rows)


# -- workbooks --------------------------------------------------------------------------
def _workbook_rows(
    data: bytes, filename: str, sheet: str | None, en: bool
) -> tuple[tuple[str, ...], str, Iterator[tuple[int, list[Any]]]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (CalamineError, OSError, ValueError, TypeError) as exc:
        raise _not_a_spreadsheet(en, filename) from exc
    names = tuple(str(name) for name in book.sheet_names)
    if not names:
        raise _error(en, "data", filename, "empty", "the workbook has no sheet", "工作簿没有工作表")
    if sheet in (None, ""):
        chosen = _first_visible(book) or names[0]
    elif sheet in names:
        chosen = sheet
    else:
        raise _unknown_sheet(en, sheet, names)
    try:
        cells = book.get_sheet_by_name(chosen).iter_rows()
    except (CalamineError, OSError, ValueError) as exc:
        raise _error(
            en,
            "sheet",
            chosen,
            "unreadable",
            f"the sheet {chosen} cannot be read ({exc}): save the file again as .xlsx",
            f"无法读取工作表 {chosen}（{exc}），请另存为 .xlsx 后再导入",
        ) from exc
    # iter_rows starts at the sheet's first cell A1, so the n-th row is row n
    return names, chosen, enumerate(cells, start=1)


def _first_visible(book: Any) -> str | None:
    """The first visible worksheet (a workbook may open on a hidden helper sheet)."""
    try:
        for meta in book.sheets_metadata:
            if str(meta.visible).endswith("Visible") and "Work" in str(meta.typ):
                return str(meta.name)
    except (AttributeError, ValueError):  # an older python-calamine
        return None
    return None


# -- csv ----------------------------------------------------------------------------------
def _csv_sheet(filename: str) -> str:
    """A csv has one sheet; it is named after the file, as Excel names it."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] or "csv"


def _looks_like_text(data: bytes) -> bool:
    """No NUL in the first bytes (UTF-16 has a BOM and is text too)."""
    head = data[:4096]
    return head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" not in head


def _decode(data: bytes, en: bool) -> str:
    """The text of a csv: BOM first, then strict UTF-8, then GB18030 (never a guess
    that silently turns Chinese into Latin letters)."""
    if data.startswith(b"\xef\xbb\xbf"):
        encodings: Sequence[str] = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _error(
        en,
        "data",
        "csv",
        "encoding",
        "the csv is neither UTF-8 nor GB18030: save it as 'CSV UTF-8' and import again",
        "无法识别 csv 的编码（既不是 UTF-8 也不是 GB18030），请另存为“CSV UTF-8”后再导入",
    )


def _delimiter(text: str) -> str:
    """Tab, semicolon or comma: whichever the header line holds most (outside quotes)."""
    line, quoted = [], False
    for char in text[:65536]:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            if line:
                break
            continue
        elif not quoted:
            line.append(char)
    counts = {d: line.count(d) for d in ("\t", ";", ",")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(text: str) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    # a record is a row as a spreadsheet shows it, even when a quoted cell spans lines
    return enumerate(reader, start=1)


# -- the table ----------------------------------------------------------------------------
def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _blank_row(row: tuple[Any, ...]) -> bool:
    """Every cell None or blank text (0 and False are data)."""
    if all(isinstance(c, str) for c in row):  # every csv row: blank when all whitespace
        return not "".join(row).strip()
    return all(_blank(c) for c in row)


def _header_text(cell: Any) -> str:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    text = unicodedata.normalize("NFC", str(cell)).replace("\n", " ").strip()
    return " ".join(text.split())[:MAX_HEADER]


def _table(
    lines: Iterable[tuple[int, list[Any]]], max_rows: int, en: bool
) -> tuple[tuple[str, ...], list[tuple[int, tuple[Any, ...]]]]:
    lines = iter(lines)
    header_line: list[Any] | None = None
    for _number, cells in lines:
        if not all(_blank(c) for c in cells):
            header_line = list(cells)
            break
    if header_line is None:
        raise _error(en, "data", "", "empty", "the sheet is empty", "工作表是空的")
    while header_line and _blank(header_line[-1]):
        header_line.pop()
    headers = _headers(header_line, en)
    width = len(headers)
    rows: list[tuple[int, tuple[Any, ...]]] = []
    append = rows.append
    padding = (None,) * width
    for number, cells in lines:
        # the checks run in C for the common row (no empty cell, some data): a sheet of
        # 100,000 rows must cost little more than python-calamine's own read
        row = tuple(cells[:width])
        if "" in row:
            row = tuple(None if c == "" else c for c in row)
        if _blank_row(row):
            continue  # blank rows, and the empty rows a sheet carries after its data
        if len(rows) >= max_rows:
            raise _error(
                en,
                "data",
                f"> {max_rows}",
                "too_many_rows",
                f"the sheet has more than {max_rows} data rows: split it into several files",
                f"工作表的数据超过 {max_rows} 行，请拆分成几个文件导入",
            )
        if len(row) < width:
            row += padding[len(row) :]
        append((number, row))
    if not rows:
        raise _error(
            en,
            "data",
            "",
            "empty",
            "the sheet has a header row but no data rows",
            "工作表只有表头，没有数据行",
        )
    return headers, rows


def _headers(cells: list[Any], en: bool) -> tuple[str, ...]:
    if len(cells) > MAX_IMPORT_COLUMNS:
        raise _error(
            en,
            "data",
            f"{len(cells)}",
            "too_many_columns",
            f"the sheet has {len(cells)} columns, at most {MAX_IMPORT_COLUMNS} can be imported",
            f"工作表有 {len(cells)} 列，最多可导入 {MAX_IMPORT_COLUMNS} 列",
        )
    headers: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        letter = column_letter(index)
        # an unnamed column keeps a name the mapping can show (and leave unmapped)
        text = (f"Column {letter}" if en else f"列{letter}") if _blank(cell) else _header_text(cell)
        if text in seen:
            first = column_letter(seen[text])
            raise _error(
                en,
                "headers",
                text,
                "duplicate_header",
                f"columns {first} and {letter} are both headed {text!r}: rename one",
                f"第 {first} 列和第 {letter} 列的表头都是“{text}”，请改掉其中一个",
            )
        seen[text] = index
        headers.append(text)
    return tuple(headers)


def column_letter(index: int) -> str:
    """A 0-based column index as the spreadsheet letters it (0 -> A, 27 -> AB)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- errors -------------------------------------------------------------------------------
def _error(
    en: bool, argument: str, given: object, code: str, english: str, chinese: str
) -> ImportFileError:
    return ImportFileError(
        english if en else chinese,
        argument=argument,
        given=shorten(given),
        expected="a spreadsheet" if en else "表格文件",
        code=code,
    )


def _not_a_spreadsheet(en: bool, filename: str) -> ImportFileError:
    return _error(
        en,
        "data",
        filename,
        "not_a_spreadsheet",
        f"{_short(filename)} is not a spreadsheet: upload .xlsx, .xls, .ods or .csv",
        f"{_short(filename)} 不是表格文件，请上传 .xlsx、.xls、.ods 或 .csv 文件",
    )


def _unknown_sheet(en: bool, sheet: object, names: Sequence[str]) -> ImportFileError:
    listed = ", ".join(names) if en else "、".join(names)
    return _error(
        en,
        "sheet",
        sheet,
        "unknown_sheet",
        f"the file has no sheet {_short(sheet)}; its sheets: {listed}",
        f"文件中没有工作表“{_short(sheet)}”，现有工作表：{listed}",
    )
