"""Best-match lookups and versioned reference data: the service's side (docs/lookups.md).

* :func:`best_match_reader` answers MATCH for a submission through the actor's record
  source (one query per distinct lookup arguments; the runtime caches the answers).
* :class:`LookupUseCases` guards the reference forms, in the writing transaction:

  - ``lock_when``: an update of a stored record for which the condition holds is
    refused with a message pointing to "new version" (a status machine's transition and
    the engine's own closing of a superseded version still pass);
  - ``versions``: when a version becomes locked (activated), the earlier locked versions
    of the same series that are still valid on its ``effective_from`` get their
    ``effective_to`` closed to the day before, so exactly one version is effective on
    any date;
  - the tie check: a write that leaves a record of a form that some lookup searches,
    and that two rows would then match equally well (same match values, same ranked
    bounds, overlapping dates, both passing ``where``), is refused naming both rows;
  - :meth:`LookupUseCases.ties` lists every tie in a form's existing data and
    :meth:`LookupUseCases.new_version` copies a record into a new draft version.
"""

from __future__ import annotations

import dataclasses
from collections import ChainMap
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any

from engine.errors import NotFoundError, RecordError, RecordValidationError
from engine.expressions import compile_expression
from engine.service import arguments as check
from engine.service import writer
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.hooks import RecordChange
from engine.service.results import Record
from engine.service.transactions import Transaction
from engine.store.apps import app_forms
from engine.store.best_match import all_ties, overlapped_versions, tie_rows
from engine.store.records import RecordSource

#: the flow marker of the engine's own write that closes a superseded version
CLOSING = "versions:close"


def best_match_reader(source: RecordSource) -> Callable[[Any], Mapping[str, Any] | None]:
    """The RecordEnvironment ``best_match`` callback over ``source`` (the actor's scope)."""

    def find(query: Any) -> Mapping[str, Any] | None:
        return source.best_match(query.lookup.form, query)

    return find


def _say(locale: str, zh: str, en: str) -> str:
    return en if str(locale).startswith("en") else zh


def _holds(expr: str, values: Mapping[str, Any]) -> bool:
    """Whether a lock_when condition holds on these values (a fault reads as not locked)."""
    try:
        return bool(compile_expression(expr).evaluate(values))
    except Exception:  # noqa: BLE001 - a broken condition must not lock a record forever
        return False


def _shown(record_id: int, title: Any) -> str:
    title = str(title or "").strip()
    return f"#{record_id} {title}" if title else f"#{record_id}"


@dataclasses.dataclass(frozen=True)
class Tie:
    """Two live records of a reference form that a lookup cannot tell apart."""

    lookup_form: str
    lookup: str
    first_id: int
    first_title: str | None
    second_id: int
    second_title: str | None


