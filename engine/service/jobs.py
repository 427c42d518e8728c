"""The job-runner seam: background work (deliveries, batch jobs, imports) goes through
``submit(job_name, payload)`` and runs elsewhere, later, at least once.

A job is named by its import path, ``package.module:function``; the function takes the
payload (a JSON object) and its result is ignored; raising fails the run. Two runners
implement the seam:

- :class:`EmbeddedJobRunner` (the default, one machine): ``submit`` adds a row to the
  ``jobs`` table; :meth:`EmbeddedJobRunner.run_due` (called by the scheduler's sweep,
  see :mod:`engine.service.scheduler`) claims due rows under a lease, runs them in this
  process and marks them finished. A process that dies mid-job loses nothing: once the
  lease runs out the job is claimed again. Failures retry with the outbox's back-off and
  are dead after :data:`~engine.store.jobs.MAX_JOB_ATTEMPTS`.
- :class:`RQJobRunner` (several machines): ``submit`` enqueues on Redis with RQ
  (``rq>=2.1,<3``); ``rq worker`` processes on any machine run the jobs (see
  docs/scheduler.md for why RQ).

:func:`job_runner` picks one from a URL (None: embedded; ``redis://...``: RQ).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, Protocol, TypeVar

from engine.errors import InvalidArgumentError
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.dispatcher import default_consumer_name
from engine.service.org_arguments import localised
from engine.service.principals import require_org_admin
from engine.store import jobs as stored
from engine.store import schedules
from engine.store.database import Connection
from engine.store.leadership import LeaderInfo, current_leader

#: the use-case objects :class:`OpenUseCases` keeps
U = TypeVar("U")
#: how long a claimed job is the runner's before another may take it over
DEFAULT_JOB_LEASE = timedelta(minutes=10)
_JOB_NAME = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
#: the views of :meth:`EmbeddedJobRunner.page`
JOB_VIEWS = stored.JOB_VIEWS
#: a view's count at or above which the page says "more than" (counting stops there)
JOB_COUNT_CAP = stored.JOB_COUNT_CAP
#: the leadership name of the scheduler (engine.service.scheduler.LEADER_NAME)
SCHEDULER_LEADER = "scheduler"
#: most jobs one page lists
MAX_JOB_PAGE = 500


class JobRunner(Protocol):
    """The seam: hand a job over; it runs later, somewhere, at least once."""

    def submit(self, job_name: str, payload: Mapping[str, Any]) -> str:
        """Queue ``job_name`` with ``payload``; the job's id (text) in the backend."""
        ...


@dataclass(frozen=True)
class JobPage:
    """A page of the embedded job queue: ``jobs`` newest first, ``counts`` per view (each
    stopping at ``JOB_COUNT_CAP + 1``), ``older`` the ``before`` of the next page."""

    view: str
    jobs: list[dict[str, Any]]
    counts: dict[str, int]
    older: int | None

    def count_text(self, view: str) -> str:
        """A view's count as a page shows it: ``1000+`` past the cap."""
        count = self.counts.get(view, 0)
        return f"{JOB_COUNT_CAP}+" if count > JOB_COUNT_CAP else str(count)


@dataclass(frozen=True)
class SchedulingState:
    """The scheduled runs (``schedule_runs`` rows: key, last_fire_at, last_run_at,
    last_error) and the scheduler's recorded leader (None: nobody led yet)."""

    schedules: list[dict[str, Any]]
    leader: LeaderInfo | None


@dataclass
class JobRun:
    """What one :meth:`EmbeddedJobRunner.run_due` did (job ids)."""

    finished: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def check_job(job_name: object, payload: object) -> dict[str, Any]:
    """Refuse a malformed job name or a payload that is not a JSON object; the payload."""
    if not isinstance(job_name, str) or not _JOB_NAME.match(job_name) or len(job_name) > 200:
        raise InvalidArgumentError(
            f"job_name must be an import path 'package.module:function', got {job_name!r} / "
            "job_name 须为导入路径 'package.module:function'",
            argument="job_name",
            code="type",
        )
    if not isinstance(payload, Mapping):
        raise InvalidArgumentError(
            f"payload must be a JSON object (a dict), got {type(payload).__name__} / "
            "payload 须为 JSON 对象（dict）",
            argument="payload",
            code="type",
        )
    try:
        return json.loads(json.dumps(dict(payload)))
    except (TypeError, ValueError) as error:
        raise InvalidArgumentError(
            f"payload must be JSON (text, numbers, lists, objects): {error} / "
            f"payload 须可转为 JSON：{error}",
            argument="payload",
            code="type",
        ) from error


