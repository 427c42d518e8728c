"""The service facade: the public Python API used by the CLI, web, templates and tests.

Every method takes the :class:`Actor` first and runs in its own transaction; this is the
only way data changes. Permissions are not enforced yet (the actor is recorded on every
change); they will plug in here, in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa

from engine.definitions.model import AppDefinition, FormDefinition, I18nText
from engine.errors import NotFoundError, RecordError, RecordValidationError, ServiceError
from engine.service import writer
from engine.service.actor import Actor
from engine.service.files import store_file
from engine.service.forms import FormCache, FormRuntime
from engine.service.reading import (
    load_children,
    load_row,
    make_fetcher,
    make_option_finder,
    to_record,
)
from engine.service.results import InstalledApp, InstallReport, Record, RecordPage, Revision
from engine.store import publish as publishing
from engine.store.database import Database
from engine.store.engine_tables import (
    apps,
    audit_log,
    create_engine_tables,
    form_versions,
    record_revisions,
)
from engine.store.migration import MigrationPlan
from engine.store.query import Filter, build_query
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
    ):
        self.database = Database(database_url, **dict(engine_options or {}))
        self.files_dir = Path(files_dir) if files_dir is not None else None
        self.clock = clock
        self.forms = FormCache(self.database)

    # -- database and apps ------------------------------------------------------------
    @property
    def database_url(self) -> str:
        """The database URL with any password hidden (for messages and logs)."""
        return self.database.engine.url.render_as_string(hide_password=True)

    def today(self) -> date:
        """Today's date on the service's clock (Asia/Shanghai)."""
        return self.clock().date()

    def check_database(self) -> None:
        """Raise :class:`NotFoundError` when the engine tables are missing (``lowcode init``)."""
        with self.database.read() as conn:
            if not sa.inspect(conn).has_table(apps.name):
                raise NotFoundError(
                    f"the database {self.database_url} has no engine tables: run `lowcode init`"
                )

    def init_database(self) -> None:
        """Create the engine tables when missing (safe to call on every start)."""
        with self.database.write() as conn:
            create_engine_tables(conn, self.clock())

    def install_app(
        self, actor: Actor, app: AppDefinition, *, allow_blank: bool = False
    ) -> InstallReport:
        """Install or upgrade an app: publish every form and record the app version, atomically."""
        now = self.clock()
        with self.database.write() as conn:
            previous = conn.execute(sa.select(apps.c.version).where(apps.c.key == app.key)).scalar()
            published = tuple(
                publishing.publish_form(
                    conn, app.key, form, actor_id=actor.user_id, now=now, allow_blank=allow_blank
                )
                for form in app.forms
            )
            row = {
                "version": app.version,
                "name": app.name.to_data(),
                "content_hash": app.content_hash,
                "installed_at": now,
                "installed_by": actor.user_id,
            }
            if previous is None:
                conn.execute(apps.insert().values(key=app.key, **row))
            else:
                conn.execute(apps.update().where(apps.c.key == app.key).values(**row))
            self._audit(
                conn,
                actor,
                now,
                "app.installed",
                app.key,
                None,
                {
                    "version": app.version,
                    "previous": previous,
                    "changed_forms": [p.form for p in published if p.changed],
                },
            )
        self.forms.forget(app.key)
        return InstallReport(app.key, app.version, previous, published)

    def list_apps(self, actor: Actor) -> list[InstalledApp]:
        """Installed apps, by key."""
        with self.database.read() as conn:
            return [
                self._installed(conn, row)
                for row in conn.execute(sa.select(apps).order_by(apps.c.key)).mappings()
            ]

    def get_app(self, actor: Actor, app_key: str) -> InstalledApp:
        """One installed app; NotFoundError names the installed ones."""
        with self.database.read() as conn:
            row = conn.execute(sa.select(apps).where(apps.c.key == app_key)).mappings().first()
            if row is None:
                keys = conn.execute(sa.select(apps.c.key)).scalars().all()
                raise NotFoundError(
                    f"app {app_key!r} is not installed; installed: {', '.join(keys) or 'none'}"
                )
            return self._installed(conn, row)

    def get_form(self, actor: Actor, app_key: str, form_key: str) -> FormDefinition:
        """The published definition of a form (cached by version)."""
        return self.forms.get(app_key, form_key).definition

    def plan_form_change(self, actor: Actor, app_key: str, form: FormDefinition) -> MigrationPlan:
        """Dry run of publishing ``form``: added, hidden, changed fields and unconvertible rows."""
        with self.database.read() as conn:
            return publishing.dry_run(conn, app_key, form)

    def publish_form(
        self, actor: Actor, app_key: str, form: FormDefinition, *, allow_blank: bool = False
    ) -> publishing.PublishedVersion:
        """Publish a new version of one form (MigrationError lists values that would not convert)."""
        now = self.clock()
        with self.database.write() as conn:
            result = publishing.publish_form(
                conn, app_key, form, actor_id=actor.user_id, now=now, allow_blank=allow_blank
            )
            if result.changed:
                self._audit(
                    conn,
                    actor,
                    now,
                    "form.published",
                    app_key,
                    None,
                    {"form": form.key, "version": result.version_no},
                )
        self.forms.forget(app_key, form.key)
        return result

    # -- records ---------------------------------------------------------------------
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
        runtime = self.forms.get(app_key, form_key)
        return self._write(actor, runtime, lambda ctx: writer.create_record(ctx, data, source))

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
        runtime = self.forms.get(app_key, form_key)
        return self._write(
            actor,
            runtime,
            lambda ctx: writer.update_record(ctx, record_id, changes, expected_version),
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
        runtime = self.forms.get(app_key, form_key)
        return self._write(
            actor, runtime, lambda ctx: writer.delete_record(ctx, record_id, expected_version)
        )

    def get_record(self, actor: Actor, app_key: str, form_key: str, record_id: int) -> Record:
        """One live record with its sub-table rows."""
        runtime = self.forms.get(app_key, form_key)
        with self.database.read() as conn:
            row = load_row(conn, runtime, record_id)
            return to_record(runtime, row, load_children(conn, runtime, [record_id])[record_id])

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
        runtime = self.forms.get(app_key, form_key)
        query = build_query(
            runtime.tables,
            lambda key: self.forms.get(app_key, key).tables,
            filters=filters,
            sort=sort,
            page=page,
            page_size=page_size,
            search=search,
        )
        with self.database.read() as conn:
            rows = conn.execute(query.rows).mappings().all()
            children = (
                load_children(conn, runtime, [r["id"] for r in rows]) if with_subtables else {}
            )
            total = conn.execute(query.count).scalar_one() if with_total else None
        items = [to_record(runtime, r, children.get(r["id"])) for r in rows]
        return RecordPage(items, total, page, page_size)

    def record_history(
        self, actor: Actor, app_key: str, form_key: str, record_id: int
    ) -> list[Revision]:
        """Every revision of a record, oldest first (deleted records keep their history)."""
        self.forms.get(app_key, form_key)
        r = record_revisions
        with self.database.read() as conn:
            rows = (
                conn.execute(
                    sa.select(r)
                    .where(r.c.app == app_key, r.c.form == form_key, r.c.record_id == record_id)
                    .order_by(r.c.revision_no)
                )
                .mappings()
                .all()
            )
        if not rows:
            raise NotFoundError(f"{app_key}.{form_key} has no record {record_id}")
        return [
            Revision(x["revision_no"], x["action"], x["data"], x["changes"], x["actor"], x["at"])
            for x in rows
        ]

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
        The bytes stream to a temporary file with no transaction open; only recording
        the file takes the write lock, for a moment, so other saves never wait for an
        upload. Refusals (name, type, content, size) are in the actor's locale.
        """
        if self.files_dir is None:
            raise ServiceError("this service has no files_dir; pass Service(..., files_dir=...)")
        runtime = self.forms.get(app_key, form_key)
        field = _file_field(runtime, field_key)
        return store_file(
            self.database,
            self.files_dir,
            app_key,
            form_key,
            field,
            filename,
            stream,
            actor_id=actor.user_id,
            clock=self.clock,
            locale=actor.locale,
            field_path=field_key,
        )

    # -- internals --------------------------------------------------------------------
    def _write(
        self, actor: Actor, runtime: FormRuntime, action: Callable[[writer.WriteContext], Record]
    ) -> Record:
        def runtime_of(key: str) -> FormRuntime:
            return self.forms.get(runtime.app, key)

        with self.database.write() as conn:
            fetch = make_fetcher(conn, runtime_of)
            # a closure only: it queries when a field takes its options from another form
            find = make_option_finder(conn, runtime_of)
            return action(writer.WriteContext(conn, runtime, actor, self.clock(), fetch, find))

    def _audit(
        self,
        conn: sa.Connection,
        actor: Actor,
        now: datetime,
        action: str,
        app_key: str,
        form_key: str | None,
        detail: dict[str, Any],
    ) -> None:
        conn.execute(
            audit_log.insert().values(
                at=now,
                actor=actor.user_id,
                action=action,
                app=app_key,
                form=form_key,
                detail=detail,
            )
        )

    @staticmethod
    def _installed(conn: sa.Connection, row: Mapping[str, Any]) -> InstalledApp:
        forms = (
            conn.execute(
                sa.select(form_versions.c.form)
                .where(form_versions.c.app == row["key"])
                .distinct()
                .order_by(form_versions.c.form)
            )
            .scalars()
            .all()
        )
        return InstalledApp(
            row["key"],
            row["version"],
            I18nText.of(row["name"]),
            row["content_hash"],
            row["installed_at"],
            row["installed_by"],
            tuple(forms),
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
