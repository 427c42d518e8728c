"""The service facade: the public Python API used by the CLI, web, templates and tests.

Every method takes the :class:`Actor` first and runs in its own transaction; this is the
only way data changes. The work is done by one object per use case (``records``,
``apps``, ``files``; flows, rules and reports add theirs), which share a
:class:`~engine.service.context.ServiceContext`; the methods here are the stable entry
points and delegate to them. Later features plug in at the named hook points of
:attr:`Service.hooks` (see :mod:`engine.service.hooks`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from engine.definitions.model import AppDefinition, FormDefinition
from engine.errors import NotFoundError
from engine.runtime.forms import DEFAULT_SUBMISSION_BUDGET_SECONDS
from engine.service import arguments as check
from engine.service.accounts import AccountUseCases
from engine.service.actor import SYSTEM_ACTOR, Actor
from engine.service.apps import AppUseCases
from engine.service.automation_history import AutomationUseCases
from engine.service.batch_jobs import BatchJobUseCases
from engine.service.calendar import CalendarUseCases
from engine.service.context import ServiceContext
from engine.service.data_checks import RuleFailure
from engine.service.delivery import MailSettings, parse_mail_url
from engine.service.events import EventUseCases
from engine.service.explain import PermissionExplanation, explain
from engine.service.exports import ExportUseCases
from engine.service.flows import FlowUseCases
from engine.service.form_logic import FormLogic
from engine.service.forms import FormCatalog
from engine.service.hooks import Hooks
from engine.service.imports import ImportUseCases
from engine.service.jobs import EmbeddedJobRunner
from engine.service.ledgers import LedgerUseCases
from engine.service.lookups import LookupUseCases
from engine.service.machines import MachineUseCases
from engine.service.notifications import NotificationUseCases
from engine.service.org import OrgUseCases
from engine.service.org_choices import OrgChoiceUseCases
from engine.service.records import RecordUseCases
from engine.service.reports import ReportUseCases
from engine.service.results import InstalledApp, InstallReport, Record, RecordPage, Revision
from engine.service.rules import RuleUseCases
from engine.service.saved_views import SavedViewUseCases
from engine.service.transactions import Transactions
from engine.service.uploads import FileUseCases
from engine.store import publish as publishing
from engine.store.apps import has_engine_tables
from engine.store.database import Database
from engine.store.engine_tables import create_engine_tables
from engine.store.limits import check_text
from engine.store.migration import MigrationPlan
from engine.store.migrations import current_revision, head_revision, needs_upgrade
from engine.store.query import Filter
from engine.store.types import DEFAULT_TZ


def shanghai_now() -> datetime:
    """The default clock: now, aware, in Asia/Shanghai."""
    return datetime.now(DEFAULT_TZ)


class Service:
    """One database (SQLite file or PostgreSQL) and the operations on its apps and records.

    ``submission_budget`` is the number of seconds checking one submission (defaults,
    formulas, validations of the record and its rows) may take before it is refused
    with a ``budget`` error and nothing written; None means unbounded.
    """

    def __init__(
        self,
        database_url: str,
        *,
        files_dir: str | Path | None = None,
        clock: Callable[[], datetime] = shanghai_now,
        engine_options: Mapping[str, Any] | None = None,
        submission_budget: float | None = DEFAULT_SUBMISSION_BUDGET_SECONDS,
    ):
        self._database = Database(database_url, **dict(engine_options or {}))
        self._forms = FormCatalog()
        self.files_dir = Path(files_dir) if files_dir is not None else None
        self.clock = clock
        #: named hook points where flows, rules and reports plug in
        self.hooks = Hooks()
        self._context = ServiceContext(
            Transactions(self._database, self._forms),
            clock,
            self.files_dir,
            self.hooks,
            submission_budget,
        )
        #: the use cases; the methods below delegate to them
        self.records = RecordUseCases(self._context)
        self.apps = AppUseCases(self._context)
        self.files = FileUseCases(self._context)
        self.events = EventUseCases(self._context)
        self.org = OrgUseCases(self._context)
        #: what a form's organisation fields offer to pick, within the actor's reach
        self.org_choices = OrgChoiceUseCases(self._context)
        #: the signed-in person's own account: session state, password, language
        self.accounts = AccountUseCases(self._context, self.org)
        #: the working calendar flow timeouts count on (docs/calendar.md)
        self.calendar = CalendarUseCases(self._context)
        #: approval flows: submit, tasks, instances, simulation, timers (docs/flows.md)
        self.flows = FlowUseCases(self._context, self.calendar)
        #: rules run in the triggering transaction; list and run (docs/rules.md)
        self.rules = RuleUseCases(self._context, self.flows)
        self.machines = MachineUseCases(self._context, self.rules)
        #: best-match lookups: lock_when, new versions, ties (docs/lookups.md)
        self.lookups = LookupUseCases(self._context, self.records)
        #: a form's formulas and conditions for the browser (engine/service/form_logic.py)
        self.form_logic = FormLogic(self._context)
        #: saved list views per person, and what a list page may offer (docs/web.md, Lists)
        self.saved_views = SavedViewUseCases(self._context)
        #: background jobs run in-process from the ``jobs`` table (docs/scheduler.md)
        self.jobs = EmbeddedJobRunner(self._context)
        #: declared batch jobs (jobs/*.yaml): list, run, submit, runs (docs/rules.md)
        self.batch_jobs = BatchJobUseCases(self._context, self.jobs)
        #: people's in-app messages and their e-mail copies (engine/service/notifications.py)
        self.notifications = NotificationUseCases(self._context, self.apps.form)
        #: outgoing mail of notifications and new accounts: ``smtp://...`` or
        #: ``smtps://...`` (empty: none); the web sets them from MAIL_URL / MAIL_FROM, the
        #: command line takes LOWCODE_MAIL_URL / LOWCODE_MAIL_FROM from the environment
        self.mail_url = os.environ.get("LOWCODE_MAIL_URL", "")
        self.mail_from = os.environ.get("LOWCODE_MAIL_FROM", "") or "lowcode@localhost"
        #: what rules and jobs did to a record (the record page's "Automation" card)
        self.automation = AutomationUseCases(self._context)
        #: ledger balances, entries, lots, holds and the expiry sweep (docs/ledgers.md)
        self.ledgers = LedgerUseCases(self._context)
        #: dashboards: scoped GROUP BY widgets, drill-down, xlsx (docs/reports.md)
        self.reports = ReportUseCases(self._context)
        #: xlsx/csv exports of lists and forms, at once or in the background (docs/export.md)
        self.exports = ExportUseCases(self._context, self.records, self.jobs)
        #: spreadsheet imports: inspect, dry run, run now or in the background (docs/import.md)
        self.imports = ImportUseCases(self._context, self.jobs)

    def mail_settings(self) -> MailSettings | None:
        """The checked mail settings of :attr:`mail_url` / :attr:`mail_from`, or None when
        no mail URL is set; InvalidArgumentError naming MAIL_URL when they cannot work."""
        if not self.mail_url:
            return None
        return parse_mail_url(self.mail_url, self.mail_from)

    # -- database -----------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        """The database URL with any password hidden (for messages and logs)."""
        return self._database.engine.url.render_as_string(hide_password=True)

    def today(self) -> date:
        """Today's date on the service's clock (Asia/Shanghai)."""
        return self.clock().date()

    def check_database(self) -> None:
        """Raise :class:`NotFoundError` when the engine tables are missing (``lowcode init``)."""
        with self._database.read() as conn:
            if not has_engine_tables(conn):
                raise NotFoundError(
                    f"the database {self.database_url} has no engine tables: run `lowcode init`"
                )
            if needs_upgrade(conn):
                raise NotFoundError(
                    f"the engine tables of {self.database_url} are at schema revision "
                    f"{current_revision(conn) or 'none'}, this engine needs {head_revision()}: "
                    "run `lowcode init` to upgrade them in place (the data is kept)"
                )

    def init_database(self) -> None:
        """Create or upgrade the engine tables (safe to call on every start).

        With a files folder, partial files that interrupted uploads left are removed too.
        """
        with self._database.write() as conn:
            create_engine_tables(conn, self.clock())
        if self.files_dir is not None and self.files_dir.exists():
            self.files.sweep(SYSTEM_ACTOR)

    def forget_cached_definitions(self) -> None:
        """Drop this process's cached definitions (they are re-read on next use)."""
        self._forms.clear()

    def close(self) -> None:
        """Release the database connections (the service is unusable afterwards)."""
        self._database.dispose()

    # -- apps ---------------------------------------------------------------------------
    def install_app(
        self,
        actor: Actor,
        app: AppDefinition,
        *,
        allow_blank: bool = False,
        strict: bool = False,
        role_map: Mapping[str, str] | None = None,
    ) -> InstallReport:
        """Install or upgrade an app: publish every form and record the app version, atomically.

        Existing records breaking a new or stricter rule are listed on each form's
        ``data_check``; with ``strict`` they refuse the install (DataCheckError).
        ``role_map`` maps app roles to organisation roles (RoleMappingError when one
        maps to none).
        """
        locale = check.actor_locale(actor)
        check.check_app_definition(app, locale)
        check.check_flag("allow_blank", allow_blank, locale)
        check.check_flag("strict", strict, locale)
        if role_map is not None:
            check.check_text_mapping("role_map", role_map, locale)
        report = self.apps.install(
            actor, app, allow_blank=allow_blank, strict=strict, role_map=role_map
        )
        return report

    def list_apps(self, actor: Actor) -> list[InstalledApp]:
        """Installed apps, by key."""
        check.actor_locale(actor)
        return self.apps.list(actor)

    def get_app(self, actor: Actor, app_key: str) -> InstalledApp:
        """One installed app; NotFoundError names the installed ones."""
        check.check_app_key(check.actor_locale(actor), app_key)
        return self.apps.get(actor, app_key)

    def get_form(self, actor: Actor, app_key: str, form_key: str) -> FormDefinition:
        """The published definition of a form (cached by version)."""
        check.check_form(check.actor_locale(actor), app_key, form_key)
        return self.apps.form(actor, app_key, form_key)

    def plan_form_change(self, actor: Actor, app_key: str, form: FormDefinition) -> MigrationPlan:
        """Dry run of publishing ``form``: added, hidden, changed fields and unconvertible rows."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_form_definition(form, locale)
        return self.apps.plan_change(actor, app_key, form)

    def publish_form(
        self,
        actor: Actor,
        app_key: str,
        form: FormDefinition,
        *,
        allow_blank: bool = False,
        strict: bool = False,
    ) -> publishing.PublishedVersion:
        """Publish a new version of one form (MigrationError lists values that would not convert).

        With ``strict``, existing records breaking a new or stricter rule refuse it
        (DataCheckError); without, they are listed in the result's ``data_check``.
        """
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_form_definition(form, locale)
        check.check_flag("allow_blank", allow_blank, locale)
        check.check_flag("strict", strict, locale)
        return self.apps.publish(actor, app_key, form, allow_blank=allow_blank, strict=strict)

    def check_form_change(
        self, actor: Actor, app_key: str, form: FormDefinition
    ) -> list[RuleFailure]:
        """Dry run of the data check: rules of ``form`` that existing records would newly break."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_form_definition(form, locale)
        return self.apps.check_change(actor, app_key, form)

    def check_data(
        self, actor: Actor, app_key: str, form_key: str | None = None
    ) -> list[RuleFailure]:
        """Rules of the published forms (or of ``form_key``) that live records break."""
        locale = check.actor_locale(actor)
        if form_key is None:
            check.check_app_key(locale, app_key)
        else:
            check.check_form(locale, app_key, form_key)
        return self.apps.check_data(actor, app_key, form_key)

    # -- records ------------------------------------------------------------------------
    def create_record(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: Mapping[str, Any],
        *,
        source: str = "json",
    ) -> Record:
        """Validate, compute and save a new record (with revision, audit and outbox event)."""
        return self.records.create(actor, app_key, form_key, data, source=source)

    def create_records(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        items: Sequence[Mapping[str, Any]],
        *,
        source: str = "json",
    ) -> list[Record]:
        """Create several records in one transaction: all of them, or none.

        BatchValidationError names the 1-based item number of every invalid item.
        """
        return self.records.create_many(actor, app_key, form_key, items, source=source)

    def update_record(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        record_id: int,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> Record:
        """Change a record; with ``expected_version`` a stale edit raises ConflictError."""
        return self.records.update(
            actor, app_key, form_key, record_id, changes, expected_version=expected_version
        )

    def delete_record(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        record_id: int,
        *,
        expected_version: int | None = None,
    ) -> Record:
        """Soft-delete a record (kept with its history; no longer listed or readable)."""
        return self.records.delete(
            actor, app_key, form_key, record_id, expected_version=expected_version
        )

    def get_record(self, actor: Actor, app_key: str, form_key: str, record_id: int) -> Record:
        """One live record with its sub-table rows."""
        return self.records.get(actor, app_key, form_key, record_id)

    def query_records(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        *,
        filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]] = (),
        sort: str | Sequence[str] | None = None,
        page: int = 1,
        page_size: int = 50,
        search: str | None = None,
        with_total: bool = True,
        with_subtables: bool = False,
    ) -> RecordPage:
        """A page of live records matching filters and search, sorted (default: the form's list sort)."""
        return self.records.query(
            actor,
            app_key,
            form_key,
            filters=filters,
            sort=sort,
            page=page,
            page_size=page_size,
            search=search,
            with_total=with_total,
            with_subtables=with_subtables,
        )

    def record_history(
        self, actor: Actor, app_key: str, form_key: str, record_id: int
    ) -> list[Revision]:
        """Every revision of a record, oldest first (deleted records keep their history)."""
        return self.records.history(actor, app_key, form_key, record_id)

    # -- permissions --------------------------------------------------------------------
    def explain_permissions(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        login: str,
        *,
        record_id: int | None = None,
    ) -> PermissionExplanation:
        """What ``login`` may do with the form (and whether ``record_id`` is in scope), and why.

        Admins may ask about anyone; anybody else about themselves.
        """
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check_text("login", login, 64, locale)
        if record_id is not None:
            check.check_record_id(record_id, locale)
        transactions = self._context.transactions
        with transactions.read(app_key) as tx:
            return explain(tx, transactions.principals, actor, form_key, login, record_id)

    # -- files --------------------------------------------------------------------------
    def save_file(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        field_key: str,
        filename: str,
        stream: BinaryIO,
    ) -> dict[str, Any]:
        """Store an upload for an attachment/image field; returns the metadata its value holds.

        ``field_key`` names a field (``quote``) or a sub-table column (``lines.photo``).
        See :meth:`engine.service.uploads.FileUseCases.save`.
        """
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_field_path("field_key", field_key, locale)
        check.check_upload(filename, stream, locale)
        return self.files.save(actor, app_key, form_key, field_key, filename, stream)

    def open_file(
        self, actor: Actor, app_key: str, form_key: str, file_id: str
    ) -> tuple[dict[str, Any], Path]:
        """A stored file the actor may read: (metadata, path of its bytes).

        Whoever may read the record it is attached to (and see its field) may read it;
        an unattached upload only its uploader. Otherwise NotFoundError, as for a file
        that does not exist.
        """
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check_text("file_id", file_id, 36, locale)
        return self.files.open(actor, app_key, form_key, file_id)
