"""Apps: install, upgrade, publish forms, list, and read published definitions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.definitions.flows import FLOW_FORMAT_VERSION
from engine.definitions.model import AppDefinition, FormDefinition, I18nText, to_data
from engine.errors import DataCheckError, NotFoundError, PermissionDeniedError
from engine.runtime.forms import RecordEnvironment
from engine.service import ledgers as ledger_service
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.data_checks import RuleFailure, check_form_data
from engine.service.flow_session import flow_data
from engine.service.hooks import PublishContext
from engine.service.locks import aggregate_reader
from engine.service.lookups import best_match_reader
from engine.service.principals import require_active
from engine.service.results import InstalledApp, InstallReport
from engine.service.role_maps import resolve_role_map
from engine.service.transactions import Transaction
from engine.store import app_rules as app_rule_store
from engine.store import apps as app_table
from engine.store import flows as flow_store
from engine.store import publish as publishing
from engine.store.generations import bump_generation
from engine.store.journal import Journal, Subject
from engine.store.migration import MigrationPlan
from engine.store.org import has_people, save_role_map
from engine.store.records import ALL_ROWS, RecordSource

#: record ids of each failing rule kept in the audit entry (check-data lists them all)
AUDITED_IDS = 100


class AppUseCases:
    """The app operations of one Service."""

    def __init__(self, context: ServiceContext):
        self._context = context

    def install(
        self,
        actor: Actor,
        app: AppDefinition,
        *,
        allow_blank: bool = False,
        strict: bool = False,
        role_map: Mapping[str, str] | None = None,
    ) -> InstallReport:
        """Install or upgrade an app: publish every form and record the app version, atomically.

        Existing records that break a new or stricter rule are reported on each form's
        ``data_check``; with ``strict`` they refuse the install (:class:`DataCheckError`).
        ``role_map`` maps app roles to organisation roles (code or name); an app role
        left unmapped is an install error (:class:`RoleMappingError`) unless the
        organisation has a role of the same code, or it was mapped by an earlier install.
        Once the organisation has users, only its admins install.
        """
        now = self._context.clock()
        journal = Journal(actor.user_id, now)
        with self._publishing(app.key) as tx:
            conn = tx.conn
            self._require_admin(tx, actor)
            roles = resolve_role_map(conn, app, role_map or {}, actor.locale)
            save_role_map(conn, app.key, roles)
            # every form is checked before any table changes: the check reads the rows
            # through the published versions
            checks = self._checked(tx, actor, app.forms, strict)
            published = tuple(
                _with_check(
                    publishing.publish_form(
                        conn,
                        app.key,
                        form,
                        actor_id=actor.user_id,
                        now=now,
                        allow_blank=allow_blank,
                    ),
                    checks[form.key],
                )
                for form in app.forms
            )
            flows_changed = flow_store.publish_flows(
                conn,
                app.key,
                [
                    (f.key, f.form, f.content_hash, flow_data(f), FLOW_FORMAT_VERSION)
                    for f in app.flows
                ],
                by=actor.user_id,
                now=now,
            )
            rules_changed = app_rule_store.publish_rules(
                conn,
                app.key,
                [rule.source for rule in app.rules if rule.source is not None],
                by=actor.user_id,
                now=now,
                jobs=[job.source for job in app.jobs if job.source is not None],
                machines=[m.source for m in app.machines if m.source is not None],
                dashboards=[d.source for d in app.dashboards if d.source is not None],
            )
            # ledgers (docs/ledgers.md): published with the forms, in this transaction
            rules_changed = ledger_service.publish(conn, app, by=actor.user_id, now=now) or (
                rules_changed
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
                    "changed_flows": flows_changed,
                    "rules_changed": rules_changed,
                    "roles": {role: org for role, (org, _admin) in roles.items()},
                    **_audited_checks(published),
                },
            )
            self._after_publish(tx, actor, journal, [p for p in published if p.changed])
        return InstallReport(app.key, app.version, previous, published)

    def publish(
        self,
        actor: Actor,
        app_key: str,
        form: FormDefinition,
        *,
        allow_blank: bool = False,
        strict: bool = False,
    ) -> publishing.PublishedVersion:
        """Publish a new version of one form (MigrationError lists values that would not convert).

        Existing records that break a new or stricter rule are listed in the result's
        ``data_check``; with ``strict`` they refuse the publish (:class:`DataCheckError`).
        """
        now = self._context.clock()
        journal = Journal(actor.user_id, now)
        with self._publishing(app_key) as tx:
            self._require_admin(tx, actor)
            checks = self._checked(tx, actor, (form,), strict)
            result = publishing.publish_form(
                tx.conn, app_key, form, actor_id=actor.user_id, now=now, allow_blank=allow_blank
            )
            result = _with_check(result, checks[form.key])
            if result.changed:
                journal.audit(
                    Subject(app_key, None),
                    "form.published",
                    {"form": form.key, "version": result.version_no, **_audited_checks([result])},
                )
                self._after_publish(tx, actor, journal, [result])
        return result

    def plan_change(self, actor: Actor, app_key: str, form: FormDefinition) -> MigrationPlan:
        """Dry run of publishing ``form``: added, hidden, changed fields, unconvertible rows,
        and the indexes it would create and drop (``indexes_added``, ``indexes_dropped``)."""
        with self._context.transactions.read(app_key) as tx:
            return publishing.dry_run(tx.conn, app_key, form)

    def check_change(self, actor: Actor, app_key: str, form: FormDefinition) -> list[RuleFailure]:
        """Dry run of the data check: rules of ``form`` that existing records would newly break."""
        with self._context.transactions.read(app_key) as tx:
            return self._check_change(tx, actor, form)

    def check_data(
        self, actor: Actor, app_key: str, form_key: str | None = None
    ) -> list[RuleFailure]:
        """Rules of the published forms (or of one) that live records break, form by form.

        Reads the records the actor may see. NotFoundError for an unknown app or form.
        """
        with self._context.transactions.read(app_key) as tx:
            if app_table.app_row(tx.conn, app_key) is None:
                keys = app_table.app_keys(tx.conn)
                raise NotFoundError(
                    f"app {app_key!r} is not installed; installed: {', '.join(keys) or 'none'}"
                )
            form_keys = [form_key] if form_key else app_table.app_forms(tx.conn, app_key)
            failures: list[RuleFailure] = []
            for key in form_keys:
                runtime = tx.form(key)
                source = tx.source(key, tx.access(actor).scope(key, "read"))
                failures += check_form_data(
                    source, runtime, _environment(actor, source, self._context.clock())
                )
            return failures

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
    def _check_change(
        self, tx: Transaction, actor: Actor, form: FormDefinition
    ) -> list[RuleFailure]:
        """The data check of publishing ``form`` (nothing for a new or unchanged form).

        Every record is checked, whoever publishes: a rule binds all of them (as the
        unique index does), so the engine's own scope reads them.
        """
        latest = publishing.latest_version(tx.conn, tx.app, form.key)
        if latest is None or latest.content_hash == form.content_hash:
            return []
        if _rules_of(latest.definition) == _rules_of(form):
            # only how it is shown and indexed changed: no record can break a new rule,
            # and reading 1,000,000 records twice would take minutes
            return []
        runtime = tx.form(form.key)
        source = tx.source(form.key, ALL_ROWS)
        return check_form_data(
            source, runtime, _environment(actor, source, self._context.clock()), form
        )

    def _checked(
        self, tx: Transaction, actor: Actor, forms: Iterable[FormDefinition], strict: bool
    ) -> dict[str, list[RuleFailure]]:
        """Each form's data check; raises DataCheckError when it must refuse the publish.

        It must when ``strict`` and any record breaks a new rule, and always when a new
        unique rule meets repeated values: the database would refuse its index anyway,
        and this way the person learns which records to fix.
        """
        checks = {form.key: self._check_change(tx, actor, form) for form in forms}
        failures = [f for found in checks.values() for f in found]
        refused = failures if strict else [f for f in failures if f.blocking]
        if refused:
            raise DataCheckError(_refusal(refused), refused)
        return checks

    def _require_admin(self, tx: Transaction, actor: Actor) -> None:
        """Installing and publishing change every user's forms: organisation admins only."""
        if not has_people(tx.conn):
            return  # no organisation yet: whoever runs the engine installs
        principal = require_active(
            self._context.transactions.principals.resolve(tx.conn, actor), actor.locale
        )
        if not principal.is_admin:
            raise PermissionDeniedError(
                f"{principal.login} may not install or publish apps: only members of the "
                "organisation's admin role may"
                if actor.locale.startswith("en")
                else f"{principal.login} 不能安装或发布应用：只有组织的 admin 角色成员可以"
            )

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
                yield Transaction(conn, app_key, transactions.catalog, transactions.principals)
        finally:
            transactions.catalog.forget(app_key)

    def _after_publish(
        self, tx: Transaction, actor: Actor, journal: Journal, published: list[Any]
    ) -> None:
        ctx = PublishContext(tx, actor, journal.at, journal)
        for version in published:
            self._context.hooks.on_publish(ctx, version)
        journal.flush(tx.conn)


