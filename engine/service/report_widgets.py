"""One widget's figures: its queries (groups, totals, "others", pivot totals, a KPI's
periods, a detail page) and the shaping of their groups into a result.

:class:`WidgetQueries` is the part of :class:`engine.service.reports.ReportUseCases`
that computes; the use case adds the arguments, visibility, cache and export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from engine.definitions.dashboards import (
    Aggregate,
    DashboardDefinition,
    DashboardFilter,
    Dimension,
    Measure,
    Widget,
)
from engine.errors import InvalidArgumentError, PermissionDeniedError
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
    OTHERS,
    ResultColumn,
    ResultRow,
    WidgetResult,
    change,
    funnel_order,
    measure_values,
    ranking_rows,
    ratio,
    say,
)
from engine.service import arguments as check
from engine.service import report_labels as labels
from engine.service.permissions import Access
from engine.service.report_values import json_key, plain_list, plain_value
from engine.service.transactions import Transaction
from engine.store import reports as store

#: most groups a chart or pivot shows (a bucket per day over ten years fits)
MAX_GROUPS = 5000
#: most rows of a detail table page
MAX_PAGE_SIZE = 200
#: a bucket as people name it (zh-CN, en) and a label of it
BUCKET_WORDS = {
    "day": ("日期", "day", "2026-03-05"),
    "week": ("周（周一的日期）", "week (its Monday)", "2026-03-02"),
    "month": ("月份", "month", "2026-03"),
    "quarter": ("季度", "quarter", "2026-Q1"),
    "year": ("年份", "year", "2026"),
}


def _say(locale: str, zh: str, en: str) -> str:
    return en if locale.startswith("en") else zh


def readable_source(tx: Transaction, access: Access, form_key: str, locale: str) -> Any:
    """The actor's record source of ``form_key`` (their read scope); PermissionDeniedError
    when they may read none of its records."""
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


class WidgetQueries:
    """The queries and shaping of widgets (mixed into ReportUseCases)."""

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
        result = WidgetResult.of(widget, locale)
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
            ResultColumn(d.key, labels.dimension_label(tx, widget.source, d, locale), "dimension")
            for d in dims
        ] + [labels.measure_column(tx, widget.source, m, locale) for m in widget.measures]
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
        if widget.kind == "line" and len(dims) == 1 and dims[0].bucket and not widget.sort:
            rows = _fill_buckets(rows, dims[0], widget.measures)
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
                        labels.value_label(tx, widget.source, dims[0], row.keys[0], None, locale)
                    ]
                row.drill = {dims[0].key: row.keys[0]}
                if widget.cumulative:  # the records that reached this step: it and later
                    later = [json_key(r.keys[0]) for r in rows[index:]]
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
        shown = [
            labels.value_label(tx, widget.source, d, k, title, locale)
            for d, k, title in zip(dims, group.keys, group.labels, strict=True)
        ]
        values = measure_values(widget.measures, aggregates, group.values)
        drill = {d.key: json_key(k) for d, k in zip(dims, group.keys, strict=True)}
        return ResultRow(list(group.keys), shown, values, drill)

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
        outside = store.Condition(dim.path, "not_in", [json_key(k) for k in top])
        query = store.ReportQuery(
            aggregates=tuple(store.AggregateColumn(a.function, a.path) for a in aggregates),
            where=where,
            conditions=(*conditions, outside),
        )
        (group,) = store.grouped(source, query, who) or [None]
        if group is None:
            return None
        values = measure_values(widget.measures, aggregates, group.values)
        drill = {"others": {dim.key: [json_key(k) for k in top]}}
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
        for rk, head_labels in row_heads:
            if subtotals and rk[0] != previous_head and grid_rows:
                grid_rows.append(
                    _subtotal_row(previous_head, grid_rows, subtotals, subtotal_cells, col_heads)
                )
            previous_head = rk[0]
            grid_rows.append(
                {
                    "keys": list(rk),
                    "labels": head_labels,
                    "cells": [cells.get((rk, ck)) for ck, _l in col_heads],
                    "total": row_totals.get(rk),
                    "kind": "group",
                    "drill": [
                        {
                            **{
                                d.key: json_key(k)
                                for d, k in zip(widget.dimensions, rk, strict=True)
                            },
                            **{d.key: json_key(k) for d, k in zip(widget.columns, ck, strict=True)},
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
            "columns": [{"keys": list(ck), "labels": names} for ck, names in col_heads],
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
            ResultColumn(p, labels.path_label(tx, widget.source, p, locale), "dimension")
            for p in paths
        ]
        shown = labels.shown_rows(tx, widget.source, paths, rows, locale)
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
        result.columns = [labels.measure_column(tx, widget.source, measure, locale)]
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
        source = readable_source(tx, access, target.source, locale)
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
            return labels.path_field(tx, form_key, path)[1:] != (None, None)

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
        self, widget: Widget, point: Mapping[str, Any], locale: str, today: date
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
                    values = plain_list(f"point.{key}.{dim_key}", listed, locale)
                    op = "not_in" if key == "others" else "in"
                    out.append(store.Condition(dim.path, op, values))
                continue
            if key == "period" and widget.kind == "kpi" and widget.date:
                # a KPI's records: those of its period (its own or the dashboard's)
                period = read_period(plain_value("point.period", value, locale), today)
                if period is not None:
                    bounds = (period.first, period.last)
                    out.append(store.Condition(widget.date, "between", bounds))
                continue
            if key == "record":  # a detail row: that record
                out.append(store.Condition("id", "eq", plain_value("point.record", value, locale)))
                continue
            if key == "period":
                continue
            value = plain_value(f"point.{key}", value, locale)
            dim = dims.get(key)
            if dim is None:
                raise self._bad_point(key, locale, dims)
            if dim.bucket and value is not None:
                try:
                    store.bucket_days(dim.bucket, str(value))
                except ValueError:
                    zh, en, sample = BUCKET_WORDS[dim.bucket]
                    raise InvalidArgumentError(
                        _say(
                            locale,
                            f"{str(value)[:40]} 不是有效的{zh}（例如 {sample}）",
                            f"{str(value)[:40]} is not a {en} (such as {sample})",
                        ),
                        argument=f"point.{key}",
                        given=str(value)[:40],
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


def _fill_buckets(
    rows: list[ResultRow], dim: Dimension, measures: Sequence[Measure]
) -> list[ResultRow]:
    """A time line's rows with the empty buckets between its first and last one added,
    so April is not drawn next to July: a plain SUM or COUNT is 0 there, anything else
    blank (an average of nothing is no average). A blank date's row stays last."""
    dated = [r for r in rows if r.keys[0] is not None]
    if len(dated) < 2:
        return rows
    first, _ = store.bucket_days(dim.bucket or "day", str(dated[0].keys[0]))
    _, last = store.bucket_days(dim.bucket or "day", str(dated[-1].keys[0]))
    found = {r.keys[0]: r for r in dated}
    zero = [
        Decimal(0) if m.simple and m.aggregates[0].function in ("SUM", "COUNT") else None
        for m in measures
    ]
    filled = [
        found.get(label) or ResultRow([label], [label], list(zero), {dim.key: label})
        for label in bucket_labels(dim.bucket or "day", Period(first, last))
    ]
    if len(filled) > MAX_GROUPS:
        return rows
    return filled + [r for r in rows if r.keys[0] is None]


def _aggregates(measures: Sequence[Measure]) -> list[Aggregate]:
    out: list[Aggregate] = []
    for measure in measures:
        for aggregate in measure.aggregates:
            if aggregate not in out:
                out.append(aggregate)
    return out
