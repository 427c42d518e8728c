"""The figures the report widgets should show, computed again in plain Python from the
orders the tests inserted (tests/reports/conftest.py): no SQL, no report code.

Each widget of the test dashboard is described here by what it groups by and what it
measures, as Python functions over one order (or one order line for sub-table widgets).
Groups come in the order a person expects from the widget: dimension order (relations
by record id, texts and bucket labels ascending, blank last), or for pies and rankings
the first measure descending.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from tests.reports.conftest import DEALERS, PRODUCTS, Order

SHANGHAI = ZoneInfo("Asia/Shanghai")
REGION_NAMES = {"east": "East", "south": "South"}
DEPARTMENT_NAMES = {"east_sales": "East sales", "south_sales": "South sales"}
BLANK = "(blank)"
FUNNEL_STEPS = ("new", "paid", "shipped", "done", "returned")

#: one unit a widget counts: an order, or (for sub-table widgets) an order and a line
Unit = tuple[Order, tuple[str, str | None] | None]


def bucket(day: date | None, name: str) -> str | None:
    """The label of ``day``'s time bucket (week: its Monday)."""
    if day is None:
        return None
    if name == "day":
        return day.isoformat()
    if name == "week":
        return (day - timedelta(days=day.weekday())).isoformat()
    if name == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if name == "quarter":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def span(name: str, first: str, last: str) -> list[str]:
    """Every bucket label from ``first`` to ``last``: walking day by day and keeping each
    new label (slow and plainly right, unlike the code under test's stepping)."""
    start = {
        "day": lambda t: date.fromisoformat(t),
        "week": lambda t: date.fromisoformat(t),
        "month": lambda t: date(int(t[:4]), int(t[5:7]), 1),
        "quarter": lambda t: date(int(t[:4]), 3 * int(t[6]) - 2, 1),
        "year": lambda t: date(int(t), 1, 1),
    }[name](first)
    labels: list[str] = []
    day = start
    while True:
        label = bucket(day, name)
        assert label is not None
        if not labels or labels[-1] != label:
            labels.append(label)
        if label == last:
            return labels
        day += timedelta(days=1)


def local_day(text: str | None) -> date | None:
    """The Shanghai calendar day of an ISO datetime text."""
    return None if text is None else datetime.fromisoformat(text).astimezone(SHANGHAI).date()


def local_time(text: str) -> datetime:
    """An ISO datetime text as Shanghai time."""
    return datetime.fromisoformat(text).astimezone(SHANGHAI)


def money(value: str | None) -> Decimal | None:
    """An inserted money text as a Decimal (None stays None)."""
    return None if value is None else Decimal(value)


# -- dimensions: unit -> (key, label) ---------------------------------------------------


def _dim(kind: str) -> Callable[[Unit, dict[str, int], dict[str, int]], tuple[Any, str]]:
    def read(unit: Unit, dealer_ids: dict[str, int], product_ids: dict[str, int]) -> Any:
        order, line = unit
        if kind == "dealer":
            return dealer_ids[order.dealer], DEALERS[order.dealer][0]
        if kind == "stage":
            return order.stage, order.stage or BLANK
        if kind == "department":
            dept = order.department
            return dept, DEPARTMENT_NAMES[dept] if dept else BLANK
        if kind == "dealer.region":
            region = DEALERS[order.dealer][1]
            return region, REGION_NAMES[region] if region else BLANK
        if kind == "lines.product":
            assert line is not None
            return product_ids[line[0]], PRODUCTS[line[0]][0]
        if kind == "lines.product.category":
            assert line is not None
            category = PRODUCTS[line[0]][1]
            return category, category or BLANK
        path, _, name = kind.partition(":")
        day = order.day if path == "order_date" else local_day(order.placed_at)
        label = bucket(day, name)
        return label, label or BLANK

    return read


# -- measures: units -> value -----------------------------------------------------------


def _values(units: Sequence[Unit], what: str) -> list[Decimal]:
    out = []
    for order, line in units:
        if what == "lines.amount":
            assert line is not None
            value = money(line[1])
        else:
            value = money(getattr(order, what))
        if value is not None:
            out.append(value)
    return out


def _sum(units: Sequence[Unit], what: str) -> Decimal | None:
    found = _values(units, what)
    return sum(found, Decimal("0.00")) if found else None


