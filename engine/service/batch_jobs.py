"""Declared batch jobs (``jobs/*.yaml``): run one for a period, now or in the background.

A run reads the source form's rows of the period through its record source (actor
``job:<key>``, every row, like rules), grouped and aggregated by the database in one
query; then, per group, computes the output values and writes one document of the
output form through the one write path (engine/service/writer.py), as ``job:<key>``:

- the idempotency key is (app, job, period, group key): the ``batch_job_outputs`` row
  names the document written for the group before. A group without one looks for a
  document whose ``match`` fields equal the computed values (one: adopted; several:
  the group fails as ambiguous); without any, a document is created;
- an existing document whose values already equal the computed ones is **unchanged**:
  nothing is written (no revision, no output row change); a document that differs is
  **updated** (a new revision, written by ``job:<key>``);
- each group runs in its own transaction: a group that fails (a validation error, a
  formula error) is recorded in the run's failures and the other groups go on;
- progress (rows read, groups done, created/updated/unchanged/failed) is written to the
  run row after every group, in its own small transaction, so a page can show it;
- a dry run does each group's work in a transaction that is rolled back: it writes
  nothing to form tables and returns what it would create, update or leave unchanged
  (its run row, ``dry_run = true``, keeps the counts).

Who may run jobs and see their runs: organisation administrators
(:func:`~engine.service.principals.require_org_admin`). Background runs go through the
job-runner seam (engine/service/jobs.py) as ``engine.service.batch_jobs:run_submitted``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from engine.definitions.jobs import (
    PERIOD_FORMS,
    JobDefinition,
    Period,
    job_from_source,
    parse_period,
)
from engine.errors import (
    ExpressionError,
    InvalidArgumentError,
    NotFoundError,
    RecordValidationError,
    ServiceError,
)
from engine.expressions import EvaluationContext, compile_expression
from engine.service import arguments as check
from engine.service import writer
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.jobs import OpenUseCases
from engine.service.principals import require_org_admin
from engine.service.transactions import Transaction
from engine.store import batch_jobs as stored
from engine.store.aggregates import AggregateColumn, Group
from engine.store.app_rules import jobs_data
from engine.store.journal import Journal
from engine.store.query_input import Filter
from engine.store.records import ALL_ROWS

#: the function the job runner calls for a submitted run
JOB_FUNCTION = "engine.service.batch_jobs:run_submitted"
#: runs a listing shows at most
RUN_LIST_LIMIT = 50
#: longest group key text the outputs table keeps
MAX_GROUP_KEY = 500
_PERIOD_WORDS = {"month": "月份", "quarter": "季度", "year": "年份"}

#: the use cases of each open Service, by database, for jobs run in this process
_OPEN: OpenUseCases[BatchJobUseCases] = OpenUseCases("batch_jobs")


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


@dataclass(frozen=True)
class BatchJobInfo:
    """A job as ``batch_jobs.list`` shows it."""

    key: str
    name: str
    period: str
    source_form: str
    output_form: str
    group_by: tuple[str, ...]
    where: str

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--output json`` and the web."""
        return {
            "key": self.key,
            "name": self.name,
            "period": self.period,
            "source_form": self.source_form,
            "output_form": self.output_form,
            "group_by": list(self.group_by),
            "where": self.where,
        }


