"""The scheduler: one leader process runs the scheduled work of a database.

APScheduler 3 (a ``BackgroundScheduler``) drives these jobs in every scheduler process;
each does its work only while the process leads (:mod:`engine.store.leadership`:
a PostgreSQL advisory lock, or a renewed lease row on SQLite):

- ``leadership`` (every ``sweep_seconds``, and first thing on start): take or keep the
  lead; the leader records itself in ``leader_leases``.
- ``sweep`` (every ``sweep_seconds``, default 30): fire due flow timers
  (:meth:`~engine.service.flows.FlowUseCases.fire_timers`), deliver due outbox events
  (:class:`~engine.service.dispatcher.Dispatcher`), run due embedded jobs
  (:meth:`~engine.service.jobs.EmbeddedJobRunner.run_due`) and catch up cron jobs whose
  fire time passed while nobody led.
- ``files`` (daily, via :meth:`add_cron`): remove uploads no record took within a day.
- cron jobs given to :meth:`add_cron` (the rules' schedules).

No fire time runs twice: before a cron job runs, the leader claims its fire time in
``schedule_runs`` with one conditional UPDATE; a timer is marked fired in the
transaction that acts on it; outbox events and jobs are claimed under leases.

Missed runs after downtime follow the job's ``misfire`` policy: ``run_once`` runs the
job once for all the fire times missed (APScheduler ``coalesce=True``, no grace limit),
``skip`` drops them and waits for the next fire time (a grace of
:data:`ON_TIME_GRACE`). A fire time is missed when it passed more than that grace ago.

:meth:`Scheduler.tick` does one leadership check and one sweep synchronously (tests,
``lowcode scheduler --once``); :meth:`start` / :meth:`stop` run APScheduler in a thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from engine.errors import InvalidArgumentError
from engine.service.actor import SYSTEM_ACTOR
from engine.service.dispatcher import Dispatcher, DispatchRun, default_consumer_name
from engine.service.rule_delivery import register_rule_deliverers
from engine.store import schedules
from engine.store.leadership import DEFAULT_LEASE, LeaderInfo, Leadership, current_leader

if TYPE_CHECKING:
    from engine.service.service import Service

log = logging.getLogger(__name__)

#: the leadership name every scheduler process competes for
LEADER_NAME = "scheduler"
#: the default seconds between sweeps
DEFAULT_SWEEP_SECONDS = 30
#: a fire time later than this counts as missed (the misfire policy decides)
ON_TIME_GRACE = timedelta(minutes=2)
#: how old an upload no record took must be before the daily sweep removes it
UNCLAIMED_UPLOAD_AGE = timedelta(days=1)
#: the daily file sweep's schedule (Asia/Shanghai)
FILES_SWEEP_CRON = "30 3 * * *"
MISFIRE_POLICIES = ("run_once", "skip")
#: most missed fire times walked when catching up (a per-minute cron after 60 days)
_MAX_CATCH_UP = 100_000


@dataclass
class CronJob:
    """A job added with :meth:`Scheduler.add_cron`."""

    key: str
    cron_text: str
    timezone: str
    func: Callable[[], Any]
    misfire: str
    trigger: CronTrigger


@dataclass
class SweepRun:
    """What one :meth:`Scheduler.tick` did."""

    leading: bool
    timers_fired: int = 0
    timer_failures: list[tuple[int, str]] = field(default_factory=list)
    outbox: DispatchRun = field(default_factory=DispatchRun)
    jobs_finished: list[int] = field(default_factory=list)
    cron_ran: list[str] = field(default_factory=list)
    cron_skipped: list[str] = field(default_factory=list)
    date_rules_queued: int = 0
    #: ledger lots whose expired remainder this sweep posted (docs/ledgers.md)
    ledger_lots_expired: int = 0
    #: reminders before lots expire that this sweep queued (ledgers' lots.remind)
    ledger_reminders_queued: int = 0


class Scheduler:
    """Scheduled work of one :class:`~engine.service.service.Service`, leader-only.

    ``dispatcher`` delivers the outbox (default: one with no deliverers registered,
    which acknowledges events nothing subscribes to; register yours on
    :attr:`dispatcher`). ``holder`` names this process (default ``scheduler@host:pid``).
    ``clock`` defaults to the service's. ``on_leadership(holder, leading)`` is called when
    this process starts or stops leading.
    """

    def __init__(
        self,
        service: Service,
        *,
        sweep_seconds: float = DEFAULT_SWEEP_SECONDS,
        holder: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        dispatcher: Dispatcher | None = None,
        clock: Callable[[], datetime] | None = None,
        sweep_files: bool = True,
        on_leadership: Callable[[str, bool], None] | None = None,
    ):
        if isinstance(sweep_seconds, bool) or not isinstance(sweep_seconds, (int, float)):
            raise _bad("sweep_seconds", f"a number of seconds, got {sweep_seconds!r}", "秒数")
        if not 0.1 <= sweep_seconds <= 3600:
            raise _bad(
                "sweep_seconds", f"0.1 to 3600 seconds, got {sweep_seconds}", "0.1 到 3600 秒"
            )
        self.service = service
        self.sweep_seconds = float(sweep_seconds)
        self.holder = holder or default_consumer_name("scheduler")
        self.clock = clock or service.clock
        # the lease outlives a few missed renewals: renewals come every sweep
        lease = max(lease, timedelta(seconds=self.sweep_seconds * 3))
        database = service._context.transactions.database
        self.leadership = Leadership(database, LEADER_NAME, self.holder, lease)
        if dispatcher is None:
            # the messages rules queue go out through the delivery channels by default
            dispatcher = Dispatcher(service, consumer=self.holder)
            register_rule_deliverers(dispatcher, service)
        # rules that run after commit (and scheduled, date and queued manual rules) are
        # run by the dispatcher from their ``rule.fire`` events
        dispatcher.register("rule.fire", service.rules.fire_deliverer(dispatcher.consumer))
        self.dispatcher = dispatcher
        self.on_leadership = on_leadership
        self._database = database
        self._cron: dict[str, CronJob] = {}
        self._apscheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()  # one tick at a time in this process
        if sweep_files and service.files_dir is not None:
            self.add_cron(
                "engine.files_sweep",
                FILES_SWEEP_CRON,
                "Asia/Shanghai",
                self._sweep_files,
                "run_once",
            )

    # -- cron jobs ----------------------------------------------------------------------
    def add_cron(
        self,
        key: str,
        cron_text: str,
        timezone: str,
        func: Callable[[], Any],
        misfire: str = "run_once",
    ) -> None:
        """Run ``func()`` (no arguments) at the times of the 5-field ``cron_text``
        (minute hour day month weekday) in ``timezone``, on the leader only.

        ``key`` identifies the job across restarts (its last fire time is stored under
        it): keep it stable (e.g. ``rule:purchase.daily_digest``). ``misfire`` is the
        policy for runs missed while no scheduler ran: ``run_once`` or ``skip``.
        """
        if not isinstance(key, str) or not key.strip() or len(key) > 200:
            raise _bad("key", f"text of 1 to 200 characters, got {key!r}", "1 到 200 个字符的文本")
        if misfire not in MISFIRE_POLICIES:
            raise _bad("misfire", f"'run_once' or 'skip', got {misfire!r}", "'run_once' 或 'skip'")
        if not callable(func):
            raise _bad(
                "func", f"a callable taking no arguments, got {func!r}", "无参数的可调用对象"
            )
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as error:
            raise _bad(
                "timezone",
                f"an IANA time zone like Asia/Shanghai, got {timezone!r}",
                "IANA 时区，如 Asia/Shanghai",
            ) from error
        try:
            trigger = CronTrigger.from_crontab(cron_text, timezone=zone)
        except (ValueError, TypeError, AttributeError) as error:
            raise _bad(
                "cron_text",
                f"5 cron fields 'minute hour day month weekday' (e.g. '0 9 * * 1-5'), "
                f"got {cron_text!r}: {error}",
                f"5 个 cron 字段“分 时 日 月 周”（如 '0 9 * * 1-5'），收到 {cron_text!r}",
            ) from error
        job = CronJob(key, cron_text, timezone, func, misfire, trigger)
        with self._database.write() as conn:
            schedules.start_schedule(conn, key, self.clock())
        self._cron[key] = job
        if self._apscheduler is not None:
            self._schedule_cron(job)

    @property
    def cron_jobs(self) -> dict[str, CronJob]:
        """The cron jobs added, by key."""
        return dict(self._cron)

    def run_cron(self, key: str, now: datetime | None = None) -> bool | None:
        """Run the cron job ``key`` if a fire time is due and unclaimed (leader only).

        True: it ran; False: a missed fire time was skipped by the ``skip`` policy;
        None: nothing was due (or this process does not lead).
        """
        job = self._cron[key]
        if not self.leadership.leading:
            return None
        moment = now or self.clock()
        with self._database.read() as conn:
            last = schedules.last_fire_time(conn, key)
        if last is None:
            return None
        due = _latest_fire_time(job.trigger, last, moment)
        if due is None:
            return None
        with self._database.write() as conn:
            if not schedules.claim_fire_time(conn, key, due):
                return None  # another leader ran it
        late = moment - due > ON_TIME_GRACE
        if late and job.misfire == "skip":
            log.info("cron %s: missed run at %s skipped (misfire: skip)", key, due)
            return False
        error = None
        try:
            job.func()
        except Exception as exc:  # noqa: BLE001  (recorded; the next fire time runs again)
            error = f"{type(exc).__name__}: {exc}"
            log.exception("cron %s failed", key)
        with self._database.write() as conn:
            schedules.record_run(conn, key, self.clock(), error)
        return True

    def remove_cron(self, key: str) -> None:
        """Stop running cron job ``key`` (its claimed fire times stay recorded)."""
        self._cron.pop(key, None)
        if self._apscheduler is not None and self._apscheduler.get_job(f"cron:{key}"):
            self._apscheduler.remove_job(f"cron:{key}")

    def sync_rule_schedules(self) -> None:
        """Run the schedule rules the installed apps have now: add new ones, drop the
        removed or disabled, follow a changed cron (the rules are cached per app
        generation, so this is cheap on every sweep)."""
        wanted = {s.key: s for s in self.service.rules.schedules()}
        for key in [k for k in self._cron if k.startswith("rule:") and k not in wanted]:
            self.remove_cron(key)
        for key, rule in wanted.items():
            job = self._cron.get(key)
            if job is not None and (job.cron_text, job.timezone, job.misfire) == (
                rule.cron,
                rule.timezone,
                rule.misfire,
            ):
                continue
            self.add_cron(
                key,
                rule.cron,
                rule.timezone,
                self._rule_runner(rule.app, rule.rule, key),
                rule.misfire,
            )

    def _rule_runner(self, app: str, rule: str, key: str) -> Callable[[], Any]:
        def run() -> None:
            with self._database.read() as conn:
                fire_time = schedules.last_fire_time(conn, key)
            self.service.rules.fire_schedule(app, rule, fire_time or self.clock())
            self.dispatcher.dispatch_all()

        return run

    # -- one step ----------------------------------------------------------------------
    def hold_leadership(self) -> bool:
        """Take or keep the lead; whether this process leads now."""
        was = self.leadership.leading
        try:
            leading = self.leadership.hold(self.clock())
        except Exception:  # noqa: BLE001  (the database is away: stop leading, try again later)
            log.exception("scheduler %s: leadership check failed", self.holder)
            self.leadership.release(self.clock())
            leading = False
        if leading != was:
            log.info("scheduler %s %s", self.holder, "leads" if leading else "no longer leads")
            if self.on_leadership is not None:
                self.on_leadership(self.holder, leading)
        return leading

    def tick(self) -> SweepRun:
        """One leadership check and, when leading, one sweep; what it did."""
        with self._lock:
            run = SweepRun(self.hold_leadership())
            if not run.leading:
                return run
            now = self.clock()
            timers = self.service.flows.fire_timers(now=now)
            run.timers_fired = timers.fired
            run.timer_failures = list(timers.failed)
            self.sync_rule_schedules()
            run.date_rules_queued = self.service.rules.sweep_dates(now).queued
            expiry = self.service.ledgers.expire(now)
            run.ledger_lots_expired = expiry.lots
            run.ledger_reminders_queued = expiry.reminders
            run.outbox = self.dispatcher.dispatch_all()
            run.jobs_finished = self.service.jobs.run_due(self.holder).finished
            for key in list(self._cron):
                result = self.run_cron(key, now)
                if result is True:
                    run.cron_ran.append(key)
                elif result is False:
                    run.cron_skipped.append(key)
            return run

    def leader(self) -> LeaderInfo | None:
        """The recorded leader (its lease may have run out: compare ``expires_at``)."""
        with self._database.read() as conn:
            return current_leader(conn, LEADER_NAME)

    # -- running in the background -------------------------------------------------------
    def start(self) -> None:
        """Run in a background thread until :meth:`stop` (checks leadership at once)."""
        if self._apscheduler is not None:
            return
        scheduler = BackgroundScheduler(timezone=ZoneInfo("Asia/Shanghai"))
        scheduler.add_job(
            self._safe_tick,
            "interval",
            seconds=self.sweep_seconds,
            id="sweep",
            next_run_time=datetime.now(ZoneInfo("Asia/Shanghai")),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._apscheduler = scheduler
        for job in self._cron.values():
            self._schedule_cron(job)
        scheduler.start()

    def stop(self) -> None:
        """Stop the background thread and give up the lead (another process takes over)."""
        scheduler, self._apscheduler = self._apscheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=True)
        with self._lock:
            was = self.leadership.leading
            self.leadership.release(self.clock())
            if was and self.on_leadership is not None:
                self.on_leadership(self.holder, False)

    def _schedule_cron(self, job: CronJob) -> None:
        assert self._apscheduler is not None
        self._apscheduler.add_job(
            self._safe_cron,
            job.trigger,
            args=[job.key],
            id=f"cron:{job.key}",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=(
                None if job.misfire == "run_once" else int(ON_TIME_GRACE.total_seconds())
            ),
        )

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception:  # noqa: BLE001  (a failed sweep must not stop the scheduler)
            log.exception("scheduler %s: sweep failed", self.holder)

    def _safe_cron(self, key: str) -> None:
        with self._lock:
            try:
                self.run_cron(key)
            except Exception:  # noqa: BLE001
                log.exception("scheduler %s: cron %s failed", self.holder, key)

    def _sweep_files(self) -> None:
        self.service.files.sweep(SYSTEM_ACTOR, UNCLAIMED_UPLOAD_AGE)


def _latest_fire_time(trigger: CronTrigger, after: datetime, now: datetime) -> datetime | None:
    """The last fire time of ``trigger`` in (after, now], or None."""
    latest = None
    moment = trigger.get_next_fire_time(None, after + timedelta(microseconds=1))
    for _ in range(_MAX_CATCH_UP):
        if moment is None or moment > now:
            break
        latest = moment
        moment = trigger.get_next_fire_time(moment, moment + timedelta(microseconds=1))
    return latest


def _bad(argument: str, en: str, zh: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{argument} must be {en} / {argument} 须为{zh}", argument=argument, code="type"
    )
