"""What an import returns: its preview, its report and its background run (plain values).

:class:`ImportPreview` is what ``service.imports.inspect`` shows before anything is
written, :class:`ImportReport` what a run did (or, dry, would do) with every failing row,
and :class:`ImportRun` a background run as a page polls it. Each has ``to_json()`` for
the API and ``--output json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def _cell_json(value: Any) -> Any:
    """A raw spreadsheet cell as JSON (dates as ISO text, Decimals as text)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


@dataclass(frozen=True)
class ImportIssue:
    """One reason a row was refused: its row number as the spreadsheet shows it (the
    header is row 1), the column header and field concerned (None: the whole row)."""

    row: int
    column: str | None
    field: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ImportIssue:
        """An issue from its JSON."""
        return cls(int(data["row"]), data.get("column"), data.get("field"), str(data["message"]))


@dataclass(frozen=True)
class ImportTargetInfo:
    """A field a column may be mapped to, as a page offers it."""

    path: str
    label: str
    type: str
    required: bool

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "path": self.path,
            "label": self.label,
            "type": self.type,
            "required": self.required,
        }


@dataclass(frozen=True)
class ImportPreview:
    """A file looked at before importing: its sheets, the chosen sheet's headers, the first
    rows as text, how many data rows, the mapping proposed (saved for the form, else
    suggested), the fields one may map to and the unique fields update mode may match by."""

    sheets: tuple[str, ...]
    sheet: str
    headers: tuple[str, ...]
    sample: list[list[str]]
    row_count: int
    mapping: dict[str, str | None]
    targets: list[ImportTargetInfo]
    unique_fields: list[str]
    saved: bool = False

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "sheets": list(self.sheets),
            "sheet": self.sheet,
            "headers": list(self.headers),
            "sample": self.sample,
            "row_count": self.row_count,
            "mapping": dict(self.mapping),
            "saved_mapping": self.saved,
            "targets": [t.to_json() for t in self.targets],
            "unique_fields": list(self.unique_fields),
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did (``dry_run``: would do): counts of records created, updated
    and left unchanged, of failing rows, every issue, and the failing rows themselves
    (row number, raw cells) for the error workbook."""

    dry_run: bool
    mode: str
    match: str | None
    total: int
    created: int
    updated: int
    unchanged: int
    failed: int
    cancelled: bool
    issues: list[ImportIssue]
    headers: tuple[str, ...] = ()
    failed_rows: list[tuple[int, list[Any]]] = field(default_factory=list)
    record_ids: list[int] = field(default_factory=list)
    #: rows written before a cancel ("valid" mode keeps its finished chunks)
    written_rows: int = 0

    @property
    def imported(self) -> int:
        """Records created or updated."""
        return self.created + self.updated

    def failed_row_numbers(self) -> list[int]:
        """The numbers of the failing rows, in order."""
        return sorted({issue.row for issue in self.issues})

    def to_json(self) -> dict[str, Any]:
        """Plain data (the failing rows' cells as JSON values)."""
        return {
            "dry_run": self.dry_run,
            "mode": self.mode,
            "match": self.match,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "written_rows": self.written_rows,
            "issues": [i.to_json() for i in self.issues],
            "headers": list(self.headers),
            "failed_rows": [[n, [_cell_json(c) for c in cells]] for n, cells in self.failed_rows],
            "record_ids": list(self.record_ids),
        }

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ImportReport:
        """A report from its JSON (as a run row keeps it)."""
        return cls(
            dry_run=bool(data["dry_run"]),
            mode=str(data["mode"]),
            match=data.get("match"),
            total=int(data["total"]),
            created=int(data["created"]),
            updated=int(data["updated"]),
            unchanged=int(data["unchanged"]),
            failed=int(data["failed"]),
            cancelled=bool(data["cancelled"]),
            issues=[ImportIssue.of(i) for i in data.get("issues", [])],
            headers=tuple(data.get("headers", ())),
            failed_rows=[(int(n), list(cells)) for n, cells in data.get("failed_rows", [])],
            record_ids=[int(i) for i in data.get("record_ids", [])],
            written_rows=int(data.get("written_rows", 0)),
        )


@dataclass(frozen=True)
class ImportRun:
    """A background import as its owner sees it: status (queued, running, done, failed,
    cancelled), progress (``done`` of ``total`` rows) and, once finished, its report."""

    id: int
    app: str
    form: str
    file_name: str
    status: str
    done: int
    total: int
    report: ImportReport | None
    error: str | None
    created_at: datetime | None
    finished_at: datetime | None
    has_errors_file: bool = False

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> ImportRun:
        """A run from its stored row."""
        report = row.get("report")
        return cls(
            id=int(row["id"]),
            app=row["app"],
            form=row["form"],
            file_name=row["file_name"],
            status=row["status"],
            done=int(row["done"] or 0),
            total=int(row["total"] or 0),
            report=ImportReport.of(report) if report else None,
            error=row.get("error"),
            created_at=row.get("created_at"),
            finished_at=row.get("finished_at"),
            has_errors_file=bool(row.get("output_name")),
        )

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "id": self.id,
            "app": self.app,
            "form": self.form,
            "file_name": self.file_name,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "report": self.report.to_json() if self.report is not None else None,
            "error": self.error,
            "created_at": self.created_at.isoformat() if self.created_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "has_errors_file": self.has_errors_file,
        }
