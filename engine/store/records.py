"""The record source: the only way to read form rows.

A :class:`RecordSource` is built from a form, the actor's :class:`RowScope` and a
connection. Every read of form rows goes through it: one record, pages of a query,
search, history, related records (``fill_from``, LOOKUP, relation filters), options
taken from another form, relation display values and relation candidates. Each of
them applies the same two conditions in SQL, on the form's own rows and on every
related row it joins or reads: the row is live (``deleted_at IS NULL``) and the
actor's scope admits it. Out of scope reads exactly as not found.

The scope is a SQL predicate per form (:class:`RowScope`); today every actor sees every
row (the organisation and permissions issue fills the predicate in, here, in one place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.errors import NotFoundError
from engine.fields.base import FieldValueError
from engine.store import totals
from engine.store.driver import DriverStatement, all_rows
from engine.store.engine_tables import record_revisions
from engine.store.form_tables import FormTables
from engine.store.forms import StoredForm
from engine.store.limits import is_record_id
from engine.store.messages import shorten
from engine.store.query import Filter, build_query
from engine.store.rows import child_values, inline_values

#: system columns a related record's values carry besides its fields
RELATED_SYSTEM_COLUMNS = ("id", "status", "title", "version")
#: most records one options-from lookup reads: option values are meant to be unique, and
#: the cap bounds the read when they are not (one of them has to pass the filter)
OPTION_CANDIDATES = 20
#: most relation candidates one call returns (a picker pages by search, not by scrolling)
MAX_CANDIDATES = 100


class RowScope:
    """Which rows of a form an actor may read, as a SQL condition.

    ``condition(tables, table)`` returns a SQLAlchemy condition over ``table`` (the
    form's table or an alias of it), or None for every row. The base scope admits
    every row; the organisation and permissions issue subclasses it.
    """

    def condition(self, tables: FormTables, table: Any) -> Any | None:
        """The predicate on ``table`` (None: no restriction)."""
        return None

    def hidden_fields(self, tables: FormTables) -> frozenset[str]:
        """Keys of the form's fields the actor may not see: never filtered, sorted or searched."""
        return frozenset()

    def live_statement(self, form: StoredForm, for_update: bool) -> Any | None:
        """A prepared scoped read of one live row by ``:record_id`` (None: build it)."""
        return None

    def cache_key(self) -> Any | None:
        """What :meth:`condition` and :meth:`hidden_fields` depend on, for caching the
        statements built with them (None: they may differ from call to call, do not)."""
        return ("all rows",) if type(self) is RowScope else None


#: every row: the scope of the engine itself and, until permissions exist, of everyone
ALL_ROWS = RowScope()


@dataclass(frozen=True)
class QueryPage:
    """Rows of one page of a query, their sub-table rows when asked, and the total."""

    rows: list[Mapping[str, Any]]
    children: dict[int, dict[str, list[dict[str, Any]]]]
    total: int | None


class RecordSource:
    """Reads of one form's rows (and its related forms') within an actor's scope."""

    def __init__(
        self,
        conn: sa.Connection,
        form: StoredForm,
        scope: RowScope,
        related: Callable[[str], StoredForm],
    ):
        self.conn = conn
        self.form = form
        self.scope = scope
        self._related = related
        self._seen: dict[tuple[str, int], Mapping[str, Any] | None] = {}

    # -- the form's own rows ---------------------------------------------------------
    def row(self, record_id: int, *, for_update: bool = False) -> Mapping[str, Any]:
        """The live row of a record; NotFoundError when missing, deleted or out of scope.

        An id no BIGINT can hold (2**63, 1.6, text) is no record: it is never sent to the
        driver, which would overflow on SQLite and round or fail on PostgreSQL (the
        service refuses such ids as invalid arguments before they get here).
        """
        row = self._live_row(record_id, for_update) if is_record_id(record_id) else None
        if row is None:
            raise NotFoundError(
                f"{self.form.app}.{self.form.key} has no record {shorten(record_id)} "
                "(it may have been deleted)"
            )
        return row

    def _live_row(self, record_id: int, for_update: bool) -> Mapping[str, Any] | None:
        params = {"record_id": record_id}
        prepared_scoped = self.scope.live_statement(self.form, for_update)
        if prepared_scoped is not None:
            found: Mapping[str, Any] | None = prepared_scoped.mapping(self.conn, params)
            return found
        if self.scope.condition(self.form.tables, self.form.tables.table) is None:
            prepared = self.form.lock_live if for_update else self.form.fetch_live
            row: Mapping[str, Any] | None = prepared.mapping(self.conn, params)
            return row
        stmt = self._scoped(self.form, self.form.select_live)
        if for_update:
            stmt = stmt.with_for_update()
        return self.conn.execute(stmt, params).mappings().first()

    def children(self, parent_ids: Iterable[int]) -> dict[int, dict[str, list[dict[str, Any]]]]:
        """Sub-table rows of several records at once: parent id -> sub-table key -> rows.

        The parents were read through this source, so their rows are in scope.
        """
        tables = self.form.tables
        ids = list(parent_ids)
        out: dict[int, dict[str, list[dict[str, Any]]]] = {
            pid: {k: [] for k in tables.children} for pid in ids
        }
        if not ids:
            return out
        for key, child in tables.children.items():
            fields = tables.child_fields[key]
            stmt = (
                sa.select(child)
                .where(child.c.parent_id.in_(ids))
                .order_by(child.c.parent_id, child.c.row_index)
            )
            for row in self.conn.execute(stmt).mappings():
                out[row["parent_id"]][key].append(child_values(fields, row))
        return out

    def page(
        self,
        *,
        filters: Iterable[Filter | Sequence[Any] | Mapping[str, Any]] = (),
        sort: str | Sequence[str] | None = None,
        page: int = 1,
        page_size: int = 50,
        search: str | None = None,
        with_total: bool = True,
        with_subtables: bool = False,
        locale: object = "zh-CN",
        after: Mapping[str, Any] | None = None,
    ) -> QueryPage:
        """One page of live, visible records matching filters and search, sorted.

        A filter, sort, search or page that cannot be run raises ``QueryError`` (or, for
        the page numbers, ``InvalidArgumentError``) in ``locale``, before any SQL is run.
        ``after`` (the last row of the previous page) reads the next page by keyset
        where the rows after it are one index range, and by ``page``'s OFFSET where they
        are not (pass both): a walk over every page (an export) then costs the same per
        page however deep it goes.
        """
        query = build_query(
            self.form.tables,
            lambda key: self._related(key).tables,
            visible=self.scope.condition,
            hidden=self.scope.hidden_fields,
            filters=filters,
            sort=sort,
            page=page,
            page_size=page_size,
            search=search,
            locale=locale,
            cache=self.form.queries,
            scope_key=self.scope.cache_key(),
            after=after,
            nulls_low=self.conn.dialect.name == "sqlite",
        )
        # an exact total counted on this same data is not counted again (engine.store.totals);
        # the count has no page in it: every page of one filter shares its total. Only a
        # kept statement (a reusable query) can be met again.
        marker = totals.data_marker(self.conn) if with_total and query.reusable else None
        counted = {k: v for k, v in query.params.items() if k not in ("qlimit", "qoffset")}
        kept = totals.kept_total(self.conn, query.count, counted, marker)
        counting = with_total and kept is None
        found = self._run_prepared(query, counting) if query.reusable else None
        if found is not None:
            rows, total = found
        else:
            rows = list(self.conn.execute(query.rows, query.params).mappings().all())
            total = self.conn.execute(query.count, query.params).scalar_one() if counting else None
        if counting and total is not None:
            totals.keep_total(self.conn, query.count, counted, marker, total)
        elif kept is not None:
            total = kept
        children = self.children([r["id"] for r in rows]) if with_subtables else {}
        return QueryPage(rows, children, total)

    def _run_prepared(
        self, query: Any, with_total: bool
    ) -> tuple[list[Mapping[str, Any]], int | None] | None:
        """The page's rows (and total) on the driver's fast path, in one round trip with
        whatever the transaction queued (its generation reads); None: run them with Core."""
        rows_statement = self._prepared(query.rows)
        calls = [(rows_statement, query.params)]
        if with_total:
            calls.append((self._prepared(query.count), query.params))
        found = all_rows(self.conn, calls)
        if found is None:
            return None
        keys = rows_statement.keys
        rows = [dict(zip(keys, row, strict=True)) for row in found[0]]
        return rows, (int(found[1][0][0]) if with_total else None)

    def _prepared(self, statement: Any) -> DriverStatement:
        cache = self.form.prepared_queries
        kept = cache.get(id(statement))
        if kept is None or kept[0] is not statement:  # the statement object is kept alive
            kept = cache.put(id(statement), (statement, DriverStatement(statement)))
        return kept[1]

    def batches(
        self, size: int = 500
    ) -> Iterator[list[tuple[Mapping[str, Any], dict[str, list[dict[str, Any]]]]]]:
        """Every live, visible record in id order, ``size`` at a time, with its sub-table rows.

        Each batch is a list of (row, sub-table key -> rows). Keyset paging on ``id``
        (never OFFSET): each batch is one indexed range read however far the walk is,
        and a record written meanwhile is seen at most once.
        """
        if size < 1:
            raise ValueError(f"batch size must be at least 1, got {size}")
        table = self.form.tables.table
        stmt = self._scoped(
            self.form,
            sa.select(table)
            .where(table.c.deleted_at.is_(None), table.c.id > sa.bindparam("after"))
            .order_by(table.c.id)
            .limit(size),
        )
        after = 0
        while True:
            rows = self.conn.execute(stmt, {"after": after}).mappings().all()
            if not rows:
                return
            children = self.children([r["id"] for r in rows])
            yield [(row, children[row["id"]]) for row in rows]
            if len(rows) < size:
                return
            after = rows[-1]["id"]

    def in_range(
        self,
        field_key: str,
        low: Any,
        high: Any,
        *,
        low_open: bool = False,
        whole_rows: bool = True,
        size: int = 1000,
    ) -> Iterator[list[Mapping[str, Any]]]:
        """Live, visible rows whose ``field_key`` lies in ``[low, high]`` (``(low, high]``
        with ``low_open``), in (field, id) order, ``size`` at a time.

        Each batch is one range read on the field's index (keyset on (field, id), never
        OFFSET). Without ``whole_rows`` only ``id`` and the field are read: what a sweep
        needs to find due records.
        """
        if size < 1:
            raise ValueError(f"batch size must be at least 1, got {size}")
        table = self.form.tables.table
        column = table.c[field_key]
        low_test = column > low if low_open else column >= low
        base = sa.select(table) if whole_rows else sa.select(table.c.id, column)
        stmt = self._scoped(
            self.form,
            base.where(table.c.deleted_at.is_(None), low_test, column <= high)
            .where(
                sa.tuple_(column, table.c.id)
                > sa.tuple_(
                    sa.bindparam("after_value", type_=column.type), sa.bindparam("after_id")
                )
            )
            .order_by(column, table.c.id)
            .limit(size),
        )
        first = self._scoped(
            self.form,
            base.where(table.c.deleted_at.is_(None), low_test, column <= high)
            .order_by(column, table.c.id)
            .limit(size),
        )
        rows = self.conn.execute(first).mappings().all()
        while rows:
            yield list(rows)
            if len(rows) < size:
                return
            last = rows[-1]
            rows = (
                self.conn.execute(stmt, {"after_value": last[field_key], "after_id": last["id"]})
                .mappings()
                .all()
            )

    def grouped(
        self,
        *,
        group_by: Sequence[str],
        aggregates: Sequence[Any],
        date_field: str,
        first_day: Any,
        last_day: Any,
        condition: Any | None = None,
    ) -> Any:
        """Groups of live, visible rows dated ``first_day..last_day`` and their aggregates,
        in one GROUP BY query (engine.store.aggregates.grouped_rows: batch jobs)."""
        from engine.store.aggregates import grouped_rows

        return grouped_rows(
            self,
            group_by=group_by,
            aggregates=aggregates,
            date_field=date_field,
            first_day=first_day,
            last_day=last_day,
            condition=condition,
        )

    def best_match(self, form_key: str, query: Any) -> Mapping[str, Any] | None:
        """The live, visible row of ``form_key`` that best matches a lookup query, or
        None: one query ordered by the lookup's specificity (engine.store.best_match)."""
        from engine.store.best_match import best_match

        return best_match(self, self._related(form_key), query)

    def declared_aggregate(
        self, aggregate: Any, record: Mapping[str, Any], record_fields: frozenset[str]
    ) -> Any:
        """A form's declared aggregate (``aggregates:``) over its target form's live rows
        for this record's values: a system read, the scope does not apply
        (engine/store/form_aggregates.py, docs/aggregates.md)."""
        from engine.store.form_aggregates import aggregate_value

        target = self._related(aggregate.form)
        return aggregate_value(self.conn, target, aggregate, record, record_fields)

    def duplicates(self, field_keys: Sequence[str]) -> list[list[int]]:
        """Groups of live, visible records that share the values of ``field_keys``.

        What a unique rule over those fields would refuse: one GROUP BY ... HAVING
        COUNT(*) > 1 on the stored columns, joined back for the ids. A blank column never
        repeats (as in the partial unique index). Groups in value order, ids ascending.
        """
        tables = self.form.tables
        table = tables.table
        try:
            names = [name for key in field_keys for name in tables.fields[key].names]
        except KeyError as exc:
            raise NotFoundError(
                f"{self.form.app}.{self.form.key} has no stored field {exc.args[0]!r}"
            ) from None
        columns = [table.c[name] for name in names]
        live = [table.c.deleted_at.is_(None), *(c.is_not(None) for c in columns)]
        groups = self._scoped(
            self.form,
            sa.select(*columns).where(*live).group_by(*columns).having(sa.func.count() > 1),
        ).subquery("repeated")
        stmt = self._scoped(
            self.form,
            sa.select(table.c.id, *columns)
            .join(groups, sa.and_(*(c == groups.c[c.name] for c in columns)))
            .where(table.c.deleted_at.is_(None))
            .order_by(*columns, table.c.id),
        )
        out: list[list[int]] = []
        last: tuple[Any, ...] | None = None
        for row in self.conn.execute(stmt):
            values = tuple(row[1:])
            if values != last:
                out.append([])
                last = values
            out[-1].append(row[0])
        return out

    def history(self, record_id: int) -> list[Mapping[str, Any]]:
        """Every revision row of a record, oldest first (deleted records keep theirs).

        A record the scope hides has no history for this actor; a deleted one still
        has, when its last state was in scope.
        """
        if not is_record_id(record_id):
            return []
        form, r = self.form, record_revisions
        table = form.tables.table
        condition = self.scope.condition(form.tables, table)
        if condition is not None:
            visible = self.conn.execute(
                sa.select(table.c.id).where(table.c.id == record_id, condition)
            ).first()
            if visible is None:
                return []
        return list(
            self.conn.execute(
                sa.select(r)
                .where(r.c.app == form.app, r.c.form == form.key, r.c.record_id == record_id)
                .order_by(r.c.revision_no)
            )
            .mappings()
            .all()
        )

    # -- related forms -----------------------------------------------------------------
    def related_record(self, form_key: str, record_id: int) -> Mapping[str, Any] | None:
        """A related record's inline values with its system columns, or None.

        What ``fill_from`` copies from, LOOKUP reads and a relation ``filter`` is judged
        on. Sub-tables are left out. Reads are memoised for the life of the source.
        """
        if not is_record_id(record_id):
            return None
        key = (form_key, record_id)
        if key not in self._seen:
            target = self._related(form_key)
            if (prepared := self.scope.live_statement(target, False)) is not None:
                row = prepared.mapping(self.conn, {"record_id": record_id})
            elif self.scope.condition(target.tables, target.tables.table) is None:
                # the prepared statement as a DriverStatement: building the WHERE clause
                # per call, and Core's per-call overhead, cost more than the query on SQLite
                row = target.fetch_live.mapping(self.conn, {"record_id": record_id})
            else:
                stmt = self._scoped(target, target.select_live)
                row = self.conn.execute(stmt, {"record_id": record_id}).mappings().first()
            values = None if row is None else _related_values(target, row)
            hidden = self.scope.hidden_fields(target.tables)
            if values is not None and hidden:
                # a value the actor may not see is not copied (fill_from) or read
                # (LOOKUP) on their behalf either
                values = {k: v for k, v in values.items() if k not in hidden}
            self._seen[key] = values
        return self._seen[key]

    def option_records(
        self, form_key: str, value_field: str, value: str
    ) -> list[Mapping[str, Any]]:
        """Live, visible records of ``form_key`` offering the option ``value``.

        The option value is text (what a select stores); it is turned into the value
        field's own type before the comparison, so ``"12"`` finds id 12 or a number 12,
        and text that cannot be such a value matches nothing (without a query).
        """
        target = self._related(form_key)
        stmt = option_select(target, value_field)
        stored = _stored_option_value(target, value_field, value)
        if stmt is None or stored is None:
            return []
        stmt = self._scoped(target, stmt)
        return [
            _related_values(target, row)
            for row in self.conn.execute(stmt, {"value": stored}).mappings()
        ]

    def display_values(self, field_key: str, ids: Iterable[int]) -> dict[int, str | None]:
        """Titles of the live, visible records a relation field points at, by id."""
        target = self._relation_target(field_key)
        wanted = sorted({i for i in ids if is_record_id(i)})
        if not wanted:
            return {}
        table = target.tables.table
        stmt = self._scoped(
            target,
            sa.select(table.c.id, table.c.title).where(
                table.c.id.in_(wanted), table.c.deleted_at.is_(None)
            ),
        )
        return {row.id: row.title for row in self.conn.execute(stmt)}

    def candidates(
        self,
        field_key: str,
        search: str | None = None,
        limit: int = 20,
        locale: object = "zh-CN",
    ) -> list[tuple[int, str | None]]:
        """(id, title) of the records a relation field may point at, best first.

        Live and visible rows of the target form, matching ``search`` in their text
        fields and title, in the target form's list order. A relation's ``filter``
        is judged when the record is saved (it is an expression over the target).
        """
        target = self._relation_target(field_key)
        page = RecordSource(self.conn, target, self.scope, self._related).page(
            search=search,
            page_size=max(1, min(limit, MAX_CANDIDATES)),
            with_total=False,
            locale=locale,
        )
        return [(row["id"], row["title"]) for row in page.rows]

    # -- internals ---------------------------------------------------------------------
    def _scoped(self, form: StoredForm, stmt: Any) -> Any:
        condition = self.scope.condition(form.tables, form.tables.table)
        return stmt if condition is None else stmt.where(condition)

    def _relation_target(self, field_key: str) -> StoredForm:
        """The form a relation field points at (``lines.product`` for a sub-table column)."""
        head, _, column = field_key.partition(".")
        if column:
            fc = self.form.tables.child_fields.get(head, {}).get(column)
        else:
            fc = self.form.tables.fields.get(field_key)
        if fc is None or fc.field.type != "relation":
            raise NotFoundError(
                f"{self.form.app}.{self.form.key} has no relation field {field_key!r}"
            )
        return self._related(fc.field.option("to"))


def _related_values(target: StoredForm, row: Mapping[str, Any]) -> dict[str, Any]:
    values = inline_values(target.tables, row)
    values.update({c: row[c] for c in RELATED_SYSTEM_COLUMNS})
    return values


def option_select(form: StoredForm, value_field: str) -> Any | None:
    """The live rows of ``form`` whose ``value_field`` equals ``:value``.

    Built once per (form version, value field) and kept on the form; None when the
    field is not a single stored column (the loader only lets plain fields be values).
    """
    cached = form.option_selects.get(value_field)
    if cached is not None or value_field in form.option_selects:
        return cached
    table = form.tables.table
    if value_field == "id":
        column = table.c.id
    else:
        fc = form.tables.fields.get(value_field)
        # one plain column only: a JSON column has no equality on PostgreSQL
        plain = fc is not None and len(fc.specs) == 1 and fc.specs[0].kind != "json"
        column = table.c[fc.names[0]] if plain else None
    stmt = None
    if column is not None:
        stmt = (
            sa.select(table)
            .where(column == sa.bindparam("value"), table.c.deleted_at.is_(None))
            .order_by(table.c.id)
            .limit(OPTION_CANDIDATES)
        )
    form.option_selects[value_field] = stmt
    return stmt


def _stored_option_value(form: StoredForm, value_field: str, value: str) -> Any:
    if value_field == "id":
        text = str(value).strip()
        return int(text) if text.isdigit() and len(text) < 19 else None
    fc = form.tables.fields.get(value_field)
    if fc is None:
        return None
    try:
        coerced = fc.type.coerce(fc.field, value, "json")
    except FieldValueError:
        return None
    if coerced is None:
        return None
    return fc.type.to_storage(fc.field, coerced).get(fc.names[0])
