"""Records: create, update, delete, read, query, history, relation values and candidates."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import BatchValidationError, NotFoundError, RecordError, RecordValidationError
from engine.service import arguments as check
from engine.service import writer
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.org_values import with_names
from engine.service.reading import to_record
from engine.service.results import Record, RecordPage, Revision
from engine.service.transactions import Transaction
from engine.service.visibility import shown_record, shown_revision, shown_title
from engine.store.journal import Journal
from engine.store.limits import MAX_ID, MAX_PAGE_SIZE
from engine.store.query import Filter
from engine.store.unique_keys import sweep_expired


class RecordUseCases:
    """The record operations of one Service (each call is one transaction)."""

    def __init__(self, context: ServiceContext):
        self._context = context

    # -- changes -----------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        data: Mapping[str, Any],
        *,
        source: str = "json",
    ) -> Record:
        """Validate, compute and save a new record (with revision, audit and outbox event)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_values("data", data, locale)
        check.check_choice("source", source, check.SOURCES, locale)
        return self._write(
            actor, app_key, form_key, lambda ctx: writer.create_record(ctx, data, source)
        )

    def create_many(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        items: Sequence[Mapping[str, Any]],
        *,
        source: str = "json",
    ) -> list[Record]:
        """Create several records in ONE transaction: all of them, or none.

        Every item is prepared and written on the create path in turn (a later item sees
        the earlier ones, so a repeated unique value inside the batch is refused too);
        when any item is invalid, the transaction is rolled back and one
        :class:`BatchValidationError` names the 1-based number of every invalid item
        with its errors.
        """
        items = list(items)

        def work(tx: Transaction) -> list[Record]:
            created: list[Record] = []
            failed: list[tuple[int, list[RecordError]]] = []
            for number, data in enumerate(items, start=1):
                if not isinstance(data, Mapping):
                    failed.append((number, [_not_an_object(actor, data)]))
                    continue
                ctx = self._write_context(tx, actor, app_key, form_key)
                try:
                    record = writer.create_record(ctx, data, source)
                except RecordValidationError as exc:
                    failed.append((number, exc.errors))
                    continue
                created.append(record)
            if failed:
                raise BatchValidationError(failed)
            access = tx.access(actor)
            runtime = tx.form(form_key)
            return [self._returned(tx, access, runtime, r) for r in created]

        return self._context.transactions.write(app_key, work)

    def update(
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
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)
        check.check_values("changes", changes, locale)
        check.check_version(expected_version, locale)
        return self._write(
            actor,
            app_key,
            form_key,
            lambda ctx: writer.update_record(ctx, record_id, changes, expected_version),
        )

    def delete(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        record_id: int,
        *,
        expected_version: int | None = None,
    ) -> Record:
        """Soft-delete a record (kept with its history; no longer listed or readable)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)
        check.check_version(expected_version, locale)
        return self._write(
            actor,
            app_key,
            form_key,
            lambda ctx: writer.delete_record(ctx, record_id, expected_version),
        )

    # -- reads -------------------------------------------------------------------------
    def get(self, actor: Actor, app_key: str, form_key: str, record_id: int) -> Record:
        """One live record with its sub-table rows."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            access.require(runtime.definition, "read", locale)
            source = tx.source(form_key, access.scope(form_key, "read"))
            row = source.row(record_id)
            record = to_record(runtime, row, source.children([record_id])[record_id])
            [record] = with_names(tx, runtime, [record])
            return shown_record(runtime, record, access.hidden(runtime.definition))

    def query(
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
        """A page of live records matching filters and search, sorted (default: list sort).

        The filters, sort, search and page are checked by the store before any SQL runs
        (QueryError / InvalidArgumentError in the actor's locale).
        """
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_flag("with_total", with_total, locale)
        check.check_flag("with_subtables", with_subtables, locale)
        return self._page(
            actor,
            app_key,
            form_key,
            "read",
            filters=filters,
            sort=sort,
            page=page,
            page_size=page_size,
            search=search,
            with_total=with_total,
            with_subtables=with_subtables,
        )

    def export(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        *,
        filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]] = (),
        sort: str | Sequence[str] | None = None,
        search: str | None = None,
        with_subtables: bool = True,
        batch: int = 500,
    ) -> Iterator[Record]:
        """Every record the actor may export that matches, page by page (``export`` grant).

        The rows are those of the actor's export scope, without the fields hidden from
        them; each page is its own read transaction.
        """
        for page in self.export_pages(
            actor,
            app_key,
            form_key,
            filters=filters,
            sort=sort,
            search=search,
            with_subtables=with_subtables,
            batch=batch,
        ):
            yield from page.records

    def export_pages(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        *,
        filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]] = (),
        sort: str | Sequence[str] | None = None,
        search: str | None = None,
        with_subtables: bool = True,
        batch: int = 500,
        relations: Sequence[str] = (),
    ) -> Iterator[ExportPage]:
        """The pages of :meth:`export`, each with the titles of the records its
        ``relations`` (field keys, ``lines.product`` for a sub-table column) point at, read
        in the page's own transaction (titles the actor may read, hidden fields left out).
        """
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_flag("with_subtables", with_subtables, locale)
        # a page is at most the store's page size (500)
        batch = check.check_whole_number("batch", batch, 1, 1000, locale)
        batch = min(batch, MAX_PAGE_SIZE)
        for key in relations:
            check.check_field_path("relations", key, locale)
        # an iterator of filters is read once, so that every page sees the same filters
        if isinstance(filters, Iterator):
            filters = list(filters)
        after: Mapping[str, Any] | None = None
        number = 1
        while True:
            # keyset paging (after the previous page's last row) where the store can
            # seek there, OFFSET (the page number) where it cannot: the 200th page of a
            # 100,000-record export then costs what the first does
            found = self._export_page(
                actor,
                app_key,
                form_key,
                filters=filters,
                sort=sort,
                page=number,
                after=after,
                batch=batch,
                search=search,
                with_subtables=with_subtables,
                relations=tuple(relations),
            )
            # the cursor is a raw row (hidden fields too): it never leaves the service
            yield ExportPage(found.records, found.titles)
            if len(found.records) < batch or found.last_row is None:
                return
            after = found.last_row
            number += 1

    def _export_page(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        *,
        filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]],
        sort: str | Sequence[str] | None,
        page: int,
        after: Mapping[str, Any] | None,
        batch: int,
        search: str | None,
        with_subtables: bool,
        relations: tuple[str, ...],
    ) -> ExportPage:
        """One page of an export and its relation titles, in one read transaction."""
        locale = check.actor_locale(actor)

        def work(tx: Transaction) -> ExportPage:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            access.require(runtime.definition, "export", locale)
            source = tx.source(form_key, access.scope(form_key, "export"))
            found = source.page(
                filters=filters,
                sort=sort,
                page=page,
                page_size=batch,
                search=search,
                with_total=False,
                with_subtables=with_subtables,
                locale=locale,
                after=after,
            )
            items = [to_record(runtime, r, found.children.get(r["id"])) for r in found.rows]
            items = with_names(tx, runtime, items)
            hidden = access.hidden(runtime.definition, "export")
            items = [shown_record(runtime, item, hidden) for item in items]
            titles: dict[str, dict[int, str | None]] = {}
            for key in relations:
                ids = _relation_ids(items, key)
                if ids:
                    shown = source.display_values(key, ids)
                    titles[key] = self._titles(tx, access, source, key, shown)
            return ExportPage(items, titles, dict(found.rows[-1]) if found.rows else None)

        return self._context.transactions.read_with(app_key, work)

    def _page(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        action: str,
        *,
        filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]],
        sort: str | Sequence[str] | None,
        page: int,
        page_size: int,
        search: str | None,
        with_total: bool,
        with_subtables: bool,
    ) -> RecordPage:
        locale = check.actor_locale(actor)

        def work(tx: Transaction) -> RecordPage:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            access.require(runtime.definition, action, locale)
            found = tx.source(form_key, access.scope(form_key, action)).page(
                filters=filters,
                sort=sort,
                page=page,
                page_size=page_size,
                search=search,
                with_total=with_total,
                with_subtables=with_subtables,
                locale=locale,
            )
            items = [to_record(runtime, r, found.children.get(r["id"])) for r in found.rows]
            items = with_names(tx, runtime, items)
            hidden = access.hidden(runtime.definition, action)
            items = [shown_record(runtime, item, hidden) for item in items]
            return RecordPage(items, found.total, page, page_size)

        # an iterator of filters is read once, so that a rerun sees the same filters
        if isinstance(filters, Iterator):
            filters = list(filters)
        return self._context.transactions.read_with(app_key, work)

    def history(self, actor: Actor, app_key: str, form_key: str, record_id: int) -> list[Revision]:
        """Every revision of a record, oldest first (deleted records keep their history)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            access.require(runtime.definition, "read", locale)
            rows = tx.source(form_key, access.scope(form_key, "read")).history(record_id)
        if not rows:
            raise NotFoundError(f"{app_key}.{form_key} has no record {record_id}")
        hidden = access.hidden(runtime.definition)
        return [
            shown_revision(
                Revision(
                    x["revision_no"], x["action"], x["data"], x["changes"], x["actor"], x["at"]
                ),
                hidden,
            )
            for x in rows
        ]

    def relation_display(
        self, actor: Actor, app_key: str, form_key: str, field_key: str, ids: Iterable[int]
    ) -> dict[int, str | None]:
        """Titles of the records a relation field points at (those the actor may see)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_field_path("field_key", field_key, locale)
        ids = [check.check_record_id(i, locale, "ids") for i in ids]
        with self._context.transactions.read(app_key) as tx:
            access = tx.access(actor)
            source = tx.source(form_key, access.scope(form_key, "read"))
            titles = source.display_values(field_key, ids)
            return self._titles(tx, access, source, field_key, titles)

    def relation_candidates(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        field_key: str,
        *,
        search: str | None = None,
        limit: int = 20,
    ) -> list[tuple[int, str | None]]:
        """(id, title) of records the relation field may point at, for a picker."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_field_path("field_key", field_key, locale)
        # more than MAX_CANDIDATES is read as MAX_CANDIDATES, as it always was
        limit = check.check_whole_number("limit", limit, 1, MAX_ID, locale)
        with self._context.transactions.read(app_key) as tx:
            access = tx.access(actor)
            source = tx.source(form_key, access.scope(form_key, "read"))
            found = source.candidates(field_key, search, limit, locale)
            titles = self._titles(tx, access, source, field_key, dict(found))
            return [(record_id, titles[record_id]) for record_id, _title in found]

    def _titles(
        self,
        tx: Transaction,
        access: Any,
        source: Any,
        field_key: str,
        titles: dict[int, str | None],
    ) -> dict[int, str | None]:
        """Titles of related records, rendered without the fields hidden from the actor."""
        definition = tx.form(source.form.key).definition
        head, _, column = field_key.partition(".")
        field = definition.field(head).field(column) if column else definition.field(head)
        target_key = field.option("to")
        target = tx.form(target_key)
        hidden = access.hidden(target.definition)
        if not titles or "title" not in hidden:
            return titles
        out: dict[int, str | None] = {}
        for record_id, title in titles.items():
            values = source.related_record(target_key, record_id) or {}
            out[record_id] = shown_title(target, values, title, hidden)
        return out

    # -- internals ---------------------------------------------------------------------
    @staticmethod
    def _returned(tx: Transaction, access: Any, runtime: Any, record: Record) -> Record:
        """A written record as its writer may see it: names filled, hidden fields out."""
        [record] = with_names(tx, runtime, [record])
        return shown_record(runtime, record, access.hidden(runtime.definition))

    def sweep_unique_keys(self, actor: Actor, app_key: str, form_key: str) -> int:
        """Release the normalized unique keys whose protection has ended (docs/uniqueness.md);
        how many. The write path releases a key it needs anyway: this keeps the table tidy."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        now = self._context.clock()

        def work(tx: Transaction) -> int:
            tx.access(actor).require(tx.form(form_key).definition, "update", locale)
            return sweep_expired(tx.conn, tx.stored(form_key).tables, now)

        return self._context.transactions.write(app_key, work)

    def _write_context(
        self, tx: Transaction, actor: Actor, app_key: str, form_key: str
    ) -> writer.WriteContext:
        """A WriteContext in ``tx`` built as :meth:`_write` builds it (own journal, deadline)."""
        del app_key  # the transaction is bound to the app
        return write_context(tx, actor, form_key, self._context)

    def _write(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        action: Callable[[writer.WriteContext], Record],
    ) -> Record:
        context = self._context
        now = context.clock()
        budget = context.submission_budget
        deadline = None if budget is None else time.monotonic() + budget

        def work(tx: Transaction) -> Record:
            runtime = tx.form(form_key)
            access = tx.access(actor)
            source = tx.source(form_key, access.scope(form_key, "read"))
            journal = Journal(actor.user_id, now)
            ctx = writer.WriteContext(
                tx, runtime, actor, now, source, journal, context.hooks, deadline, access
            )
            return self._returned(tx, access, runtime, action(ctx))

        return context.transactions.write(app_key, work)