def _q2(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def measure(units: Sequence[Unit], expr: str) -> Any:
    """The value of one of the dashboard's measure expressions over ``units``."""
    if expr == "COUNT()":
        return Decimal(len(units))
    if expr == "SUM(amount)":
        return _sum(units, "amount")
    if expr == "SUM(lines.amount)":
        return _sum(units, "lines.amount")
    if expr == "COUNT_DISTINCT(department)":
        return Decimal(len({o.department for o, _ in units if o.department is not None}))
    if expr == "AVG(amount)":
        found = _values(units, "amount")
        return _q2(sum(found) / len(found)) if found else None
    if expr == "MIN(amount)":
        return min(_values(units, "amount"), default=None)
    if expr == "MAX(amount)":
        return max(_values(units, "amount"), default=None)
    if expr == "SUM(amount) / SUM(cost)":
        revenue, cost = _sum(units, "amount"), _sum(units, "cost")
        if revenue is None or cost is None or cost == 0:
            return None
        return _q2(revenue / cost)
    raise AssertionError(expr)


# -- the widgets ------------------------------------------------------------------------

#: widget -> (dimension keys, measure expressions, order: "dims" | "desc" | "steps", lines?)
WIDGETS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, bool]] = {
    "by_dealer_stage": (("dealer", "stage"), ("SUM(amount)",), "dims", False),
    "stacked_month": (("order_date:month", "stage"), ("SUM(amount)",), "dims", False),
    **{
        f"line_{b}": ((f"order_date:{b}",), ("COUNT()", "SUM(amount)"), "dims", False)
        for b in ("day", "week", "month", "quarter", "year")
    },
    "placed_day": (("placed_at:day",), ("COUNT()",), "dims", False),
    "placed_month": (("placed_at:month",), ("COUNT()",), "dims", False),
    "pie_stage": (("stage",), ("SUM(amount)",), "desc", False),
    "funnel_stage": (("stage",), ("COUNT()",), "steps", False),
    "measures": (
        ("dealer",),
        (
            "COUNT()",
            "COUNT_DISTINCT(department)",
            "AVG(amount)",
            "MIN(amount)",
            "MAX(amount)",
            "SUM(amount) / SUM(cost)",
        ),
        "dims",
        False,
    ),
    "by_department": (("department",), ("SUM(amount)", "COUNT()"), "dims", False),
    "by_region": (("dealer.region",), ("SUM(amount)",), "dims", False),
    "by_product": (("lines.product",), ("SUM(lines.amount)", "COUNT()"), "dims", True),
    "by_category": (("lines.product.category",), ("SUM(lines.amount)", "COUNT()"), "dims", True),
    "top9": (("dealer",), ("SUM(amount)",), "desc", False),
}


def text(value: Any) -> Any:
    """A value as WidgetResult.to_json() writes it: a Decimal as its exact text."""
    return format(value, "f") if isinstance(value, Decimal) else value


def units_of(orders: Sequence[Order], lines: bool) -> list[Unit]:
    """What a widget counts: the orders, or each line of each order."""
    if not lines:
        return [(o, None) for o in orders]
    return [(o, line) for o in orders for line in o.lines]


def _null_last(value: Any) -> tuple[bool, Any]:
    return (value is None, value if value is not None else 0)


def groups(
    key: str,
    orders: Sequence[Order],
    dealer_ids: dict[str, int],
    product_ids: dict[str, int],
) -> list[tuple[list[Any], list[str], list[Any]]]:
    """(keys, labels, measure values) of each group of widget ``key``, in order."""
    dims, measures, order, lines = WIDGETS[key]
    readers = [_dim(d) for d in dims]
    found: dict[tuple[Any, ...], tuple[list[str], list[Unit]]] = {}
    for unit in units_of(orders, lines):
        read = [r(unit, dealer_ids, product_ids) for r in readers]
        keys = tuple(k for k, _label in read)
        found.setdefault(keys, ([label for _k, label in read], []))[1].append(unit)
    out = [
        (list(keys), labels, [measure(units, m) for m in measures])
        for keys, (labels, units) in found.items()
    ]
    if order == "dims":
        out.sort(key=lambda g: tuple(_null_last(k) for k in g[0]))
        if key.startswith(("line_", "placed_")):  # a time line shows empty buckets as zero
            out = _filled(key.split("_", 1)[1], out, measures)
    elif order == "desc":
        out.sort(key=lambda g: (g[2][0] is None, -(g[2][0] or 0)))
    else:  # funnel: the declared steps, a missing step as zero; other values left out
        by_step = {g[0][0]: g for g in out}
        out = [by_step.get(s, ([s], [s], [Decimal(0)])) for s in FUNNEL_STEPS]
    return out


def _filled(
    name: str, out: list[tuple[list[Any], list[str], list[Any]]], measures: Sequence[str]
) -> list[tuple[list[Any], list[str], list[Any]]]:
    dated = [g for g in out if g[0][0] is not None]
    if len(dated) < 2:
        return out
    found = {g[0][0]: g for g in dated}
    zero = [Decimal(0) if m in ("COUNT()", "SUM(amount)") else None for m in measures]
    labels = span(name, dated[0][0][0], dated[-1][0][0])
    filled = [found.get(label, ([label], [label], list(zero))) for label in labels]
    return filled + [g for g in out if g[0][0] is None]


def totals(key: str, orders: Sequence[Order]) -> list[Any]:
    """Each measure of widget ``key`` over all its rows (no grouping)."""
    _dims, measures, _order, lines = WIDGETS[key]
    units = units_of(orders, lines)
    return [measure(units, m) for m in measures]


def as_json_rows(found: list[tuple[list[Any], list[str], list[Any]]]) -> list[tuple[Any, ...]]:
    """(labels, values as text) per group: what to_json()'s rows should hold."""
    return [(labels, [text(v) for v in values]) for _keys, labels, values in found]


def in_month(orders: Sequence[Order], first: date, last: date) -> list[Order]:
    """The orders whose order_date lies in ``first..last``."""
    return [o for o in orders if first <= o.day <= last]
