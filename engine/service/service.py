"""The service facade: the public Python API used by the CLI, web, templates and tests.

Every method takes the :class:`Actor` first and runs in its own transaction; this is the
only way data changes. The work is done by one object per use case (``records``,
``apps``, ``files``; flows, rules and reports add theirs), which share a
:class:`~engine.service.context.ServiceContext`; the methods here are the stable entry
points and delegate to them. Later features plug in at the named hook points of
:attr:`Service.hooks` (see :mod:`engine.service.hooks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from engine.definitions.model import AppDefinition, FormDefinition
from engine.errors import NotFoundError, RecordError, RecordValidationError, ServiceError
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.apps import AppUseCases
from engine.service.context import ServiceContext
from engine.service.files import store_file
from engine.service.forms import FormCatalog, FormRuntime
from engine.service.hooks import Hooks
from engine.service.records import RecordUseCases
from engine.service.results import InstalledApp, InstallReport, Record, RecordPage, Revision
from engine.service.transactions import Transactions
from engine.store import publish as publishing
from engine.store.apps import has_engine_tables
from engine.store.database import Database
from engine.store.engine_tables import create_engine_tables
from engine.store.migration import MigrationPlan
from engine.store.query import Filter
from engine.store.types import DEFAULT_TZ


def shanghai_now() -> datetime:
    """The default clock: now, aware, in Asia/Shanghai."""
    return datetime.now(DEFAULT_TZ)


class Service:
    """One database (SQLite file or PostgreSQL) and the operations on its apps and records."""

    def __init__(
        self,
        database_url: str,
        *,
        files_dir: str | Path | None = None,
        clock: Callable[[], datetime] = shanghai_now,
        engine_options: Mapping[str, Any] | None = None,
        submission_budget: float | None = None,
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

    def init_database(self) -> None:
        """Create or upgrade the engine tables (safe to call on every start)."""
        with self._database.write() as conn:
            create_engine_tables(conn, self.clock())

    def forget_cached_definitions(self) -> None:
        """Drop this process's cached definitions (they are re-read on next use)."""
        self._forms.clear()

    def close(self) -> None:
        """Release the database connections (the service is unusable afterwards)."""
        self._database.dispose()

    # -- apps ---------------------------------------------------------------------------
    def install_app(
        self, actor: Actor, app: AppDefinition, *, allow_blank: bool = False
    ) -> InstallReport:
        """Install or upgrade an app: publish every form and record the app version, atomically."""
        locale = check.actor_locale(actor)
        check.check_app_definition(app, locale)
        check.check_flag("allow_blank", allow_blank, locale)
        return self.apps.install(actor, app, allow_blank=allow_blank)

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
        self, actor: Actor, app_key: str, form: FormDefinition, *, allow_blank: bool = False
    ) -> publishing.PublishedVersion:
        """Publish a new version of one form (MigrationError lists values that would not convert)."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        check.check_form_definition(form, locale)
        check.check_flag("allow_blank", allow_blank, locale)
        return self.apps.publish(actor, app_key, form, allow_blank=allow_blank)

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
        """
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_field_path("field_key", field_key, locale)
        check.check_upload(filename, stream, locale)
        if self.files_dir is None:
            raise ServiceError("this service has no files_dir; pass Service(..., files_dir=...)")
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
        field = _file_field(runtime, field_key)
        with self._database.write() as conn:
            return store_file(
                conn,
                self.files_dir,
                app_key,
                form_key,
                field,
                filename,
                stream,
                actor_id=actor.user_id,
                now=self.clock(),
                field_path=field_key,
            )


def _file_field(runtime: FormRuntime, field_key: str) -> Any:
    """The field (``quote``) or sub-table column (``lines.photo``) a file is uploaded for."""
    head, _, column = field_key.partition(".")
    try:
        field = runtime.definition.field(head)
        if column:
            if field.type != "subtable":
                raise KeyError(field_key)
            field = field.field(column)
    except KeyError:
        raise NotFoundError(f"{runtime.app}.{runtime.key} has no field {field_key!r}") from None
    if field.type not in ("attachment", "image"):
        raise RecordValidationError(
            [RecordError(field_key, f"{field_key} is a {field.type} field, not a file field")]
        )
    return field
