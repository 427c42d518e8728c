"""Imports: a spreadsheet's rows as records of a form (``service.imports``).

A run reads the file (engine/service/import_files.py), maps its columns to fields (the
mapping given, else the one saved for the form, else one suggested by header:
engine/service/import_mapping.py), builds each record's data from its rows and converts
the cells (engine/service/import_values.py, lookups through the actor's scoped sources:
engine/service/import_lookups.py), then writes through :func:`import_writes.write_rows`:
the one write path, with the preparation, permissions and journal of a form submission.

- Rows to records: when sub-table columns are mapped, consecutive rows whose parent
  columns (the mapped non-sub-table columns, or only the ``match`` column) hold the same
  cells are one record whose sub-table rows are those rows' sub-table cells (a row whose
  parent cells are all blank continues the record above). Otherwise a row is a record.
- Modes: ``all`` writes everything or nothing: every record is written in ONE
  transaction (each in its own savepoint, so every failing row is found and reported),
  and the transaction is rolled back when any row failed. ``valid`` writes in chunks of
  :data:`CHUNK_ROWS` rows, one transaction each, and reports the failing rows. A dry run
  is the same work in one transaction that is always rolled back.
- Update mode (``match="code"``, a field with a one-field unique rule): a row whose value
  names a record in the actor's update scope updates it (unchanged values write nothing
  and count as unchanged); otherwise a record is created.
- A value of a unique field (or of the match field) repeating an earlier row's that was
  written is refused naming that row (与第2行重复); a row refused for another reason does
  not count, so a later row with its value may still be imported.
- Background runs (:meth:`ImportUseCases.submit`) keep the upload in ``transfer_runs``
  and go through the job runner as ``engine.service.imports:run_submitted``; progress is
  written after every chunk and a cancel request is read before each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from engine.definitions.model import FieldDefinition
from engine.errors import InvalidArgumentError, NotFoundError
from engine.fields import registry
from engine.fields.choice import static_choices
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.batch_jobs import database_key
from engine.service.collector import collector_paused
from engine.service.context import ServiceContext
from engine.service.import_chunks import Outcome, feed
from engine.service.import_files import MAX_IMPORT_BYTES, ImportTable, read_table
from engine.service.import_mapping import check_mapping
from engine.service.import_report import (
    ImportIssue,
    ImportPreview,
    ImportReport,
    ImportRun,
    ImportTargetInfo,
)
from engine.service.import_rows import (
    ImportPlan,
    PendingRecord,
    field_at,
    fillable_targets,
    iter_records,
    make_plan,
    match_fields,
    proposed_mapping,
    shown_cell,
    with_existing,
)
from engine.service.import_writes import WriteItem, WriteResult, write_rows
from engine.service.import_xlsx import errors_workbook, template_workbook
from engine.service.jobs import OpenUseCases
from engine.service.transactions import Transaction
from engine.store import transfers as stored

#: the function the job runner calls for a submitted import
JOB_FUNCTION = "engine.service.imports:run_submitted"
#: rows per chunk: a transaction of "valid" mode, a progress step of every run
CHUNK_ROWS = 500
#: data rows a preview shows
SAMPLE_ROWS = 5
#: runs a listing shows
RUN_LIST_LIMIT = 20
MODES = ("all", "valid")

#: the use cases of each open Service, by database, for runs made in this process
_OPEN: OpenUseCases[ImportUseCases] = OpenUseCases("imports")


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


class _Rollback(Exception):
    """Raised at the end of a dry or failed all-or-nothing run: nothing is kept."""

    def __init__(self, outcome: Outcome):
        super().__init__("rollback")
        self.outcome = outcome


class ImportUseCases:
    """Imports of one Service: inspect a file, save a mapping, run (now or in the
    background), follow and cancel runs, the template and the error workbook."""

    def __init__(self, context: ServiceContext, job_runner: Any):
        self._context = context
        #: the job-runner seam background runs go through (EmbeddedJobRunner or RQ)
        self.job_runner = job_runner
        #: names this Service's database in a submitted run's payload (no credentials)
        self.database_key = database_key(context.transactions.database.url)
        _OPEN.add(self.database_key, self)

    # -- looking at a file ----------------------------------------------------------------
    def inspect(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: bytes,
        filename: str,
        *,
        sheet: str | None = None,
    ) -> ImportPreview:
        """A file's sheets, headers, first rows and the proposed mapping (nothing written)."""
        locale = self._check(actor, app_key, form_key, data, filename, sheet)
        table = read_table(bytes(data), filename, sheet=sheet, locale=locale)
        with self._context.transactions.read(app_key) as tx:
            definition = tx.form(form_key).definition
            access = tx.access(actor)
            access.require(definition, "import", locale)
            targets = fillable_targets(access, definition, locale)
            saved = stored.saved_mapping(tx.conn, app_key, form_key)
        mapping, from_saved = proposed_mapping(targets, table.headers, saved, locale)
        fillable = {t.path for t in targets}
        return ImportPreview(
            sheets=table.sheets,
            sheet=table.sheet,
            headers=table.headers,
            sample=[[shown_cell(c) for c in cells] for _n, cells in table.rows[:SAMPLE_ROWS]],
            row_count=len(table.rows),
            mapping=mapping,
            targets=[ImportTargetInfo(t.path, t.label, t.type, t.required) for t in targets],
            unique_fields=[k for k in match_fields(definition) if k in fillable],
            saved=from_saved,
        )

    def save_mapping(
        self, actor: Actor, app_key: str, form_key: str, mapping: Mapping[str, str | None]
    ) -> None:
        """Keep ``mapping`` (header -> field path or None) as the form's mapping."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        headers = _mapping_headers(mapping, locale)
        now = self._context.clock()

        def work(tx: Transaction) -> None:
            definition = tx.form(form_key).definition
            access = tx.access(actor)
            access.require(definition, "import", locale)
            checked = check_mapping(
                fillable_targets(access, definition, locale), headers, mapping, locale
            )
            stored.save_mapping(
                tx.conn, app=app_key, form=form_key, mapping=checked, actor=actor.user_id, now=now
            )

        self._context.transactions.write(app_key, work)

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: bytes,
        filename: str,
        *,
        sheet: str | None = None,
        mapping: Mapping[str, str | None] | None = None,
        mode: str = "all",
        match: str | None = None,
        dry_run: bool = True,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> ImportReport:
        """Import ``data`` now (``dry_run``: check every row and write nothing); the report.

        ``progress(done, total)`` is called after every chunk and ``cancelled()`` before
        each (True stops the run: all or nothing keeps nothing, "valid" keeps the chunks
        already written).
        """
        locale = self._check_run(actor, app_key, form_key, data, filename, sheet, mode, match)
        check.check_flag("dry_run", dry_run, locale)
        if mapping is not None:
            _mapping_headers(mapping, locale)
        table = read_table(bytes(data), filename, sheet=sheet, locale=locale)
        return self._import(
            actor, app_key, form_key, table, mapping, mode, match, dry_run, progress, cancelled
        )

    def submit(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: bytes,
        filename: str,
        *,
        sheet: str | None = None,
        mapping: Mapping[str, str | None] | None = None,
        mode: str = "all",
        match: str | None = None,
        dry_run: bool = False,
    ) -> int:
        """Queue an import through the job runner (it runs in the background); the run's
        id. The file, sheet, mapping and permission are checked now, so a wrong one is
        refused at once."""
        locale = self._check_run(actor, app_key, form_key, data, filename, sheet, mode, match)
        check.check_flag("dry_run", dry_run, locale)
        if mapping is not None:
            _mapping_headers(mapping, locale)
        table = read_table(bytes(data), filename, sheet=sheet, locale=locale)
        with self._context.transactions.read(app_key) as tx:
            make_plan(tx, actor, form_key, table, mapping, match, locale)
        options = {
            "sheet": table.sheet,
            "mapping": dict(mapping) if mapping is not None else None,
            "mode": mode,
            "match": match,
            "dry_run": dry_run,
            "locale": locale,
            "roles": sorted(actor.roles),
            "department": actor.department,
        }
        with self._context.transactions.database.write() as conn:
            run_id = stored.new_run(
                conn,
                kind="import",
                app=app_key,
                form=form_key,
                actor=actor.user_id,
                options=options,
                file_name=filename,
                payload=bytes(data),
                now=self._context.clock(),
            )
            stored.set_progress(conn, run_id, 0, len(table.rows))
        payload = {"run_id": run_id, "database": self.database_key, "locale": locale}
        self.job_runner.submit(JOB_FUNCTION, payload)
        return run_id

    def get_run(self, actor: Actor, run_id: int) -> ImportRun:
        """One of the actor's own import runs (NotFoundError for anyone else's)."""
        locale = check.actor_locale(actor)
        check.check_record_id(run_id, locale, "run_id")
        with self._context.transactions.database.read() as conn:
            row = stored.run_row(conn, run_id)
        return ImportRun.of(self._own(row, actor, run_id, locale))

    def cancel(self, actor: Actor, run_id: int) -> ImportRun:
        """Ask one of the actor's runs to stop (a finished run is left as it is)."""
        locale = check.actor_locale(actor)
        check.check_record_id(run_id, locale, "run_id")
        with self._context.transactions.database.write() as conn:
            self._own(stored.run_row(conn, run_id), actor, run_id, locale)
            stored.request_cancel(conn, run_id)
            if stored.run_row(conn, run_id)["status"] == stored.QUEUED:  # type: ignore[index]
                # not started: nothing to stop, so it ends here
                report = None
                stored.finish_run(
                    conn, run_id, status=stored.CANCELLED, now=self._context.clock(), report=report
                )
        return self.get_run(actor, run_id)

    def runs(self, actor: Actor, app_key: str, form_key: str) -> list[ImportRun]:
        """The actor's newest import runs of a form, newest first."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        with self._context.transactions.database.read() as conn:
            rows = stored.runs_of(
                conn,
                actor=actor.user_id,
                kind="import",
                app=app_key,
                form=form_key,
                limit=RUN_LIST_LIMIT,
            )
        return [ImportRun.of(row) for row in rows]

    def run_errors(self, actor: Actor, run_id: int) -> bytes:
        """The error workbook of one of the actor's finished runs (NotFoundError when
        the run had no failing rows)."""
        locale = check.actor_locale(actor)
        check.check_record_id(run_id, locale, "run_id")
        with self._context.transactions.database.read() as conn:
            row = self._own(stored.run_row(conn, run_id), actor, run_id, locale)
        if row["output"] is None:
            raise NotFoundError(
                _say(
                    locale,
                    f"导入 {run_id} 没有错误行可下载",
                    f"import {run_id} has no failed rows to download",
                )
            )
        return bytes(row["output"])

    def error_workbook(self, report: ImportReport, locale: str = "zh-CN") -> bytes:
        """The failing rows of ``report`` as xlsx: its headers, the cells as read, the
        row number and a column with every reason of the row."""
        if not isinstance(report, ImportReport):
            raise check.invalid("zh-CN", "report", report, "an ImportReport")
        check.check_choice("locale", locale, check.LOCALES, "zh-CN")
        reasons: dict[int, list[str]] = {}
        for issue in report.issues:
            where = issue.column or issue.field
            text = (
                f"{where}：{issue.message}"
                if where and not locale.startswith("en")
                else (f"{where}: {issue.message}" if where else issue.message)
            )
            reasons.setdefault(issue.row, []).append(text)
        return errors_workbook(report.headers, report.failed_rows, reasons, locale)

    def template(self, actor: Actor, app_key: str, form_key: str) -> bytes:
        """An xlsx template of the form: the labels of the fields the actor may import
        as headers, an example row and option lists as data validation."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        with self._context.transactions.read(app_key) as tx:
            definition = tx.form(form_key).definition
            access = tx.access(actor)
            access.require(definition, "import", locale)
            targets = fillable_targets(access, definition, locale)
        fields = [field_at(definition, t.path) for t in targets]
        return template_workbook(
            [t.label for t in targets],
            [_example(f, locale) for f in fields],
            [_choice_texts(f, locale) for f in fields],
            [t.required for t in targets],
            locale,
        )

    # -- background -----------------------------------------------------------------------
    def run_queued(self, run_id: int, locale: str = "zh-CN") -> ImportRun:
        """Run a submitted import (what the job runner calls). A run already finished is
        left as it is (the runner may deliver a job twice)."""
        database = self._context.transactions.database
        with database.read() as conn:
            row = stored.run_row(conn, run_id)
        if row is None:
            raise NotFoundError(f"there is no import run {run_id}")
        if row["status"] in stored.FINISHED:
            return ImportRun.of(row)
        options = dict(row["options"])
        actor = Actor(
            row["actor"],
            frozenset(options.get("roles") or ()),
            options.get("department"),
            str(options.get("locale") or locale),
        )
        # an earlier delivery that died midway committed its finished chunks: a second
        # run would import them again (an all-or-nothing or dry run rolled back: rerun)
        interrupted = row["status"] == stored.RUNNING and options["mode"] == "valid"
        if interrupted and not options["dry_run"]:
            return self._interrupted(run_id, row, actor.locale)
        with database.write() as conn:
            stored.start_run(conn, run_id, self._context.clock())
        if stored_cancel(database, run_id):
            return self._finish_cancelled_unstarted(run_id, row, options)
        # one open write transaction on SQLite blocks every other writer: progress of a
        # run holding one (all or nothing, dry run) is written when it ends
        single = options["mode"] == "all" or bool(options["dry_run"])
        quiet = database.is_sqlite and single

        def progress(done: int, total: int) -> None:
            if not quiet:
                with database.write() as conn:
                    stored.set_progress(conn, run_id, done, total)

        try:
            table = read_table(
                bytes(row["payload"]),
                row["file_name"],
                sheet=options.get("sheet"),
                locale=actor.locale,
            )
            report = self._import(
                actor,
                row["app"],
                row["form"],
                table,
                options.get("mapping"),
                options["mode"],
                options.get("match"),
                bool(options["dry_run"]),
                progress,
                lambda: stored_cancel(database, run_id),
            )
        except Exception as exc:
            with database.write() as conn:
                stored.finish_run(
                    conn, run_id, status=stored.FAILED, now=self._context.clock(), error=str(exc)
                )
            raise
        output = self.error_workbook(report, actor.locale) if report.failed else None
        name = f"{row['file_name'].rsplit('.', 1)[0]}-errors.xlsx" if output else None
        with database.write() as conn:
            stored.set_progress(conn, run_id, report.total, report.total)
            stored.finish_run(
                conn,
                run_id,
                status=stored.CANCELLED if report.cancelled else stored.DONE,
                now=self._context.clock(),
                report=report.to_json(),
                output=output,
                output_name=name,
            )
            done = stored.run_row(conn, run_id)
        assert done is not None
        return ImportRun.of(done)

    def _interrupted(self, run_id: int, row: Mapping[str, Any], locale: str) -> ImportRun:
        done = int(row["done"] or 0)
        text = _say(
            locale,
            f"导入在完成约 {done} 行后中断：已完成的部分已写入，请先核对记录，再只导入其余的行",
            f"the import was interrupted after about {done} rows: the finished part is "
            "written; check the records, then import only the remaining rows",
        )
        with self._context.transactions.database.write() as conn:
            stored.finish_run(
                conn, run_id, status=stored.FAILED, now=self._context.clock(), error=text
            )
            found = stored.run_row(conn, run_id)
        assert found is not None
        return ImportRun.of(found)

    def _finish_cancelled_unstarted(
        self, run_id: int, row: Mapping[str, Any], options: Mapping[str, Any]
    ) -> ImportRun:
        with self._context.transactions.database.write() as conn:
            stored.finish_run(conn, run_id, status=stored.CANCELLED, now=self._context.clock())
            found = stored.run_row(conn, run_id)
        assert found is not None
        return ImportRun.of(found)

    # -- the work -------------------------------------------------------------------------
    def _import(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        table: ImportTable,
        mapping: Mapping[str, str | None] | None,
        mode: str,
        match: str | None,
        dry_run: bool,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> ImportReport:
        with collector_paused():  # engine/service/collector.py: 40 % of a big import
            return self._import_now(
                actor, app_key, form_key, table, mapping, mode, match, dry_run, progress, cancelled
            )

    def _import_now(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        table: ImportTable,
        mapping: Mapping[str, str | None] | None,
        mode: str,
        match: str | None,
        dry_run: bool,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> ImportReport:
        locale = actor.locale
        # reading, mapping and converting: one read transaction (lookups are batched)
        total = len(table.rows)
        issues: list[ImportIssue] = []
        # the lookups read through one read transaction that stays open while the
        # records are converted a chunk at a time and written (in other transactions):
        # a big import never holds every converted record at once
        with self._context.transactions.read(app_key) as tx:
            plan = make_plan(tx, actor, form_key, table, mapping, match, locale)
            access = tx.access(actor)
            records: Iterable[PendingRecord] = iter_records(tx, access, plan, table, locale, issues)
            if match is not None:
                records = with_existing(tx, access, form_key, match, records)
            outcome = self._write(
                actor, app_key, form_key, plan, records, mode, dry_run, total, progress, cancelled
            )
        all_issues = sorted(issues + outcome.issues, key=lambda i: i.row)
        failed = {i.row for i in issues} | outcome.failed_rows
        cells = dict(table.rows)
        # an all-or-nothing run that failed (or a dry or cancelled one) wrote nothing
        kept = outcome.record_ids if not dry_run else []
        return ImportReport(
            dry_run=dry_run,
            mode=mode,
            match=match,
            total=total,
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            failed=len(failed),
            cancelled=outcome.cancelled,
            issues=all_issues,
            headers=table.headers,
            failed_rows=[(n, list(cells[n])) for n in sorted(failed)],
            record_ids=kept,
            written_rows=outcome.written_rows,
        )

    def _write(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        plan: ImportPlan,
        records: Iterable[PendingRecord],
        mode: str,
        dry_run: bool,
        total: int,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> Outcome:
        transactions = self._context.transactions
        context = self._context

        def chunks(write: Callable[[list[WriteItem]], list[WriteResult]]) -> Outcome:
            # CHUNK_ROWS read at each run (tests make it small)
            return feed(plan, records, write, total, progress, cancelled, actor.locale, CHUNK_ROWS)

        if mode == "valid" and not dry_run:
            # one transaction per chunk: a finished chunk stays written
            def chunk(items: list[WriteItem]) -> list[WriteResult]:
                return transactions.write(
                    app_key,
                    lambda tx: write_rows(
                        tx, actor, app_key, form_key, items, "import", context=context
                    ),
                )

            return chunks(chunk)

        def work(tx: Transaction) -> Outcome:
            outcome = chunks(
                lambda items: write_rows(
                    tx, actor, app_key, form_key, items, "import", context=context
                )
            )
            if dry_run or outcome.cancelled or outcome.failed_rows:
                raise _Rollback(outcome)
            return outcome

        try:
            return transactions.write(app_key, work)
        except _Rollback as rolled_back:
            outcome = rolled_back.outcome
        if not dry_run:  # all or nothing, rolled back: nothing was written
            outcome.created = outcome.updated = outcome.unchanged = 0
            outcome.record_ids = []
            outcome.written_rows = 0
        return outcome

    # -- checks ---------------------------------------------------------------------------
    def _check(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: object,
        filename: object,
        sheet: object,
    ) -> str:
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidArgumentError(
                _say(
                    locale,
                    f"data：应为文件内容（bytes），实际为 {type(data).__name__}",
                    f"data: expected the file's content (bytes), got {type(data).__name__}",
                ),
                argument="data",
                given=type(data).__name__,
                expected="bytes",
                code="type",
            )
        if len(data) > MAX_IMPORT_BYTES:
            raise InvalidArgumentError(
                _say(
                    locale,
                    f"文件超过 {MAX_IMPORT_BYTES // (1024 * 1024)} MB，请拆分后再导入",
                    f"the file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: split it",
                ),
                argument="data",
                code="too_large",
            )
        if not isinstance(filename, str) or not filename.strip() or len(filename) > 255:
            raise check.invalid(locale, "filename", filename, "a file name (text, 1-255)")
        if sheet is not None and not isinstance(sheet, str):
            raise check.invalid(locale, "sheet", sheet, "a sheet name (text) or None")
        return locale

    def _check_run(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: object,
        filename: object,
        sheet: object,
        mode: object,
        match: object,
    ) -> str:
        locale = self._check(actor, app_key, form_key, data, filename, sheet)
        check.check_choice("mode", mode, MODES, locale)
        if match is not None:
            check.check_key("match", match, 60, locale)
        return locale

    def _own(
        self, row: Mapping[str, Any] | None, actor: Actor, run_id: int, locale: str
    ) -> Mapping[str, Any]:
        """The run when it is one of the actor's imports; NotFoundError otherwise (a run
        of someone else is not said to exist)."""
        if row is None or row["kind"] != "import" or row["actor"] != actor.user_id:
            raise NotFoundError(
                _say(locale, f"没有编号为 {run_id} 的导入", f"there is no import {run_id}")
            )
        return row


# -- template ---------------------------------------------------------------------------
def _choice_texts(fld: FieldDefinition, locale: str) -> list[str] | None:
    kind = registry.canonical(fld.type)
    if kind == "boolean":
        return [_say(locale, "是", "Yes"), _say(locale, "否", "No")]
    if kind != "select":
        return None
    choices = static_choices(fld)
    return [c.text(locale) for c in choices] if choices else None


def _example(fld: FieldDefinition, locale: str) -> Any:
    """A value of the field's type for the template's example row."""
    kind = registry.canonical(fld.type)
    choices = static_choices(fld) if kind in ("select", "multiselect") else None
    if choices:
        return choices[0].text(locale)
    examples: dict[str, Any] = {
        "text": _say(locale, "示例", "Example"),
        "textarea": _say(locale, "示例", "Example"),
        "number": 1,
        "money": Decimal("100.00"),
        "percent": "10%",
        "date": date(2026, 1, 15),
        "datetime": datetime(2026, 1, 15, 9, 30),
        "time": time(9, 30).isoformat(timespec="minutes"),
        "boolean": _say(locale, "是", "Yes"),
    }
    return examples.get(kind)


def _mapping_headers(mapping: object, locale: str) -> list[str]:
    """The headers of a mapping given by a caller (text keys, text or None values)."""
    if not isinstance(mapping, Mapping):
        raise check.invalid(locale, "mapping", mapping, "a mapping {header: field path}")
    for header, path in mapping.items():
        if not isinstance(header, str) or not (path is None or isinstance(path, str)):
            raise check.invalid(locale, "mapping", {header: path}, "text headers and fields")
    return list(mapping)


def stored_cancel(database: Any, run_id: int) -> bool:
    """Whether a run's owner asked it to stop (read in its own short transaction)."""
    with database.read() as conn:
        return stored.cancel_requested(conn, run_id)


def run_submitted(payload: dict[str, Any]) -> None:
    """The job-runner entry point of a submitted import (``JOB_FUNCTION``).

    In the process that submitted it (the embedded runner) the open Service runs it; an
    RQ worker opens the database named by ``LOWCODE_DATABASE_URL`` (it must be the one
    the run was submitted on): :class:`engine.service.jobs.OpenUseCases`.
    """
    _OPEN.run(
        payload,
        lambda use_cases: use_cases.run_queued(
            int(payload["run_id"]), str(payload.get("locale", "zh-CN"))
        ),
    )


__all__ = [
    "JOB_FUNCTION",
    "ImportIssue",
    "ImportPreview",
    "ImportReport",
    "ImportRun",
    "ImportUseCases",
    "run_submitted",
]
