"""Dashboards: each widget as one scoped GROUP BY, shaped into a data set and a chart.

``service.reports`` lists the dashboards an actor may open, runs a dashboard (or some
of its widgets) with the dashboard's filters, returns the records behind a point
(drill-down) and writes an xlsx of the figures (engine/service/report_xlsx.py).

Every number is computed by the database inside the actor's row scope: the widget's
source form is read through its :class:`RecordSource` and every related form it joins
through the same scope (engine/store/reports.py). A widget the actor may not read, or
whose fields are hidden from them, shows a message instead of figures.

Caching: a widget's result is kept (per process, :data:`CACHE_SECONDS`) under the
dashboard's content hash, the widget, the actor's scope identity, the filter values and
a marker of the data: the newest revision id of each form the widget reads. Any write
through the engine, in any process, moves the marker, so every worker sees fresh
figures at once; a reinstall changes the content hash.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.definitions.dashboards import (
    DATE_PRESETS,
    DashboardDefinition,
    DashboardFilter,
    Dimension,
    Widget,
)
from engine.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
)
from engine.fields import registry
from engine.fields.base import FieldValueError
from engine.runtime.reports.periods import (
    Period,
    PeriodError,
    read_period,
)
from engine.runtime.reports.results import (
    STATUS_NAMES,
    WidgetResult,
    say,
)
from engine.service import arguments as check
from engine.service import report_labels as labels
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.permissions import Access
from engine.service.report_values import list_where, plain_list, plain_value
from engine.service.report_widgets import MAX_PAGE_SIZE, WidgetQueries, readable_source
from engine.service.transactions import Transaction
from engine.store import reports as store
from engine.store.types import DEFAULT_TZ

#: how long a widget's result may be reused while the data marker is unchanged
CACHE_SECONDS = 60.0
#: results kept per process
CACHE_SIZE = 512


def _say(locale: str, zh: str, en: str) -> str:
    return en if locale.startswith("en") else zh


@dataclass(frozen=True)
class DashboardInfo:
    """A dashboard an actor may open."""

    app: str
    key: str
    name: str
    widgets: int


@dataclass
class DashboardResult:
    """A dashboard run: its definition, the filter values applied, the widgets' results."""

    dashboard: DashboardDefinition
    name: str
    filters: dict[str, Any]
    widgets: list[WidgetResult]
    #: the applied filters as people read them (department names, supplier titles)
    filter_labels: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dashboard": self.dashboard.key,
            "name": self.name,
            "filters": self.filters,
            "filter_labels": self.filter_labels,
            "widgets": [w.to_json() for w in self.widgets],
        }


@dataclass
class DrillPage:
    """The records behind a point: a page of them and what selects them."""

    form: str
    form_name: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    conditions: list[str] = field(default_factory=list)
    #: the same records as the form's list filters (``where`` texts such as
    #: ``needed_by>=2026-03-01``), or None when the list cannot express them (a widget
    #: filter, a sub-table value, several values of one field, "others")
    list_where: list[str] | None = None