def write_context(
    tx: Transaction, actor: Actor, form_key: str, context: ServiceContext
) -> writer.WriteContext:
    """A WriteContext for ``actor``'s writes to ``form_key`` in ``tx``: its own journal at
    the service clock's moment, the submission budget from now, the actor's access."""
    budget = context.submission_budget
    access = tx.access(actor)
    journal = Journal(actor.user_id, context.clock())
    return writer.WriteContext(
        tx,
        tx.form(form_key),
        actor,
        journal.at,
        tx.source(form_key, access.scope(form_key, "read")),
        journal,
        context.hooks,
        None if budget is None else time.monotonic() + budget,
        access,
    )


def _not_an_object(actor: Actor, data: Any) -> RecordError:
    """The error of a batch item that is no mapping of field key -> value."""
    kind = type(data).__name__
    if actor.locale.startswith("en"):
        text = f"each item must be an object of field values, got {kind}"
    else:
        text = f"每一项应为字段取值的对象，而不是 {kind}"
    return RecordError(None, text, "type")


@dataclass(frozen=True)
class ExportPage:
    """One page of an export: its records and, per relation field asked for, the titles
    of the records they point at (id -> title; None: no title)."""

    records: list[Record]
    titles: dict[str, dict[int, str | None]]
    #: the page's last row as the store read it: where the next page starts (keyset)
    last_row: Mapping[str, Any] | None = None


def _relation_ids(records: Sequence[Record], key: str) -> list[int]:
    """The record ids a relation field (or ``sub.column``) of ``records`` holds."""
    head, _, column = key.partition(".")
    found: set[int] = set()

    def take(value: Any) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            found.add(value)
        elif isinstance(value, list):
            found.update(v for v in value if isinstance(v, int) and not isinstance(v, bool))

    for record in records:
        value = record.values.get(head)
        if not column:
            take(value)
        elif isinstance(value, list):
            for row in value:
                if isinstance(row, Mapping):
                    take(row.get(column))
    return sorted(found)
