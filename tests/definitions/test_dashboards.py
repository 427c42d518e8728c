"""Dashboard documents: the example loads with its widgets, each load-time mistake is
reported at its YAML node, a stored dashboard builds again to the same value, the
published JSON Schema (docs/schema/dashboard.schema.json) matches the code, and an
install stores the dashboards (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

import engine.service  # noqa: F401  (installs the field types the loader checks against)
from engine.definitions import check_app_text, load_app, load_app_text
from engine.definitions.dashboard_schema import dashboard_schema
from engine.definitions.dashboards import (
    Aggregate,
    Dimension,
    dashboard_from_data,
    dashboard_from_source,
)
from engine.definitions.schema import render

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "schema" / "dashboard.schema.json"

HEAD = """app: shop
version: 1.0.0
name: Shop
roles: {manager: Manager}
---
form: customer
fields:
  name: text
  region: region
  since: date
---
form: order
fields:
  customer: {type: relation, to: customer}
  tags: {type: relation, to: customer, many: true}
  amount: money
  note: text
  day: date
  kind: {type: select, options: [a, b]}
  owner: user
  lines:
    type: subtable
    fields:
      qty: number
      product: text
      price: money
  parts:
    type: subtable
    fields:
      weight: number
---
"""


def errors_of(dashboard: str) -> list[str]:
    return [str(e) for e in check_app_text(HEAD + dashboard)]


def line_of(dashboard: str, marker: str) -> int:
    """The line of the app text on which ``marker`` first appears in ``dashboard``."""
    head = HEAD.count("\n")
    for number, text in enumerate(dashboard.splitlines(), start=1):
        if marker in text:
            return head + number
    raise AssertionError(marker)


# -- the example ----------------------------------------------------------------------------


def test_the_purchase_example_dashboard_loads_with_its_widgets():
    app = load_app(ROOT / "examples" / "purchase_request")
    (board,) = app.dashboards
    assert board.key == "purchasing" and board.name.zh_cn == "采购驾驶舱"
    assert [(w.key, w.kind) for w in board.widgets] == [
        ("this_month", "kpi"),
        ("requests", "kpi"),
        ("spend_by_month", "line"),
        ("by_department", "bar"),
        ("top_suppliers", "ranking"),
        ("status_funnel", "funnel"),
        ("department_quarter", "pivot"),
        ("recent", "table"),
    ]
    assert [f.key for f in board.filters] == ["period", "department", "supplier"]
    assert board.filter("period").default == "this_year"
    kpi = board.widget("this_month")
    assert (kpi.width, kpi.compare, kpi.sparkline, kpi.period) == (
        3,
        "previous_period",
        "day",
        "this_month",
    )
    assert kpi.measures[0].aggregates == (Aggregate("SUM", "total"),)
    assert board.widget("requests").measures[0].aggregates == (Aggregate("COUNT"),)
    line = board.widget("spend_by_month")
    assert line.dimensions == (
        Dimension("needed_by", "month", line.dimensions[0].label, line.dimensions[0].line),
    )
    assert line.dimensions[0].key == "needed_by:month"
    ranking = board.widget("top_suppliers")
    assert (ranking.limit, ranking.others, ranking.sort) == (10, True, (("spend", True),))
    funnel = board.widget("status_funnel")
    assert (funnel.steps, funnel.cumulative) == (("in_approval", "approved"), True)
    pivot = board.widget("department_quarter")
    assert [d.key for d in pivot.columns] == ["needed_by:quarter"] and pivot.subtotals
    table = board.widget("recent")
    assert table.fields == ("serial", "supplier", "total", "needed_by", "status")
    assert table.sort == (("needed_by", True),) and table.measures == ()
    assert [(i.source, i.sets) for i in board.interactions] == [("by_department", "department")]
    # widgets keep the line of their key in the file
    text = (ROOT / "examples/purchase_request/dashboards/purchasing.yaml").read_text("utf-8")
    assert board.widget("recent").line == text.splitlines().index("  recent:") + 1


def test_a_stored_dashboard_builds_again_to_the_same_value():
    (board,) = load_app(ROOT / "examples" / "purchase_request").dashboards
    stored = dict(board.source)
    rebuilt = dashboard_from_source(stored)
    assert rebuilt == board
    assert rebuilt == dashboard_from_data(
        stored["data"], stored["file"], stored["line"], stored["lines"]
    )
    assert rebuilt.content_hash == board.content_hash


def test_shorthand_measures_defaults_and_sort_directions():
    board_text = """dashboard: small
