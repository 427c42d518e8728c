"""Read an organisation workbook (.xlsx, one sheet per kind) into entries (pure).

Each sheet is named after a section (``departments``, ``users``...) and has a header row
of keys; a list in one cell is split on ``, ， 、 ;``; whole-number cells lose their
``.0``; ``active`` takes TRUE/FALSE, true/false, 是/否 or 1/0. Read with python-calamine.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from engine.errors import OrgFileError, OrgFileProblem
from engine.org.org_entries import BOOL, CODES, KEYS, Entry, Key, Problems, did_you_mean
from engine.org.snapshot import SECTIONS

#: separators of a list written in one spreadsheet cell: "a, b", "a，b", "a、b", "a; b"
_CELL_LIST = re.compile(r"[,，、;；\n]+")


def workbook_entries(path: str | Path) -> tuple[list[Entry], Problems]:
    """The entries of an .xlsx workbook and the problems met reading it."""
    from python_calamine import CalamineError, CalamineWorkbook

    file = str(path)
    problems = Problems()
    try:
        book = CalamineWorkbook.from_path(file)
    except (CalamineError, OSError, ValueError) as exc:
        raise OrgFileError(
            file, [OrgFileProblem(file, f"cannot read the workbook: {exc}", "save it as .xlsx")]
        ) from exc
    entries: list[Entry] = []
    problems.sheets = [str(name).strip() for name in book.sheet_names]
    try:
        for name in book.sheet_names:
            section = name.strip()
            if section not in SECTIONS:
                problems.add(
                    f"sheet '{name}'",
                    f"unknown sheet '{name}'",
                    did_you_mean(section, SECTIONS) or f"sheets: {', '.join(SECTIONS)}",
                )
                continue
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
            entries.extend(_sheet_entries(section, rows, problems))
    finally:
        book.close()
    return entries, problems


def _sheet_entries(section: str, rows: list[list[Any]], problems: Problems) -> list[Entry]:
    if not rows:
        return []
    headers = [str(h).strip() if h not in (None, "") else "" for h in rows[0]]
    known = KEYS[section]
    columns: dict[int, str] = {}
    for index, header in enumerate(headers):
        if not header:
            continue
        if header not in known:
            problems.add(
                f"sheet '{section}' row 1 column {_column_letter(index)}",
                f"unknown column '{header}'",
                did_you_mean(header, known) or f"columns: {', '.join(known)}",
            )
            continue
        if header in columns.values():
            problems.add(
                f"sheet '{section}' row 1 column {_column_letter(index)}",
                f"the column '{header}' appears twice",
                "keep one",
            )
            continue
        columns[index] = header
    entries = []
    for number, row in enumerate(rows[1:], start=2):
        values: dict[str, Any] = {}
        for index, key in columns.items():
            cell = row[index] if index < len(row) else ""
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            values[key] = _cell_value(known[key], cell)
        if not values:
            continue  # blank rows are skipped

        def locate(key: str | None, at_key: bool = False, number: int = number) -> str:
            base = f"sheet '{section}' row {number}"
            return base if key is None else f"{base} column '{key}'"

        entries.append(Entry(section, values, locate, {}, f"row {number}"))
    return entries


def _cell_value(spec: Key, cell: Any) -> Any:
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)  # 13805710001.0 -> 13805710001
    if spec.kind == CODES:
        if isinstance(cell, str):
            return [part.strip() for part in _CELL_LIST.split(cell) if part.strip()]
        return [str(cell)]
    if spec.kind == BOOL:
        if isinstance(cell, bool):
            return cell
        words = {"true": True, "false": False, "是": True, "否": False, "1": True, "0": False}
        return words.get(str(cell).strip().lower(), cell)
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return cell  # a TRUE/FALSE cell where text is due: refused as a type error
    if isinstance(cell, (datetime, date, time)):
        return cell
    return str(cell)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