def resolve_job(job_name: str) -> Callable[[dict[str, Any]], Any]:
    """The function an import path names (raises ImportError/AttributeError when missing)."""
    module_name, _, function_name = job_name.partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    if not callable(function):
        raise TypeError(f"{job_name} is not a function")
    return function


def run_job(job_name: str, payload: dict[str, Any]) -> Any:
    """Run one job by name (what RQ workers call)."""
    return resolve_job(job_name)(payload)


class EmbeddedJobRunner:
    """Jobs in the ``jobs`` table, run by this process (``service.jobs``)."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def submit(self, job_name: str, payload: Mapping[str, Any]) -> str:
        """Queue a job; its id (text). Committed at once, in its own transaction."""
        body = check_job(job_name, payload)
        with self._context.transactions.database.write() as conn:
            return str(stored.enqueue(conn, job_name, body, self._context.clock()))

    def run_due(
        self, runner: str | None = None, *, limit: int = 10, lease: timedelta = DEFAULT_JOB_LEASE
    ) -> JobRun:
        """Claim up to ``limit`` due jobs, run each here, finish or fail it; what happened."""
        name = runner or default_consumer_name("jobs")
        database = self._context.transactions.database
        with database.write() as conn:
            claimed = stored.claim_jobs(
                conn, name, now=self._context.clock(), lease=lease, limit=limit
            )
        run = JobRun()
        for job in claimed:
            try:
                resolve_job(job.name)(dict(job.payload))
            except Exception as error:  # noqa: BLE001  (recorded and retried, never lost)
                text = f"{type(error).__name__}: {error}"
                run.failed[job.id] = text
                with database.write() as conn:
                    stored.fail_job(conn, name, job.id, text, self._context.clock())
                continue
            with database.write() as conn:
                if stored.finish_job(conn, name, job.id, self._context.clock()):
                    run.finished.append(job.id)
        return run

    def list_jobs(self, actor: Actor, *, unfinished_only: bool = False) -> list[dict[str, Any]]:
        """Jobs, newest first (id, name, payload, attempts, last_error, finished_at...)."""
        with self._context.transactions.database.read() as conn:
            return stored.job_rows(conn, unfinished_only=bool(unfinished_only))

    def page(
        self, actor: Actor, *, view: str = "pending", before: int | None = None, limit: int = 50
    ) -> JobPage:
        """One page of a view of the queue (see :data:`JOB_VIEWS`: pending, running = held
        under a running lease, dead, finished), newest first, with every view's count;
        admin only. ``before`` (a job id) pages on to older jobs."""
        say = check.actor_locale(actor)
        view = check.check_choice("view", view, JOB_VIEWS, say)
        if before is not None:
            before = check.check_record_id(before, say, "before")
        check.check_whole_number("limit", limit, 1, MAX_JOB_PAGE, say)
        now = self._context.clock()
        with self._context.transactions.database.read() as conn:
            self._require_admin(conn, actor, say)
            rows = stored.jobs_page(conn, view, now, before_id=before, limit=limit + 1)
            counts = stored.job_counts(conn, now)
        older = rows[limit - 1]["id"] if len(rows) > limit else None
        return JobPage(view, rows[:limit], counts, older)

    def replay(self, actor: Actor, job_ids: Iterable[int]) -> list[int]:
        """Make dead or waiting jobs due now, attempts reset; admin only; the ids replayed.

        A job that is unknown, finished or running now (held under a lease) is an
        :class:`InvalidArgumentError` naming it, and nothing changes then.
        """
        say = check.actor_locale(actor)
        if isinstance(job_ids, (str, bytes)) or not isinstance(job_ids, Iterable):
            raise InvalidArgumentError(
                localised(say, "job_ids 须为任务编号的列表", "job_ids must be a list of job ids"),
                argument="job_ids",
                code="type",
            )
        ids = [check.check_record_id(i, say, "job_ids") for i in job_ids]
        now = self._context.clock()
        with self._context.transactions.database.write() as conn:
            self._require_admin(conn, actor, say)
            for job_id in ids:
                row = stored.job_row(conn, job_id)
                refusal = _not_replayable(row, now)
                if refusal is not None:
                    zh, en, code = refusal
                    raise InvalidArgumentError(
                        localised(
                            say,
                            f"任务 {job_id} {zh}，无法重放；在“管理 → 后台任务”查看可重放的任务",
                            f"job {job_id} {en}; nothing replayed "
                            "(Administration → Jobs lists the replayable ones)",
                        ),
                        argument="job_ids",
                        code=code,
                    )
            return stored.replay_jobs(conn, ids, now)

    def scheduling(self, actor: Actor) -> SchedulingState:
        """The scheduled runs and who leads the scheduler; admin only."""
        say = check.actor_locale(actor)
        with self._context.transactions.database.read() as conn:
            self._require_admin(conn, actor, say)
            return SchedulingState(
                schedules.schedule_rows(conn), current_leader(conn, SCHEDULER_LEADER)
            )

    def _require_admin(self, conn: Connection, actor: Actor, say: str) -> None:
        require_org_admin(
            self._context.transactions.principals,
            conn,
            actor,
            say,
            zh="查看和重放后台任务",
            en="list and replay background jobs",
        )


def _not_replayable(row: Mapping[str, Any] | None, now: Any) -> tuple[str, str, str] | None:
    """Why a job cannot be replayed (zh, en, code), or None when it can."""
    if row is None:
        return "不存在", "does not exist", "not_found"
    if row["finished_at"] is not None:
        return "已完成", "already finished", "finished"
    if row["dead_at"] is None and row["claimed_until"] is not None and row["claimed_until"] >= now:
        # the runner holding it would run it a second time beside the replay
        return "正在运行", "is running now", "running"
    return None


class RQJobRunner:
    """Jobs on Redis through RQ: ``rq worker QUEUE`` processes run them.

    ``redis_url`` like ``redis://127.0.0.1:6379/0``. The workers need this project
    importable (same code, same ``LOWCODE_*`` settings as the web).
    """

    def __init__(self, redis_url: str, queue: str = "lowcode", *, job_timeout: int = 600):
        try:
            from redis import Redis
            from rq import Queue
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise InvalidArgumentError(
                "the RQ job backend needs `pip install rq` / RQ 任务后端需要 `pip install rq`",
                argument="redis_url",
                code="missing",
            ) from error
        self.queue = Queue(queue, connection=Redis.from_url(redis_url))
        self.job_timeout = job_timeout

    def submit(self, job_name: str, payload: Mapping[str, Any]) -> str:
        """Enqueue a job on Redis; the RQ job id."""
        body = check_job(job_name, payload)
        job = self.queue.enqueue(
            run_job,
            job_name,
            body,
            job_timeout=self.job_timeout,
            # a worker that dies mid-job: RQ moves the job to its failed registry and
            # the retry puts it back on the queue
            retry=_rq_retry(),
        )
        return str(job.id)


def _rq_retry() -> Any:
    from rq import Retry

    return Retry(max=stored.MAX_JOB_ATTEMPTS - 1, interval=[30, 60, 120, 240])


class OpenUseCases(Generic[U]):
    """The use-case objects of the Services open in this process, by database key.

    A submitted run names its database by key (never its credentials); the job runner's
    entry point finds an open use-case object on that database here, or opens a Service
    on ``LOWCODE_DATABASE_URL`` (an RQ worker on another machine).
    """

    def __init__(self, attribute: str):
        #: the Service attribute holding these use cases (``imports``, ``exports``...)
        self.attribute = attribute
        self._open: dict[str, weakref.WeakSet[U]] = {}

    def add(self, database_key: str, use_cases: U) -> None:
        """Remember ``use_cases`` as open on ``database_key`` (until collected)."""
        self._open.setdefault(database_key, weakref.WeakSet()).add(use_cases)

    def run(self, payload: Mapping[str, Any], call: Callable[[U], Any]) -> None:
        """``call`` with use cases on the payload's database: an open one, else a Service
        opened on ``LOWCODE_DATABASE_URL`` for the call (which must be that database)."""
        database = str(payload.get("database"))
        found = next(iter(self._open.get(database, ())), None)
        if found is not None:
            call(found)
            return
        from engine.service.service import Service

        service = Service(os.environ.get("LOWCODE_DATABASE_URL", ""))
        try:
            use_cases = getattr(service, self.attribute)
            if use_cases.database_key != database:
                raise RuntimeError("LOWCODE_DATABASE_URL is not the database the run was made on")
            call(use_cases)
        finally:
            service.close()


def job_runner(context: ServiceContext, url: str | None = None) -> JobRunner:
    """The runner for ``url``: None or ``embedded`` → in-process from the ``jobs`` table;
    ``redis://...`` → RQ on that Redis."""
    if url in (None, "", "embedded"):
        return EmbeddedJobRunner(context)
    if isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://")):
        return RQJobRunner(url)
    raise InvalidArgumentError(
        f"job backend must be 'embedded' or a redis:// URL, got {url!r} / "
        "任务后端须为 'embedded' 或 redis:// 地址",
        argument="url",
        code="type",
    )
