"""Chart specs: a widget's data set as an ECharts option (plain JSON).

The dashboard page hands the option to the vendored ECharts as it is; a click on a
point finds the point's drill filter by ``seriesIndex``/``dataIndex`` in ``drill``
(a list of series, each a list of points). Values are numbers here (a chart draws
floats); the exact figures are in the data set.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.runtime.reports.results import ResultRow, WidgetResult


def _number(value: Any) -> float | None:
    # MIN/MAX of a date field is a date: a value axis cannot draw it, so the chart
    # leaves the point out (the data set keeps the date) instead of failing the run
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return float(value)


def chart_option(result: WidgetResult, widget: Any) -> dict[str, Any] | None:
    """The ECharts option of a bar, line, pie, funnel or ranking result (None: no chart)."""
    kind = result.kind
    if kind not in ("bar", "line", "pie", "funnel", "ranking"):
        return None
    measures = [c for c in result.columns if c.role == "measure"]
    dims = [c for c in result.columns if c.role == "dimension"]
    base: dict[str, Any] = {
        "tooltip": {"trigger": "item" if kind in ("pie", "funnel") else "axis"},
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 8, "right": 16, "top": 24, "bottom": 40, "containLabel": True},
    }
    rows = result.rows
    if kind in ("pie", "funnel"):
        data = [{"name": r.labels[0], "value": _number(r.values[0])} for r in rows]
        series: dict[str, Any] = {"type": kind, "name": measures[0].label, "data": data}
        if kind == "pie":
            series["radius"] = ["40%", "70%"] if widget.donut else "70%"
        else:
            series["sort"] = "none"
            series["left"] = "10%"
            series["width"] = "80%"
            series["label"] = {"show": True, "position": "inside"}
        return {**base, "series": [series], "drill": [[r.drill for r in rows]]}
    if len(dims) == 2:
        return _two_dimensions(base, result, widget, measures[0].label)
    categories = [r.labels[0] for r in rows]
    category_axis = {"type": "category", "data": categories}
    value_axis = {"type": "value"}
    horizontal = widget.horizontal or kind == "ranking"
    if kind == "ranking":
        category_axis["inverse"] = True
    all_series = []
    for i, measure in enumerate(measures):
        series = {
            "type": "line" if kind == "line" else "bar",
            "name": measure.label,
            "data": [_number(r.values[i]) for r in rows],
        }
        if kind == "line" and widget.area:
            series["areaStyle"] = {}
        if kind == "line":
            series["smooth"] = False
        all_series.append(series)
    option = {
        **base,
        "xAxis": value_axis if horizontal else category_axis,
        "yAxis": category_axis if horizontal else value_axis,
        "series": all_series,
        "drill": [[r.drill for r in rows] for _ in measures],
    }
    return option


def _two_dimensions(
    base: dict[str, Any], result: WidgetResult, widget: Any, measure_label: str
) -> dict[str, Any]:
    """Grouped (or stacked) bars / one line per value of the second dimension."""
    categories: list[tuple[Any, str]] = []
    series_keys: list[tuple[Any, str]] = []
    cells: dict[tuple[Any, Any], ResultRow] = {}
    for row in result.rows:
        x = (row.keys[0], row.labels[0])
        s = (row.keys[1], row.labels[1])
        if x not in categories:
            categories.append(x)
        if s not in series_keys:
            series_keys.append(s)
        cells[(x[0], s[0])] = row
    all_series = []
    drill = []
    for s_key, s_label in series_keys:
        points = [cells.get((x_key, s_key)) for x_key, _label in categories]
        series: dict[str, Any] = {
            "type": "line" if result.kind == "line" else "bar",
            "name": s_label,
            "data": [None if p is None else _number(p.values[0]) for p in points],
        }
        if widget.stacked:
            series["stack"] = "total"
        if result.kind == "line" and widget.area:
            series["areaStyle"] = {}
        all_series.append(series)
        drill.append([None if p is None else p.drill for p in points])
    category_axis = {"type": "category", "data": [label for _k, label in categories]}
    value_axis = {"type": "value", "name": measure_label}
    return {
        **base,
        "xAxis": value_axis if widget.horizontal else category_axis,
        "yAxis": category_axis if widget.horizontal else value_axis,
        "series": all_series,
        "drill": drill,
    }


def sparkline_option(points: list[tuple[str, Any]]) -> dict[str, Any]:
    """A KPI's small trend line: no axes, no legend, a tooltip."""
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 0, "right": 0, "top": 4, "bottom": 4},
        "xAxis": {"type": "category", "show": False, "data": [p[0] for p in points]},
        "yAxis": {"type": "value", "show": False},
        "series": [
            {
                "type": "line",
                "data": [_number(p[1]) for p in points],
                "symbol": "none",
                "areaStyle": {"opacity": 0.2},
            }
        ],
    }