#: what a form shows and how the store indexes it, never a rule a record could break
_PRESENTATION = ("layout", "list_columns", "list_sort", "list_filters")


def _rules_of(form: FormDefinition) -> dict[str, Any]:
    """The form's stored data without its presentation: equal for two versions that only
    differ in layout, list settings or ``index:`` flags."""
    data = to_data(form)
    for key in _PRESENTATION:
        data.pop(key, None)
    for field in data.get("fields", ()):
        field.pop("index", None)
    return data


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


def _environment(
    actor: Actor, source: RecordSource, now: datetime
) -> Callable[[], RecordEnvironment]:
    """The environment a stored record is checked in: now, the actor, related records."""

    def make() -> RecordEnvironment:
        return RecordEnvironment(
            now,
            actor.user_id,
            actor.department,
            source.related_record,
            find_options=source.option_records,
            locale=actor.locale,
            best_match=best_match_reader(source),
            aggregate=aggregate_reader(source, source.form.definition),
        )

    return make


def _audited_checks(published: Iterable[publishing.PublishedVersion]) -> dict[str, Any]:
    """``{"data_check": [...]}`` for the audit entry: who published over which failures."""
    found = [
        {
            "form": f.form,
            "rule": f.rule,
            "count": f.count,
            "record_ids": list(f.record_ids[:AUDITED_IDS]),
        }
        for version in published
        for f in version.data_check
    ]
    return {"data_check": found} if found else {}


def _with_check(
    result: publishing.PublishedVersion, failures: list[RuleFailure]
) -> publishing.PublishedVersion:
    return replace(result, data_check=tuple(failures)) if failures else result


def _refusal(failures: list[RuleFailure]) -> str:
    """The DataCheckError message: every rule with its records, then what to do.

    English, like the MigrationError it is a kind of; the rules' own messages are in the
    actor's language.
    """
    lines = [f"  - {f.app}.{f.form}: {f.describe(would=True)}" for f in failures]
    repeated = sorted({f.rule.removeprefix("unique: ") for f in failures if f.blocking})
    if repeated:
        tail = (
            f"Existing records repeat the values of {'; '.join(repeated)}, so the new unique "
            "rule cannot be enforced: make those records unique first."
        )
    else:
        tail = "Fix those records first, or publish without strict to accept them."
    return "\n".join(["not published: existing records break new rules:", *lines, tail])
