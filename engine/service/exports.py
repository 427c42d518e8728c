"""Exports of a form's records (a list's rows, or the whole form) to xlsx or csv
(``service.exports``): written at once to a temporary file, or as a background run
whose file is kept in ``transfer_runs`` until its owner downloads it.

The rows are read through ``RecordUseCases.export_pages`` (the store's scoped record
source in the actor's export scope; hidden fields never leave the service); the file is
shaped by :mod:`engine.service.record_export`. See docs/export.md.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from engine.errors import InvalidArgumentError, NotFoundError
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.batch_jobs import database_key
from engine.service.context import ServiceContext
from engine.service.jobs import OpenUseCases
from engine.service.org_arguments import localised
from engine.service.record_export import ExportLayout, export_layout, write_csv, write_xlsx
from engine.service.records import RecordUseCases
from engine.store import transfers as stored

#: the file formats of an export
FORMATS = ("xlsx", "csv")
#: the job-runner entry point of a background export
JOB_FUNCTION = "engine.service.exports:run_submitted"
#: records read per page (each page its own read transaction)
EXPORT_BATCH = 500
#: how many records a caller should export at once before using a background run
DIRECT_LIMIT = 20_000
#: most columns one export may name
MAX_COLUMNS = 500
_MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
_OPEN: OpenUseCases[ExportUseCases] = OpenUseCases("exports")


@dataclass(frozen=True)
class ExportFile:
    """An export written to ``path`` (a temporary file the caller removes)."""

    path: Path
    file_name: str
    mime: str
    count: int


@dataclass(frozen=True)
class ExportRun:
    """A background export: its state, progress and, once done, its file's name."""

    id: int
    app: str
    form: str
    format: str
    status: str
    done: int
    total: int
    file_name: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def ready(self) -> bool:
        """Whether the file can be downloaded."""
        return self.status == stored.DONE

    def to_json(self) -> dict[str, Any]:
        """The run as JSON (the web's progress poll and the API)."""
        return {
            "id": self.id,
            "app": self.app,
            "form": self.form,
            "format": self.format,
            "status": self.status,
            "done": self.done,
            "total": self.total,
            "file_name": self.file_name,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


def mime_of(file_format: str) -> str:
    """The media type of an export format."""
    return _MIME[file_format]


def _json_value(value: Any) -> Any:
    """A filter value as JSON (dates and Decimals as text: the query reads text)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _filters_json(filters: Iterable[Any]) -> list[Any]:
    """Filters as JSON lists ``[field, op, value]`` (a mapping stays a mapping)."""
    out: list[Any] = []
    for item in filters:
        if isinstance(item, Mapping):
            out.append({k: _json_value(v) for k, v in item.items()})
        elif hasattr(item, "field") and hasattr(item, "op"):
            out.append([item.field, item.op, _json_value(getattr(item, "value", None))])
        else:
            out.append([_json_value(v) for v in item])
    return out


class ExportUseCases:
    """Exports of one Service (``service.exports``)."""

    def __init__(self, context: ServiceContext, records: RecordUseCases, job_runner: Any):
        self._context = context
        self._records = records
        #: the job-runner seam background exports go through
        self.job_runner = job_runner
        self.database_key = database_key(context.transactions.database.url)
        _OPEN.add(self.database_key, self)

    # -- checks and layout ------------------------------------------------------------------
    def _check(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        file_format: str,
        columns: Sequence[str] | None,
    ) -> str:
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_choice("format", file_format, FORMATS, locale)
        if columns is not None:
            if isinstance(columns, str | bytes) or not isinstance(columns, Sequence):
                raise InvalidArgumentError(
                    localised(
                        locale,
                        "columns 须为字段键的列表",
                        "columns must be a list of field keys",
                    ),
                    argument="columns",
                    code="type",
                )
            if len(columns) > MAX_COLUMNS:
                raise InvalidArgumentError(
                    localised(
                        locale,
                        f"columns 最多 {MAX_COLUMNS} 列",
                        f"columns may name at most {MAX_COLUMNS} columns",
                    ),
                    argument="columns",
                    code="size",
                )
            for column in columns:
                check.check_field_path("columns", column, locale)
        return locale

    def layout(
        self, actor: Actor, app_key: str, form_key: str, columns: Sequence[str] | None = None
    ) -> ExportLayout:
        """What an export of the form holds for the actor (export grant required): the
        columns of the list (None: every field they see) less hidden ones, and the
        sub-table sheets."""
        locale = self._check(actor, app_key, form_key, "xlsx", columns)
        with self._context.transactions.read(app_key) as tx:
            definition = tx.form(form_key).definition
            access = tx.access(actor)
            access.require(definition, "export", locale)
            hidden = access.hidden(definition, "export")
        return export_layout(definition, hidden, locale, columns)

    def count(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        *,
        filters: Iterable[Any] = (),
        search: str | None = None,
        sort: str | Sequence[str] | None = None,
    ) -> int:
        """How many records an export with these filters would hold (export scope); a
        refused filter, search or sort is refused here as it would be by the export."""
        locale = self._check(actor, app_key, form_key, "xlsx", None)
        found = self._records._page(
            actor,
            app_key,
            form_key,
            "export",
            filters=_once(filters),
            sort=sort,
            page=1,
            page_size=1,
            search=search,
            with_total=True,
            with_subtables=False,
        )
        del locale
        return int(found.total or 0)

    # -- at once ------------------------------------------------------------------------------
    def write(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        *,
        format: str = "xlsx",  # noqa: A002  (the public keyword of the brief)
        filters: Iterable[Any] = (),
        sort: str | Sequence[str] | None = None,
        search: str | None = None,
        columns: Sequence[str] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> ExportFile:
        """Write the export to a temporary file and return it (the caller removes
        ``path``). Refusals (no export grant, a bad filter) come before any file is made."""
        self._check(actor, app_key, form_key, format, columns)
        layout = self.layout(actor, app_key, form_key, columns)
        filters = _once(filters)
        pages = self._records.export_pages(
            actor,
            app_key,
            form_key,
            filters=filters,
            sort=sort,
            search=search,
            with_subtables=format == "xlsx" and bool(layout.subtables),
            batch=EXPORT_BATCH,
            relations=layout.relations,
        )
        # the first page is read before the file is made: a refused filter or sort
        # raises here, and no half-written file is left behind
        first = next(pages, None)
        chained = _chain(first, pages)
        handle, name = tempfile.mkstemp(prefix="lowcode-export-", suffix="." + format)
        os.close(handle)
        path = Path(name)
        try:
            if format == "xlsx":
                count = write_xlsx(layout, chained, str(path), progress)
            else:
                with path.open("w", encoding="utf-8", newline="") as out:
                    count = write_csv(layout, chained, out, progress)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        stamp = self._context.clock().strftime("%Y%m%d-%H%M%S")
        return ExportFile(path, f"{app_key}-{form_key}-{stamp}.{format}", mime_of(format), count)

    def export_bytes(self, actor: Actor, app_key: str, form_key: str, **options: Any) -> bytes:
        """The export's file as bytes (small exports, tests); see :meth:`write`."""
        made = self.write(actor, app_key, form_key, **options)
        try:
            return made.path.read_bytes()
        finally:
            made.path.unlink(missing_ok=True)

    # -- in the background ----------------------------------------------------------------------
    def submit(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        *,
        format: str = "xlsx",  # noqa: A002
        filters: Iterable[Any] = (),
        sort: str | Sequence[str] | None = None,
        search: str | None = None,
        columns: Sequence[str] | None = None,
    ) -> int:
        """Queue an export through the job runner; the run's id. The grant and the
        filters are checked now (one record read), so a refusal comes at once."""
        locale = self._check(actor, app_key, form_key, format, columns)
        filters = _once(filters)
        total = self.count(actor, app_key, form_key, filters=filters, search=search, sort=sort)
        options = {
            "format": format,
            "filters": _filters_json(filters),
            "sort": sort if sort is None or isinstance(sort, str) else list(sort),
            "search": search,
            "columns": list(columns) if columns is not None else None,
            "locale": locale,
            "roles": sorted(actor.roles),
            "department": actor.department,
        }
        try:
            json.dumps(options)
        except (TypeError, ValueError) as error:
            raise InvalidArgumentError(
                localised(locale, f"筛选条件无法保存：{error}", f"filters cannot be kept: {error}"),
                argument="filters",
                code="type",
            ) from None
        now = self._context.clock()
        with self._context.transactions.database.write() as conn:
            run_id = stored.new_run(
                conn,
                kind="export",
                app=app_key,
                form=form_key,
                actor=actor.user_id,
                options=options,
                file_name=f"{app_key}-{form_key}.{format}",
                payload=None,
                now=now,
            )
            stored.set_progress(conn, run_id, 0, total)
        self.job_runner.submit(
            JOB_FUNCTION, {"run_id": run_id, "database": self.database_key, "locale": locale}
        )
        return run_id

    def run_queued(self, run_id: int) -> None:
        """Run a queued export (the job's body): write the file, keep it in the run."""
        database = self._context.transactions.database
        with database.read() as conn:
            row = stored.run_row(conn, run_id)
        if row is None or row["kind"] != "export" or row["status"] in stored.FINISHED:
            return
        options = dict(row["options"] or {})
        actor = Actor(
            row["actor"],
            frozenset(options.get("roles") or ()),
            options.get("department"),
            str(options.get("locale") or "zh-CN"),
        )
        with database.write() as conn:
            stored.start_run(conn, run_id, self._context.clock())
        total = int(row["total"] or 0)

        def progress(done: int) -> None:
            with database.write() as conn:
                stored.set_progress(conn, run_id, done, max(total, done))

        try:
            made = self.write(
                actor,
                row["app"],
                row["form"],
                format=options.get("format", "xlsx"),
                filters=options.get("filters") or (),
                sort=options.get("sort"),
                search=options.get("search"),
                columns=options.get("columns"),
                progress=progress,
            )
        except Exception as error:  # noqa: BLE001  (the run says why; the job is done)
            with database.write() as conn:
                stored.finish_run(
                    conn, run_id, status=stored.FAILED, now=self._context.clock(), error=str(error)
                )
            return
        try:
            data = made.path.read_bytes()
        finally:
            made.path.unlink(missing_ok=True)
        with database.write() as conn:
            stored.set_progress(conn, run_id, made.count, made.count)
            stored.finish_run(
                conn,
                run_id,
                status=stored.DONE,
                now=self._context.clock(),
                report={"count": made.count},
                output=data,
                output_name=made.file_name,
            )

    def get_run(self, actor: Actor, run_id: int) -> ExportRun:
        """One of the actor's export runs (another's, or none: NotFoundError)."""
        locale = check.actor_locale(actor)
        run_id = check.check_record_id(run_id, locale, "run_id")
        with self._context.transactions.database.read() as conn:
            row = stored.run_row(conn, run_id)
        if row is None or row["kind"] != "export" or row["actor"] != actor.user_id:
            raise NotFoundError(
                localised(locale, f"没有导出任务 {run_id}", f"there is no export run {run_id}")
            )
        return _run(row)

    def runs(self, actor: Actor, app_key: str, form_key: str | None = None) -> list[ExportRun]:
        """The actor's newest export runs of an app (or one form), newest first."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        with self._context.transactions.database.read() as conn:
            rows = stored.runs_of(
                conn, actor=actor.user_id, kind="export", app=app_key, form=form_key
            )
        return [_run(r) for r in rows]

    def download(self, actor: Actor, run_id: int) -> tuple[str, bytes]:
        """(file name, bytes) of a finished export run of the actor's; NotFoundError
        while it is not ready (the message says its state)."""
        run = self.get_run(actor, run_id)
        locale = check.actor_locale(actor)
        if not run.ready:
            raise NotFoundError(
                localised(
                    locale,
                    f"导出任务 {run_id} 尚未完成（{run.status}），完成后再下载",
                    f"export run {run_id} is not finished ({run.status}); download it when done",
                )
            )
        with self._context.transactions.database.read() as conn:
            row = stored.run_row(conn, run.id)
        assert row is not None
        return str(row["output_name"] or run.file_name), bytes(row["output"] or b"")


def _run(row: Mapping[str, Any]) -> ExportRun:
    options = row["options"] or {}
    return ExportRun(
        int(row["id"]),
        row["app"],
        row["form"],
        str(options.get("format", "xlsx")),
        row["status"],
        int(row["done"] or 0),
        int(row["total"] or 0),
        row["output_name"],
        row["error"],
        row["created_at"],
        row["finished_at"],
    )


def _once(filters: Any) -> Any:
    """An iterator of filters read once into a list (every page sees the same filters);
    anything else as given, for the store to check (and refuse, when it is no list)."""
    return list(filters) if isinstance(filters, Iterator) else filters


def _chain(first: Any, rest: Iterable[Any]) -> Iterable[Any]:
    if first is None:
        return
    yield first
    yield from rest


def run_submitted(payload: dict[str, Any]) -> None:
    """The job-runner entry point of a background export (``JOB_FUNCTION``).

    In the process that submitted it (the embedded runner) the open Service runs it; an
    RQ worker opens the database named by ``LOWCODE_DATABASE_URL`` (it must be the one
    the run was submitted on): :class:`engine.service.jobs.OpenUseCases`.
    """
    _OPEN.run(payload, lambda use_cases: use_cases.run_queued(int(payload["run_id"])))


__all__ = [
    "DIRECT_LIMIT",
    "FORMATS",
    "JOB_FUNCTION",
    "ExportFile",
    "ExportRun",
    "ExportUseCases",
    "mime_of",
    "run_submitted",
]
