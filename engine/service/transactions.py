"""Transactions of the service: one per call, on definitions that are current.

:class:`Transactions` opens the store's read and write transactions and binds them to
an app's definitions as the database has them now. A read notes the app's generation
first (dropping stale cached forms at once). A write reads it alongside its first
statement and checks it before COMMIT: when another process published meanwhile, the
write is rolled back and run again on the new definitions, so a process never writes
through a stale form. A database error in a write whose app's generation moved is
retried the same way (the stale statement may have failed on the new columns).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.org.principal import Principal
from engine.service.actor import Actor
from engine.service.forms import FormCatalog, FormRuntime
from engine.service.permissions import Access, access_of
from engine.service.principals import OrgCache, require_active
from engine.store.database import Connection, Database, DatabaseError
from engine.store.forms import StoredForm
from engine.store.generations import app_generation, generation_of, request_generation
from engine.store.org import (
    org_generation_of,
    request_read_generations,
    request_write_generations,
)
from engine.store.records import RecordSource, RowScope

T = TypeVar("T")


class StaleDefinitions(Exception):
    """The app's definitions moved during a write: run it again (internal)."""


@dataclass
class Transaction:
    """One transaction bound to one app's current definitions."""

    conn: Connection
    app: str
    catalog: FormCatalog
    org: OrgCache | None = None
    _access: dict[Actor, Access] = field(default_factory=dict)
    _org_generation: int | None = None

    def form(self, form_key: str) -> FormRuntime:
        """The published runtime of a form of this app."""
        return self.catalog.get(self.conn, self.app, form_key)

    def stored(self, form_key: str) -> StoredForm:
        return self.form(form_key).stored

    def source(self, form_key: str, scope: RowScope) -> RecordSource:
        """The record source of a form within ``scope`` (the only way to read its rows)."""
        return RecordSource(self.conn, self.stored(form_key), scope, self.stored)

    def _org(self) -> OrgCache:
        """The organisation cache, synced once in this transaction."""
        if self.org is None:
            self.org = OrgCache()
        if self._org_generation is None:
            self._org_generation = self.org.sync(self.conn)
        return self.org

    def principal(self, actor: Actor) -> Principal:
        """Who ``actor`` is, as of this transaction."""
        org = self._org()
        return org.principal(self.conn, actor, self._org_generation or 0)

    def access(self, actor: Actor) -> Access:
        """What ``actor`` may do in this app, resolved once per transaction.

        A disabled user is refused here (PermissionDeniedError), before any work.
        """
        found = self._access.get(actor)
        if found is None:
            principal = require_active(self.principal(actor), actor.locale)
            found = access_of(
                principal,
                self.app,
                self.catalog.role_map(self.conn, self.app),
                lambda key: self.form(key).definition,
                self._org().statements,
                self._org_generation or 0,
            )
            self._access[actor] = found
        return found

    def names(self, kind: str, codes: Iterable[str]) -> dict[str, str]:
        """Display names of organisation codes (cached until the organisation changes)."""
        return self._org().names(self.conn, kind, codes)

    def org_memo(self, key: tuple[object, ...], load: Callable[[], T]) -> T:
        """``load()``, kept until the organisation's generation moves (per process)."""
        statements = self._org().statements
        if key not in statements:
            statements[key] = load()
        return statements[key]  # type: ignore[return-value]

    def has_people(self) -> bool:
        """Whether the organisation has any user (cached until it changes)."""
        return self._org().has_people(self.conn)


class Transactions:
    """Read and write transactions of one database, with the definition catalog."""

    #: a write is run at most this many times when definitions keep moving under it
    ATTEMPTS = 3

    def __init__(self, database: Database, catalog: FormCatalog):
        self.database = database
        self.catalog = catalog
        #: people and names read from the organisation, kept until it changes
        self.principals = OrgCache()

    @contextmanager
    def read(self, app: str) -> Iterator[Transaction]:
        """A read transaction on the app's current definitions."""
        with self.database.read() as conn:
            ahead = request_generation(conn, app, for_write=False, defer=True)
            # one round trip for both generations (the app's rides along)
            org_generation = self.principals.sync(conn)
            self.catalog.observe(app, generation_of(ahead))
            yield Transaction(
                conn, app, self.catalog, self.principals, _org_generation=org_generation
            )

    def read_with(self, app: str, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in a read transaction whose generation reads ride with its first
        statement; the result of a read made on definitions or people that moved
        meanwhile is thrown away and the read run again.

        The first read of an app (or of the organisation) in this process reads the
        generations first, as :meth:`read` does. A list page is then one round trip:
        the generations, its rows and its count together.
        """
        for _attempt in range(self.ATTEMPTS):
            if not self.catalog.knows(app) or self.principals.generation is None:
                with self.read(app) as tx:
                    return work(tx)
            with self.database.read() as conn:
                tx, check = self._on_cached(conn, app, request_read_generations)
                try:
                    result = work(tx)
                except Exception:
                    if check(tx):
                        raise
                    continue  # a refusal or failure on stale definitions: read again
                if check(tx):
                    return result
        with self.read(app) as tx:  # pragma: no cover - definitions moving at every try
            return work(tx)

    def write(self, app: str, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in a write transaction on current definitions; its result."""
        for attempt in range(1, self.ATTEMPTS + 1):
            try:
                with self.database.write() as conn:
                    tx, check = self._on_cached(conn, app, request_write_generations)
                    try:
                        result = work(tx)
                    except DatabaseError:
                        raise  # the transaction is unusable: judged below, after rollback
                    except Exception as exc:
                        # a refusal made on stale definitions (or people) is no refusal
                        if not check(tx):
                            raise StaleDefinitions(app) from exc
                        raise
                    if not check(tx):
                        raise StaleDefinitions(app)
                return result
            except StaleDefinitions:
                continue
            except DatabaseError:
                if attempt == self.ATTEMPTS or not self._moved(app):
                    raise
        raise StaleDefinitions(app)  # pragma: no cover - needs three publishes in a row

    def _on_cached(
        self, conn: Connection, app: str, request: Callable[[Connection, str], Any]
    ) -> tuple[Transaction, Callable[[Transaction], bool]]:
        """A transaction on the cached definitions and people, and its check.

        ``request`` queues both generation reads to ride with the next statement; the
        check (call it after the work) says whether what the work used is still current.
        """
        ahead, org_ahead = request(conn, app)
        if not self.catalog.knows(app):
            self.catalog.observe(app, generation_of(ahead))
        tx = Transaction(
            conn, app, self.catalog, self.principals, _org_generation=self.principals.generation
        )

        def check(done: Transaction) -> bool:
            try:
                return self._current(app, ahead, org_ahead, done)
            except DatabaseError:  # a failed statement left nothing to read them on
                return False

        return tx, check

    def _current(self, app: str, ahead: Any, org_ahead: Any, tx: Transaction) -> bool:
        """Whether the app's definitions and the people the work used are still current."""
        definitions = self.catalog.observe(app, generation_of(ahead))
        actual = org_generation_of(org_ahead)
        people = tx._org_generation in (None, actual)
        self.principals.observe(actual)
        return definitions and people

    def _moved(self, app: str) -> bool:
        with self.database.read() as conn:
            generation = app_generation(conn, app)
        return not self.catalog.observe(app, generation)