@dataclass
class BatchJobRun:
    """One run of a job: its row (status, counters, failures) and, for a run made in
    this call, one item per group: what it did or (dry) would do."""

    id: int
    app: str
    job: str
    period: str
    dry_run: bool
    status: str
    started_by: str
    started_at: datetime | None
    finished_at: datetime | None = None
    rows_read: int = 0
    groups_total: int = 0
    groups_done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> BatchJobRun:
        """A run from its stored row."""
        return cls(
            id=int(row["id"]),
            app=row["app"],
            job=row["job"],
            period=row["period"],
            dry_run=bool(row["dry_run"]),
            status=row["status"],
            started_by=row["started_by"],
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            failures=list(row["failures"] or []),
            error=row["error"],
            **{k: int(row[k] or 0) for k in stored.COUNTERS},
        )

    @property
    def running(self) -> bool:
        """Whether the run is queued or still going."""
        return self.status in (stored.QUEUED, stored.RUNNING)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``--output json`` and the web."""
        return {
            "id": self.id,
            "app": self.app,
            "job": self.job,
            "period": self.period,
            "dry_run": self.dry_run,
            "status": self.status,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            **{k: getattr(self, k) for k in stored.COUNTERS},
            "failures": self.failures,
            "error": self.error,
            "items": self.items,
        }


class _Rollback(Exception):
    """Raised at the end of a dry group so its transaction rolls back."""

    def __init__(self, item: dict[str, Any]):
        super().__init__("dry run")
        self.item = item


class _GroupFailed(Exception):
    """A group that cannot be written (its text goes to the run's failures)."""


class BatchJobUseCases:
    """The batch jobs of one Service: list, run, submit, runs."""

    def __init__(self, context: ServiceContext, job_runner: Any):
        self._context = context
        #: the job-runner seam background runs go through (EmbeddedJobRunner or RQ)
        self.job_runner = job_runner
        self._compiled: dict[str, Any] = {}
        #: names this Service's database in a submitted run's payload (no credentials)
        self.database_key = database_key(context.transactions.database.url)
        _OPEN.add(self.database_key, self)

    # -- definitions ----------------------------------------------------------------------
    def _jobs(self, tx: Transaction) -> tuple[JobDefinition, ...]:
        """The jobs the app published, built once per app generation and process."""

        def load(conn: Any) -> tuple[JobDefinition, ...]:
            return tuple(job_from_source(source) for source in jobs_data(conn, tx.app))

        return tx.catalog.extra(tx.conn, tx.app, "jobs", load)

    def _job(self, tx: Transaction, job_key: str, locale: str) -> JobDefinition:
        jobs = self._jobs(tx)
        found = next((j for j in jobs if j.key == job_key), None)
        if found is None:
            known = ", ".join(j.key for j in jobs) or "-"
            raise NotFoundError(
                _say(
                    locale,
                    f"应用 {tx.app} 没有批处理作业 {job_key}（已有：{known}）",
                    f"app {tx.app} has no batch job {job_key} (jobs: {known})",
                )
            )
        return found

    def _require_admin(self, tx: Transaction, actor: Actor, locale: str) -> None:
        require_org_admin(
            self._context.transactions.principals,
            tx.conn,
            actor,
            locale,
            zh="运行和查看批处理作业",
            en="run and see batch jobs",
        )

    # -- service calls --------------------------------------------------------------------
    def list(self, actor: Actor, app_key: str) -> list[BatchJobInfo]:
        """The batch jobs app ``app_key`` published, in definition order."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        with self._context.transactions.read(app_key) as tx:
            self._require_admin(tx, actor, locale)
            jobs = self._jobs(tx)
        return [
            BatchJobInfo(
                j.key,
                j.label(locale),
                j.period,
                j.source_form,
                j.output_form,
                j.group_by,
                j.where or "",
            )
            for j in jobs
        ]

    def run(
        self, actor: Actor, app_key: str, job_key: str, period: str, *, dry_run: bool = False
    ) -> BatchJobRun:
        """Run job ``job_key`` for ``period`` now and return the run with one item per
        group (``created``/``updated``/``unchanged``/``failed``; dry: what it would do)."""
        locale = self._check(actor, app_key, job_key, dry_run)
        job, chosen = self._prepare(actor, app_key, job_key, period, locale)
        run_id = self._new_run(app_key, job, chosen, dry_run, actor, stored.RUNNING)
        return self._execute(run_id, app_key, job, chosen, dry_run, locale)

    def submit(
        self, actor: Actor, app_key: str, job_key: str, period: str, dry_run: bool = False
    ) -> int:
        """Queue a run through the job runner (it runs in the background); the run's id.

        The job and period are checked now, so a wrong one is refused at once.
        """
        locale = self._check(actor, app_key, job_key, dry_run)
        job, chosen = self._prepare(actor, app_key, job_key, period, locale)
        run_id = self._new_run(app_key, job, chosen, dry_run, actor, stored.QUEUED)
        payload = {
            "run_id": run_id,
            "database": self.database_key,
            "locale": locale,
        }
        self.job_runner.submit(JOB_FUNCTION, payload)
        return run_id

    def runs(self, actor: Actor, app_key: str, job_key: str | None = None) -> list[BatchJobRun]:
        """The newest runs of an app's jobs (or of one job), newest first."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        if job_key is not None:
            check.check_key("job", job_key, 60, locale)
        with self._context.transactions.read(app_key) as tx:
            self._require_admin(tx, actor, locale)
            rows = stored.run_rows(tx.conn, app_key, job_key, RUN_LIST_LIMIT)
        return [BatchJobRun.of(row) for row in rows]

    def get_run(self, actor: Actor, run_id: int) -> BatchJobRun:
        """One run by id (NotFoundError when there is none)."""
        locale = check.actor_locale(actor)
        check.check_record_id(run_id, locale, "run_id")
        database = self._context.transactions.database
        with database.read() as conn:
            require_org_admin(
                self._context.transactions.principals,
                conn,
                actor,
                locale,
                zh="运行和查看批处理作业",
                en="run and see batch jobs",
            )
            row = stored.run_row(conn, run_id)
        if row is None:
            raise NotFoundError(
                _say(locale, f"没有编号为 {run_id} 的作业运行", f"there is no job run {run_id}")
            )
        return BatchJobRun.of(row)

    def run_queued(self, run_id: int, locale: str = "zh-CN") -> BatchJobRun:
        """Run a submitted run (what the job runner calls). A run already finished is
        left as it is (the runner may deliver a job twice)."""
        with self._context.transactions.database.read() as conn:
            row = stored.run_row(conn, run_id)
        if row is None:
            raise NotFoundError(f"there is no job run {run_id}")
        if row["status"] in (stored.DONE, stored.FAILED):
            return BatchJobRun.of(row)
        with self._context.transactions.read(row["app"]) as tx:
            job = self._job(tx, row["job"], locale)
        chosen = parse_period(job.period, row["period"])
        if chosen is None:
            raise InvalidArgumentError(
                self._period_text(job, row["period"], locale), argument="period", code="period"
            )
        with self._context.transactions.database.write() as conn:
            stored.start_run(conn, run_id, self._context.clock())
        return self._execute(run_id, row["app"], job, chosen, bool(row["dry_run"]), locale)

    # -- the run --------------------------------------------------------------------------
    def _check(self, actor: Actor, app_key: str, job_key: str, dry_run: bool) -> str:
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_key("job", job_key, 60, locale)
        check.check_flag("dry_run", dry_run, locale)
        return locale

    def _prepare(
        self, actor: Actor, app_key: str, job_key: str, period: object, locale: str
    ) -> tuple[JobDefinition, Period]:
        with self._context.transactions.read(app_key) as tx:
            self._require_admin(tx, actor, locale)
            job = self._job(tx, job_key, locale)
        chosen = parse_period(job.period, period)
        if chosen is None:
            raise InvalidArgumentError(
                self._period_text(job, period, locale),
                argument="period",
                given=repr(period),
                expected=PERIOD_FORMS[job.period],
                code="period",
            )
        return job, chosen

    def _period_text(self, job: JobDefinition, period: object, locale: str) -> str:
        example = PERIOD_FORMS[job.period]
        forms = "2026-09（月）、2026-Q3（季度，Q1–Q4）、2026（年）"
        forms_en = "2026-09 (month), 2026-Q3 (quarter, Q1-Q4), 2026 (year)"
        return _say(
            locale,
            f"period：{period!r} 不是有效的{_PERIOD_WORDS[job.period]}；作业 {job.key} "
            f"按{_PERIOD_WORDS[job.period]}运行，请写成 {example} 这样（期间的写法：{forms}）",
            f"period: {period!r} is not a valid {job.period}; job {job.key} runs per "
            f"{job.period}, write it like {example} (periods are written {forms_en})",
        )

    def _new_run(
        self,
        app_key: str,
        job: JobDefinition,
        chosen: Period,
        dry_run: bool,
        actor: Actor,
        status: str,
    ) -> int:
        with self._context.transactions.database.write() as conn:
            return stored.create_run(
                conn,
                app=app_key,
                job=job.key,
                period=chosen.text,
                dry_run=dry_run,
                started_by=actor.user_id,
                now=self._context.clock(),
                status=status,
            )

    def _execute(
        self,
        run_id: int,
        app_key: str,
        job: JobDefinition,
        chosen: Period,
        dry_run: bool,
        locale: str,
    ) -> BatchJobRun:
        database = self._context.transactions.database
        counters = dict.fromkeys(stored.COUNTERS, 0)
        failures: list[dict[str, Any]] = []
        items: list[dict[str, Any]] = []
        try:
            with self._context.transactions.read(app_key) as tx:
                groups = self._groups(tx, job, chosen)
            counters["rows_read"] = sum(g.rows for g in groups)
            counters["groups_total"] = len(groups)
            with database.write() as conn:
                stored.save_progress(conn, run_id, counters, failures)
            for group in groups:
                item = self._group(run_id, app_key, job, chosen, group, dry_run, locale)
                items.append(item)
                counters[item["action"]] += 1
                counters["groups_done"] += 1
                if item["action"] == "failed":
                    failures.append({"group": item["group"], "error": item["error"]})
                with database.write() as conn:
                    stored.save_progress(conn, run_id, counters, failures)
        except Exception as exc:
            with database.write() as conn:
                stored.save_progress(conn, run_id, counters, failures)
                stored.finish_run(
                    conn, run_id, stored.FAILED, self._context.clock(), f"{exc}"[:2000]
                )
            raise
        with database.write() as conn:
            stored.finish_run(conn, run_id, stored.DONE, self._context.clock())
            row = stored.run_row(conn, run_id)
        assert row is not None
        result = BatchJobRun.of(row)
        result.items = items
        return result

    def _groups(self, tx: Transaction, job: JobDefinition, chosen: Period) -> list[Group]:
        source = tx.source(job.source_form, ALL_ROWS)
        condition = (
            stored.where_condition(tx.stored(job.source_form), job.where, _actor_id(job))
            if job.where
            else None
        )
        found = source.grouped(
            group_by=job.group_by,
            aggregates=[AggregateColumn(k, a.function, a.field) for k, a in job.values.items()],
            date_field=job.date_field,
            first_day=chosen.start,
            last_day=chosen.end,
            condition=condition,
        )
        return found.groups

    def _group(
        self,
        run_id: int,
        app_key: str,
        job: JobDefinition,
        chosen: Period,
        group: Group,
        dry_run: bool,
        locale: str,
    ) -> dict[str, Any]:
        """Write (or, dry, try and roll back) one group's document; what happened."""
        shown = {k: _json_value(v) for k, v in group.key.items()}
        group_key = json.dumps(shown, sort_keys=True, ensure_ascii=False)[:MAX_GROUP_KEY]
        now = self._context.clock()
        try:
            data = self._output_values(job, chosen, group, now, locale)
        except _GroupFailed as failed:
            return {"group": shown, "action": "failed", "record_id": None, "error": str(failed)}

        def work(tx: Transaction) -> dict[str, Any]:
            actor = Actor(_actor_id(job), frozenset({"admin"}), locale=locale)
            ctx = writer.WriteContext(
                tx,
                tx.form(job.output_form),
                actor,
                now,
                tx.source(job.output_form, ALL_ROWS),
                Journal(actor.user_id, now),
                self._context.hooks,
                None,
                None,
            )
            linked = stored.output_of(tx.conn, app_key, job.key, chosen.text, group_key)
            record_id = self._existing(ctx, job, linked, data, locale)
            if record_id is None:
                record = writer.create_record(ctx, data, "json")
                action = "created"
            else:
                before = ctx.source.row(record_id)["version"]
                record = writer.update_record(ctx, record_id, data, None, "json")
                action = "updated" if record.version != before else "unchanged"
            if action != "unchanged" or linked is None or linked["record_id"] != record.id:
                stored.save_output(
                    tx.conn,
                    app=app_key,
                    job=job.key,
                    period=chosen.text,
                    group_key=group_key,
                    form=job.output_form,
                    record_id=record.id,
                    run_id=run_id,
                    now=now,
                )
            item = {
                "group": shown,
                "action": action,
                "record_id": record.id if action != "created" or not dry_run else None,
                "values": {k: _json_value(v) for k, v in data.items()},
            }
            if dry_run:
                raise _Rollback(item)
            return item

        try:
            return self._context.transactions.write(app_key, work)
        except _Rollback as rolled_back:
            return rolled_back.item
        except RecordValidationError as exc:
            text = "; ".join(str(e) for e in exc.errors)
            return {"group": shown, "action": "failed", "record_id": None, "error": text}
        except (ServiceError, ExpressionError, ValueError) as exc:
            return {"group": shown, "action": "failed", "record_id": None, "error": str(exc)}

    def _existing(
        self,
        ctx: writer.WriteContext,
        job: JobDefinition,
        linked: Mapping[str, Any] | None,
        data: Mapping[str, Any],
        locale: str,
    ) -> int | None:
        """The document this group wrote before (still live), or the one its ``match``
        fields find; None: create one."""
        if linked is not None:
            try:
                return int(ctx.source.row(int(linked["record_id"]))["id"])
            except NotFoundError:
                pass  # deleted since: written again below
        if not job.match:
            return None
        filters = [Filter(k, "eq", data.get(k)) for k in job.match]
        page = ctx.source.page(filters=filters, page_size=2, with_total=False)
        if len(page.rows) > 1:
            raise _ambiguous(job, locale)
        return int(page.rows[0]["id"]) if page.rows else None

    def _output_values(
        self, job: JobDefinition, chosen: Period, group: Group, now: datetime, locale: str
    ) -> dict[str, Any]:
        names = {
            **group.key,
            **group.values,
            "period": chosen.text,
            "period_start": chosen.start,
            "period_end": chosen.end,
        }
        context = EvaluationContext(now=now, user=_actor_id(job))
        data: dict[str, Any] = {}
        for key, text in job.output_values.items():
            try:
                compiled = self._compiled.get(text)
                if compiled is None:
                    compiled = self._compiled[text] = compile_expression(text, None)
                data[key] = _json_value(compiled.evaluate(names, context))
            except ExpressionError as exc:
                raise _GroupFailed(
                    _say(
                        locale,
                        f"output.values.{key} = {text!r} 计算出错：{exc}",
                        f"output.values.{key} = {text!r} failed: {exc}",
                    )
                ) from exc
        return data


def _ambiguous(job: JobDefinition, locale: str) -> ServiceError:
    fields = ", ".join(job.match)
    return ServiceError(
        _say(
            locale,
            f"{job.output_form} 中有多条记录的 {fields} 相同，无法确定更新哪一条",
            f"more than one {job.output_form} record has these {fields}: cannot tell which "
            "to update",
        )
    )


def _actor_id(job: JobDefinition) -> str:
    return f"job:{job.key}"


def _json_value(value: Any) -> Any:
    """A value as the write path reads JSON input (dates as ISO text, Decimals kept)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return value
    return value


def database_key(url: str) -> str:
    """A short fingerprint of a database URL (the payload names the database without
    carrying its credentials)."""
    return hashlib.sha256(str(url).encode("utf-8")).hexdigest()[:16]


def run_submitted(payload: dict[str, Any]) -> None:
    """The job-runner entry point of a submitted run (``JOB_FUNCTION``).

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


__all__ = ["JOB_FUNCTION", "BatchJobUseCases", "BatchJobInfo", "BatchJobRun", "run_submitted"]