class _ResultCache:
    """Widget results by key, for ``CACHE_SECONDS``, least recently used dropped."""

    def __init__(self) -> None:
        self._items: OrderedDict[Any, tuple[float, WidgetResult]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> WidgetResult | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            if time.monotonic() - found[0] > CACHE_SECONDS:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return found[1]

    def clear(self) -> None:
        """Forget every kept result (benchmarks measure the queries, not the cache)."""
        with self._lock:
            self._items.clear()

    def put(self, key: Any, result: WidgetResult) -> None:
        with self._lock:
            self._items[key] = (time.monotonic(), result)
            self._items.move_to_end(key)
            while len(self._items) > CACHE_SIZE:
                self._items.popitem(last=False)


class ReportUseCases(WidgetQueries):
    """Dashboards of the apps: list, run, drill, export."""

    def __init__(self, context: ServiceContext):
        self._context = context
        self.cache = _ResultCache()

    # -- definitions ------------------------------------------------------------------------
    def _dashboards(self, tx: Transaction) -> tuple[DashboardDefinition, ...]:
        from engine.definitions.dashboards import dashboard_from_source
        from engine.store.app_rules import dashboards_data

        def load(conn: Any) -> tuple[DashboardDefinition, ...]:
            return tuple(dashboard_from_source(s) for s in dashboards_data(conn, tx.app))

        found: tuple[DashboardDefinition, ...] = tx.catalog.extra(
            tx.conn, tx.app, "dashboards", load
        )
        return found

    def _dashboard(self, tx: Transaction, key: str, locale: str) -> DashboardDefinition:
        dashboards = self._dashboards(tx)
        found = next((d for d in dashboards if d.key == key), None)
        if found is None:
            known = ", ".join(d.key for d in dashboards) or "-"
            raise NotFoundError(
                _say(
                    locale,
                    f"应用 {tx.app} 没有仪表盘 {key}（已有：{known}）",
                    f"app {tx.app} has no dashboard {key} (dashboards: {known})",
                )
            )
        return found

    @staticmethod
    def _visible(tx: Transaction, dashboard: DashboardDefinition, access: Access) -> bool:
        if access.admin:
            return True
        if dashboard.roles:
            return bool(access.roles & set(dashboard.roles))
        sources = {w.source for w in dashboard.widgets}
        return all(access.allows(tx.form(s).stored.tables.form, "read") for s in sources)

    # -- service calls ----------------------------------------------------------------------
    def dashboards(self, actor: Actor, app_key: str) -> list[DashboardInfo]:
        """The dashboards of ``app_key`` the actor may open, in definition order."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        with self._context.transactions.read(app_key) as tx:
            access = tx.access(actor)
            return [
                DashboardInfo(app_key, d.key, d.name.get(locale), len(d.widgets))
                for d in self._dashboards(tx)
                if self._visible(tx, d, access)
            ]

    def definition(self, actor: Actor, app_key: str, dashboard_key: str) -> DashboardDefinition:
        """The dashboard's definition (filters, widgets, layout) if the actor may open it."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        key = check.check_key("dashboard_key", dashboard_key, 60, locale)
        with self._context.transactions.read(app_key) as tx:
            dashboard = self._dashboard(tx, key, locale)
            self._require_visible(tx, dashboard, tx.access(actor), locale)
            return dashboard

    def filter_choices(
        self, actor: Actor, app_key: str, dashboard_key: str
    ) -> dict[str, list[tuple[Any, str]]]:
        """For each select or relation filter, the (value, label) pairs it offers: a
        select's options, a relation's records the actor may read (at most 200)."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        key = check.check_key("dashboard_key", dashboard_key, 60, locale)
        out: dict[str, list[tuple[Any, str]]] = {}
        with self._context.transactions.read(app_key) as tx:
            dashboard = self._dashboard(tx, key, locale)
            access = tx.access(actor)
            self._require_visible(tx, dashboard, access, locale)
            for flt in dashboard.filters:
                if flt.options:
                    out[flt.key] = [(o, str(o)) for o in flt.options]
                elif flt.type in ("select", "relation"):
                    out[flt.key] = self._choices_of(tx, access, dashboard, flt, locale)
        return out

    def _choices_of(
        self,
        tx: Transaction,
        access: Access,
        dashboard: DashboardDefinition,
        flt: DashboardFilter,
        locale: str,
    ) -> list[tuple[Any, str]]:
        for widget in dashboard.widgets:
            path = self._filter_path(tx, flt, widget.source)
            if path is None:
                continue
            form, field_def, system = labels.path_field(tx, widget.source, path)
            if system == "status":
                return [(k, say(v, locale)) for k, v in STATUS_NAMES.items()]
            if field_def is None:
                continue
            if field_def.type == "select":
                values = [
                    o if not isinstance(o, Mapping) else o.get("value")
                    for o in labels.options(field_def)
                ]
                return [(v, registry.get("select").display(field_def, v, locale)) for v in values]
            if field_def.type == "relation":
                target = field_def.option("to")
                source = tx.source(target, access.scope(target, "read"))
                page = source.page(filters=[], sort=["title"], page=1, page_size=200)
                return [(row["id"], row["title"] or f"#{row['id']}") for row in page.rows]
        return []

    def run(
        self,
        actor: Actor,
        app_key: str,
        dashboard_key: str,
        *,
        widgets: Sequence[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        page: int = 1,
    ) -> DashboardResult:
        """Run the dashboard's widgets (or the ones named) with ``filters`` (filter key ->
        a value, a list of values, or a date range such as ``2026-01-01..2026-03-31`` or
        ``this_month``; a missing key takes the filter's default)."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        key = check.check_key("dashboard_key", dashboard_key, 60, locale)
        chosen = self._check_widgets(widgets, locale)
        given = self._check_filters(filters, locale)
        page = check.check_whole_number("page", page, 1, 100_000, locale)
        with self._context.transactions.read(app_key) as tx:
            dashboard = self._dashboard(tx, key, locale)
            access = tx.access(actor)
            self._require_visible(tx, dashboard, access, locale)
            today = self._today()
            values = self._filter_values(tx, access, dashboard, given, today, locale)
            picked = [w for w in dashboard.widgets if chosen is None or w.key in chosen]
            if chosen is not None:
                unknown = sorted(set(chosen) - {w.key for w in dashboard.widgets})
                if unknown:
                    raise NotFoundError(
                        _say(
                            locale,
                            f"仪表盘 {key} 没有组件 {', '.join(unknown)}",
                            f"dashboard {key} has no widget {', '.join(unknown)}",
                        )
                    )
            results = [
                self._widget_cached(tx, actor, access, dashboard, w, values, today, locale, page)
                for w in picked
            ]
            named = self._filter_labels(tx, access, dashboard, values, locale)
        shown = {k: (v.text() if isinstance(v, Period) else v) for k, v in values.items()}
        return DashboardResult(dashboard, dashboard.name.get(locale), shown, results, named)

    def _filter_labels(
        self,
        tx: Transaction,
        access: Access,
        dashboard: DashboardDefinition,
        values: Mapping[str, Any],
        locale: str,
    ) -> dict[str, str]:
        """Each applied filter's values as people read them, named through the first
        widget source that has the filter's field."""
        out: dict[str, str] = {}
        for flt in dashboard.filters:
            value = values.get(flt.key)
            if value is None:
                continue
            if isinstance(value, Period):
                out[flt.key] = value.text()
                continue
            source = next(
                (
                    (w.source, path)
                    for w in dashboard.widgets
                    if (path := self._filter_path(tx, flt, w.source)) is not None
                ),
                None,
            )
            if source is None:
                out[flt.key] = ", ".join(map(str, value))
                continue
            form_key, path = source
            names = [self._named(tx, access, form_key, path, v, locale) for v in value]
            out[flt.key] = ", ".join(names)
        return out

    def _named(
        self, tx: Transaction, access: Access, form_key: str, path: str, value: Any, locale: str
    ) -> str:
        """One filter value's name: a relation's record title, else the value's label."""
        _form, field_def, _system = labels.path_field(tx, form_key, path)
        if field_def is not None and field_def.type == "relation" and isinstance(value, int | str):
            try:
                record_id = int(value)
                # read as the actor reads it: a supplier out of their scope has no name
                source = tx.source(form_key, access.scope(form_key, "read"))
                row = source.related_record(field_def.option("to"), record_id)
            except (ValueError, ServiceError):
                row = None
            if row is not None and row.get("title"):
                return str(row["title"])
        return labels.value_label(tx, form_key, Dimension(path), value, None, locale)

    def drill(
        self,
        actor: Actor,
        app_key: str,
        dashboard_key: str,
        widget_key: str,
        point: Mapping[str, Any] | None = None,
        *,
        filters: Mapping[str, Any] | None = None,
        page: int = 1,
        page_size: int = 20,
    ) -> DrillPage:
        """The records behind one point of a widget (a bar, a pivot cell, "others"):
        the widget's filter, the dashboard's filters and the point's values."""
        locale = check.actor_locale(actor)
        check.check_app_key(locale, app_key)
        key = check.check_key("dashboard_key", dashboard_key, 60, locale)
        widget_key = check.check_key("widget_key", widget_key, 60, locale)
        given = self._check_filters(filters, locale)
        point = dict(check.check_values("point", point or {}, locale))
        page = check.check_whole_number("page", page, 1, 100_000, locale)
        page_size = check.check_whole_number("page_size", page_size, 1, MAX_PAGE_SIZE, locale)
        with self._context.transactions.read(app_key) as tx:
            dashboard = self._dashboard(tx, key, locale)
            access = tx.access(actor)
            self._require_visible(tx, dashboard, access, locale)
            widget = dashboard.widget(widget_key)
            if widget is None:
                raise NotFoundError(
                    _say(
                        locale,
                        f"仪表盘 {key} 没有组件 {widget_key}",
                        f"dashboard {key} has no widget {widget_key}",
                    )
                )
            today = self._today()
            values = self._filter_values(tx, access, dashboard, given, today, locale)
            # a KPI's period replaces the dashboard's range on its date field
            skip = widget.date if widget.kind == "kpi" and "period" in point else None
            conditions = self._conditions(tx, dashboard, widget, values, today, skip_path=skip)
            try:
                conditions += self._point_conditions(widget, point, locale, today)
            except PeriodError:
                raise check.invalid(
                    locale, "point.period", point.get("period"), "a date range"
                ) from None
            source = readable_source(tx, access, widget.source, locale)
            form = source.form.tables.form
            hidden = source.scope.hidden_fields(source.form.tables)
            # the form's list columns (the ones a list page shows), less what is hidden
            # and what is not one stored value (a sub-table)
            paths = [
                p
                for p in (form.list_columns or [f.key for f in form.fields][:6])
                if p not in hidden
                and labels.path_field(tx, widget.source, p)[1:] != (None, None)
                and (
                    form.field(p).type != "subtable" if p in {f.key for f in form.fields} else True
                )
            ]
            query = store.ReportQuery(
                where=(widget.filter,) if widget.filter else (),
                conditions=tuple(conditions),
                limit=page_size,
                offset=(page - 1) * page_size,
            )
            try:
                rows, total = store.detail(source, paths, query, access.principal)
            except store.ReportPathError as exc:
                raise self._path_refusal(tx, widget, exc, locale) from None
            columns = [(p, labels.path_label(tx, widget.source, p, locale)) for p in paths]
            shown = labels.shown_rows(tx, widget.source, paths, rows, locale)

            def named(path: str, value: Any) -> str:
                return self._named(tx, access, widget.source, path, value, locale)

            text = [labels.condition_text(tx, widget.source, c, locale, named) for c in conditions]
            where_texts = None if widget.filter else list_where(conditions)
            if widget.filter:
                text.insert(0, widget.filter)
            return DrillPage(
                widget.source,
                form.name.get(locale) if form.name else widget.source,
                columns,
                shown,
                total or 0,
                page,
                page_size,
                text,
                where_texts,
            )

    # -- arguments --------------------------------------------------------------------------
    @staticmethod
    def _check_widgets(widgets: Sequence[str] | None, locale: str) -> set[str] | None:
        if widgets is None:
            return None
        if isinstance(widgets, str) or not isinstance(widgets, Sequence):
            raise check.invalid(locale, "widgets", widgets, "a list of widget keys")
        return {check.check_key("widgets", w, 60, locale) for w in widgets}

    @staticmethod
    def _check_filters(filters: Mapping[str, Any] | None, locale: str) -> dict[str, Any]:
        if filters is None:
            return {}
        if not isinstance(filters, Mapping):
            raise check.invalid(locale, "filters", filters, "a mapping of filter key -> value")
        out: dict[str, Any] = {}
        for name, value in filters.items():
            check.check_key("filters", name, 60, locale)
            if isinstance(value, list | tuple):
                out[name] = plain_list(f"filters.{name}", value, locale)
            else:
                out[name] = plain_value(f"filters.{name}", value, locale)
        return out

    def _today(self) -> date:
        return self._context.clock().astimezone(DEFAULT_TZ).date()

    def _require_visible(
        self, tx: Transaction, dashboard: DashboardDefinition, access: Access, locale: str
    ) -> None:
        if not self._visible(tx, dashboard, access):
            raise PermissionDeniedError(
                _say(
                    locale,
                    f"{access.principal.login} 无权查看仪表盘 {dashboard.key}",
                    f"{access.principal.login} may not open dashboard {dashboard.key}",
                )
            )

    def _filter_values(
        self,
        tx: Transaction,
        access: Access,
        dashboard: DashboardDefinition,
        given: Mapping[str, Any],
        today: date,
        locale: str,
    ) -> dict[str, Any]:
        """Filter key -> a Period (date ranges) or a list of values; blank filters left out."""
        unknown = sorted(set(given) - {f.key for f in dashboard.filters})
        if unknown:
            known = ", ".join(f.key for f in dashboard.filters) or "-"
            raise InvalidArgumentError(
                _say(
                    locale,
                    f"仪表盘 {dashboard.key} 没有筛选条件 {', '.join(unknown)}（已有：{known}）",
                    f"dashboard {dashboard.key} has no filter {', '.join(unknown)} (filters: {known})",
                ),
                argument="filters",
                given=", ".join(unknown),
                expected=known,
            )
        out: dict[str, Any] = {}
        for flt in dashboard.filters:
            value = given.get(flt.key, flt.default)
            if value is None or value == "" or value == []:
                continue
            if flt.type == "date_range":
                try:
                    period = read_period(value, today)
                except PeriodError as exc:
                    label = flt.label.get(locale) if flt.label else flt.key
                    zh = (
                        f"{label}：无法识别日期范围 {str(value)[:40]!r}；请写 2026-01-01..2026-03-31、"
                        f"某一天，或 {', '.join(DATE_PRESETS)} 之一"
                    )
                    raise InvalidArgumentError(
                        _say(locale, zh, f"{label}: {exc}"),
                        argument=f"filters.{flt.key}",
                        given=str(value)[:40],
                    ) from None
                if period is not None:
                    out[flt.key] = period
                continue
            items = list(value) if isinstance(value, list | tuple) else [value]
            out[flt.key] = [v for v in items if v not in (None, "")]
            self._check_filter(tx, access, dashboard, flt, out[flt.key], locale)
        return out

    def _check_filter(
        self,
        tx: Transaction,
        access: Access,
        dashboard: DashboardDefinition,
        flt: DashboardFilter,
        values: list[Any],
        locale: str,
    ) -> None:
        """Refuse, naming the filter, a value its field cannot hold ("bogus" for a select)
        and a filter on a field hidden from the actor in a widget's source (it would
        filter by what they may not see)."""
        label = flt.label.get(locale) if flt.label else flt.key
        for source in sorted({w.source for w in dashboard.widgets}):
            path = self._filter_path(tx, flt, source)
            if path is None:
                continue
            hidden = tx.source(source, access.scope(source, "read")).scope.hidden_fields(
                tx.stored(source).tables
            )
            if path.split(".")[0] in hidden:
                raise PermissionDeniedError(
                    _say(
                        locale,
                        f"你无权查看“{label}”所筛选的字段，请清除这个筛选条件",
                        f"you may not see the field “{label}” filters; clear that filter",
                    )
                )
            _form, field_def, _system = labels.path_field(tx, source, path)
            if field_def is None:
                continue
            for value in values:
                try:
                    registry.get(field_def.type).coerce(field_def, value, "json")
                except FieldValueError as exc:
                    raise InvalidArgumentError(
                        _say(
                            locale,
                            f"筛选条件“{label}”的值 {str(value)[:40]!r} 无效：{exc.in_locale(locale)}",
                            f"filter “{label}”: {str(value)[:40]!r} is not valid: "
                            f"{exc.in_locale(locale)}",
                        ),
                        argument=f"filters.{flt.key}",
                        given=str(value)[:40],
                    ) from None

    # -- one widget -------------------------------------------------------------------------
    def _widget_cached(
        self,
        tx: Transaction,
        actor: Actor,
        access: Access,
        dashboard: DashboardDefinition,
        widget: Widget,
        values: Mapping[str, Any],
        today: date,
        locale: str,
        page: int,
    ) -> WidgetResult:
        try:
            source = readable_source(tx, access, widget.source, locale)
            scope_key = source.scope.cache_key()
            key = None
            if scope_key is not None:
                forms = sorted(labels.forms_read(tx, widget))
                marker = store.data_marker(tx.conn, [(tx.app, f) for f in forms])
                frozen = tuple(
                    sorted(
                        (k, v.text() if isinstance(v, Period) else tuple(map(str, v)))
                        for k, v in values.items()
                    )
                )
                key = (
                    tx.app,
                    dashboard.content_hash,
                    widget.key,
                    scope_key,
                    frozen,
                    today,
                    page,
                    locale,
                    marker,
                )
                found = self.cache.get(key)
                if found is not None:
                    return found
            result = self._widget(
                tx, access, source, dashboard, widget, values, today, locale, page
            )
            if key is not None:
                self.cache.put(key, result)
            return result
        except store.ReportPathError as exc:
            return WidgetResult.of(widget, locale, str(self._path_refusal(tx, widget, exc, locale)))
        except ServiceError as exc:
            return WidgetResult.of(widget, locale, str(exc))

    @staticmethod
    def _path_refusal(
        tx: Transaction, widget: Widget, exc: store.ReportPathError, locale: str
    ) -> ServiceError:
        """A widget's path the actor may not see (or the form no longer has), said in
        their language."""
        label = labels.path_label(tx, widget.source, exc.field, locale) if exc.field else ""
        if exc.hidden:
            return PermissionDeniedError(
                _say(
                    locale,
                    f"你无权查看字段“{label}”，此组件无法显示",
                    f"this widget reads “{label}”, a field you may not see",
                )
            )
        return NotFoundError(
            _say(
                locale,
                f"此组件读取的字段“{label}”已不存在，请管理员修改仪表盘",
                f"this widget reads “{label}”, which the form no longer has; "
                "ask an admin to change the dashboard",
            )
        )

    # -- export -----------------------------------------------------------------------------
    def export_xlsx(
        self,
        actor: Actor,
        app_key: str,
        dashboard_key: str,
        out: Any,
        *,
        widgets: Sequence[str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> None:
        """Run the dashboard (or the widgets named) with ``filters`` as :meth:`run` does and
        write the figures to ``out`` (a binary stream) as xlsx: an overview sheet, then a
        sheet per widget with formatted numbers and headers in the actor's language
        (engine/service/report_xlsx.py). A detail table brings its first page, and its
        sheet says so."""
        from engine.service.report_xlsx import write_dashboard_xlsx

        locale = check.actor_locale(actor)
        if not callable(getattr(out, "write", None)):
            raise check.invalid(locale, "out", out, "a binary stream with a write method")
        result = self.run(actor, app_key, dashboard_key, widgets=widgets, filters=filters)
        write_dashboard_xlsx(result, out, locale, now=self._context.clock())
