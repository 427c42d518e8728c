"""A widget's result: a neutral, JSON-serialisable data set plus a chart spec.

The service runs the widget's queries (engine/store/reports.py) and hands the groups
here; this module shapes them per kind (ranking with "others", funnel steps, pivot
with subtotals and totals, KPI comparison) without touching the database. Every
number stays a ``Decimal`` until :meth:`WidgetResult.to_json`, which writes it as a
string (exact to the cent; the browser turns it into a number only to draw).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.definitions.dashboards import Aggregate, Measure, Widget, evaluate_measure

#: a record's status as people say it (zh-CN, en)
STATUS_NAMES = {
    "draft": ("草稿", "draft"),
    "in_approval": ("审批中", "in approval"),
    "running": ("审批中", "in approval"),
    "approved": ("已通过", "approved"),
    "rejected": ("已拒绝", "rejected"),
    "withdrawn": ("已撤回", "withdrawn"),
    "terminated": ("已终止", "terminated"),
    "suspended": ("已挂起", "suspended"),
    "active": ("生效", "active"),
}
BLANK = ("（空）", "(blank)")
OTHERS = ("其他", "Others")


def say(pair: tuple[str, str], locale: str) -> str:
    """The zh-CN or en member of a pair."""
    return pair[1] if locale.startswith("en") else pair[0]


@dataclass(frozen=True)
class ResultColumn:
    """A column of a data set: a dimension or a measure."""

    key: str
    label: str
    role: str  # dimension | measure
    format: str | None = None
    decimals: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "role": self.role,
            "format": self.format,
            "decimals": self.decimals,
        }


@dataclass
class ResultRow:
    """One group: dimension keys and their labels, measure values, and the point that
    reproduces its records (``drill``: dimension key -> value, or ``others``)."""

    keys: list[Any]
    labels: list[str]
    values: list[Any]
    drill: dict[str, Any] | None = None
    #: a pivot's subtotal row, a ranking's others row
    kind: str = "group"

    def to_json(self) -> dict[str, Any]:
        return {
            "keys": [json_value(k) for k in self.keys],
            "labels": self.labels,
            "values": [json_value(v) for v in self.values],
            "drill": self.drill,
            "kind": self.kind,
        }


@dataclass
class WidgetResult:
    """What one widget shows."""

    key: str
    kind: str
    title: str
    source: str
    width: int = 6
    height: int = 1
    columns: list[ResultColumn] = field(default_factory=list)
    rows: list[ResultRow] = field(default_factory=list)
    totals: list[Any] | None = None
    chart: dict[str, Any] | None = None
    #: kind-specific parts: kpi (value, comparison, sparkline), pivot (the grid), table
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    cached: bool = False

    @classmethod
    def of(cls, widget: Widget, locale: str, error: str | None = None) -> WidgetResult:
        """An empty result of ``widget`` (its key, kind, title and size), or its refusal."""
        return cls(
            widget.key,
            widget.kind,
            widget_title(widget, locale),
            widget.source,
            widget.width,
            widget.height,
            error=error,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "source": self.source,
            "width": self.width,
            "height": self.height,
            "columns": [c.to_json() for c in self.columns],
            "rows": [r.to_json() for r in self.rows],
            "totals": None if self.totals is None else [json_value(v) for v in self.totals],
            "chart": self.chart,
            **{k: json_tree(v) for k, v in self.extra.items()},
            "error": self.error,
        }


def json_value(value: Any) -> Any:
    """A value as JSON: Decimal as its exact text, dates as ISO text."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def json_tree(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: json_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_tree(v) for v in value]
    return json_value(value)


def measure_values(
    measures: Sequence[Measure], aggregates: Sequence[Aggregate], values: Sequence[Any]
) -> list[Any]:
    """Each measure's value from the aggregates of one group (rounded as shown)."""
    by_aggregate = dict(zip(aggregates, values, strict=True))
    out = []
    for measure in measures:
        value = evaluate_measure(measure.expr, by_aggregate)
        out.append(rounded(value, measure))
    return out


def rounded(value: Any, measure: Measure) -> Any:
    """A computed value at the measure's decimals (half up); money keeps 2."""
    if not isinstance(value, Decimal):
        return value
    places = measure.decimals
    if places is None:
        if measure.simple and measure.aggregates[0].function != "AVG":
            return value  # a plain sum, count, min or max is already exact
        places = 4 if measure.format == "percent" else 2
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ranking_rows(
    rows: list[ResultRow], others: ResultRow | None, limit: int | None
) -> list[ResultRow]:
    """Top ``limit`` rows and, when anything is left, one "others" row."""
    kept = rows[:limit] if limit else rows
    if others is not None and any(v not in (None, Decimal(0)) for v in others.values):
        kept = [*kept, others]
    return kept


def funnel_order(
    rows: list[ResultRow], steps: Sequence[Any], cumulative: bool = False
) -> list[ResultRow]:
    """Rows in the funnel's declared step order (steps with no rows show as zero);
    ``cumulative``: each step's value plus every later step's (the records that reached
    it), so a funnel narrows; the drill of a step then takes its and the later values."""
    if not steps:
        return sorted(rows, key=lambda r: r.values[0] or 0, reverse=True)
    by_key = {r.keys[0]: r for r in rows}
    ordered = []
    for step in steps:
        row = by_key.get(step)
        if row is None:
            row = ResultRow([step], [str(step)], [Decimal(0)], {"0": step})
        ordered.append(row)
    if cumulative:
        running: Decimal | None = None
        for row in reversed(ordered):
            value = row.values[0] if isinstance(row.values[0], Decimal) else Decimal(0)
            running = value if running is None else running + value
            row.values = [running]
    return ordered


def change(current: Any, before: Any) -> Decimal | None:
    """The relative change from ``before`` to ``current`` (0.25 is +25 %); None when
    there is nothing to compare with."""
    if not isinstance(current, Decimal) or not isinstance(before, Decimal) or before == 0:
        return None
    return ((current - before) / before).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def ratio(value: Any, target: Any) -> Decimal | None:
    """Achievement: value over target (1.05 is 105 %)."""
    if not isinstance(value, Decimal) or not isinstance(target, Decimal) or target == 0:
        return None
    return (value / target).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def widget_title(widget: Widget, locale: str) -> str:
    """The widget's title in the locale (its key when it has none)."""
    return widget.title.get(locale) if widget.title else widget.key
