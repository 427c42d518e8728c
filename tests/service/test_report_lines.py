"""Sub-table values in dashboards: a widget at line grain counts lines; a filter on a
sub-table column keeps whole records once each in a record-level widget; drilling lists
each record once; a hidden field and a KPI's period (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.definitions.loader import load_app_text
from engine.org.org_file import read_org_text
from engine.service import SYSTEM_ACTOR, Actor

ORG = """
departments:
  - {code: hq, name: 总部}
roles:
  - {code: admin, name: 管理员, members: [admin]}
  - {code: clerk, name: 文员, members: [clerk]}
users:
  - {login: admin, name: 管理员, department: hq}
  - {login: clerk, name: 文员, department: hq}
"""

APP = """
app: shop
version: 1.0.0
name: Shop
roles:
  clerk: 文员
---
form: product
name: Product
title: "{{ name }}"
fields:
  name: {type: text, required: true}
  kind: {type: select, options: [box, tape]}
permissions:
  clerk: {can: [read]}
---
form: sale
name: Sale
title: "{{ ref }}"
fields:
  ref: {type: text, required: true}
  sold_on: {type: date, required: true, label: {zh-CN: 销售日期, en: Sold on}}
  margin: {type: money, label: {zh-CN: 毛利, en: Margin}}
  lines:
    type: subtable
    fields:
      product: {type: relation, to: product}
      amount: {type: money}
  total: {type: formula, expr: "SUM(lines.amount)", result: money}
permissions:
  clerk: {can: [read], fields: {margin: hidden}}
---
dashboard: sales
name: Sales
filters:
  product: {type: relation, to: product, field: lines.product}
widgets:
  by_kind:
    kind: bar
    source: sale
    dimensions: [lines.product.kind]
    measures:
      amount: {expr: "SUM(lines.amount)"}
      lines: {expr: "COUNT()"}
      sales: {expr: "COUNT_DISTINCT(id)"}
  by_month:
    kind: bar
    source: sale
    dimensions: [{field: sold_on, bucket: month}]
    measures:
      total: {expr: "SUM(total)"}
      sales: {expr: "COUNT()"}
  margin:
    kind: bar
    source: sale
    dimensions: [{field: sold_on, bucket: month}]
    measures:
      margin: {expr: "SUM(margin)"}
  march:
    kind: kpi
    source: sale
    date: sold_on
    period: this_month
    measures:
      total: {expr: "SUM(total)"}
"""

ADMIN = Actor("admin", locale="en")
BOTH_ENGINES = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)


@pytest.fixture
def shop(make_service, clock):
    """Three sales in March 2026: S1 two box lines (10 + 20) and one tape (5), S2 one box
    line (7), S3 one tape line (1); and one sale in February (box 100)."""
    clock.set(2026, 3, 20, 9, 0)
    service = make_service()
    service.org.load(SYSTEM_ACTOR, read_org_text(ORG))
    service.install_app(ADMIN, load_app_text(APP), role_map={"clerk": "clerk"})
    box = service.create_record(ADMIN, "shop", "product", {"name": "Box", "kind": "box"}).id
    tape = service.create_record(ADMIN, "shop", "product", {"name": "Tape", "kind": "tape"}).id
    sales = [
        ("S1", "2026-03-02", [(box, "10"), (box, "20"), (tape, "5")]),
        ("S2", "2026-03-03", [(box, "7")]),
        ("S3", "2026-03-04", [(tape, "1")]),
        ("S0", "2026-02-10", [(box, "100")]),
    ]
    ids = {}
    for ref, day, lines in sales:
        data = {
            "ref": ref,
            "sold_on": day,
            "margin": "1.00",
            "lines": [{"product": p, "amount": a} for p, a in lines],
        }
        ids[ref] = service.create_record(ADMIN, "shop", "sale", data).id
    return service, box, tape, ids


def _rows(result, widget):
    found = next(w for w in result.widgets if w.key == widget)
    assert found.error is None, found.error
    return {tuple(r.labels): [str(v) for v in r.values] for r in found.rows}


@BOTH_ENGINES
def test_line_grain_counts_lines_and_records_once(shop) -> None:
    service, box, tape, ids = shop
    result = service.reports.run(ADMIN, "shop", "sales")
    # box lines: 10 + 20 + 7 + 100 (4 lines of 3 sales); tape: 5 + 1 (2 lines, 2 sales)
    assert _rows(result, "by_kind") == {
        ("box",): ["137.00", "4", "3"],
        ("tape",): ["6.00", "2", "2"],
    }
    # a product filter on a record-level widget: the sales with a box line, each once
    boxed = service.reports.run(ADMIN, "shop", "sales", filters={"product": box})
    assert _rows(boxed, "by_month") == {("2026-02",): ["100.00", "1"], ("2026-03",): ["42.00", "2"]}
    # ... and at line grain it keeps the box lines only
    assert _rows(boxed, "by_kind") == {("box",): ["137.00", "4", "3"]}
    drilled = service.reports.drill(
        ADMIN, "shop", "sales", "by_kind", {"lines.product.kind": "box"}
    )
    assert drilled.total == 3
    assert sorted(r["id"] for r in drilled.rows) == sorted([ids["S0"], ids["S1"], ids["S2"]])


@BOTH_ENGINES
def test_a_hidden_field_gives_the_widget_a_message_in_the_viewers_language(shop) -> None:
    service, *_ = shop
    for locale, words in (("zh-CN", "无权查看字段“毛利”"), ("en", "a field you may not see")):
        result = service.reports.run(Actor("clerk", locale=locale), "shop", "sales")
        margin = next(w for w in result.widgets if w.key == "margin")
        assert margin.error is not None and words in margin.error and margin.rows == []
        assert _rows(result, "by_month")[("2026-03",)] == ["43.00", "3"]


@BOTH_ENGINES
def test_drilling_a_kpi_lists_the_records_of_its_period(shop) -> None:
    service, *_, ids = shop
    result = service.reports.run(ADMIN, "shop", "sales", widgets=["march"])
    card = result.widgets[0]
    assert card.extra["kpi"]["value"] == Decimal("43.00")
    drilled = service.reports.drill(ADMIN, "shop", "sales", "march", card.rows[0].drill)
    assert sorted(r["id"] for r in drilled.rows) == sorted([ids["S1"], ids["S2"], ids["S3"]])
