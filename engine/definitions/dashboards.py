"""Dashboards as immutable values: filters, widgets, dimensions and measures.

A dashboard document (``dashboards/<name>.yaml``) declares one dashboard::

    dashboard: purchasing
    name: {zh-CN: 采购驾驶舱, en: Purchasing}
    roles: [manager]                 # optional: who finds it in the menu (default: anyone
                                     # who may read every widget's source form)
    filters:                         # dashboard-level filters, shown above the widgets
      period:
        type: date_range             # date_range | select | user | department | region
                                     # | dealer | relation
        label: {zh-CN: 期间, en: Period}
        field: needed_by             # the field it filters in every widget whose source
                                     # has it (fields: {form: field} per source instead)
        default: this_year           # a preset (DATE_PRESETS) or blank
    interactions:                    # clicking a point of one widget sets a filter
      - {from: by_department, sets: department}
    widgets:                         # in layout order, on a 12-column grid
      spend_by_month:
        kind: line                   # WIDGET_KINDS
        title: {zh-CN: 月度采购额, en: Spend by month}
        source: purchase_request
        dimensions: [{field: needed_by, bucket: month}]
        measures:
          spend: {expr: "SUM(total)", label: {zh-CN: 采购额, en: Spend}}
        filter: "status == 'approved'"   # a row condition the database applies
        width: 6

A *path* names a value of the source's rows: ``total``, ``supplier.region`` (through a
relation), ``lines.product`` (a sub-table's column: the widget then counts lines),
``lines.product.category``. A measure is an aggregate (``COUNT()``, ``COUNT(path)``,
``COUNT_DISTINCT(path)``, ``SUM``, ``AVG``, ``MIN``, ``MAX``) or arithmetic over
aggregates and numbers (``SUM(revenue) / SUM(cost)``), computed per group.

Pure code: no database, no web. The checks against the app's forms are in
engine/definitions/checks/dashboards.py; the runtime in engine/runtime/reports.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from engine.definitions.model import I18nText, content_hash

WIDGET_KINDS = ("kpi", "bar", "line", "pie", "funnel", "pivot", "table", "ranking")
#: time buckets of a date or datetime dimension
BUCKETS = ("day", "week", "month", "quarter", "year")
AGGREGATE_FUNCTIONS = ("COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX")
FILTER_TYPES = ("date_range", "select", "user", "department", "region", "dealer", "relation")
#: presets of a date range (engine/runtime/reports/periods.py turns them into days)
DATE_PRESETS = (
    "today",
    "this_week",
    "this_month",
    "last_month",
    "this_quarter",
    "last_quarter",
    "this_year",
    "last_year",
    "last_7_days",
    "last_30_days",
    "last_90_days",
    "last_12_months",
)
#: what a KPI compares its value with
KPI_COMPARISONS = ("previous_period", "last_year", "target")
#: how a measure's values are shown and exported
FORMATS = ("number", "integer", "money", "percent")
GRID_COLUMNS = 12


@dataclass(frozen=True)
class Dimension:
    """What a widget groups by: a path, optionally bucketed in time."""

    path: str
    bucket: str | None = None
    label: I18nText | None = None
    #: where it is written (file, line) for messages
    line: int = 0

    @property
    def key(self) -> str:
        """The dimension's column key in results: ``needed_by:month`` or the path."""
        return f"{self.path}:{self.bucket}" if self.bucket else self.path


@dataclass(frozen=True)
class Aggregate:
    """One SQL aggregate a measure needs: COUNT() has no path."""

    function: str
    path: str | None = None

    @property
    def text(self) -> str:
        return f"{self.function}({self.path or ''})"


@dataclass(frozen=True)
class Measure:
    """A named value per group: one aggregate, or arithmetic over several (``formula``)."""

    key: str
    expr: str
    label: I18nText | None = None
    format: str | None = None  # None: inferred from the aggregate's field
    decimals: int | None = None
    #: the aggregates the expression reads, in first-use order
    aggregates: tuple[Aggregate, ...] = ()
    line: int = 0

    @property
    def simple(self) -> bool:
        """One aggregate and nothing else (sortable and limitable in SQL)."""
        return len(self.aggregates) == 1 and _one_call(self.expr)


