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
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from engine.definitions.dashboards import (
    DATE_PRESETS,
    Aggregate,
    DashboardDefinition,
    DashboardFilter,
    Dimension,
    Measure,
    Widget,
)
from engine.definitions.model import FieldDefinition, FormDefinition
from engine.errors import (
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
)
from engine.fields import registry
from engine.runtime.reports.charts import chart_option, sparkline_option
from engine.runtime.reports.periods import (
    Period,
    PeriodError,
    bucket_labels,
    last_year,
    preset,
    previous,
    read_period,
)
from engine.runtime.reports.results import (
    BLANK,
    OTHERS,
    STATUS_NAMES,
    ResultColumn,
    ResultRow,
    WidgetResult,
    change,
    funnel_order,
    measure_values,
    ranking_rows,
    ratio,
    say,
    widget_title,
)
from engine.service import arguments as check
from engine.service.actor import Actor
from engine.service.context import ServiceContext
from engine.service.permissions import Access
from engine.service.transactions import Transaction
from engine.store import reports as store
from engine.store.types import DEFAULT_TZ

#: how long a widget's result may be reused while the data marker is unchanged
CACHE_SECONDS = 60.0
#: results kept per process
CACHE_SIZE = 512
#: most groups a chart or pivot shows (a bucket per day over ten years fits)
MAX_GROUPS = 5000
#: most rows of a detail table page
MAX_PAGE_SIZE = 200
ORG_KINDS = ("user", "department", "region", "dealer")


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