widgets:
  share:
    kind: pie
    source: order
    dimensions: [{field: customer.region, label: 区域}]
    measures: {lines: "COUNT()"}
  avg:
    kind: bar
    source: order
    dimensions: [kind]
    measures:
      ratio: {expr: "SUM(lines.price) / COUNT_DISTINCT(id)", format: money, decimals: 1}
    sort: [-ratio, kind]
    stacked: true
"""
    (board,) = load_app_text(HEAD + board_text).dashboards
    share, avg = board.widgets
    assert (share.width, share.height, share.donut, share.period) == (6, 1, False, None)
    assert (
        share.dimensions[0].path == "customer.region" and share.dimensions[0].label.zh_cn == "区域"
    )
    ratio = avg.measures[0]
    assert ratio.aggregates == (Aggregate("SUM", "lines.price"), Aggregate("COUNT_DISTINCT", "id"))
    assert (ratio.format, ratio.decimals, ratio.simple) == ("money", 1, False)
    assert avg.sort == (("ratio", True), ("kind", False)) and avg.stacked
    assert board.name.zh_cn == "small"


# -- located load errors -------------------------------------------------------------------

CASES = [
    # (widget body lines, marker of the offending line, column, message)
    (
        "kind: bar\n    source: ordr\n    dimensions: [kind]\n    measures: {m: COUNT()}",
        "source: ordr",
        13,
        "the app has no form 'ordr' (did you mean 'order'?)",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [amout]\n    measures: {m: COUNT()}",
        "[amout]",
        18,
        "form 'order' has no field 'amout' (did you mean 'amount'?)",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [customer.regin]\n    measures: {m: COUNT()}",
        "regin",
        18,
        "form 'customer' has no field 'regin' (did you mean 'region'?)",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [tags]\n    measures: {m: COUNT()}",
        "tags",
        18,
        "'tags' holds several records (many: true): a report cannot group or count by it",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [tags.region]\n    measures: {m: COUNT()}",
        "tags.region",
        18,
        "'tags' holds several records (many: true): a path cannot pass through it",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [note.x]\n    measures: {m: COUNT()}",
        "note.x",
        18,
        "'note' is a text field: only a relation or a sub-table leads on",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [lines.product]\n    measures: {m: SUM(parts.weight)}",
        "parts.weight",
        19,
        "one widget reaches two sub-tables (lines, parts)",
    ),
    (
        'kind: bar\n    source: order\n    dimensions: [kind]\n    measures: {m: "SUM(amount) ** 2"}',
        "**",
        20,
        "a measure is an aggregate (COUNT(), SUM(field)...) or + - * / of aggregates",
    ),
    (
        'kind: bar\n    source: order\n    dimensions: [kind]\n    measures: {m: "COUNT() + AVERAGE(amount)"}',
        "AVERAGE",
        30,
        "AVERAGE is not an aggregate",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [kind]\n    measures: {m: SUM(note)}",
        "SUM(note)",
        19,
        "SUM needs a numeric field; 'note' is a text field",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [kind]\n    measures: {m: MAX(kind)}",
        "MAX(kind)",
        19,
        "MAX needs a numeric or date field; 'kind' is a select field",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [lines.product]\n    measures: {m: SUM(amount)}",
        "SUM(amount)",
        19,
        "SUM(amount) of a form field in a widget that counts lines rows",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [{field: note, bucket: month}]\n    measures: {m: COUNT()}",
        "bucket: month",
        40,
        "a time bucket needs a date or datetime field; 'note' is a text field",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [{field: day, bucket: mnth}]\n    measures: {m: COUNT()}",
        "bucket: mnth",
        39,
        "'mnth' is not a time bucket (did you mean 'month'?)",
    ),
    (
        'kind: bar\n    source: order\n    dimensions: [kind]\n    measures: {m: COUNT()}\n    filter: "LEN(note) > 2"',
        "filter:",
        14,
        "the left side of a comparison in a widget's filter is a field",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [kind]\n    measures: {m: COUNT()}\n    sort: [-n]",
        "sort:",
        12,
        "sort key 'n' is neither a measure nor a dimension of the widget",
    ),
    (
        "kind: line\n    source: order\n    dimensions: [kind]\n    measures: {m: COUNT()}",
        "[kind]",
        18,
        "a line widget's first dimension is a time bucket of a date field",
    ),
    (
        "kind: pie\n    source: order\n    dimensions: [kind, note]\n    measures: {m: COUNT()}",
        "  w:",
        3,
        "a pie widget takes exactly one dimension and one measure (it has 2 and 1)",
    ),
    (
        "kind: ranking\n    source: order\n    dimensions: [kind]\n    measures: {m: COUNT(), n: COUNT(note)}",
        "  w:",
        3,
        "a ranking widget takes exactly one dimension and one measure (it has 1 and 2)",
    ),
    (
        "kind: pivot\n    source: order\n    dimensions: [kind]\n    measures: {m: COUNT()}",
        "  w:",
        3,
        "a pivot widget needs rows (dimensions:), columns (columns:) and measures",
    ),
    (
        "kind: table\n    source: order\n    page_size: 10",
        "  w:",
        3,
        "a table widget needs fields: (its columns)",
    ),
    (
        "kind: kpi\n    source: order\n    measures: {m: COUNT()}",
        "  w:",
        3,
        "a kpi widget needs date: (the date field its period reads)",
    ),
    (
        "kind: kpi\n    source: order\n    date: day\n    measures: {m: COUNT()}\n    compare: target",
        "compare:",
        14,
        "compare: target needs a target",
    ),
    (
        "kind: kpi\n    source: order\n    date: note\n    measures: {m: COUNT()}",
        "date: note",
        11,
        "'note' is a text field, not a date",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [kind]\n    measures: {m: COUNT()}\n    donut: true",
        "donut:",
        5,
        "donut is an option of pie widgets, not bar",
    ),
    (
        "kind: bar\n    source: order\n    dimensions: [lines]\n    measures: {m: COUNT()}",
        "[lines]",
        18,
        "'lines' is a sub-table, not a value",
    ),
]


@pytest.mark.parametrize(("body", "marker", "column", "message"), CASES)
def test_widget_mistakes_are_located(body, marker, column, message):
    text = "dashboard: d\nwidgets:\n  w:\n    " + body + "\n"
    found = errors_of(text)
    prefix = f"app.yaml:{line_of(text, marker)}:{column} "
    assert any(e.startswith(prefix) and message in e for e in found), found


def test_dashboard_level_mistakes_are_located():
    text = """dashboard: d