class LookupUseCases:
    """Lookups, ``lock_when`` and ``versions`` of one Service's forms."""

    def __init__(self, context: ServiceContext, records: Any):
        self._context = context
        self._records = records
        context.hooks.add("before_prepare", self._before_prepare)
        context.hooks.add("after_write", self._after_write)

    # -- which lookups search a form ------------------------------------------------------
    def _searching(self, tx: Transaction, form_key: str) -> list[tuple[str, Any]]:
        """(declaring form, lookup) pairs of the app whose lookups search ``form_key``."""

        def load(conn: Any) -> dict[str, list[tuple[str, Any]]]:
            found: dict[str, list[tuple[str, Any]]] = {}
            for key in app_forms(conn, tx.app):
                try:
                    definition = tx.catalog.get(conn, tx.app, key).definition
                except NotFoundError:
                    continue
                for lookup in definition.lookups:
                    found.setdefault(lookup.form, []).append((key, lookup))
            return found

        return tx.catalog.extra(tx.conn, tx.app, "lookup_targets", load).get(form_key, [])

    # -- hooks ----------------------------------------------------------------------------
    def _before_prepare(self, ctx: Any, data: Mapping[str, Any], existing: Any) -> None:
        """``lock_when``: a locked record changes only by a transition or a new version."""
        definition = ctx.runtime.definition
        if existing is None or not definition.lock_when:
            return
        edit = str((ctx.flow or {}).get("edit") or "")
        if edit.startswith("machine:") or edit == CLOSING:
            return  # a status change "as designed", or the engine closing a version
        if not _holds(definition.lock_when, existing):
            return
        locale = ctx.actor.locale
        raise RecordValidationError(
            [
                RecordError(
                    None,
                    _say(
                        locale,
                        f"此记录已锁定（{definition.lock_when}），不能修改：请用“新版本”复制出"
                        "一个草稿，修改后再生效",
                        f"this record is locked ({definition.lock_when}): use “new version” "
                        "to copy it into a draft, change that and activate it",
                    ),
                    "locked",
                )
            ]
        )

    def _after_write(self, ctx: Any, change: RecordChange) -> None:
        if change.topic == "record.deleted":
            return
        definition = ctx.runtime.definition
        record = change.record
        if definition.versions is not None and definition.lock_when:
            self._close_superseded(ctx, record, change)
        searching = self._searching(ctx.tx, ctx.runtime.key)
        if searching:
            self._refuse_ties(ctx, record, searching)

    def _close_superseded(self, ctx: Any, record: Record, change: RecordChange) -> None:
        """When this version becomes locked, end the earlier locked versions the day
        before it starts (their ``effective_to``), in the same transaction."""
        definition = ctx.runtime.definition
        versions = definition.versions
        values = ChainMap(record.values, {"id": record.id, "status": record.status})
        if not versions.effective_to or not _holds(definition.lock_when, values):
            return
        before = {key: item.get("old") for key, item in change.changes.items()}
        if change.topic == "record.updated" and _holds(
            definition.lock_when, ChainMap(before, values)
        ):
            return  # it was locked already: nothing was activated now
        start = record.values.get(versions.effective_from)
        if not isinstance(start, date):
            return
        closing = dataclasses.replace(ctx, flow={"edit": CLOSING}, access=None)
        for other in overlapped_versions(
            ctx.tx.conn, ctx.runtime.stored, versions, record.values, record.id
        ):
            if not _holds(definition.lock_when, other):
                continue  # a draft is not in force: leave it as it is
            end = start - timedelta(days=1)
            writer.update_record(
                closing, other["id"], {versions.effective_to: end.isoformat()}, None
            )

    def _refuse_ties(self, ctx: Any, record: Record, searching: list[tuple[str, Any]]) -> None:
        conn, stored = ctx.tx.conn, ctx.runtime.stored
        for _form, lookup in searching:
            others = tie_rows(conn, stored, lookup, record.id)
            if not others:
                continue
            other = ctx.tx.source(ctx.runtime.key, _all_rows()).row(others[0])
            mine, theirs = _shown(record.id, record.title), _shown(other["id"], other["title"])
            locale = ctx.actor.locale
            raise RecordValidationError(
                [
                    RecordError(
                        None,
                        _say(
                            locale,
                            f"{mine} 与 {theirs} 重叠：查找“{lookup.name}”无法区分二者（匹配值、"
                            "优先级字段相同且有效期重叠）；请修改有效期或匹配条件",
                            f"{mine} ties with {theirs}: lookup “{lookup.name}” cannot tell "
                            "them apart (same match values and ranked fields, overlapping "
                            "dates); change the dates or the match values",
                        ),
                        "tie",
                    )
                ]
            )

    # -- service calls --------------------------------------------------------------------
    def ties(self, actor: Actor, app_key: str, form_key: str) -> list[Tie]:
        """Every pair of live records of ``form_key`` that some lookup of the app cannot
        tell apart (e.g. data written before the lookup was declared)."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        with self._context.transactions.read(app_key) as tx:
            runtime = tx.form(form_key)
            tx.access(actor).require(runtime.definition, "read", locale)
            source = tx.source(form_key, _all_rows())
            out = []
            for declaring, lookup in self._searching(tx, form_key):
                for a, b in all_ties(tx.conn, runtime.stored, lookup):
                    first, second = source.row(a)["title"], source.row(b)["title"]
                    out.append(Tie(declaring, lookup.name, a, first, b, second))
            return out

    def new_version(
        self,
        actor: Actor,
        app_key: str,
        form_key: str,
        record_id: int,
        effective_from: date | str,
        effective_to: date | str | None = None,
    ) -> Record:
        """Copy a record of a versioned form into a new draft: ``number`` + 1, valid from
        ``effective_from`` (until ``effective_to``, else the copied record's end). The
        fields ``lock_when`` reads start from their defaults, so the copy is a draft."""
        locale = check.actor_locale(actor)
        check.check_form(locale, app_key, form_key)
        check.check_record_id(record_id, locale)

        def action(ctx: writer.WriteContext) -> Record:
            definition = ctx.runtime.definition
            versions = definition.versions
            if versions is None:
                raise RecordValidationError(
                    [
                        RecordError(
                            None,
                            _say(
                                locale,
                                f"表单 {form_key} 没有声明 versions，不能创建新版本",
                                f"form {form_key} declares no versions: it has no new version",
                            ),
                            "versions",
                        )
                    ]
                )
            row = ctx.scoped("read").row(record_id)
            children = ctx.source.children([record_id])[record_id]
            data = _copy(ctx.runtime, row, children)
            for key in compile_expression(definition.lock_when or "True").names:
                data.pop(key, None)
            number = row.get(ctx.runtime.tables.fields[versions.number].names[0])
            data[versions.number] = (number or 0) + 1
            data[versions.effective_from] = str(effective_from)
            if versions.effective_to and effective_to is not None:
                data[versions.effective_to] = str(effective_to)
            return writer.create_record(ctx, data, "json")

        return self._records._write(actor, app_key, form_key, action)


def _all_rows() -> Any:
    from engine.store.records import ALL_ROWS

    return ALL_ROWS


def _copy(runtime: Any, row: Mapping[str, Any], children: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record's input fields as JSON data for a new record (no serials,
    formulas or files: those are numbered, computed and attached anew)."""
    from engine.service.reading import row_values
    from engine.store.rows import values_to_json

    skipped = {"serial", "formula", "attachment", "image", "signature"}
    values = values_to_json(runtime.tables, row_values(runtime, row, children))
    data: dict[str, Any] = {}
    for field in runtime.definition.fields:
        if field.type in skipped or field.key not in values:
            continue
        value = values[field.key]
        if field.type == "subtable":
            columns = {c.key for c in field.fields if c.type not in skipped}
            value = [{k: v for k, v in r.items() if k in columns} for r in value or ()]
        data[field.key] = value
    return data