@dataclass(frozen=True)
class DashboardFilter:
    """A dashboard-level filter and the field it maps to in each source form."""

    key: str
    type: str
    label: I18nText | None = None
    field: str | None = None
    fields: Mapping[str, str] = dc_field(default_factory=dict)
    default: Any = None
    options: tuple[Any, ...] = ()
    #: a relation filter's target form
    to: str | None = None
    line: int = 0

    def path_for(self, form: str, has_path: Any) -> str | None:
        """The path this filter sets on ``form`` (None: the form has no mapped field).

        ``has_path(path) -> bool`` says whether the form has it.
        """
        if form in self.fields:
            return self.fields[form]
        if self.field and has_path(self.field):
            return self.field
        return None


@dataclass(frozen=True)
class KpiTarget:
    """A KPI's target: an aggregate over another form in the same period."""

    source: str
    measure: Measure
    date: str
    filter: str | None = None


@dataclass(frozen=True)
class Widget:
    """One widget of a dashboard."""

    key: str
    kind: str
    source: str
    title: I18nText | None = None
    dimensions: tuple[Dimension, ...] = ()
    #: a pivot's column dimensions (``dimensions`` are its rows)
    columns: tuple[Dimension, ...] = ()
    measures: tuple[Measure, ...] = ()
    filter: str | None = None
    #: (measure or dimension key, descending)
    sort: tuple[tuple[str, bool], ...] = ()
    limit: int | None = None
    width: int = 6
    height: int = 1
    # kind-specific options
    stacked: bool = False
    horizontal: bool = False
    area: bool = False
    donut: bool = False
    others: bool = True
    subtotals: bool = False
    steps: tuple[Any, ...] = ()
    #: a funnel step counts the records that reached it: its own and every later step's
    cumulative: bool = False
    #: a detail table's columns (paths) and page size
    fields: tuple[str, ...] = ()
    page_size: int = 20
    #: a KPI's date path, default period, comparison, target and sparkline bucket
    date: str | None = None
    period: str | None = None
    compare: str | None = None
    target: KpiTarget | None = None
    sparkline: str | None = None
    line: int = 0

    def measure(self, key: str) -> Measure:
        return next(m for m in self.measures if m.key == key)


@dataclass(frozen=True)
class Interaction:
    """Clicking a point of widget ``source`` sets dashboard filter ``sets``."""

    source: str
    sets: str


@dataclass(frozen=True)
class DashboardDefinition:
    """A dashboard: its filters, widgets in layout order, and interactions."""

    key: str
    name: I18nText
    widgets: tuple[Widget, ...]
    filters: tuple[DashboardFilter, ...] = ()
    interactions: tuple[Interaction, ...] = ()
    roles: tuple[str, ...] = ()
    description: I18nText | None = None
    file: str = ""
    line: int = 0
    #: the document as written (stored at install; rebuilt with dashboard_from_source)
    source: Mapping[str, Any] | None = None

    @property
    def content_hash(self) -> str:
        """SHA-256 of the document as written (its file and lines are not content)."""
        source = self.source or {}
        return content_hash(source.get("data", source))

    def widget(self, key: str) -> Widget | None:
        return next((w for w in self.widgets if w.key == key), None)

    def filter(self, key: str) -> DashboardFilter | None:
        return next((f for f in self.filters if f.key == key), None)


