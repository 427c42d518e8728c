"""Apps: install, upgrade, publish forms, list, and read published definitions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from engine.definitions.model import AppDefinition, FormDefinition, I18nText
from engine.errors import NotFoundError
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.hooks import PublishContext
from engine.service.results import InstalledApp, InstallReport
from engine.service.transactions import Transaction
from engine.store import apps as app_table
from engine.store import publish as publishing
from engine.store.generations import bump_generation
from engine.store.journal import Journal, Subject
from engine.store.migration import MigrationPlan


class AppUseCases:
    """The app operations of one Service."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def install(
        self, actor: Actor, app: AppDefinition, *, allow_blank: bool = False
    ) -> InstallReport:
        """Install or upgrade an app: publish every form and record the app version, atomically."""
        now = self._context.clock()
        journal = Journal(actor.user_id, now)
        with self._publishing(app.key) as tx:
            conn = tx.conn
            published = tuple(
                publishing.publish_form(
                    conn, app.key, form, actor_id=actor.user_id, now=now, allow_blank=allow_blank
                )
                for form in app.forms
            )
            previous = app_table.save_app(
                conn,
                app.key,
                version=app.version,
                name=app.name.to_data(),
                content_hash=app.content_hash,
                at=now,
                by=actor.user_id,
            )
            journal.audit(
                Subject(app.key, None),
                "app.installed",
                {
                    "version": app.version,
                    "previous": previous,
                    "changed_forms": [p.form for p in published if p.changed],
                },
            )
            self._after_publish(tx, actor, journal, [p for p in published if p.changed])
        return InstallReport(app.key, app.version, previous, published)

    def publish(
        self, actor: Actor, app_key: str, form: FormDefinition, *, allow_blank: bool = False
    ) -> publishing.PublishedVersion:
        """Publish a new version of one form (MigrationError lists values that would not convert)."""
        now = self._context.clock()
        journal = Journal(actor.user_id, now)
        with self._publishing(app_key) as tx:
            result = publishing.publish_form(
                tx.conn, app_key, form, actor_id=actor.user_id, now=now, allow_blank=allow_blank
            )
            if result.changed:
                journal.audit(
                    Subject(app_key, None),
                    "form.published",
                    {"form": form.key, "version": result.version_no},
                )
                self._after_publish(tx, actor, journal, [result])
        return result

    def plan_change(self, actor: Actor, app_key: str, form: FormDefinition) -> MigrationPlan:
        """Dry run of publishing ``form``: added, hidden, changed fields and unconvertible rows."""
        with self._context.transactions.read(app_key) as tx:
            return publishing.dry_run(tx.conn, app_key, form)

    def list(self, actor: Actor) -> list[InstalledApp]:
        """Installed apps, by key."""
        with self._context.transactions.database.read() as conn:
            return [
                _installed(row, app_table.app_forms(conn, row["key"]))
                for row in app_table.app_rows(conn)
            ]

    def get(self, actor: Actor, app_key: str) -> InstalledApp:
        """One installed app; NotFoundError names the installed ones."""
        with self._context.transactions.database.read() as conn:
            row = app_table.app_row(conn, app_key)
            if row is None:
                keys = app_table.app_keys(conn)
                raise NotFoundError(
                    f"app {app_key!r} is not installed; installed: {', '.join(keys) or 'none'}"
                )
            return _installed(row, app_table.app_forms(conn, app_key))

    def form(self, actor: Actor, app_key: str, form_key: str) -> FormDefinition:
        """The published definition of a form (cached by version)."""
        with self._context.transactions.read(app_key) as tx:
            return tx.form(form_key).definition

    # -- internals ---------------------------------------------------------------------
    @contextmanager
    def _publishing(self, app_key: str) -> Iterator[Transaction]:
        """A write transaction that moves the app's generation on first.

        First, so the publish holds the app's generation row before it alters any form
        table: a concurrent write reads that row (share lock) before touching a table,
        so the two queue instead of deadlocking. The cache is dropped either way.
        """
        transactions = self._context.transactions
        try:
            with transactions.database.write() as conn:
                bump_generation(conn, app_key)
                yield Transaction(conn, app_key, transactions.catalog)
        finally:
            transactions.catalog.forget(app_key)

    def _after_publish(
        self, tx: Transaction, actor: Actor, journal: Journal, published: list[Any]
    ) -> None:
        ctx = PublishContext(tx, actor, journal.at, journal)
        for version in published:
            self._context.hooks.on_publish(ctx, version)
        journal.flush(tx.conn)


def _installed(row: Mapping[str, Any], forms: tuple[str, ...]) -> InstalledApp:
    return InstalledApp(
        row["key"],
        row["version"],
        I18nText.of(row["name"]),
        row["content_hash"],
        row["installed_at"],
        row["installed_by"],
        forms,
    )