roles: [manager, boss]
filters:
  when: {type: date_range, field: note}
  who: {type: department, field: owner}
  nothing: {type: select, field: colour}
  cust: {type: relation, field: customer, to: order}
  per: {type: user, fields: {order: owner, customer: name}}
  status: {type: select, field: status}
  span: {type: date_range, field: day, default: this_yaer}
interactions:
  - {from: wx, sets: who}
  - {from: w, sets: whom}
widgets:
  w:
    kind: bar
    source: order
    dimensions: [kind]
    measures: {m: COUNT()}
"""
    found = errors_of(text)
    expected = [
        ("boss", 18, "the app has no role 'boss'"),
        ("when:", 35, "a date_range filter cannot filter 'note', a text field"),
        ("who:", 34, "a department filter cannot filter 'owner', a user field"),
        ("nothing:", 34, "filter 'nothing' maps to no field of any widget's source (order)"),
        ("cust:", 47, "the filter picks 'order' records but 'customer' relates to 'customer'"),
        ("per:", 44, "no widget of the dashboard reads form 'customer'"),
        ("span:", 49, "'this_yaer' is not a date range preset (did you mean 'this_year'?)"),
        ("wx", 12, "the dashboard has no widget 'wx' (did you mean 'w'?)"),
        ("whom", 21, "the dashboard has no filter 'whom' (did you mean 'who'?)"),
    ]
    for marker, column, message in expected:
        prefix = f"app.yaml:{line_of(text, marker)}:{column} "
        assert any(e.startswith(prefix) and message in e for e in found), (marker, found)
    # the status filter is fine: select filters a status
    assert not any(f":{line_of(text, 'status:')}:" in e for e in found)
    assert len(found) == len(expected)


def test_schema_problems_are_located_too():
    text = "dashboard: d\nwidgets:\n  w:\n    kind: gauge\n    source: order\n    width: 13\n"
    found = errors_of(text)
    assert any(e.startswith(f"app.yaml:{line_of(text, 'gauge')}:11 ") for e in found), found
    assert any(e.startswith(f"app.yaml:{line_of(text, 'width')}:12 ") for e in found), found


def test_two_dashboards_with_one_key_are_refused():
    text = (
        "dashboard: d\nwidgets:\n  w: {kind: table, source: order, fields: [note]}\n---\n"
        "dashboard: d\nwidgets:\n  w: {kind: table, source: order, fields: [amount]}\n"
    )
    found = errors_of(text)
    assert found == [
        f"app.yaml:{HEAD.count(chr(10)) + 5}:12 dashboard: dashboard 'd' is defined twice (also in app.yaml) (rename one)"
    ]


def test_a_target_and_system_columns_check_against_their_forms():
    text = """dashboard: d