class MeasureSyntaxError(ValueError):
    """A measure expression that is not arithmetic over aggregates; ``column`` is 1-based."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column


def measure_aggregates(expr: str) -> tuple[Aggregate, ...]:
    """The aggregates ``expr`` reads, in first-use order; MeasureSyntaxError when it is
    anything but numbers, + - * /, parentheses and aggregate calls over paths."""
    try:
        tree = ast.parse(expr.strip(), mode="eval").body
    except SyntaxError as exc:
        raise MeasureSyntaxError(f"not a formula: {exc.msg}", exc.offset) from None
    found: list[Aggregate] = []

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and isinstance(
            node.op, ast.Add | ast.Sub | ast.Mult | ast.Div
        ):
            walk(node.left)
            walk(node.right)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            walk(node.operand)
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            aggregate = _aggregate_call(node)
            if aggregate not in found:
                found.append(aggregate)
        else:
            raise MeasureSyntaxError(
                "a measure is an aggregate (COUNT(), SUM(field)...) or + - * / of aggregates "
                "and numbers",
                getattr(node, "col_offset", 0) + 1,
            )

    walk(tree)
    if not found:
        raise MeasureSyntaxError("a measure needs at least one aggregate, such as COUNT()", 1)
    return tuple(found)


def _aggregate_call(node: ast.Call) -> Aggregate:
    name = node.func.id  # type: ignore[attr-defined]
    column = node.col_offset + 1
    if name not in AGGREGATE_FUNCTIONS:
        raise MeasureSyntaxError(
            f"{name} is not an aggregate; use one of {', '.join(AGGREGATE_FUNCTIONS)}", column
        )
    if node.keywords or len(node.args) > 1:
        raise MeasureSyntaxError(f"{name} takes one field", column)
    if not node.args:
        if name != "COUNT":
            raise MeasureSyntaxError(f"{name} needs a field: {name}(amount)", column)
        return Aggregate("COUNT")
    path = _path(node.args[0])
    if path is None:
        raise MeasureSyntaxError(f"{name} takes a field name or path (lines.amount)", column)
    return Aggregate(name, path)


def _path(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _path(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


def _one_call(expr: str) -> bool:
    try:
        return isinstance(ast.parse(expr.strip(), mode="eval").body, ast.Call)
    except SyntaxError:
        return False


def evaluate_measure(expr: str, values: Mapping[Aggregate, Any]) -> Any:
    """The measure's value from its aggregates' values (Decimal arithmetic; a blank
    operand or a division by zero gives blank)."""
    from decimal import Decimal, InvalidOperation

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return Decimal(str(node.value))
        if isinstance(node, ast.Call):
            return values.get(_aggregate_call(node))
        if isinstance(node, ast.UnaryOp):
            inner = ev(node.operand)
            return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
        assert isinstance(node, ast.BinOp)
        left, right = ev(node.left), ev(node.right)
        if left is None or right is None:
            return None
        left, right = Decimal(left), Decimal(right)
        try:
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            return None if right == 0 else left / right
        except InvalidOperation:
            return None

    return ev(ast.parse(expr.strip(), mode="eval").body)


# -- building from checked data ---------------------------------------------------------


def dashboard_from_data(
    data: Mapping[str, Any],
    file: str | None = None,
    line: int = 0,
    lines: Mapping[str, int] | None = None,
) -> DashboardDefinition:
    """A :class:`DashboardDefinition` from a checked dashboard document.

    ``lines`` maps places in the document (``widgets.spend``, ``widgets.spend.measures.m``,
    ``widgets.spend.dimensions.0``, ``filters.period``) to their line, so runtime messages
    can point at them; it is stored with the document (see :func:`dashboard_from_source`).
    """
    # built from the plain (stored) form, so a rebuild from storage gives an equal value
    data = _plain(data)
    where = {str(k): int(v) for k, v in (lines or {}).items()}
    widgets = tuple(
        _widget(str(key), body, where, f"widgets.{key}")
        for key, body in (data.get("widgets") or {}).items()
    )
    filters = tuple(
        _filter(str(key), body, where.get(f"filters.{key}", 0))
        for key, body in (data.get("filters") or {}).items()
    )
    interactions = tuple(
        Interaction(str(item["from"]), str(item["sets"])) for item in data.get("interactions") or ()
    )
    return DashboardDefinition(
        key=data["dashboard"],
        name=I18nText.of(data.get("name")) or I18nText(data["dashboard"], data["dashboard"]),
        widgets=widgets,
        filters=filters,
        interactions=interactions,
        roles=tuple(str(r) for r in data.get("roles") or ()),
        description=I18nText.of(data.get("description")),
        file=file or "",
        line=line,
        source={"data": _plain(data), "file": file, "line": line, "lines": where},
    )


def dashboard_from_source(stored: Mapping[str, Any]) -> DashboardDefinition:
    """A dashboard built again from what an install stored (``DashboardDefinition.source``)."""
    return dashboard_from_data(
        stored["data"], stored.get("file"), stored.get("line", 0), stored.get("lines")
    )


def dimension_of(value: Any, line: int = 0) -> Dimension:
    """A dimension written as a path (``supplier``) or ``{field, bucket, label}``."""
    if isinstance(value, str):
        return Dimension(value, line=line)
    return Dimension(
        str(value["field"]),
        bucket=value.get("bucket"),
        label=I18nText.of(value.get("label")),
        line=line,
    )


def measure_of(key: str, value: Any, line: int = 0) -> Measure:
    """A measure written as ``key: "SUM(total)"`` or ``key: {expr, label, format, decimals}``."""
    body = {"expr": value} if isinstance(value, str) else dict(value)
    expr = str(body["expr"])
    decimals = body.get("decimals")
    return Measure(
        key=key,
        expr=expr,
        label=I18nText.of(body.get("label")),
        format=body.get("format"),
        decimals=None if decimals is None else int(decimals),
        aggregates=measure_aggregates(expr),
        line=line,
    )


def parse_sort(items: Any) -> tuple[tuple[str, bool], ...]:
    """``[-spend, supplier]`` -> ``(("spend", True), ("supplier", False))``."""
    if isinstance(items, str):
        items = [items]
    out = []
    for item in items or ():
        text = str(item).strip()
        out.append((text[1:], True) if text.startswith("-") else (text.lstrip("+"), False))
    return tuple(out)


def _widget(key: str, body: Mapping[str, Any], where: Mapping[str, int], at: str) -> Widget:
    kind = str(body["kind"])
    dims = tuple(
        dimension_of(d, where.get(f"{at}.dimensions.{i}", 0))
        for i, d in enumerate(body.get("dimensions") or ())
    )
    columns = tuple(
        dimension_of(d, where.get(f"{at}.columns.{i}", 0))
        for i, d in enumerate(body.get("columns") or ())
    )
    measures = tuple(
        measure_of(str(k), v, where.get(f"{at}.measures.{k}", 0))
        for k, v in (body.get("measures") or {}).items()
    )
    target = body.get("target")
    limit = body.get("limit")
    return Widget(
        key=key,
        kind=kind,
        source=str(body["source"]),
        title=I18nText.of(body.get("title")),
        dimensions=dims,
        columns=columns,
        measures=measures,
        filter=body.get("filter"),
        sort=parse_sort(body.get("sort")),
        limit=None if limit is None else int(limit),
        width=int(body.get("width", 3 if kind == "kpi" else 6)),
        height=int(body.get("height", 1)),
        stacked=bool(body.get("stacked", False)),
        horizontal=bool(body.get("horizontal", False)),
        area=bool(body.get("area", False)),
        donut=bool(body.get("donut", False)),
        others=bool(body.get("others", True)),
        subtotals=bool(body.get("subtotals", False)),
        steps=tuple(_freeze_value(s) for s in body.get("steps") or ()),
        cumulative=bool(body.get("cumulative", False)),
        fields=tuple(str(f) for f in body.get("fields") or ()),
        page_size=int(body.get("page_size", 20)),
        date=body.get("date"),
        # no period: the dashboard's date range on the KPI's date field, else this month
        period=body.get("period"),
        compare=body.get("compare"),
        target=_target(target) if isinstance(target, Mapping) else None,
        sparkline=body.get("sparkline"),
        line=where.get(at, 0),
    )


def _target(body: Mapping[str, Any]) -> KpiTarget:
    return KpiTarget(
        source=str(body["source"]),
        measure=measure_of("target", str(body["measure"])),
        date=str(body["date"]),
        filter=body.get("filter"),
    )


def _filter(key: str, body: Mapping[str, Any], line: int) -> DashboardFilter:
    from engine.definitions.model import frozen_mapping

    return DashboardFilter(
        key=key,
        type=str(body["type"]),
        label=I18nText.of(body.get("label")),
        field=body.get("field"),
        fields=frozen_mapping({str(k): str(v) for k, v in (body.get("fields") or {}).items()}),
        default=_freeze_value(body.get("default")),
        options=tuple(_freeze_value(o) for o in body.get("options") or ()),
        to=body.get("to"),
        line=line,
    )


def _freeze_value(value: Any) -> Any:
    from engine.definitions.model import frozen_mapping

    if isinstance(value, Mapping):
        return frozen_mapping(value)
    if isinstance(value, list | tuple):
        return tuple(_freeze_value(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """The document as plain JSON data (what is stored at install)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