class ReportUseCases:
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
            form, field_def, system = _path_field(tx, widget.source, path)
            if system == "status":
                return [(k, say(v, locale)) for k, v in STATUS_NAMES.items()]
            if field_def is None:
                continue
            if field_def.type == "select":
                values = [
                    o if not isinstance(o, Mapping) else o.get("value") for o in _options(field_def)
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
            values = self._filter_values(dashboard, given, today, locale)
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
            labels = self._filter_labels(tx, access, dashboard, values, locale)
        shown = {k: (v.text() if isinstance(v, Period) else v) for k, v in values.items()}
        return DashboardResult(dashboard, dashboard.name.get(locale), shown, results, labels)

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
        _form, field_def, _system = _path_field(tx, form_key, path)
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
        return self._value_label(tx, form_key, Dimension(path), value, None, locale)

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
            values = self._filter_values(dashboard, given, today, locale)
            # a KPI's period replaces the dashboard's range on its date field
            skip = widget.date if widget.kind == "kpi" and "period" in point else None
            conditions = self._conditions(tx, dashboard, widget, values, today, skip_path=skip)
            try:
                conditions += self._point_conditions(widget, point, locale)
            except PeriodError:
                raise check.invalid(
                    locale, "point.period", point.get("period"), "a date range"
                ) from None
            source = self._source(tx, access, widget.source, locale)
            form = source.form.tables.form
            hidden = source.scope.hidden_fields(source.form.tables)
            # the form's list columns (the ones a list page shows), less what is hidden
            # and what is not one stored value (a sub-table)
            paths = [
                p
                for p in (form.list_columns or [f.key for f in form.fields][:6])
                if p not in hidden
                and _path_field(tx, widget.source, p)[1:] != (None, None)
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
            rows, total = store.detail(source, paths, query, access.principal)
            labels = [(p, self._path_label(tx, widget.source, p, locale)) for p in paths]
            shown = self._shown_rows(tx, widget.source, paths, rows, locale)
            text = [self._condition_text(tx, widget.source, c, locale) for c in conditions]
            list_where = None if widget.filter else _list_where(conditions)
            if widget.filter:
                text.insert(0, widget.filter)
            return DrillPage(
                widget.source,
                form.name.get(locale) if form.name else widget.source,
                labels,
                shown,
                total or 0,
                page,
                page_size,
                text,
                list_where,
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
                out[name] = _plain_list(f"filters.{name}", value, locale)
            else:
                out[name] = _plain_value(f"filters.{name}", value, locale)
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
        return out

    # -- one widget -------------------------------------------------------------------------
    def _source(self, tx: Transaction, access: Access, form_key: str, locale: str) -> Any:
        form = tx.form(form_key).stored.tables.form
        if not access.allows(form, "read"):
            raise PermissionDeniedError(
                _say(
                    locale,
                    f"无权查看 {form.name.get(locale) if form.name else form_key} 的数据",
                    f"you may not read {form_key} records",
                )
            )
        return tx.source(form_key, access.scope(form_key, "read"))

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
            source = self._source(tx, access, widget.source, locale)
            scope_key = source.scope.cache_key()
            key = None
            if scope_key is not None:
                forms = sorted(_forms_read(tx, widget))
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
            label = self._path_label(tx, widget.source, exc.field, locale) if exc.field else ""
            text = (
                _say(
                    locale,
                    f"你无权查看字段“{label}”，此组件无法显示",
                    f"this widget reads “{label}”, a field you may not see",
                )
                if exc.hidden
                else _say(
                    locale,
                    f"此组件读取的字段“{label}”已不存在，请管理员修改仪表盘",
                    f"this widget reads “{label}”, which the form no longer has; "
                    "ask an admin to change the dashboard",
                )
            )
            return WidgetResult(
                widget.key,
                widget.kind,
                widget_title(widget, locale),
                widget.source,
                widget.width,
                widget.height,
                error=text,
            )
        except ServiceError as exc:
            return WidgetResult(
                widget.key,
                widget.kind,
                widget_title(widget, locale),
                widget.source,
                widget.width,
                widget.height,
                error=str(exc),
            )

    def _widget(
        self,
        tx: Transaction,
        access: Access,
        source: Any,
        dashboard: DashboardDefinition,
        widget: Widget,
        values: Mapping[str, Any],
        today: date,
        locale: str,
        page: int,
    ) -> WidgetResult:
        result = WidgetResult(
            widget.key,
            widget.kind,
            widget_title(widget, locale),
            widget.source,
            widget.width,
            widget.height,
        )
        who = access.principal
        conditions = self._conditions(tx, dashboard, widget, values, today)
        where = (widget.filter,) if widget.filter else ()
        if widget.kind == "table":
            return self._table(tx, source, widget, result, conditions, where, who, locale, page)
        if widget.kind == "kpi":
            return self._kpi(
                tx, access, source, dashboard, widget, result, values, today, where, locale
            )
        aggregates = _aggregates(widget.measures)
        dims = (*widget.dimensions, *widget.columns)
        result.columns = [
            ResultColumn(d.key, self._dimension_label(tx, widget.source, d, locale), "dimension")
            for d in dims
        ] + [self._measure_column(tx, widget.source, m, locale) for m in widget.measures]
        order, limit, python_sort = self._order(widget, aggregates)
        query = store.ReportQuery(
            dimensions=tuple(store.Column(d.path, d.bucket) for d in dims),
            aggregates=tuple(store.AggregateColumn(a.function, a.path) for a in aggregates),
            where=where,
            conditions=tuple(conditions),
            order=order,
            limit=limit if limit is not None else MAX_GROUPS + 1,
        )
        groups = store.grouped(source, query, who)
        rows = [self._row(tx, widget, dims, aggregates, g, locale) for g in groups]
        if python_sort is not None:
            measure_index, descending = python_sort
            rows.sort(
                key=lambda r: (r.values[measure_index] is None, r.values[measure_index] or 0),
                reverse=False,
            )
            if descending:
                known = [r for r in rows if r.values[measure_index] is not None]
                rows = sorted(known, key=lambda r: r.values[measure_index], reverse=True) + [
                    r for r in rows if r.values[measure_index] is None
                ]
            if widget.limit:
                rows = rows[: widget.limit]
        total_query = store.ReportQuery(
            aggregates=query.aggregates, where=where, conditions=tuple(conditions)
        )
        (total_group,) = store.grouped(source, total_query, who) or [None]
        result.totals = (
            measure_values(widget.measures, aggregates, total_group.values)
            if total_group
            else [None] * len(widget.measures)
        )
        if widget.kind == "ranking" and widget.others and widget.limit:
            others = self._others(source, widget, aggregates, rows, conditions, where, who, locale)
            rows = ranking_rows(rows, others, widget.limit)
        if widget.kind == "funnel":
            rows = funnel_order(rows, widget.steps, widget.cumulative)
            for index, row in enumerate(rows):
                if row.labels == [str(row.keys[0])]:
                    row.labels = [
                        self._value_label(tx, widget.source, dims[0], row.keys[0], None, locale)
                    ]
                row.drill = {dims[0].key: row.keys[0]}
                if widget.cumulative:  # the records that reached this step: it and later
                    later = [_json_key(r.keys[0]) for r in rows[index:]]
                    row.drill = {"reached": {dims[0].key: later}}
        result.rows = rows[:MAX_GROUPS]
        if len(rows) > MAX_GROUPS:
            result.extra["truncated"] = MAX_GROUPS
        if widget.kind == "pivot":
            result.extra["pivot"] = self._pivot(
                source, widget, aggregates, result, conditions, where, who
            )
        result.chart = chart_option(result, widget)
        return result

    def _order(
        self, widget: Widget, aggregates: Sequence[Aggregate]
    ) -> tuple[tuple[tuple[str, int, bool], ...], int | None, tuple[int, bool] | None]:
        """The SQL order and limit, or (when sorting by a formula measure) the Python sort."""
        dims = (*widget.dimensions, *widget.columns)
        sort = widget.sort
        if not sort:
            if widget.kind in ("ranking", "pie"):
                sort = ((widget.measures[0].key, True),)
            elif widget.kind == "bar" and not widget.dimensions[0].bucket:
                sort = ()
        order: list[tuple[str, int, bool]] = []
        for key, descending in sort:
            dim = next((i for i, d in enumerate(dims) if key in (d.key, d.path)), None)
            if dim is not None:
                order.append(("dimension", dim, descending))
                continue
            index = next(i for i, m in enumerate(widget.measures) if m.key == key)
            measure = widget.measures[index]
            if not measure.simple:
                return (), None, (index, descending)
            order.append(("aggregate", aggregates.index(measure.aggregates[0]), descending))
        limit = widget.limit if widget.kind != "pivot" else None
        return tuple(order), limit, None

    def _row(
        self,
        tx: Transaction,
        widget: Widget,
        dims: Sequence[Dimension],
        aggregates: Sequence[Aggregate],
        group: store.GroupRow,
        locale: str,
    ) -> ResultRow:
        labels = [
            self._value_label(tx, widget.source, d, k, label, locale)
            for d, k, label in zip(dims, group.keys, group.labels, strict=True)
        ]
        values = measure_values(widget.measures, aggregates, group.values)
        drill = {d.key: _json_key(k) for d, k in zip(dims, group.keys, strict=True)}
        return ResultRow(list(group.keys), labels, values, drill)

    def _others(
        self,
        source: Any,
        widget: Widget,
        aggregates: Sequence[Aggregate],
        rows: list[ResultRow],
        conditions: list[store.Condition],
        where: tuple[str, ...],
        who: Any,
        locale: str,
    ) -> ResultRow | None:
        dim = widget.dimensions[0]
        top = [r.keys[0] for r in rows[: widget.limit]]
        if dim.bucket:
            return None
        outside = store.Condition(dim.path, "not_in", [_json_key(k) for k in top])
        query = store.ReportQuery(
            aggregates=tuple(store.AggregateColumn(a.function, a.path) for a in aggregates),
            where=where,
            conditions=(*conditions, outside),
        )
        (group,) = store.grouped(source, query, who) or [None]
        if group is None:
            return None
        values = measure_values(widget.measures, aggregates, group.values)
        drill = {"others": {dim.key: [_json_key(k) for k in top]}}
        return ResultRow([None], [say(OTHERS, locale)], values, drill, kind="others")

    def _pivot(
        self,
        source: Any,
        widget: Widget,
        aggregates: Sequence[Aggregate],
        result: WidgetResult,
        conditions: list[store.Condition],
        where: tuple[str, ...],
        who: Any,
    ) -> dict[str, Any]:
        """The grid: row headers, column headers, cells, row and column totals, the
        grand total, and subtotals by the first row dimension (each from its own GROUP
        BY, so counts of distinct values and averages are right, not summed)."""
        n_rows = len(widget.dimensions)
        measures = widget.measures

        def totals_by(dims: Sequence[Dimension]) -> dict[tuple[Any, ...], list[Any]]:
            query = store.ReportQuery(
                dimensions=tuple(store.Column(d.path, d.bucket) for d in dims),
                aggregates=tuple(store.AggregateColumn(a.function, a.path) for a in aggregates),
                where=where,
                conditions=tuple(conditions),
                limit=MAX_GROUPS,
            )
            return {
                g.keys: measure_values(measures, aggregates, g.values)
                for g in store.grouped(source, query, who)
            }

        row_heads: list[tuple[tuple[Any, ...], list[str]]] = []
        col_heads: list[tuple[tuple[Any, ...], list[str]]] = []
        cells: dict[tuple[tuple[Any, ...], tuple[Any, ...]], list[Any]] = {}
        for row in result.rows:
            rk, ck = tuple(row.keys[:n_rows]), tuple(row.keys[n_rows:])
            if rk not in [h[0] for h in row_heads]:
                row_heads.append((rk, row.labels[:n_rows]))
            if ck not in [h[0] for h in col_heads]:
                col_heads.append((ck, row.labels[n_rows:]))
            cells[(rk, ck)] = row.values
        col_heads.sort(key=lambda h: tuple((k is None, str(k)) for k in h[0]))
        row_totals = totals_by(widget.dimensions)
        column_totals = totals_by(widget.columns)
        with_subtotals = widget.subtotals and n_rows > 1
        subtotals = totals_by(widget.dimensions[:1]) if with_subtotals else {}
        # a subtotal row's cells: by the first row dimension and the column dimensions
        subtotal_cells = (
            totals_by((*widget.dimensions[:1], *widget.columns)) if with_subtotals else {}
        )
        grid_rows = []
        previous_head: Any = object()
        for rk, labels in row_heads:
            if subtotals and rk[0] != previous_head and grid_rows:
                grid_rows.append(
                    _subtotal_row(previous_head, grid_rows, subtotals, subtotal_cells, col_heads)
                )
            previous_head = rk[0]
            grid_rows.append(
                {
                    "keys": list(rk),
                    "labels": labels,
                    "cells": [cells.get((rk, ck)) for ck, _l in col_heads],
                    "total": row_totals.get(rk),
                    "kind": "group",
                    "drill": [
                        {
                            **{
                                d.key: _json_key(k)
                                for d, k in zip(widget.dimensions, rk, strict=True)
                            },
                            **{
                                d.key: _json_key(k) for d, k in zip(widget.columns, ck, strict=True)
                            },
                        }
                        for ck, _l in col_heads
                    ],
                }
            )
        if subtotals and grid_rows:
            grid_rows.append(
                _subtotal_row(previous_head, grid_rows, subtotals, subtotal_cells, col_heads)
            )
        return {
            "measures": [m.key for m in measures],
            "columns": [{"keys": list(ck), "labels": labels} for ck, labels in col_heads],
            "rows": grid_rows,
            "column_totals": [column_totals.get(ck) for ck, _l in col_heads],
            "grand": result.totals,
        }

    def _table(
        self,
        tx: Transaction,
        source: Any,
        widget: Widget,
        result: WidgetResult,
        conditions: list[store.Condition],
        where: tuple[str, ...],
        who: Any,
        locale: str,
        page: int,
    ) -> WidgetResult:
        paths = list(widget.fields)
        order = []
        for key, descending in widget.sort:
            if key in paths:
                order.append(("column", paths.index(key), descending))
        size = min(widget.page_size, MAX_PAGE_SIZE)
        query = store.ReportQuery(
            where=where,
            conditions=tuple(conditions),
            order=tuple(order),
            limit=size,
            offset=(page - 1) * size,
        )
        rows, total = store.detail(source, paths, query, who)
        result.columns = [
            ResultColumn(p, self._path_label(tx, widget.source, p, locale), "dimension")
            for p in paths
        ]
        shown = self._shown_rows(tx, widget.source, paths, rows, locale)
        result.rows = [
            ResultRow(
                [r["id"]],
                [r["title"] or f"#{r['id']}"],
                r["values"],
                {"record": r["id"]},
                kind="record",
            )
            for r in shown
        ]
        result.extra["page"] = {"page": page, "page_size": size, "total": total or 0}
        return result

    def _kpi(
        self,
        tx: Transaction,
        access: Access,
        source: Any,
        dashboard: DashboardDefinition,
        widget: Widget,
        result: WidgetResult,
        values: Mapping[str, Any],
        today: date,
        where: tuple[str, ...],
        locale: str,
    ) -> WidgetResult:
        who = access.principal
        measure = widget.measures[0]
        aggregates = _aggregates(widget.measures)
        date_path = widget.date or ""
        period = self._kpi_period(dashboard, widget, values, today)
        others = self._conditions(tx, dashboard, widget, values, today, skip_path=date_path)

        def value_in(chosen: Period) -> Any:
            query = store.ReportQuery(
                aggregates=tuple(store.AggregateColumn(a.function, a.path) for a in aggregates),
                where=where,
                conditions=(
                    *others,
                    store.Condition(date_path, "between", (chosen.first, chosen.last)),
                ),
            )
            (group,) = store.grouped(source, query, who) or [None]
            found = None if group is None else measure_values((measure,), aggregates, group.values)
            if found is None or found[0] is None:
                # a sum over no records shows 0 on a card (SQL's SUM of nothing is blank)
                plain_sum = measure.simple and measure.aggregates[0].function == "SUM"
                return Decimal(0) if plain_sum else None
            return found[0]

        value = value_in(period)
        result.columns = [self._measure_column(tx, widget.source, measure, locale)]
        result.totals = [value]
        kpi: dict[str, Any] = {"value": value, "period": period.text(), "compare": widget.compare}
        if widget.compare in ("previous_period", "last_year"):
            try:
                before = (
                    previous(period) if widget.compare == "previous_period" else last_year(period)
                )
            except PeriodError:
                before = None
            if before is not None:
                earlier = value_in(before)
                kpi.update(
                    compared=earlier, compare_period=before.text(), change=change(value, earlier)
                )
        if widget.compare == "target" and widget.target is not None:
            target = self._target(tx, access, dashboard, widget, values, period, today, locale)
            kpi.update(target=target, rate=ratio(value, target))
        if widget.sparkline:
            kpi["sparkline"] = self._sparkline(
                source, widget, aggregates, others, where, who, period
            )
            result.chart = sparkline_option(kpi["sparkline"])
        result.extra["kpi"] = kpi
        result.rows = [
            ResultRow([], [], [value], {"period": period.text()}, kind="kpi"),
        ]
        return result

    def _kpi_period(
        self, dashboard: DashboardDefinition, widget: Widget, values: Mapping[str, Any], today: date
    ) -> Period:
        """The KPI's own period when it declares one (``this_month`` stays this month
        whatever range the dashboard shows); else the dashboard's range on its date
        field; else this month."""
        if widget.period:
            return preset(widget.period, today)
        for flt in dashboard.filters:
            if flt.type != "date_range" or flt.key not in values:
                continue
            if flt.path_for(widget.source, lambda p: p == widget.date) == widget.date:
                chosen: Period = values[flt.key]
                if chosen.first is not None and chosen.last is not None:
                    return chosen
        return preset("this_month", today)

    def _sparkline(
        self,
        source: Any,
        widget: Widget,
        aggregates: Sequence[Aggregate],
        others: list[store.Condition],
        where: tuple[str, ...],
        who: Any,
        period: Period,
    ) -> list[tuple[str, Any]]:
        bucket = widget.sparkline or "day"
        query = store.ReportQuery(
            dimensions=(store.Column(widget.date or "", bucket),),
            aggregates=tuple(store.AggregateColumn(a.function, a.path) for a in aggregates),
            where=where,
            conditions=(
                *others,
                store.Condition(widget.date or "", "between", (period.first, period.last)),
            ),
        )
        found = {
            g.keys[0]: measure_values(widget.measures[:1], aggregates, g.values)[0]
            for g in store.grouped(source, query, who)
        }
        return [(label, found.get(label, Decimal(0))) for label in bucket_labels(bucket, period)]

    def _target(
        self,
        tx: Transaction,
        access: Access,
        dashboard: DashboardDefinition,
        widget: Widget,
        values: Mapping[str, Any],
        period: Period,
        today: date,
        locale: str,
    ) -> Any:
        target = widget.target
        assert target is not None
        source = self._source(tx, access, target.source, locale)
        conditions: list[store.Condition] = []
        for flt in dashboard.filters:
            if flt.key not in values or flt.type == "date_range":
                continue
            path = self._filter_path(tx, flt, target.source)
            if path is not None:
                conditions.append(store.Condition(path, "in", values[flt.key]))
        conditions.append(store.Condition(target.date, "between", (period.first, period.last)))
        aggregates = target.measure.aggregates
        query = store.ReportQuery(
            aggregates=tuple(store.AggregateColumn(a.function, a.path) for a in aggregates),
            where=(target.filter,) if target.filter else (),
            conditions=tuple(conditions),
        )
        (group,) = store.grouped(source, query, access.principal) or [None]
        if group is None:
            return None
        return measure_values((target.measure,), aggregates, group.values)[0]

    # -- conditions -------------------------------------------------------------------------
    def _filter_path(self, tx: Transaction, flt: DashboardFilter, form_key: str) -> str | None:
        def has(path: str) -> bool:
            return _path_field(tx, form_key, path)[1:] != (None, None)

        return flt.path_for(form_key, has)

    def _conditions(
        self,
        tx: Transaction,
        dashboard: DashboardDefinition,
        widget: Widget,
        values: Mapping[str, Any],
        today: date,
        skip_path: str | None = None,
    ) -> list[store.Condition]:
        """The dashboard's filters as conditions on the widget's source (the ones it has)."""
        out: list[store.Condition] = []
        for flt in dashboard.filters:
            if flt.key not in values:
                continue
            path = self._filter_path(tx, flt, widget.source)
            if path is None or (skip_path is not None and path == skip_path):
                continue
            value = values[flt.key]
            if isinstance(value, Period):
                out.append(store.Condition(path, "between", (value.first, value.last)))
            else:
                out.append(store.Condition(path, "in", value))
        return out

    def _point_conditions(
        self, widget: Widget, point: Mapping[str, Any], locale: str
    ) -> list[store.Condition]:
        dims = {d.key: d for d in (*widget.dimensions, *widget.columns)}
        out: list[store.Condition] = []
        for key, value in point.items():
            if key in ("others", "reached"):
                if not isinstance(value, Mapping):
                    raise check.invalid(locale, f"point.{key}", value, "{dimension: [values]}")
                for dim_key, listed in value.items():
                    dim = dims.get(dim_key)
                    if dim is None:
                        raise self._bad_point(str(dim_key), locale, dims)
                    values = _plain_list(f"point.{key}.{dim_key}", listed, locale)
                    op = "not_in" if key == "others" else "in"
                    out.append(store.Condition(dim.path, op, values))
                continue
            if key == "period" and widget.kind == "kpi" and widget.date:
                # a KPI's records: those of its period (its own or the dashboard's)
                period = read_period(_plain_value("point.period", value, locale), self._today())
                if period is not None:
                    bounds = (period.first, period.last)
                    out.append(store.Condition(widget.date, "between", bounds))
                continue
            if key in ("record", "period"):
                continue
            value = _plain_value(f"point.{key}", value, locale)
            dim = dims.get(key)
            if dim is None:
                raise self._bad_point(key, locale, dims)
            if dim.bucket and value is not None:
                try:
                    store.bucket_days(dim.bucket, str(value))
                except ValueError:
                    raise InvalidArgumentError(
                        _say(
                            locale, f"{value} 不是 {dim.bucket} 区间", f"{value} is no {dim.bucket}"
                        ),
                        argument=f"point.{key}",
                        given=str(value),
                    ) from None
                out.append(store.Condition(dim.path, "bucket", str(value), dim.bucket))
            else:
                out.append(store.Condition(dim.path, "eq", value))
        return out

    @staticmethod
    def _bad_point(key: str, locale: str, dims: Mapping[str, Any]) -> InvalidArgumentError:
        known = ", ".join(dims) or "-"
        return InvalidArgumentError(
            _say(
                locale,
                f"该组件没有维度 {key}（维度：{known}）",
                f"the widget has no dimension {key} (dimensions: {known})",
            ),
            argument=f"point.{key}",
            given=key,
            expected=known,
        )

    def _condition_text(
        self, tx: Transaction, form_key: str, cond: store.Condition, locale: str
    ) -> str:
        label = self._path_label(tx, form_key, cond.path, locale)
        if cond.op == "between":
            low, high = cond.value
            return f"{label}: {low or ''}..{high or ''}"
        if cond.op in ("in", "not_in"):
            dim = Dimension(cond.path)
            names = ", ".join(
                self._value_label(tx, form_key, dim, v, None, locale) for v in cond.value
            )
            return f"{label} {'∈' if cond.op == 'in' else '∉'} {names}"
        shown = self._value_label(tx, form_key, Dimension(cond.path), cond.value, None, locale)
        return f"{label} = {shown}"

    # -- labels -----------------------------------------------------------------------------
    def _path_label(self, tx: Transaction, form_key: str, path: str, locale: str) -> str:
        _form, field_def, system = _path_field(tx, form_key, path)
        if field_def is not None and field_def.label is not None:
            return field_def.label.get(locale)
        names = {
            "status": ("状态", "Status"),
            "created_at": ("创建时间", "Created"),
            "updated_at": ("修改时间", "Updated"),
            "created_by": ("创建人", "Created by"),
            "id": ("编号", "ID"),
            "title": ("标题", "Title"),
        }
        return say(names[system], locale) if system in names else path

    def _dimension_label(self, tx: Transaction, form_key: str, dim: Dimension, locale: str) -> str:
        if dim.label is not None:
            return dim.label.get(locale)
        label = self._path_label(tx, form_key, dim.path, locale)
        if dim.bucket:
            buckets = {"day": ("日", "day"), "week": ("周", "week"), "month": ("月", "month")}
            buckets |= {"quarter": ("季度", "quarter"), "year": ("年", "year")}
            return (
                f"{label}（{say(buckets[dim.bucket], locale)}）"
                if not locale.startswith("en")
                else f"{label} ({dim.bucket})"
            )
        return label

    def _measure_column(
        self, tx: Transaction, form_key: str, measure: Measure, locale: str
    ) -> ResultColumn:
        label = measure.label.get(locale) if measure.label else measure.key
        fmt = measure.format
        if fmt is None:
            fmt = "number"
            if measure.simple:
                aggregate = measure.aggregates[0]
                if aggregate.function in ("COUNT", "COUNT_DISTINCT"):
                    fmt = "integer"
                else:
                    _f, field_def, _s = _path_field(tx, form_key, aggregate.path or "")
                    if field_def is not None and _numeric_type(field_def) == "money":
                        fmt = "money"
                    elif field_def is not None and field_def.type in ("date", "datetime"):
                        fmt = field_def.type
        return ResultColumn(measure.key, label, "measure", fmt, measure.decimals)

    def _value_label(
        self,
        tx: Transaction,
        form_key: str,
        dim: Dimension,
        key: Any,
        title: str | None,
        locale: str,
    ) -> str:
        if key is None:
            return say(BLANK, locale)
        if dim.bucket:
            return str(key)
        if title is not None:
            return title
        _form, field_def, system = _path_field(tx, form_key, dim.path)
        if system == "status":
            return say(STATUS_NAMES[key], locale) if key in STATUS_NAMES else str(key)
        if field_def is None:
            return str(key)
        if field_def.type in ORG_KINDS:
            return tx.names(field_def.type, [key]).get(key, str(key))
        if field_def.type == "relation":
            return f"#{key}"
        try:
            return registry.get(field_def.type).display(field_def, key, locale) or str(key)
        except Exception:  # a value the type no longer knows (an option removed)
            return str(key)

    def _shown_rows(
        self,
        tx: Transaction,
        form_key: str,
        paths: Sequence[str],
        rows: list[dict[str, Any]],
        locale: str,
    ) -> list[dict[str, Any]]:
        out = []
        for row in rows:
            values = []
            for path in paths:
                value = row.get(path)
                title = row.get(f"{path}@title")
                dim = Dimension(path)
                values.append(
                    ""
                    if value is None
                    else self._value_label(tx, form_key, dim, value, title, locale)
                )
            out.append({"id": row["id"], "title": row["title"], "values": values})
        return out

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


def _list_where(conditions: Sequence[store.Condition]) -> list[str] | None:
    """Conditions as the list page's ``where`` texts (FIELD OP VALUE), or None when one
    of them has no such form."""
    out: list[str] = []
    for cond in conditions:
        if cond.path.count(".") > 1 or "\n" in str(cond.value):
            return None
        if cond.op == "bucket":
            first, last = store.bucket_days(cond.bucket or "day", str(cond.value))
            out += [f"{cond.path}>={first}", f"{cond.path}<{last + timedelta(days=1)}"]
        elif cond.op == "between":
            low, high = cond.value
            out += [f"{cond.path}>={low}"] if low is not None else []
            out += [f"{cond.path}<{high + timedelta(days=1)}"] if high is not None else []
        elif cond.op == "eq" and cond.value is not None:
            out.append(f"{cond.path}={cond.value}")
        elif cond.op == "in" and len(cond.value) == 1 and cond.value[0] is not None:
            out.append(f"{cond.path}={cond.value[0]}")
        else:
            return None
    return out


#: most values an "others" or "reached" point, or a filter, may list
MAX_LISTED = 1000
_INT64 = 2**63


def _plain_value(argument: str, value: Any, locale: str) -> Any:
    """A filter or point value: blank, a whole number a column holds, or short text
    (no NUL, no lone surrogate); anything else an InvalidArgumentError naming it."""
    if value is None or isinstance(value, Decimal | date):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64:
        return value
    if isinstance(value, str) and len(value) <= 200 and "\x00" not in value:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            return value
    raise check.invalid(locale, argument, value, "text of at most 200 characters or a whole number")


def _plain_list(argument: str, value: Any, locale: str) -> list[Any]:
    if not isinstance(value, list | tuple) or len(value) > MAX_LISTED:
        raise check.invalid(locale, argument, value, f"a list of at most {MAX_LISTED} values")
    return [_plain_value(f"{argument}[{i}]", v, locale) for i, v in enumerate(value)]


def _subtotal_row(
    head: Any,
    grid_rows: list[dict[str, Any]],
    subtotals: Mapping[tuple[Any, ...], list[Any]],
    cells: Mapping[tuple[Any, ...], list[Any]],
    col_heads: Sequence[Any],
) -> dict[str, Any]:
    first = next(r for r in grid_rows if r["kind"] == "group" and r["keys"][0] == head)
    return {
        "keys": [head],
        "labels": [first["labels"][0]],
        "cells": [cells.get((head, *ck)) for ck, _labels in col_heads],
        "total": subtotals.get((head,)),
        "kind": "subtotal",
        "drill": [],
    }


def _aggregates(measures: Sequence[Measure]) -> list[Aggregate]:
    out: list[Aggregate] = []
    for measure in measures:
        for aggregate in measure.aggregates:
            if aggregate not in out:
                out.append(aggregate)
    return out


def _json_key(key: Any) -> Any:
    if isinstance(key, Decimal):
        return format(key, "f")
    if isinstance(key, date):
        return key.isoformat()
    return key


def _options(field_def: FieldDefinition) -> list[Any]:
    found = field_def.option("options") or ()
    return list(found) if isinstance(found, list | tuple) else []


def _numeric_type(field_def: FieldDefinition) -> str | None:
    if field_def.type == "formula":
        return str(field_def.option("result") or "number")
    return field_def.type if field_def.type in ("number", "money", "percent") else None


def _path_field(
    tx: Transaction, form_key: str, path: str
) -> tuple[FormDefinition | None, FieldDefinition | None, str | None]:
    """What a path ends in: (its form, the field or None, the system column or None)."""
    try:
        form: FormDefinition = tx.form(form_key).stored.tables.form
    except ServiceError:
        return None, None, None
    fields = {f.key: f for f in form.fields}
    steps = path.split(".")
    for depth, head in enumerate(steps):
        last = depth == len(steps) - 1
        if last and head in store.SYSTEM_PATHS and head not in fields:
            return form, None, head
        found = fields.get(head)
        if found is None:
            return form, None, None
        if last:
            return form, found, None
        if found.type == "subtable":
            fields = {f.key: f for f in found.fields or ()}
            continue
        if found.type != "relation":
            return form, None, None
        try:
            form = tx.form(found.option("to")).stored.tables.form
        except ServiceError:
            return None, None, None
        fields = {f.key: f for f in form.fields}
    return form, None, None


def _forms_read(tx: Transaction, widget: Widget) -> set[str]:
    """The forms a widget's figures depend on: its source, forms its paths pass through,
    and a KPI target's source."""
    forms = {widget.source}
    paths = [d.path for d in (*widget.dimensions, *widget.columns)]
    paths += [a.path for m in widget.measures for a in m.aggregates if a.path]
    paths += list(widget.fields)
    for path in paths:
        # every relation the path passes through or ends in (its title is a label)
        steps = path.split(".")
        for depth in range(1, len(steps) + 1):
            _form, field_def, _system = _path_field(tx, widget.source, ".".join(steps[:depth]))
            if field_def is not None and field_def.type == "relation":
                forms.add(field_def.option("to"))
    if widget.target is not None:
        forms.add(widget.target.source)
    return forms