widgets:
  k:
    kind: kpi
    source: order
    date: created_at
    measures: {m: SUM(amount)}
    compare: target
    target: {source: customer, measure: "SUM(name)", date: since}
"""
    found = errors_of(text)
    assert found == [
        f"app.yaml:{line_of(text, 'target:')}:41 widgets.k.target.measure: SUM needs a numeric "
        "field; 'name' is a text field (use COUNT or COUNT_DISTINCT, or a number, money or "
        "percent field)"
    ]


# -- the published schema -----------------------------------------------------------------


def test_the_committed_schema_matches_the_code():
    assert SCHEMA.read_text(encoding="utf-8") == render(dashboard_schema()), (
        "docs/schema/dashboard.schema.json is out of date; regenerate it with "
        "`python -m engine.definitions.dashboard_schema docs/schema`"
    )
    Draft202012Validator.check_schema(dashboard_schema())


# -- stored at install ----------------------------------------------------------------------

APP = (
    HEAD
    + """dashboard: sales
name: {zh-CN: 销售, en: Sales}
widgets:
  by_kind:
    kind: bar
    source: order
    dimensions: [kind]
    measures: {m: SUM(amount)}
"""
)


def _stored(service) -> list:
    from engine.store.app_rules import dashboards_data

    with service._database.engine.connect() as conn:
        return dashboards_data(conn, "shop")


def test_an_install_stores_the_dashboards_and_a_second_install_keeps_them(make_service):
    from engine.service import SYSTEM_ACTOR

    service = make_service()
    app = load_app_text(APP)
    service.install_app(SYSTEM_ACTOR, app)
    stored = _stored(service)
    assert [dashboard_from_source(s) for s in stored] == list(app.dashboards)
    service.install_app(SYSTEM_ACTOR, load_app_text(APP))
    assert _stored(service) == stored
    changed = load_app_text(
        APP.replace("version: 1.0.0", "version: 1.0.1").replace("SUM(amount)", "COUNT()")
    )
    service.install_app(SYSTEM_ACTOR, changed)
    (board,) = [dashboard_from_source(s) for s in _stored(service)]
    assert board.widget("by_kind").measures[0].aggregates == (Aggregate("COUNT"),)
